using System.Diagnostics;
using System.Text.Json;

namespace PSMigration.Cli.Tests;

/// <summary>Runs psmig in-process (fast, for the breadth of cases) or as a real process.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;
    }

    public static Result Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The built psmig, started as users start it.</summary>
    public static Result RunProcess(IDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "psmig.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The repository's samples/inventory.yaml, copied beside the tests at build time.</summary>
    public static string Sample => Path.Combine(AppContext.BaseDirectory, "samples", "inventory.yaml");

    /// <summary>A private copy of a file's text, deleted with the test's temp folder.</summary>
    public static string TempInventory(string text)
    {
        var dir = Directory.CreateTempSubdirectory("psmig-cli-");
        var path = Path.Combine(dir.FullName, "inventory.yaml");
        File.WriteAllText(path, text);
        return path;
    }
}

/// <summary>Private copies of the sample inventory for a test class, each in its own folder, removed with it.</summary>
internal sealed class SampleCopies : IDisposable
{
    private readonly List<string> folders = [];

    public string Make()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        folders.Add(Path.GetDirectoryName(path)!);
        return path;
    }

    public void Dispose()
    {
        foreach (var folder in folders) Directory.Delete(folder, recursive: true);
    }
}
