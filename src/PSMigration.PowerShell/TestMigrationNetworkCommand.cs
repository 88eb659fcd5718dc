using System.Management.Automation;
using PSMigration.Core.Policies;
using PSMigration.Engine.NetworkTest;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Operations;

namespace PSMigration.PowerShell;

/// <summary>Measures the networks between two hosts through the destination's agent: reachability,
/// round trip, throughput per connection count, and the interface that really carried the bytes.
/// Run it on the source host.</summary>
[Cmdlet(VerbsDiagnostic.Test, "MigrationNetwork")]
[OutputType(typeof(NetworkTestResult))]
[OutputType(typeof(bool))] // -Quiet
public sealed class TestMigrationNetworkCommand : MigrationCmdlet
{
    /// <summary>This host, the sender.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("SourceHost")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Source { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DestinationHost")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Test this network only; all shared networks otherwise.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    /// <summary>Connection counts to try.</summary>
    [Parameter]
    [ValidateRange(1, PolicyKeys.MaxChannels)]
    public int[] Connections { get; set; } = [1];

    /// <summary>How long each measurement sends.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int Seconds { get; set; } = 5;

    /// <summary>Try 1, 2, 4, 8 and 16 connections and mark the smallest within 5% of the best as Recommended.</summary>
    [Parameter]
    public SwitchParameter Sweep { get; set; }

    /// <summary>Tls or None on the data channels; the source cluster's policy by default.</summary>
    [Parameter]
    public EncryptionMode? Encryption { get; set; }

    /// <summary>A connection that breaks goes on over the other shared networks open to migrations, within the source
    /// cluster's linkLossToleranceSeconds, as in a migration, and the result's Failovers say where it went (with a
    /// warning: the throughput is then not the network's alone). Without it a break ends that measurement with an error.</summary>
    [Parameter]
    public SwitchParameter Resilient { get; set; }

    /// <summary>Write one boolean per network and connection count (reachable and measured without error) instead of the results.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>The cluster PKI folder with this host's certificate.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string PkiPath { get; set; } = PkiPaths.DefaultDirectory;

    protected override void ProcessRecord()
    {
        Try($"{Source}->{Destination}", () =>
        {
            var inventory = Inventory();
            var results = RunWithProgress($"Test-MigrationNetwork {inventory.Host(Source).Name} -> {Destination}",
                (progress, cancel) => NetworkTestLaunch.RunAsync(inventory, Source, Destination, Network, Sweep ? NetworkTestLaunch.SweepCounts : Connections,
                    TimeSpan.FromSeconds(Seconds), Encryption, Resilient, GetUnresolvedProviderPathFromPSPath(PkiPath), Log, progress, cancel));
            foreach (var result in results)
            {
                if (Quiet)
                {
                    WriteObject(result.Reachable && result.Error is null);
                    continue;
                }
                foreach (var warning in result.Warnings) WriteWarning(warning);
                if (result.Error is not null)
                    WriteError(new ErrorRecord(new InvalidOperationException(result.Error),
                        result.Reachable ? "NetworkTestFailed" : "AgentUnreachable", ErrorCategory.ConnectionError, result.Network));
                WriteObject(result);
            }
        });
    }
}
