using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Accounts;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Storage;

/// <summary>A disk the twin will receive: the source's request, and the image this host's command line gives it.</summary>
internal sealed record IncomingImage(int Index, DiskToCopy Disk, string Path)
{
    /// <summary>The NBD export the source mirrors into, and the twin's own node behind it.</summary>
    public string ExportName => $"psmig-disk{Index}";
    public string NodeName => $"psmig-in{Index}";
}

/// <summary>
/// The destination's side of a disk copy: checks (each image has a place in the twin's command line, no file is
/// there yet, the filesystem has room), creates the empty images before the twin starts, exports them over NBD
/// from the twin, stops the exports before the twin runs, and removes the images when the twin does not stay.
/// The twin opens its disks inactive (-incoming); the export goes through a node of its own on the same file, which
/// is closed before the twin's 'cont' activates its disks (with <c>late-block-activate</c>) and reads them afresh:
/// QEMU 7.2 cannot export a -drive disk of an incoming VM writable.
/// </summary>
internal sealed class IncomingDisks : IAsyncDisposable
{
    /// <summary>How long a hard block-export-del may take to drop its clients.</summary>
    private static readonly TimeSpan ExportsTimeout = TimeSpan.FromSeconds(30);
    private readonly IReadOnlyList<IncomingImage> images;
    private readonly List<string> created = new();
    private readonly string manifest;
    private readonly Action<string> log;
    private bool kept;
    private bool exported;

    private IncomingDisks(IReadOnlyList<IncomingImage> images, string manifest, Action<string> log)
    {
        this.images = images;
        this.manifest = manifest;
        this.log = log;
    }

    public IReadOnlyList<IncomingImage> Images => images;

    /// <summary>Where each requested disk goes on this host, refused (with every reason) unless all can be created.</summary>
    /// <param name="where">"the agent of kvm02", for the messages.</param>
    /// <param name="roots">Where this host's QEMUs may keep files: an image is created nowhere else.</param>
    public static IReadOnlyList<IncomingImage> Plan(string vm, string where, IReadOnlyList<DiskToCopy> disks, IReadOnlyList<string> twinArgs, HostPathRoots roots)
    {
        var images = new List<IncomingImage>();
        var problems = new List<string>();
        foreach (var (disk, index) in disks.Select((d, i) => (d, i)))
        {
            if (TwinDiskImages.Find(twinArgs, disk.Key) is not { } place)
                problems.Add($"its command line has no image for disk '{disk.Key}' (a -drive id= or -blockdev node-name= of that name, on a file)");
            else if (roots.Problem(place.Path) is { } outside)
                problems.Add($"disk '{disk.Key}': {outside}");
            else if (place.Format != disk.Format)
                problems.Add($"disk '{disk.Key}' is {place.Format} here, {disk.Format} at the source");
            else if (File.Exists(place.Path) || Directory.Exists(place.Path))
                problems.Add($"{place.Path} (disk '{disk.Key}') exists already; the agent creates the images it receives and overwrites nothing " +
                             "(remove it if it is a leftover, or keep the VM's storage shared)");
            else images.Add(new IncomingImage(index, disk, place.Path));
        }
        problems.AddRange(SpaceProblems(images));
        if (problems.Count > 0)
            throw new MigrationException("DiskCopyRefused", FailureKind.InvalidInput, $"{where} cannot receive {vm}'s disks: {string.Join("; ", problems)}", vm);
        return images;
    }

    /// <summary>What <see cref="CreateAsync"/> would make, with the room there: for readiness.</summary>
    public static string Describe(IReadOnlyList<IncomingImage> images) =>
        string.Join("; ", images.GroupBy(i => Existing(Path.GetDirectoryName(i.Path)!)).Select(group =>
            $"{string.Join(", ", group.Select(i => $"{i.Path} ({i.Disk.Format}, {ByteSize.Format(i.Disk.VirtualBytes)})"))}: " +
            $"{ByteSize.Format(group.Sum(i => i.Disk.AllocatedBytes))} to copy, {ByteSize.Format(FreeSpace(group.Key).Free)} free in {group.Key}"));

    /// <summary>A filesystem must hold what every image going there will take (the source's allocation).</summary>
    private static IEnumerable<string> SpaceProblems(IReadOnlyList<IncomingImage> images)
    {
        foreach (var group in images.GroupBy(i => Existing(Path.GetDirectoryName(i.Path)!)))
        {
            var needed = group.Sum(i => i.Disk.AllocatedBytes);
            var (free, error) = FreeSpace(group.Key);
            if (error is not null) yield return $"cannot read the free space of {group.Key}: {error}";
            else if (free < needed)
                yield return $"{group.Key} has {ByteSize.Format(free)} free, and {string.Join(", ", group.Select(i => i.Path))} need {ByteSize.Format(needed)}";
        }
    }

    private static (long Free, string? Error) FreeSpace(string folder)
    {
        try
        {
            return (new DriveInfo(folder).AvailableFreeSpace, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (0, e.Message);
        }
    }

    /// <summary>The deepest folder of <paramref name="path"/> that exists (the images' folders are created with them).</summary>
    private static string Existing(string path)
    {
        while (!Directory.Exists(path) && Path.GetDirectoryName(path) is { } parent) path = parent;
        return path;
    }

    /// <summary>Creates the empty images (same format and virtual size), listed in <paramref name="manifest"/> first, so
    /// that an agent that dies before the twin is committed removes them when it starts again (<see cref="RemoveListed"/>).</summary>
    public static async Task<IncomingDisks> CreateAsync(IReadOnlyList<IncomingImage> images, string manifest, UnixAccount? user, Action<string> log, CancellationToken cancel)
    {
        var disks = new IncomingDisks(images, manifest, log);
        try
        {
            await File.WriteAllLinesAsync(manifest, images.Select(i => i.Path), cancel);
            foreach (var image in images)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(image.Path)!);
                var size = image.Disk.VirtualBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var (_, error) = await Task.Run(() => QemuImg.Run("create", "-q", "-f", image.Disk.Format, image.Path, size), cancel);
                if (error is not null)
                    throw new MigrationException("DiskCreateFailed", FailureKind.OperationFailed, $"Cannot create {image.Path} for disk '{image.Disk.Key}': {error}", image.Path);
                disks.created.Add(image.Path);
                user?.Own(image.Path);
            }
        }
        catch
        {
            await disks.DisposeAsync();
            throw;
        }
        log($"created {string.Join(", ", images.Select(i => $"{i.Path} ({i.Disk.Format}, {ByteSize.Format(i.Disk.VirtualBytes)})"))}");
        return disks;
    }

    /// <summary>Opens the images in <paramref name="twin"/> and exports them writable over NBD at <paramref name="server"/>
    /// (with <paramref name="tlsCreds"/> when set); the twin's own disks activate only at its 'cont'.</summary>
    public async Task ExportAsync(QmpClient twin, NbdAddress server, string? tlsCreds, CancellationToken cancel)
    {
        await twin.ExecuteAsync("migrate-set-capabilities", new { capabilities = new[] { new { capability = "late-block-activate", state = true } } }, cancel);
        foreach (var image in images)
            await twin.ExecuteAsync("blockdev-add", NodeOptions(image), cancel);
        await twin.ExecuteAsync("nbd-server-start", tlsCreds is null
            ? new Dictionary<string, object> { ["addr"] = server.ToLegacyQmp() }
            : new Dictionary<string, object> { ["addr"] = server.ToLegacyQmp(), ["tls-creds"] = tlsCreds }, cancel);
        exported = true;
        foreach (var image in images)
            await twin.ExecuteAsync("block-export-add", new Dictionary<string, object>
            {
                ["type"] = "nbd", ["id"] = image.ExportName, ["node-name"] = image.NodeName, ["name"] = image.ExportName, ["writable"] = true,
            }, cancel);
        log($"exporting {images.Count} disk(s) over NBD at {server}{(tlsCreds is null ? "" : " with TLS")}");
    }

    private static Dictionary<string, object?> NodeOptions(IncomingImage image)
    {
        var file = new Dictionary<string, object?> { ["driver"] = "file", ["filename"] = image.Path };
        var node = new Dictionary<string, object?> { ["driver"] = image.Disk.Format, ["node-name"] = image.NodeName, ["file"] = file };
        if (image.Disk.Format == "qcow2") node["backing"] = null; // a received image is whole: the mirror flattened the chain
        return node;
    }

    /// <summary>The source finished its copies: the exports, their nodes and the NBD server go before the twin runs.</summary>
    public async Task StopExportsAsync(QmpClient twin, CancellationToken cancel)
    {
        if (!exported) return;
        foreach (var image in images)
            await twin.ExecuteAsync("block-export-del", new { id = image.ExportName, mode = "hard" }, cancel);
        await WaitExportsGoneAsync(twin, cancel);
        foreach (var image in images)
            await twin.ExecuteAsync("blockdev-del", new Dictionary<string, object> { ["node-name"] = image.NodeName }, cancel);
        await twin.ExecuteAsync("nbd-server-stop", null, cancel);
        exported = false;
    }

    private static async Task WaitExportsGoneAsync(QmpClient twin, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while ((await twin.ExecuteAsync("query-block-exports", null, cancel)).GetArrayLength() > 0 && clock.Elapsed < ExportsTimeout)
            await Task.Delay(10, cancel);
    }

    /// <summary>The twin runs on them: the images stay.</summary>
    public void Keep()
    {
        kept = true;
        File.Delete(manifest);
    }

    /// <summary>Removes the images an uncommitted twin of an earlier agent left, as its manifest lists them.</summary>
    public static void RemoveListed(string manifest, Action<string> log)
    {
        if (!File.Exists(manifest)) return;
        foreach (var path in File.ReadAllLines(manifest).Where(p => p.Length > 0 && File.Exists(p)))
        {
            File.Delete(path);
            log($"removed {path}, an image an earlier agent created for a twin that was never committed");
        }
        File.Delete(manifest);
    }

    public ValueTask DisposeAsync()
    {
        if (kept) return ValueTask.CompletedTask;
        foreach (var path in created) File.Delete(path);
        if (created.Count > 0) log($"removed {string.Join(", ", created)}: the twin did not stay");
        File.Delete(manifest);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Where an NBD server listens: a unix socket (the engine relays to it) or a TCP address (direct).</summary>
public sealed record NbdAddress(string? SocketPath, IPAddress? Host, int Port)
{
    public static NbdAddress Unix(string path) => new(path, null, 0);
    public static NbdAddress Tcp(IPAddress host, int port) => new(null, host, port);

    /// <summary>"nbd+unix:///?socket=PATH" or "nbd://HOST:PORT": how messages and the agent's answer name it.</summary>
    public override string ToString() => SocketPath is not null ? $"nbd+unix:///?socket={SocketPath}" : $"nbd://{Core.Inventory.AddressParser.UriHost(Host!)}:{Port}";

    public static NbdAddress? Parse(string? text)
    {
        if (text is null) return null;
        if (text.StartsWith("nbd+unix:///?socket=", StringComparison.Ordinal)) return Unix(text["nbd+unix:///?socket=".Length..]);
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == "nbd" && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var host)
            ? Tcp(host, uri.Port) : null;
    }

    /// <summary>QEMU's SocketAddress (flat, as blockdev-add's nbd server takes it).</summary>
    public Dictionary<string, object> ToQmp() => SocketPath is not null
        ? new() { ["type"] = "unix", ["path"] = SocketPath }
        : new() { ["type"] = "inet", ["host"] = Host!.ToString(), ["port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    /// <summary>The older nested form nbd-server-start takes (<c>{type, data: {...}}</c>).</summary>
    public Dictionary<string, object> ToLegacyQmp()
    {
        var flat = ToQmp();
        var type = flat["type"];
        flat.Remove("type");
        return new() { ["type"] = type, ["data"] = flat };
    }

    /// <summary>A free TCP port on <paramref name="host"/> for the NBD server (QEMU cannot say which port 0 gave it).</summary>
    public static NbdAddress FreeTcp(IPAddress host)
    {
        using var probe = new Socket(host.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(host, 0));
        return Tcp(host, ((IPEndPoint)probe.LocalEndPoint!).Port);
    }
}
