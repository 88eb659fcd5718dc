using System.Runtime.InteropServices;

namespace PSMigration.Qemu.Launch;

/// <summary>
/// The folders a QEMU the module starts may name on the host: the run directory, the storage roots the operator
/// configured, and QEMU's firmware directories. A path counts as inside only once it is resolved as the kernel will
/// resolve it: absolute, <c>..</c> and symbolic links followed (<c>realpath</c>), so neither <c>{runDir}/../etc</c>
/// nor a link planted in a storage root leads out.
/// </summary>
public sealed partial class HostPathRoots
{
    /// <summary>Where Debian's (and most distributions') QEMU, SeaBIOS, iPXE and OVMF packages keep firmware; read-only.</summary>
    public static readonly IReadOnlyList<string> FirmwareDirectories =
    [
        "/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/ipxe", "/usr/share/ovmf", "/usr/share/OVMF",
        "/usr/share/AAVMF", "/usr/share/qemu-efi-aarch64", "/usr/share/edk2", "/usr/local/share/qemu",
    ];

    /// <summary>Devices a guest may read randomness from (rng-random); no other device path is a host path a VM may name.</summary>
    private static readonly string[] AllowedDevices = ["/dev/urandom", "/dev/random", "/dev/hwrng", "/dev/null"];

    private readonly List<string> roots;

    public HostPathRoots(IEnumerable<string> roots)
    {
        this.roots = roots.Select(r => Resolve(Path.GetFullPath(r)) ?? Path.GetFullPath(r)).Select(r => r.TrimEnd('/')).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The run directory, the storage roots, and the firmware directories that exist here.</summary>
    public static HostPathRoots For(string runDirectory, IEnumerable<string> storageRoots) =>
        new(storageRoots.Prepend(runDirectory).Concat(FirmwareDirectories.Where(Directory.Exists)));

    /// <summary>Null when <paramref name="path"/> resolves inside a root; else why not, in words.</summary>
    public string? Problem(string path)
    {
        if (!Path.IsPathRooted(path)) return $"'{path}' is a relative path (QEMU would resolve it against its working directory)";
        if (AllowedDevices.Contains(path, StringComparer.Ordinal)) return null;
        var resolved = ResolveAllowingMissing(path);
        if (resolved is null) return $"'{path}' leaves through '..' below a folder that does not exist";
        if (roots.Any(root => resolved == root || resolved.StartsWith(root + "/", StringComparison.Ordinal))) return null;
        var shown = resolved == path ? $"'{path}'" : $"'{path}' (resolved: {resolved})";
        return $"{shown} is outside the agent's roots ({string.Join(", ", roots)})";
    }

    /// <summary>The real path of the longest part that exists, with the rest appended as written; null when the rest
    /// climbs with '..' (it cannot be resolved before it exists, so it is not taken on trust).</summary>
    private static string? ResolveAllowingMissing(string path)
    {
        var existing = path.TrimEnd('/');
        var rest = new Stack<string>();
        string? real;
        while ((real = existing.Length == 0 ? "/" : Resolve(existing)) is null)
        {
            var name = Path.GetFileName(existing);
            if (name == "..") return null;
            if (name != ".") rest.Push(name);
            existing = Path.GetDirectoryName(existing) ?? "";
        }
        return rest.Count == 0 ? real : Path.Combine([real, .. rest]);
    }

    private static string? Resolve(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            free(resolved);
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr realpath(string path, IntPtr resolved);

    [LibraryImport("libc")]
    private static partial void free(IntPtr pointer);
}
