using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace PSMigration.Lab.Tests;

/// <summary>The lab hosts: namespaces NAME-a and NAME-b (and NAME-c in a three-host lab), hosts "a", "b", "c" in the inventory.</summary>
public enum LabHost { A, B, C }

/// <summary>The two lab links: "lan" (1 Gbit/s shaped, lan0) and "mig" (unshaped, MTU 9000, mig0).</summary>
public enum LabLink { Lan, Mig }

/// <summary>Fixed addressing of every lab (each lab has its own namespaces, so labs never collide).</summary>
public static class LabAddresses
{
    public const string LanA = "203.0.113.1", LanB = "203.0.113.2", LanC = "203.0.113.3", LanCidr = "203.0.113.0/24";
    public const string MigA = "198.51.100.1", MigB = "198.51.100.2", MigC = "198.51.100.3", MigCidr = "198.51.100.0/24";
    public const int MigMtu = 9000, AgentPort = 49152;

    public static string Of(LabHost host, LabLink link) => (host, link) switch
    {
        (LabHost.A, LabLink.Lan) => LanA,
        (LabHost.B, LabLink.Lan) => LanB,
        (LabHost.C, LabLink.Lan) => LanC,
        (LabHost.A, LabLink.Mig) => MigA,
        (LabHost.B, LabLink.Mig) => MigB,
        _ => MigC,
    };

    /// <summary>The interface name of a link, the same on both hosts: lan0 or mig0.</summary>
    public static string Interface(LabLink link) => link == LabLink.Lan ? "lan0" : "mig0";

    /// <summary>"a" or "b", as lab.sh and the inventory name the hosts.</summary>
    public static string Name(LabHost host) => host switch { LabHost.A => "a", LabHost.B => "b", _ => "c" };
}

/// <summary>The lab tests share one lab (tests in a collection run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class LabCollection : ICollectionFixture<LabFixture>
{
    public const string Name = "Lab";
}

/// <summary>
/// A uniquely named lab (tests/lab/lab.sh), up for the fixture's lifetime and always torn down:
/// on dispose, and on process exit if dispose never came. Use it as a collection fixture
/// (<c>[Collection(LabCollection.Name)]</c> with a constructor parameter), or alone:
/// <c>var lab = new LabFixture(); await lab.InitializeAsync(); try { ... } finally { await lab.DisposeAsync(); }</c>.
/// Where no lab can be built it stays down (its tests are skipped by <see cref="LabFactAttribute"/>),
/// except with CI=true, where initializing throws the reason.
/// </summary>
public class LabFixture : IAsyncLifetime
{
    private readonly int hosts;

    public LabFixture() : this(2) { }

    /// <param name="hosts">2 (a and b, joined point to point) or 3 (a, b and c behind a switch: lab.sh up NAME 3).</param>
    protected LabFixture(int hosts) => this.hosts = hosts;

    /// <summary>Deadline of <see cref="Exec(LabHost, string[])"/> when none is given.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly List<LabProcess> processes = [];
    private string? inventoryDir;
    private int down = 1;

    /// <summary>The lab's name: namespaces are <c>{Name}-a</c> and <c>{Name}-b</c>.</summary>
    public string Name { get; private set; } = NewName();

    /// <summary>False where no lab could be built (and CI is not "true"); every member below then throws.</summary>
    public bool IsUp => Volatile.Read(ref down) == 0;

    /// <summary>A temp file with <c>lab.sh inventory</c>: hosts a and b, networks lan and mig, VM vm1 on a.</summary>
    public string InventoryPath => inventoryDir is null ? throw NotUp() : Path.Combine(inventoryDir, "inventory.yaml");

    public string Namespace(LabHost host) => $"{Name}-{LabAddresses.Name(host)}";

    public string Address(LabHost host, LabLink link) => LabAddresses.Of(host, link);

    public async Task InitializeAsync()
    {
        if (!LabEnvironment.Available)
        {
            if (LabEnvironment.Required) LabEnvironment.EnsureAvailable(); // throws the reason
            return;
        }
        await Task.Run(Up);
    }

    private void Up()
    {
        // A fresh name until one is free: labs of parallel runs (or leftovers) are never touched.
        for (var attempt = 0; ; attempt++)
        {
            var up = Lab(DefaultTimeout, ["up", Name, .. HostsArgument]);
            if (up.ExitCode == 0) break;
            if (attempt < 3 && up.Stderr.Contains("exists already", StringComparison.Ordinal)) { Name = NewName(); continue; }
            throw new InvalidOperationException($"lab.sh up {Name} failed: {up}");
        }
        Volatile.Write(ref down, 0);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

        var inventory = Lab(DefaultTimeout, ["inventory", Name, .. HostsArgument]);
        if (inventory.ExitCode != 0) throw new InvalidOperationException($"lab.sh inventory {Name} failed: {inventory}");
        inventoryDir = Directory.CreateTempSubdirectory($"psmig-lab-{Name}-").FullName;
        File.WriteAllText(Path.Combine(inventoryDir, "inventory.yaml"), inventory.Stdout);
        OnUp();
    }

    /// <summary>A fixture's own set-up once the lab is up (agents, guests): shared by every test that uses it.</summary>
    protected virtual void OnUp() { }

    /// <summary>A fixture's own tear-down, before the lab goes (the processes it started are killed already).</summary>
    protected virtual void OnDown() { }

    private string[] HostsArgument => hosts == 2 ? [] : [hosts.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    public Task DisposeAsync() => Task.Run(Down);

    private void OnProcessExit(object? sender, EventArgs e) => Down();

    /// <summary>Kills what the fixture started, removes the lab (lab.sh down also kills anything
    /// left inside the namespaces) and the inventory file. Idempotent.</summary>
    private void Down()
    {
        if (Interlocked.Exchange(ref down, 1) == 1) return;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        LabProcess[] started;
        lock (processes) { started = [.. processes]; processes.Clear(); }
        foreach (var process in started) process.Dispose();
        try
        {
            OnDown();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"lab {Name}: tear-down: {e.Message}");
        }
        try
        {
            var result = Lab(DefaultTimeout, "down", Name);
            if (result.ExitCode != 0) Console.Error.WriteLine($"lab.sh down {Name}: {result}");
        }
        finally
        {
            if (inventoryDir is not null) { try { Directory.Delete(inventoryDir, true); } catch (IOException) { } }
        }
    }

    /// <summary>Runs a command inside a host and waits for it (30 s, then the process tree is killed
    /// and a <see cref="TimeoutException"/> is thrown).</summary>
    public ExecResult Exec(LabHost host, params string[] args) => Exec(host, DefaultTimeout, args);

    public ExecResult Exec(LabHost host, TimeSpan timeout, params string[] args)
    {
        EnsureUp();
        return Lab(timeout, ["exec", Name, LabAddresses.Name(host), .. args]);
    }

    public Task<ExecResult> ExecAsync(LabHost host, TimeSpan timeout, params string[] args) =>
        Task.Run(() => Exec(host, timeout, args));

    /// <summary>Starts a command inside a host and returns at once; the handle kills the process
    /// tree on dispose, and so does the fixture's teardown for handles still alive.</summary>
    public LabProcess StartProcess(LabHost host, params string[] args)
    {
        EnsureUp();
        var process = new LabProcess(LabEnvironment.LabScript, ["exec", Name, LabAddresses.Name(host), .. args]);
        lock (processes) processes.Add(process);
        return process;
    }

    /// <summary>Waits until something in a host listens on a TCP port (polls <c>ss</c>).</summary>
    public void WaitForTcpListen(LabHost host, int port, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var ss = Exec(host, "ss", "-Hltn", $"sport = :{port}");
            if (ss.ExitCode == 0 && ss.Stdout.Contains($":{port}", StringComparison.Ordinal)) return;
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"nothing listens on TCP port {port} in {Namespace(host)} after {timeout.TotalSeconds:0.#} s ({ss})");
            Thread.Sleep(50);
        }
    }

    /// <summary>Takes a host's link down for <paramref name="howLong"/> and up again: what is sent meanwhile vanishes
    /// silently, as when a cable or a switch port dies for a while.</summary>
    public void FlapLink(LabHost host, string iface, TimeSpan howLong)
    {
        Assert.Equal(0, Exec(host, "ip", "link", "set", iface, "down").ExitCode);
        try
        {
            Thread.Sleep(howLong);
        }
        finally
        {
            Assert.Equal(0, Exec(host, "ip", "link", "set", iface, "up").ExitCode);
        }
    }

    /// <summary>One counter of /sys/class/net/IFACE/statistics inside a host, e.g. tx_bytes of mig0.</summary>
    public long InterfaceCounter(LabHost host, string iface, string counter)
    {
        var result = Exec(host, "cat", $"/sys/class/net/{iface}/statistics/{counter}");
        if (result.ExitCode != 0 || !long.TryParse(result.Stdout.Trim(), out var value))
            throw new InvalidOperationException($"cannot read {counter} of {iface} in {Namespace(host)}: {result}");
        return value;
    }

    private void EnsureUp()
    {
        if (!IsUp) throw NotUp();
    }

    private InvalidOperationException NotUp() => new(
        $"lab {Name} is not up: {LabEnvironment.UnavailableReason ?? "InitializeAsync was not called, or the lab was torn down"}");

    private static ExecResult Lab(TimeSpan timeout, params string[] args) =>
        Shell.Run("bash", [LabEnvironment.LabScript, .. args], timeout);

    // "psm" + 6 hex digits: short, so namespace names and anything derived from them stay small.
    private static string NewName() => "psm" + Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
}

/// <summary>
/// A process running inside a lab host (see <see cref="LabFixture.StartProcess"/>). Output is
/// collected as it comes; dispose kills the process tree if it still runs.
/// </summary>
public sealed class LabProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder stdout = new(), stderr = new();
    private readonly TaskCompletionSource stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int disposed;

    internal LabProcess(string script, string[] args)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        CommandLine = string.Join(' ', args);
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data, stdoutClosed);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data, stderrClosed);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>What runs: <c>exec NAME a|b CMD...</c> (the lab.sh arguments).</summary>
    public string CommandLine { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>The process's stdin (open until the process ends or you close it).</summary>
    public StreamWriter Input => process.StandardInput;

    public string Stdout { get { lock (stdout) return stdout.ToString(); } }

    public string Stderr { get { lock (stderr) return stderr.ToString(); } }

    /// <summary>Waits for the process to end; on the deadline kills it and throws.</summary>
    public ExecResult WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"'{CommandLine}' did not finish in {timeout.TotalSeconds:0.#} s and was killed; stdout: {Stdout} stderr: {Stderr}");
        }
        Task.WaitAll([stdoutClosed.Task, stderrClosed.Task], TimeSpan.FromSeconds(5));
        return new ExecResult(process.ExitCode, Stdout, Stderr);
    }

    /// <summary>Waits until the output (stdout or stderr) contains a text.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Stdout.Contains(text, StringComparison.Ordinal) && !Stderr.Contains(text, StringComparison.Ordinal))
        {
            if (process.HasExited && stdoutClosed.Task.IsCompleted && stderrClosed.Task.IsCompleted)
                throw new InvalidOperationException($"'{CommandLine}' exited ({process.ExitCode}) without printing '{text}'; stdout: {Stdout} stderr: {Stderr}");
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"'{CommandLine}' printed no '{text}' in {timeout.TotalSeconds:0.#} s; stdout: {Stdout} stderr: {Stderr}");
            Thread.Sleep(20);
        }
    }

    public void Kill()
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { } // already gone
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        Kill();
        process.Dispose();
    }

    private static void Append(StringBuilder into, string? line, TaskCompletionSource closed)
    {
        if (line is null) { closed.TrySetResult(); return; }
        lock (into) into.Append(line).Append('\n');
    }
}
