using System.CommandLine;
using System.Runtime.InteropServices;
using PSMigration.Core;
using PSMigration.Core.Planning;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;
using PSMigration.Qemu;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Operations;

namespace PSMigration.Cli;

/// <summary><c>psmig migrate</c>: live-migrate QEMU or libvirt VMs (Start-VMMigration). Run on the source host.
/// Ctrl+C or SIGTERM cancels: QEMU's migration is cancelled and the VM runs on where it was.</summary>
public static class MigrateCommand
{
    public static Command Create(CliOutput output)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var pki = CommonOptions.Pki();
        var runDir = CommonOptions.RunDirectory();
        var vms = CommonOptions.Vms("The VM to migrate (repeatable: several run at once, within each host's maxConcurrentOutgoing).");
        var destination = new Option<string>("--destination", "-d") { Description = "The host to move it to.", Required = true, HelpName = "HOST" };
        var network = new Option<string?>("--network") { Description = "Use this network instead of the planner's choice.", HelpName = "NAME" };
        var transport = new Option<string?>("--transport") { Description = "direct or engine, instead of the policy's.", HelpName = "T" };
        var connections = new Option<int?>("--connections") { Description = "Parallel connections (multifd channels), instead of the plan's; 1 turns parallel off.", HelpName = "N" };
        var copyStorage = new Option<bool>("--copy-storage") { Description = "Copy the VM's writable local disks before its memory (storage: copy), whatever the policy says." };
        var postcopyAfter = new Option<int?>("--postcopy-after")
        {
            Description = "Switch to post-copy this many seconds after memory starts moving (0: once the first pass has sent all of RAM), allowing post-copy for this run: " +
                          "the VM then runs at the destination, and the source can no longer resume it.",
            HelpName = "SECONDS",
        };
        var timeout = new Option<int?>("--timeout")
        {
            Description = "Take the policy's timeoutAction (default cancel: the VM runs on at the source) after this many seconds " +
                          "(default: completionTimeoutPerGiB × the RAM in GiB, else 10 copies of the RAM at the planned bandwidth, at least 120).",
            HelpName = "SECONDS",
        };
        var noUpdate = new Option<bool>("--no-inventory-update") { Description = "Do not record the VM's new host in the inventory." };
        var whatIf = new Option<bool>("--what-if") { Description = "Show the plan and the steps it would take, and do nothing." };
        var command = new Command("migrate", "Live-migrate QEMU or libvirt VMs to another host over the planned network (run it on the source host).")
        {
            inventory, vms, destination, network, transport, connections, copyStorage, postcopyAfter, timeout, noUpdate, whatIf, pki, runDir, json,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            if (parsed.GetValue(timeout) is <= 0)
                throw new Core.Diagnostics.MigrationException("InvalidParameterValue", Core.Diagnostics.FailureKind.InvalidInput, "--timeout must be a positive number of seconds", "--timeout");
            if (parsed.GetValue(postcopyAfter) is < 0 or > 86400)
                throw new Core.Diagnostics.MigrationException("InvalidParameterValue", Core.Diagnostics.FailureKind.InvalidInput,
                    $"--postcopy-after must be 0 to 86400 seconds (0: once the first pass has sent all of RAM), not {parsed.GetValue(postcopyAfter)}", "--postcopy-after");
            var switchAfter = parsed.GetValue(postcopyAfter) is { } after ? TimeSpan.FromSeconds(after) : (TimeSpan?)null;
            var options = new MigrationOptions
            {
                Destination = parsed.GetValue(destination)!,
                Network = parsed.GetValue(network),
                Overrides = new PlanOverrides(CommonOptions.ParseEnum<MigrationTransport>(parsed, transport), parsed.GetValue(connections),
                    parsed.GetValue(copyStorage), Postcopy: switchAfter is not null),
                PostcopyAfter = switchAfter,
                PkiDirectory = parsed.GetValue(pki)!,
                RunDirectory = parsed.GetValue(runDir)!,
                Timeout = parsed.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                UpdateInventory = !parsed.GetValue(noUpdate),
                Log = output.Log,
            };
            var requests = parsed.GetValue(vms)!.Select(vm => options.RequestFor(loaded, vm)).ToList();
            foreach (var request in requests) output.Warnings(request.Plan.Warnings);
            if (parsed.GetValue(whatIf))
            {
                WriteWhatIf(requests, output, parsed.GetValue(json));
                return CliApp.Done;
            }
            using var launch = new MigrationLaunch(requests);
            var results = Run(launch, output, parsed.GetValue(json));
            if (parsed.GetValue(json))
            {
                if (results.Count == 1) output.Json(results[0]);
                else output.Json(results);
            }
            return results.All(r => r.Succeeded) ? CliApp.Done : CliApp.Failed;
        });
        return command;
    }

    private static IReadOnlyList<MigrationResult> Run(MigrationLaunch launch, CliOutput output, bool json)
    {
        var line = new ProgressLine(output.Error);
        return Interrupt.Run(output, cancel => launch.RunAsync(ResultText.ProgressTo(line), ResultText.TellTo(output, line, json), cancel));
    }

    /// <summary>Each migration's plan and steps, the last its convergence prediction: the VMs are sampled at once (a
    /// second or two each).</summary>
    private static void WriteWhatIf(IReadOnlyList<MigrationRequest> requests, CliOutput output, bool json)
    {
        var previews = Interrupt.Run(output, cancel => Task.WhenAll(requests.Select(r => MigrationPreview.ForAsync(r, cancel))));
        if (json)
        {
            output.Json(previews.Select(p => new { plan = p.Plan, steps = p.Steps }).ToList());
            return;
        }
        foreach (var preview in previews)
        {
            var plan = preview.Plan;
            output.Out.WriteLine($"What if: migrating {plan.Vm} from {plan.SourceHost} to {plan.DestinationHost}");
            PlanText.Write(plan with { Prediction = null }, output.Out); // the prediction is the last step
            output.Out.WriteLine("  steps:");
            var number = 0;
            foreach (var step in preview.Steps) output.Out.WriteLine($"    {++number,2}. {step}");
        }
    }
}

/// <summary>Runs work that Ctrl+C or SIGTERM cancels in order: it is still awaited, so what it started is undone (each VM
/// runs on where it was) before psmig exits.</summary>
internal static class Interrupt
{
    public static T Run<T>(CliOutput output, Func<CancellationToken, Task<T>> work)
    {
        using var cancel = new CancellationTokenSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        return work(cancel.Token).GetAwaiter().GetResult();

        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true; // cancel in order, not exit
            output.Error.WriteLine("psmig: cancelling...");
            cancel.Cancel();
        }
    }
}

/// <summary>A migration's outcome for people.</summary>
public static class ResultText
{
    /// <summary>Each migration's progress on the one progress line.</summary>
    internal static Func<MigrationRequest, int, IProgress<MigrationProgress>?> ProgressTo(ProgressLine line) =>
        (_, _) => new InlineProgress<MigrationProgress>(p => line.Show($"{p.Vm}: {p.Describe()}"));

    /// <summary>Each result as it comes: its warnings and error on stderr, and (without --json) its text on stdout.</summary>
    internal static Action<MigrationResult> TellTo(CliOutput output, ProgressLine line, bool json) => result =>
    {
        line.Clear();
        output.Warnings(result.Warnings);
        if (!result.Succeeded) output.Error.WriteLine($"psmig: {result.Error}");
        if (!json) Write(result, output.Out);
    };

    public static void Write(MigrationResult result, TextWriter writer)
    {
        writer.WriteLine($"{result.Vm}: {result.Status} {result.SourceHost} -> {result.DestinationHost} over '{result.Network}' " +
                         $"({Spelling.Of(result.Transport)}, {Spelling.Of(result.Encryption)}, {result.Connections} connection(s), via {result.SourceInterface ?? "an unknown interface"})");
        if (result.Succeeded)
            writer.WriteLine($"  {result.Bytes / 1048576.0:0} MiB in {result.TotalTimeMs / 1000.0:0.0} s ({result.ThroughputMBps:0} MB/s), downtime {result.DowntimeMs} ms" +
                             (result.ChannelBytes.Count > 0 ? $", per connection MiB: {string.Join(" ", result.ChannelBytes.Select(b => (b / 1048576.0).ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}" : "") +
                             (result.InventoryUpdated ? "; inventory updated" : ""));
        if (result.Action != ConvergenceAction.None || result.ThrottlePercent > 0)
            writer.WriteLine($"  to finish: {Spelling.Of(result.Action)}" + (result.ThrottlePercent > 0 ? $", vCPUs throttled up to {result.ThrottlePercent}%" : ""));
        foreach (var disk in result.Disks) writer.WriteLine($"  disk {disk}");
        if (!result.Succeeded) writer.WriteLine($"  {result.ErrorId}: {result.Error}");
    }
}

/// <summary>One progress line on stderr, rewritten in place on a terminal and printed every few seconds otherwise.</summary>
internal sealed class ProgressLine(TextWriter writer)
{
    private readonly bool terminal = !Console.IsErrorRedirected;
    private long lastPrinted;
    private int width;

    public void Show(string text)
    {
        lock (this)
        {
            if (terminal)
            {
                writer.Write("\r" + text.PadRight(width));
                width = text.Length;
            }
            else if (Environment.TickCount64 - lastPrinted >= 2000)
            {
                writer.WriteLine(text);
                lastPrinted = Environment.TickCount64;
            }
        }
    }

    public void Clear()
    {
        lock (this)
        {
            if (terminal && width > 0) writer.Write("\r" + new string(' ', width) + "\r");
            width = 0;
        }
    }
}
