using System.Diagnostics;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>The live (not zombie) qemu-system processes of this machine, found by their command line,
/// so a test can see which QEMUs it left behind and end them. QEMU daemonizes, so these are not our
/// children: /proc is the only way to find them.</summary>
public static class QemuProcesses
{
    /// <summary>Pids of live QEMUs whose command line contains <paramref name="fragment"/> (a path).</summary>
    public static IReadOnlyList<int> Matching(string fragment)
    {
        var found = new List<int>();
        foreach (var entry in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid)) continue;
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(entry, "cmdline")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // gone meanwhile
            }
            if (Path.GetFileName(argv[0]).StartsWith("qemu-system-", StringComparison.Ordinal)
                && argv.Any(a => a.Contains(fragment, StringComparison.Ordinal))
                && QemuInstance.IsAlive(pid))
                found.Add(pid);
        }
        return found;
    }

    /// <summary>Kills every QEMU matching <paramref name="fragment"/> and waits until they are gone;
    /// returns the pids it had to kill.</summary>
    public static async Task<IReadOnlyList<int>> KillAllAsync(string fragment)
    {
        var pids = Matching(fragment);
        foreach (var pid in pids) QemuInstance.Kill(pid);
        foreach (var pid in pids) await QemuInstance.WaitGoneAsync(pid, TimeSpan.FromSeconds(10));
        return pids;
    }

    public static async Task WaitGoneAsync(int pid)
    {
        await QemuInstance.WaitGoneAsync(pid, TimeSpan.FromSeconds(20));
        Assert.False(QemuInstance.IsAlive(pid), $"pid {pid} is still alive after 20 s");
    }
}

/// <summary>Polls a condition with a generous deadline: for what happens asynchronously after a call
/// returns (an agent stopping a twin). The deadline only keeps a broken build from hanging.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(30))) Assert.Fail($"never: {what}");
            await Task.Delay(50);
        }
    }
}
