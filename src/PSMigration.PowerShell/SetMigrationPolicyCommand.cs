using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.PowerShell;

/// <summary>Changes a cluster's or a VM's migration policy in the inventory file, in place: only the
/// lines of that policy block change, the write is atomic, and a change that would break any rule
/// (for the target or for a VM that inherits from it) is refused with the file left as it was.</summary>
[Cmdlet(VerbsCommon.Set, "MigrationPolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = ClusterSet)]
[OutputType(typeof(EffectivePolicy))]
public sealed class SetMigrationPolicyCommand : MigrationCmdlet
{
    private const string ClusterSet = "Cluster";
    private const string VMSet = "VM";
    private const string InputObjectSet = "InputObject";

    /// <summary>Cluster names; wildcards allowed.</summary>
    [Parameter(ParameterSetName = ClusterSet, Mandatory = true, Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[] Cluster { get; set; } = [];

    /// <summary>VM names (wildcards allowed), or VM objects (Get-MigrationVM) through their Name. Also by value, so
    /// that a by-value parameter of another set (InputObject) does not claim VM objects (PowerShell's binder would).</summary>
    [Parameter(ParameterSetName = VMSet, Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name", "VMName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VM { get; set; } = [];

    /// <summary>A policy from Get-MigrationPolicy: its scope and name say which block to change.
    /// Bound by type, before any property name, so a VM's policy never edits its cluster.</summary>
    [Parameter(ParameterSetName = InputObjectSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public EffectivePolicy? InputObject { get; set; }

    [Parameter] public ParallelMode? Parallel { get; set; }
    [Parameter] public int? Connections { get; set; }
    [Parameter] public int? MaxConnections { get; set; }
    /// <summary>-Postcopy turns postcopy on, -Postcopy:$false off; leaving it out keeps the value.</summary>
    [Parameter] public SwitchParameter Postcopy { get; set; }
    [Parameter] public CompressionMethod? Compression { get; set; }
    [Parameter] public MigrationTransport? Transport { get; set; }
    [Parameter] public EncryptionMode? Encryption { get; set; }
    [Parameter] public StorageMode? Storage { get; set; }
    [Parameter] public int? MaxDowntimeMs { get; set; }
    [Parameter] public double? BandwidthGbps { get; set; }
    /// <summary>At most this many migrations arriving at one destination host at once (checked, like the others, by the edit).</summary>
    [Parameter] public int? MaxConcurrentIncoming { get; set; }
    /// <summary>-AutoConverge turns QEMU's auto-converge on, -AutoConverge:$false off; leaving it out keeps the value.</summary>
    [Parameter] public SwitchParameter AutoConverge { get; set; }
    /// <summary>What a migration does when it has not converged in time: Cancel, Postcopy (needs postcopy) or Pause.</summary>
    [Parameter] public TimeoutAction? TimeoutAction { get; set; }
    /// <summary>The timeout in seconds per GiB of the VM's RAM (1 to 86400, checked by the edit).</summary>
    [Parameter] public int? CompletionTimeoutPerGiB { get; set; }
    /// <summary>Seconds without a fall in the remaining bytes that count as not converging (1 to 86400, checked by the edit).</summary>
    [Parameter] public int? ProgressTimeout { get; set; }
    /// <summary>Seconds a migration may go without a working path to its destination before it gives up; after a switch
    /// to post-copy, how long a broken link is recovered (1 to 3600, checked by the edit).</summary>
    [Parameter] public int? LinkLossToleranceSeconds { get; set; }
    /// <summary>The networks a migration may use, in order: the first carries it (unless -Network names another), the next take
    /// over when a connection fails (engine transport). Each must be a network of the inventory, once (checked by the edit).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Networks { get; set; }
    /// <summary>-Stripe spreads an engine migration's connections over several networks, -Stripe:$false keeps the others for
    /// failover; leaving it out keeps the value.</summary>
    [Parameter] public SwitchParameter Stripe { get; set; }

    /// <summary>Keys to remove from the block, so they inherit again.</summary>
    [Parameter]
    [ValidateSet(PolicyKeys.Parallel, PolicyKeys.Connections, PolicyKeys.MaxConnections, PolicyKeys.Postcopy,
        PolicyKeys.Compression, PolicyKeys.Transport, PolicyKeys.Encryption, PolicyKeys.Storage, PolicyKeys.MaxDowntimeMs,
        PolicyKeys.BandwidthGbps, PolicyKeys.MaxConcurrentIncoming, PolicyKeys.AutoConverge, PolicyKeys.TimeoutAction,
        PolicyKeys.CompletionTimeoutPerGiB, PolicyKeys.ProgressTimeout, PolicyKeys.LinkLossToleranceSeconds, PolicyKeys.Networks, PolicyKeys.Stripe)]
    public string[] Clear { get; set; } = [];

    /// <summary>Write the resulting policy to the pipeline.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet && InventoryPath is null) InventoryPath = InputObject!.InventoryPath;
        var change = new PolicyChange(new PolicyBlock
        {
            Parallel = Parallel,
            Connections = Connections,
            MaxConnections = MaxConnections,
            Postcopy = MyInvocation.BoundParameters.ContainsKey(nameof(Postcopy)) ? Postcopy.IsPresent : null,
            Compression = Compression,
            Transport = Transport,
            Encryption = Encryption,
            Storage = Storage,
            MaxDowntimeMs = MaxDowntimeMs,
            BandwidthGbps = BandwidthGbps,
            MaxConcurrentIncoming = MaxConcurrentIncoming,
            AutoConverge = MyInvocation.BoundParameters.ContainsKey(nameof(AutoConverge)) ? AutoConverge.IsPresent : null,
            TimeoutAction = TimeoutAction,
            CompletionTimeoutPerGiB = CompletionTimeoutPerGiB,
            ProgressTimeout = ProgressTimeout,
            LinkLossToleranceSeconds = LinkLossToleranceSeconds,
            Networks = Networks,
            Stripe = MyInvocation.BoundParameters.ContainsKey(nameof(Stripe)) ? Stripe.IsPresent : null,
        }, Clear.Select(key => PolicyKeys.Find(key)!).ToList()); // ValidateSet ignores case; the file does not
        if (change.IsEmpty)
        {
            WriteError(new ErrorRecord(new ArgumentException("Nothing to change: give a policy parameter such as -Parallel, or -Clear."),
                "NothingToChange", ErrorCategory.InvalidArgument, ParameterSetName switch { VMSet => VM[0], ClusterSet => Cluster[0], _ => InputObject!.Name }));
            return;
        }
        Try(InventoryPath, () =>
        {
            foreach (var target in Targets()) Edit(target, change);
        });
    }

    /// <summary>The blocks to change: each VM or cluster named (or matched), or the policy piped in.</summary>
    private IEnumerable<PolicyTarget> Targets()
    {
        if (ParameterSetName == InputObjectSet)
            return [InputObject!.Scope == "VM" ? PolicyTarget.ForVm(InputObject.Name) : PolicyTarget.ForCluster(InputObject.Name)];
        var inventory = Inventory();
        return ParameterSetName == VMSet
            ? InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, VM).Select(PolicyTarget.ForVm)
            : InventoryNames.Resolve(this, inventory, InventoryNameKind.Cluster, Cluster).Select(PolicyTarget.ForCluster);
    }

    private void Edit(PolicyTarget target, PolicyChange change)
    {
        Try(target.Name, () =>
        {
            var path = ResolvedInventoryPath();
            // A dry run first: it validates, and tells -WhatIf and -Confirm exactly what would change.
            var preview = PolicyEditor.Apply(path, target, change, write: false);
            foreach (var warning in preview.Warnings) WriteWarning(warning);
            if (!preview.Changed)
            {
                Log.Verbose($"The policy of {target} already has these values; {preview.Path} is unchanged.");
            }
            else if (ShouldProcess(
                         $"Set the migration policy of {target} in {preview.Path}: {string.Join("; ", preview.Changes)}{Environment.NewLine}{string.Join(Environment.NewLine, preview.Diff)}",
                         $"Set the migration policy of {target} in {preview.Path}?{Environment.NewLine}{string.Join(Environment.NewLine, preview.Changes)}",
                         "Set-MigrationPolicy"))
            {
                preview = PolicyEditor.Apply(path, target, change, write: true);
                Log.Verbose($"{preview.Path}: the policy of {target} is set: {string.Join("; ", preview.Changes)}");
            }
            if (PassThru) WriteObject(preview.Policy);
        });
    }
}
