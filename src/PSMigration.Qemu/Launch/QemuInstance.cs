using System.Diagnostics;
using System.Text;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Launch;

/// <summary>A QEMU this module started (daemonized, so it outlives the starter) and its QMP connection.</summary>
public sealed class QemuInstance : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(5);

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

    /// <summary>Starts QEMU and connects to its QMP socket. QEMU daemonizes once it is set up, so a bad
    /// argument or a missing kernel fails here, with QEMU's own message.</summary>
    public static async Task<QemuInstance> StartAsync(string vm, QemuCommandLine commandLine, CancellationToken cancel)
    {
        var start = new ProcessStartInfo(commandLine.Binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in commandLine.Arguments) start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MigrationException("QemuNotFound", FailureKind.OperationFailed,
                $"Cannot run {commandLine.Binary} for {vm}: {e.Message}", vm, e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancel);
            var stdout = process.StandardOutput.ReadToEndAsync(cancel);
            try
            {
                await process.WaitForExitAsync(cancel).WaitAsync(StartTimeout, cancel);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw new MigrationException("QemuStartFailed", FailureKind.OperationFailed,
                    $"QEMU did not finish starting {vm} within {StartTimeout.TotalSeconds:0} s", vm);
            }
            if (process.ExitCode != 0)
            {
                var message = new StringBuilder((await stderr).Trim()).Append((await stdout).Trim()).ToString();
                throw new MigrationException("QemuStartFailed", FailureKind.OperationFailed,
                    $"QEMU failed to start {vm} (exit {process.ExitCode}): {(message.Length > 0 ? message : "no message")}", vm);
            }
        }
        var pid = int.Parse(File.ReadAllText(commandLine.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            return new QemuInstance(vm, pid, commandLine, await QmpClient.ConnectAsync(commandLine.QmpPath, QmpTimeout, cancel));
        }
        catch
        {
            Kill(pid);
            throw;
        }
    }

    /// <summary>Stops QEMU: <c>quit</c> over QMP, then SIGKILL if it lingers; removes its socket and pid file.</summary>
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
