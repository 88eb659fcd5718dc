using PSMigration.Testing;
using System.Diagnostics;
using System.Reflection;

namespace PSMigration.Lab.Tests;

/// <summary>
/// Where the lab script is, whether a lab can be built here (<c>lab.sh check</c>, asked once per
/// test run), and the skip-or-fail policy: without a lab the lab tests skip with the reason,
/// except when <c>CI=true</c>, where they fail (CI runs as root and must really run them).
/// </summary>
public static class LabEnvironment
{
    private static readonly Lazy<string?> CheckResult = new(RunCheck);

    /// <summary>The checkout the tests were built from (an assembly attribute written by the build).</summary>
    public static string? RepoRoot =>
        typeof(LabEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "PSMigration.RepoRoot")?.Value;

    /// <summary>tests/lab/lab.sh: the copy beside the test assembly, else the one in the checkout.</summary>
    public static string LabScript
    {
        get
        {
            var copy = Path.Combine(AppContext.BaseDirectory, "lab", "lab.sh");
            if (File.Exists(copy)) return copy;
            var inRepo = RepoRoot is { } root ? Path.Combine(root, "tests", "lab", "lab.sh") : null;
            if (inRepo is not null && File.Exists(inRepo)) return inRepo;
            throw new FileNotFoundException($"lab.sh is neither at {copy} nor at {inRepo ?? "(repo root unknown)"}");
        }
    }

    public static bool Required => TestRequirements.Required;

    /// <summary>Null when a lab can be built here, else why not (the text <c>lab.sh check</c> printed).</summary>
    public static string? UnavailableReason => CheckResult.Value;

    public static bool Available => UnavailableReason is null;

    /// <summary>The skip reason for a lab test, or null to run it (it then fails if the lab is missing).</summary>
    public static string? SkipReason(params string[] tools) =>
        TestRequirements.SkipReason("lab unavailable", UnavailableReason ?? TestRequirements.MissingCommands(tools));

    /// <summary>Throws with the reason when a lab test cannot run (the fail half of the policy).</summary>
    public static void EnsureAvailable(params string[] tools) =>
        TestRequirements.EnsureAvailable("lab tests", UnavailableReason ?? TestRequirements.MissingCommands(tools));

    private static string? RunCheck()
    {
        string script;
        try { script = LabScript; }
        catch (FileNotFoundException e) { return e.Message; }
        try
        {
            var result = Shell.Run("bash", [script, "check"], TimeSpan.FromSeconds(30));
            if (result.ExitCode == 0) return null;
            var text = (result.Stderr + result.Stdout).Trim();
            return text.Length > 0 ? text.Replace("lab.sh: cannot build a lab here:", "").Trim() : $"lab.sh check exited {result.ExitCode}";
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception)
        {
            return "lab.sh check could not run: " + e.Message;
        }
    }
}

/// <summary>What a finished command left: exit code and its whole output.</summary>
public sealed record ExecResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>Runs a command to completion with a deadline; on the deadline kills its process tree.</summary>
internal static class Shell
{
    public static ExecResult Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            throw new TimeoutException(
                $"'{file} {string.Join(' ', start.ArgumentList)}' did not finish in {timeout.TotalSeconds:0.#} s and was killed; " +
                $"stdout: {Tail(stdout)} stderr: {Tail(stderr)}");
        }
        // A child left running in the background (cmd &) may hold the output pipes open.
        if (!Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(10)))
            throw new TimeoutException(
                $"'{file} {string.Join(' ', start.ArgumentList)}' exited {process.ExitCode}, but something it started keeps its output open " +
                "(redirect the output of background commands)");
        return new ExecResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Tail(Task<string> output) =>
        output.Wait(2000) ? (output.Result.Length > 2000 ? output.Result[^2000..] : output.Result) : "(unread)";
}
