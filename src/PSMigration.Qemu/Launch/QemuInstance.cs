using System.Diagnostics;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Launch;

/// <summary>A QEMU this module started and its QMP connection. QEMU runs in its own session (so it outlives the
/// starter and no terminal's Ctrl+C reaches it), its output in <see cref="QemuCommandLine.LogFile"/>.</summary>
public sealed class QemuInstance : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QmpAttempt = TimeSpan.FromSeconds(1);

    /// <summary>QEMU's seccomp filter (spawn=deny) forbids the fork of -daemonize, so the process starts QEMU in a new
    /// session itself: sh only redirects the output, setsid makes the session, and each execs into the next.</summary>
    private const string Launcher = "exec setsid --wait \"$0\" \"$@\" </dev/null >>\"$PSMIGRATION_QEMU_LOG\" 2>&1";

    private QemuInstance(string vm, int pid, QemuCommandLine commandLine, QmpClient qmp)
    {
        Vm = vm;
        Pid = pid;
        CommandLine = commandLine;
        Qmp = qmp;
    }

    public string Vm { get; }
    public int Pid { get; }
    public QemuCommandLine CommandLine { get; }
    public QmpClient Qmp { get; private set; }

    /// <summary>Checks the arguments against <paramref name="policy"/>, starts QEMU, and connects to its QMP socket
    /// once QEMU is set up: a refused or bad argument, or a missing kernel, fails here, with QEMU's own message.</summary>
    public static async Task<QemuInstance> StartAsync(string vm, QemuCommandLine commandLine, QemuArgumentPolicy policy, string where, CancellationToken cancel)
    {
        policy.Check(vm, where, commandLine.Args);
        if (Path.IsPathRooted(commandLine.Binary) && !File.Exists(commandLine.Binary))
            throw new MigrationException("QemuNotFound", FailureKind.OperationFailed, $"Cannot run {commandLine.Binary} for {vm}: no such file", vm);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Launcher);
        start.ArgumentList.Add(commandLine.Binary);
        foreach (var arg in commandLine.Arguments) start.ArgumentList.Add(arg);
        start.Environment["PSMIGRATION_QEMU_LOG"] = commandLine.LogFile;
        var logStart = File.Exists(commandLine.LogFile) ? new FileInfo(commandLine.LogFile).Length : 0;
        File.Delete(commandLine.PidFile);

        var process = Process.Start(start)!;
        var pid = process.Id;
        // Reaps QEMU whenever it ends (the VM may outlive this call by months), keeping its exit code for a failed start.
        var exit = process.WaitForExitAsync().ContinueWith(_ =>
        {
            var code = process.ExitCode;
            process.Dispose();
            return code;
        }, TaskScheduler.Default);
        try
        {
            return await WaitUntilServingAsync(vm, commandLine, pid, exit, logStart, cancel);
        }
        catch (OperationCanceledException)
        {
            Kill(pid); // a start given up on leaves no QEMU behind
            throw;
        }
    }

    /// <summary>Until QEMU answers on its QMP socket (it is set up), exits (it failed), or takes too long.</summary>
    private static async Task<QemuInstance> WaitUntilServingAsync(string vm, QemuCommandLine commandLine, int pid, Task<int> exit, long logStart, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (exit.IsCompleted)
                throw new MigrationException("QemuStartFailed", FailureKind.OperationFailed,
                    $"QEMU failed to start {vm} (exit {await exit}): {TakeLog(commandLine.LogFile, logStart)}", vm);
            if (clock.Elapsed > StartTimeout)
            {
                Kill(pid);
                throw new MigrationException("QemuStartFailed", FailureKind.OperationFailed,
                    $"QEMU did not finish starting {vm} within {StartTimeout.TotalSeconds:0} s: {TakeLog(commandLine.LogFile, logStart)}", vm);
            }
            if (File.Exists(commandLine.PidFile) && File.Exists(commandLine.QmpPath))
            {
                try
                {
                    var qmp = await QmpClient.ConnectAsync(commandLine.QmpPath, QmpAttempt, cancel);
                    return new QemuInstance(vm, ReadPid(commandLine.PidFile) ?? pid, commandLine, qmp);
                }
                catch (QmpException)
                {
                    // not serving yet (or it is failing: the next turn sees it exit)
                }
            }
            await Task.Delay(20, cancel);
        }
    }

    private static int? ReadPid(string pidFile) =>
        int.TryParse(File.ReadAllText(pidFile).Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var pid) ? pid : null;

    /// <summary>What a failed start wrote, for the error; a log this start created goes (the message carries it).</summary>
    private static string TakeLog(string logFile, long offset)
    {
        var text = LogSince(logFile, offset);
        if (offset == 0) File.Delete(logFile);
        return text;
    }

    /// <summary>What QEMU wrote to its log in this start (its reason for failing).</summary>
    private static string LogSince(string logFile, long offset)
    {
        try
        {
            using var stream = File.OpenRead(logFile);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            var text = new StreamReader(stream).ReadToEnd().Trim();
            return text.Length > 0 ? text : "no message";
        }
        catch (IOException)
        {
            return "no message";
        }
    }

    /// <summary>Stops QEMU: <c>quit</c> over QMP, then SIGKILL if it lingers; removes its socket, pid file and log.</summary>
    public async Task StopAsync()
    {
        try
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Qmp.ExecuteAsync("quit", null, brief.Token);
            await Qmp.Closed.WaitAsync(brief.Token);
        }
        catch (Exception)
        {
            // it will be killed
        }
        await Qmp.DisposeAsync();
        Kill(Pid);
        await WaitGoneAsync(Pid, TimeSpan.FromSeconds(5));
        File.Delete(CommandLine.QmpPath);
        File.Delete(CommandLine.PidFile);
        File.Delete(CommandLine.LogFile);
    }

    /// <summary>The end of what QEMU wrote to its log (warnings, or why it stopped), for a stopping twin to pass on.</summary>
    public string LogTail(int maxChars = 2000)
    {
        var text = LogSince(CommandLine.LogFile, 0);
        return text == "no message" ? "" : text.Length <= maxChars ? text : "..." + text[^maxChars..];
    }

    /// <summary>Lets go of the VM: it runs on, and its QMP socket is free for others.</summary>
    public ValueTask DisposeAsync() => Qmp.DisposeAsync();

    /// <summary>Whether the process exists and is not a zombie (a daemon's zombie waits for whoever reaps orphans).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // already gone
        }
    }

    public static async Task WaitGoneAsync(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (IsAlive(pid) && clock.Elapsed < timeout) await Task.Delay(20);
    }
}
