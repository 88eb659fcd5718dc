using System.CommandLine;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Cli;

/// <summary>The <c>psmig</c> command line: the module's verbs for shells without PowerShell.
/// Exit codes: 0 done, 1 the operation failed, 2 bad input or usage.</summary>
public static class CliApp
{
    public const int Done = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var output = new CliOutput(stdout, stderr);
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Tell each step on stderr: which inventory, which network and why, each QMP and libvirt step, the agent session.", Recursive = true };
        var debug = new Option<bool>("--debug") { Description = "Also show the protocols on stderr: QMP messages, control messages, hellos.", Recursive = true };
        var root = new RootCommand("PSMigration: plan and run live migrations of KVM/QEMU VMs over the right network.")
        {
            verbose,
            debug,
            PlanCommand.Create(output),
            MigrateCommand.Create(output),
            PolicyCommand.Create(output),
            HostCommand.Create(output),
            DemoCommand.Create(output),
            CertCommand.Create(output),
            AgentCommand.Create(output),
            TestNetworkCommand.Create(output),
            CheckCommand.Create(output),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine($"psmig: {error.Message}");
            stderr.WriteLine("Run 'psmig --help' for usage.");
            return BadInput;
        }
        output.Log = new CliOutput.StderrLog(stderr, parsed.GetValue(verbose) || parsed.GetValue(debug), parsed.GetValue(debug));
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (MigrationException e)
        {
            stderr.WriteLine($"psmig: {e.Message}");
            return e.Kind == FailureKind.OperationFailed ? Failed : BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A defect, not a user error: say so, with enough to report it.
            stderr.WriteLine($"psmig: internal error: {e}");
            return Failed;
        }
    }
}
