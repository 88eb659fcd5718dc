using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;
using System.Text.Json;
using PSMigration.Core.Policies;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.QemuMigration;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Incoming;

/// <summary>
/// The agent's QEMU side: starts a VM's twin paused with <c>-incoming defer</c>, gives it the
/// source's migration settings, and points it at the transport (a TCP port on the chosen address,
/// or a unix socket the agent relays to). Uncommitted twins are marked by their pid file's name,
/// so a restarted agent stops the ones a crash left behind.
/// </summary>
internal sealed class QemuTwinHost : IIncomingVmHost
{
    private const string IncomingSuffix = ".incoming";
    private const string TlsSuffix = ".tls";
    private readonly QemuTwinOptions options;

    public QemuTwinHost(QemuTwinOptions options)
    {
        this.options = options;
        Directory.CreateDirectory(options.RunDirectory);
        StopOrphans();
    }

    public Task<IIncomingVm> PrepareAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel) =>
        PrepareAsync(TwinRequest.FromJson(vm, twin), sourceHost, cancel);

    public Task<string?> CheckAsync(string vm, JsonElement twin, CancellationToken cancel) =>
        CheckAsync(TwinRequest.FromJson(vm, twin), cancel);

    public async Task<IIncomingVm> PrepareAsync(TwinRequest request, string sourceHost, CancellationToken cancel)
    {
        var binary = Binary(request);
        QemuCommandLine.CheckArgs(request.Vm, request.Args);
        var qmpPath = RunDirectory.Expand(request.Qmp, options.RunDirectory);
        await EnsureFreeAsync(request.Vm, qmpPath, clearStale: true, cancel);
        Directory.CreateDirectory(Path.GetDirectoryName(qmpPath)!);

        var id = Guid.NewGuid().ToString("N")[..8];
        var commandLine = new QemuCommandLine(binary, request.Args.Select(a => RunDirectory.Expand(a, options.RunDirectory)).ToList(),
            qmpPath, Path.Combine(options.RunDirectory, request.Vm + TwinRequest.UncommittedPidSuffix)) { Incoming = true };
        var qemu = await QemuInstance.StartAsync(request.Vm, commandLine, cancel);
        QemuTls? tls = null;
        try
        {
            if (request.Tls && request.Transport == MigrationTransport.Direct)
            {
                tls = QemuTls.Create(options.PkiDirectory, options.HostName, Path.Combine(options.RunDirectory, $"{request.Vm}.{id}{TlsSuffix}"), server: true);
                await tls.AddAsync(qemu.Qmp, cancel);
            }
            await MigrationSetup.ApplyAsync(qemu.Qmp, request.Settings, tls is null ? null : QemuTls.ObjectId, null, cancel);
            string? relayPath = null;
            string uri;
            if (request.Transport == MigrationTransport.Engine)
            {
                relayPath = Path.Combine(options.RunDirectory, $"{request.Vm}.{id}{IncomingSuffix}");
                uri = "unix:" + relayPath;
                await qemu.Qmp.ExecuteAsync("migrate-incoming", new { uri }, cancel);
            }
            else
            {
                var address = request.ListenAddress;
                await qemu.Qmp.ExecuteAsync("migrate-incoming", new { uri = $"tcp:{AddressParser.UriHost(address)}:0" }, cancel);
                uri = $"tcp:{AddressParser.UriHost(address)}:{await ListeningPortAsync(qemu.Qmp, cancel)}";
            }
            options.Log($"started {request.Vm}'s twin for {sourceHost}: pid {qemu.Pid}, {commandLine}");
            return new QemuTwin(qemu, uri, relayPath, tls, options.RunDirectory);
        }
        catch
        {
            tls?.Dispose();
            await qemu.StopAsync();
            throw;
        }
    }

    /// <summary>What <see cref="PrepareAsync"/> checks before it starts anything: the binary, the arguments, the
    /// machine type the binary must know, and no VM of that name running here.</summary>
    public async Task<string?> CheckAsync(TwinRequest request, CancellationToken cancel)
    {
        try
        {
            var binary = Binary(request);
            QemuCommandLine.CheckArgs(request.Vm, request.Args);
            if (await QemuMachines.ProblemAsync(binary, request.Args, cancel) is { } machine) return machine;
            await EnsureFreeAsync(request.Vm, RunDirectory.Expand(request.Qmp, options.RunDirectory), clearStale: false, cancel);
            return null;
        }
        catch (MigrationException e)
        {
            return e.Message;
        }
    }

    /// <summary>The configured binary the request names; any other is refused.</summary>
    private string Binary(TwinRequest request) =>
        options.Binaries.FirstOrDefault(b => Path.GetFileName(b) == request.Binary)
        ?? throw new MigrationException("QemuBinaryNotAllowed", FailureKind.InvalidInput,
            $"The agent of {options.HostName} runs only {Describe(options.Binaries)}; '{request.Binary}' for {request.Vm} is not one of them", request.Vm);

    /// <summary>Refuses to start a twin where the VM already runs; clears a stale socket when asked.</summary>
    private async Task EnsureFreeAsync(string vm, string qmpPath, bool clearStale, CancellationToken cancel)
    {
        if (!File.Exists(qmpPath)) return;
        try
        {
            await using var running = await QmpClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(2), cancel);
        }
        catch (QmpException)
        {
            if (clearStale) File.Delete(qmpPath); // nothing answers: a leftover
            return;
        }
        throw new MigrationException("VMAlreadyRunning", FailureKind.OperationFailed,
            $"A VM already answers on {qmpPath} on {options.HostName}: is {vm} running there?", vm);
    }

    /// <summary>QEMU picked the port (tcp:ADDRESS:0); it says which in query-migrate's socket-address.</summary>
    private static async Task<int> ListeningPortAsync(QmpClient qmp, CancellationToken cancel)
    {
        var status = await qmp.ExecuteAsync("query-migrate", null, cancel);
        foreach (var address in status.GetProperty("socket-address").EnumerateArray())
            if (address.TryGetProperty("port", out var port)) return int.Parse(port.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        throw new QmpException("QmpProtocol", "QEMU did not say which port it listens on for the migration", qmp.SocketPath);
    }


    private static string Describe(IReadOnlyList<string> binaries) =>
        binaries.Count == 0 ? "no QEMU (none installed or configured)" : string.Join(", ", binaries.Select(Path.GetFileName));

    /// <summary>Twins a crashed agent left paused and uncommitted: stop them, they can never be finished;
    /// and remove their incoming sockets and TLS copies (a new agent holds no twin yet, so all are leftovers).</summary>
    private void StopOrphans()
    {
        foreach (var socket in Directory.GetFiles(options.RunDirectory, "*" + IncomingSuffix)) File.Delete(socket);
        foreach (var tls in Directory.GetDirectories(options.RunDirectory, "*" + TlsSuffix)) Directory.Delete(tls, recursive: true);
        foreach (var pidFile in Directory.GetFiles(options.RunDirectory, "*" + TwinRequest.UncommittedPidSuffix))
        {
            if (int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) && QemuInstance.IsAlive(pid) && IsQemu(pid))
            {
                QemuInstance.Kill(pid);
                options.Log($"stopped pid {pid}, an uncommitted twin left by an earlier agent ({Path.GetFileName(pidFile)})");
            }
            File.Delete(pidFile);
        }
    }

    private static bool IsQemu(int pid)
    {
        try
        {
            return Path.GetFileName(File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0]).StartsWith("qemu-system-", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
