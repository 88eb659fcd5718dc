using System.Text.Json;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Engine.Agent;
using PSMigration.Qemu.Accounts;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.QemuMigration;
using PSMigration.Qemu.Qmp;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.Incoming;

/// <summary>
/// The agent's QEMU side: starts a VM's twin paused with <c>-incoming defer</c>, from this host's own inventory (the
/// source's description must agree), with its arguments checked by <see cref="QemuArgumentPolicy"/>, confined by
/// QEMU's sandbox and, when configured, running as an unprivileged user; gives it the source's migration settings and
/// points it at the transport (a TCP port on the chosen address, or a unix socket the agent relays to). Uncommitted
/// twins are marked by their pid file's name, so a restarted agent stops the ones a crash left behind.
/// </summary>
internal sealed class QemuTwinHost : IIncomingVmHost
{
    private readonly QemuTwinOptions options;
    private readonly HostPathRoots roots;
    private readonly QemuArgumentPolicy policy;
    private readonly UnixAccount? user;

    public QemuTwinHost(QemuTwinOptions options)
    {
        this.options = options;
        Directory.CreateDirectory(options.RunDirectory);
        user = options.TwinUser is { } name ? UnixAccount.Lookup(name) : null;
        if (user is not null && UnixAccount.AllowSearch(options.RunDirectory))
            options.Log($"let others search {options.RunDirectory} (o+x), so twins running as {user.Name} reach their folders in it");
        roots = HostPathRoots.For(options.RunDirectory, options.StorageRoots);
        policy = new QemuArgumentPolicy(roots);
        Inventory = new AgentInventory(options.InventoryPath, options.HostName);
        StopOrphans();
    }

    /// <summary>Who may move which VM here, by the same inventory the twins are started from.</summary>
    public AgentInventory Inventory { get; }

    private string Where => $"the agent of {options.HostName}";

    public Task<IIncomingVm> PrepareAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel) =>
        PrepareAsync(TwinRequest.FromJson(vm, twin), sourceHost, cancel);

    public Task<TwinCheck> CheckAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel) =>
        CheckAsync(TwinRequest.FromJson(vm, twin), sourceHost, cancel);

    public async Task<IIncomingVm> PrepareAsync(TwinRequest request, string sourceHost, CancellationToken cancel)
    {
        var commandLine = CommandLineFor(request, sourceHost);
        await EnsureFreeAsync(request.Vm, commandLine.QmpPath, clearStale: true, cancel);
        var images = ImagesFor(request, commandLine);
        Directory.CreateDirectory(Path.GetDirectoryName(commandLine.QmpPath)!);

        var folder = TwinFolder.Create(options.RunDirectory, request.Vm, user);
        QemuInstance? qemu = null;
        QemuTls? tls = null;
        IncomingDisks? disks = null;
        NbdAddress? diskServer = null;
        try
        {
            if (images.Count > 0) disks = await IncomingDisks.CreateAsync(images, folder.ImagesManifest, user, options.Log, cancel);
            qemu = await QemuInstance.StartAsync(request.Vm, commandLine, policy, Where, cancel);
            if (request.Tls && request.Transport == MigrationTransport.Direct)
            {
                tls = QemuTls.Create(options.PkiDirectory, options.HostName, folder.TlsDirectory, server: true);
                folder.GiveToUser();
                await tls.AddAsync(qemu.Qmp, cancel);
            }
            await MigrationSetup.ApplyAsync(qemu.Qmp, request.Settings, tls is null ? null : QemuTls.ObjectId, null, cancel);
            if (disks is not null)
            {
                diskServer = request.Transport == MigrationTransport.Engine ? NbdAddress.Unix(folder.NbdSocket) : NbdAddress.FreeTcp(request.ListenAddress);
                await disks.ExportAsync(qemu.Qmp, diskServer, tls is null ? null : QemuTls.ObjectId, cancel);
            }
            string? relayPath = null;
            string uri;
            if (request.Transport == MigrationTransport.Engine)
            {
                relayPath = folder.IncomingSocket;
                uri = "unix:" + relayPath;
                await qemu.Qmp.ExecuteAsync("migrate-incoming", new { uri }, cancel);
            }
            else
            {
                var address = request.ListenAddress;
                await qemu.Qmp.ExecuteAsync("migrate-incoming", new { uri = $"tcp:{AddressParser.UriHost(address)}:0" }, cancel);
                uri = $"tcp:{AddressParser.UriHost(address)}:{await ListeningPortAsync(qemu.Qmp, cancel)}";
            }
            options.Log($"started {request.Vm}'s twin for {sourceHost}: pid {qemu.Pid}{(user is null ? "" : $" as {user.Name}")}, {commandLine}");
            return new QemuTwin(qemu, uri, relayPath, folder, options.RunDirectory, options.Log, disks, diskServer);
        }
        catch
        {
            if (qemu is not null) await qemu.StopAsync();
            if (disks is not null) await disks.DisposeAsync();
            folder.Dispose();
            throw;
        }
    }

    public Task<IRecoveringVm> RecoverAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel) =>
        RecoverAsync(TwinRequest.FromJson(vm, twin), sourceHost, cancel);

    /// <summary>The VM, committed here in post-copy, listens again for its source: its stream paused (<see cref="PostcopyPause"/>),
    /// then QMP migrate-recover on a unix socket in a folder of its own (engine) or on the request's address, QEMU
    /// picking the port (direct). The request is checked as its twin's was (the inventories agree, the address is this
    /// host's). A recovery tried again replaces the listener (QEMU allows that).</summary>
    public async Task<IRecoveringVm> RecoverAsync(TwinRequest request, string sourceHost, CancellationToken cancel)
    {
        var commandLine = CommandLineFor(request, sourceHost);
        await using var qmp = await QmpClient.ConnectAsync(commandLine.QmpPath, TimeSpan.FromSeconds(5), cancel);
        await PostcopyPause.EnsureAsync(qmp, request.Vm, options.HostName, cancel);
        if (request.Transport != MigrationTransport.Engine)
        {
            var host = AddressParser.UriHost(request.ListenAddress);
            await qmp.ExecuteAsync("migrate-recover", new { uri = $"tcp:{host}:0" }, cancel);
            return new QemuRecovery($"tcp:{host}:{await ListeningPortAsync(qmp, cancel)}", null, commandLine.QmpPath, null);
        }
        var folder = TwinFolder.Create(options.RunDirectory, request.Vm, user);
        try
        {
            await qmp.ExecuteAsync("migrate-recover", new { uri = "unix:" + folder.IncomingSocket }, cancel);
            return new QemuRecovery("unix:" + folder.IncomingSocket, folder.IncomingSocket, commandLine.QmpPath, folder);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>A post-copy VM listening again; its folder (engine transport) goes when the source lets go.</summary>
    private sealed record QemuRecovery(string Uri, string? RelayPath, string QmpPath, TwinFolder? Folder) : IRecoveringVm
    {
        public ValueTask DisposeAsync()
        {
            Folder?.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>What <see cref="PrepareAsync"/> checks before it starts anything: the inventories agree, the binary, the
    /// arguments, the machine type the binary must know, and no VM of that name running here.</summary>
    public async Task<TwinCheck> CheckAsync(TwinRequest request, string sourceHost, CancellationToken cancel)
    {
        QemuCommandLine commandLine;
        try
        {
            commandLine = CommandLineFor(request, sourceHost);
        }
        catch (MigrationException e)
        {
            return new TwinCheck(e.Message, e.Message);
        }
        var (storage, storageProblem) = StorageOf(request, commandLine);
        try
        {
            policy.Check(request.Vm, Where, commandLine.Args);
            if (await QemuMachines.ProblemAsync(commandLine.Binary, commandLine.Args, cancel) is { } machine) return new TwinCheck(machine, storageProblem, storage);
            await EnsureFreeAsync(request.Vm, commandLine.QmpPath, clearStale: false, cancel);
            return new TwinCheck(null, storageProblem, storage);
        }
        catch (MigrationException e)
        {
            return new TwinCheck(e.Message, storageProblem, storage);
        }
    }

    /// <summary>What the twin would create for the disks it receives, or why it could not (readiness).</summary>
    private (string? Storage, string? Problem) StorageOf(TwinRequest request, QemuCommandLine commandLine)
    {
        if (request.Disks.Count == 0) return (null, null);
        try
        {
            return (IncomingDisks.Describe(ImagesFor(request, commandLine)), null);
        }
        catch (MigrationException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Where the disks the source copies go (its command line's images), refused unless each can be created and
    /// fits: checked before anything is created.</summary>
    private IReadOnlyList<IncomingImage> ImagesFor(TwinRequest request, QemuCommandLine commandLine) =>
        request.Disks.Count == 0 ? [] : IncomingDisks.Plan(request.Vm, Where, request.Disks, commandLine.Args, roots);

    /// <summary>The twin's command line, from this host's inventory; refused when the source describes the VM otherwise.</summary>
    private QemuCommandLine CommandLineFor(TwinRequest request, string sourceHost)
    {
        var spec = Inventory.QemuOf(request.Vm);
        if (request.Transport == MigrationTransport.Direct && !OwnAddresses().Contains(request.ListenAddress))
            throw new MigrationException("ListenAddressForeign", FailureKind.InvalidInput,
                $"{request.ListenAddress} is not an address of {options.HostName} in its inventory; the twin listens only on this host's own addresses", request.Vm);
        if (QemuSpecDifference.Between(request.SourceQemu, spec) is { } difference)
            throw new MigrationException("InventoriesDiffer", FailureKind.InvalidInput,
                $"The inventories of {sourceHost} and {options.HostName} describe {request.Vm} differently: {difference.Describe(sourceHost, options.HostName)}. " +
                $"Bring the stale copy up to date (a shared inventory file keeps the hosts in step)", request.Vm);
        var binary = Binary(request.Vm, spec.Binary);
        return new QemuCommandLine(binary, spec.Args.Select(a => RunDirectory.Expand(a, options.RunDirectory)).ToList(),
            RunDirectory.Expand(spec.Qmp, options.RunDirectory), Path.Combine(options.RunDirectory, request.Vm + TwinRequest.UncommittedPidSuffix))
        {
            Incoming = true,
            RunAs = user?.Name,
        };
    }

    private HashSet<System.Net.IPAddress> OwnAddresses() =>
        Inventory.Current().Host(options.HostName).Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).ToHashSet();

    /// <summary>The configured binary the VM names; any other is refused.</summary>
    private string Binary(string vm, string name) =>
        options.Binaries.FirstOrDefault(b => Path.GetFileName(b) == name)
        ?? throw new MigrationException("QemuBinaryNotAllowed", FailureKind.InvalidInput,
            $"The agent of {options.HostName} runs only {Describe(options.Binaries)}; '{name}' for {vm} is not one of them", vm);

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

    /// <summary>Twins a crashed agent left paused and uncommitted: stop them, they can never be finished; and remove their
    /// folders and the images made for them (a new agent holds no twin yet, so all are leftovers).</summary>
    private void StopOrphans()
    {
        foreach (var pidFile in Directory.GetFiles(options.RunDirectory, "*" + TwinRequest.UncommittedPidSuffix))
        {
            if (int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) && QemuInstance.IsAlive(pid) && IsQemu(pid))
            {
                QemuInstance.Kill(pid);
                options.Log($"stopped pid {pid}, an uncommitted twin left by an earlier agent ({Path.GetFileName(pidFile)})");
            }
            File.Delete(pidFile);
        }
        foreach (var folder in Directory.GetDirectories(options.RunDirectory, "*" + TwinFolder.Suffix))
        {
            IncomingDisks.RemoveListed(TwinFolder.ManifestIn(folder), options.Log); // after its QEMU was stopped
            Directory.Delete(folder, recursive: true);
        }
        // The logs of uncommitted twins (a committed twin's log is renamed {vm}.log): told once, then removed.
        foreach (var log in Directory.GetFiles(options.RunDirectory, "*" + Path.ChangeExtension(TwinRequest.UncommittedPidSuffix, ".log")))
        {
            var said = File.ReadAllText(log).Trim();
            if (said.Length > 0) options.Log($"an uncommitted twin left by an earlier agent wrote ({Path.GetFileName(log)}): {(said.Length <= 2000 ? said : "..." + said[^2000..])}");
            File.Delete(log);
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
