using System.Diagnostics;

namespace PSMigration.Qemu.Launch;

/// <summary>Runs <c>qemu-img</c> (qemu-utils) with a bound: what the agent reads of an image and how it creates one.</summary>
internal static class QemuImg
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Its output, or the error in words (what it said, no answer in time, not installed).</summary>
    public static (string Output, string? Error) Run(params string[] args)
    {
        var start = new ProcessStartInfo("qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill();
                return ("", "qemu-img did not answer in time");
            }
            return process.ExitCode == 0 ? (output.Result, null) : ("", errors.Result.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return ("", $"qemu-img cannot run ({e.Message}); install qemu-utils");
        }
    }
}
