using PSMigration.Core.Diagnostics;
using static PSMigration.Qemu.Libvirt.LibvirtNative;

namespace PSMigration.Qemu.Libvirt;

/// <summary>A connection to a libvirt daemon (<c>qemu:///system</c>, <c>qemu+tls://host/system</c>...) through
/// libvirt's C API: the same calls virsh makes, with typed parameters and errors instead of parsed text.
/// libvirt connections may be used from several threads at once (a migration blocks one; progress and abort use others).</summary>
internal sealed class LibvirtConnection : IDisposable
{
    private static readonly Lazy<bool> Initialized = new(Initialize);
    private IntPtr handle;

    private LibvirtConnection(string uri, IntPtr handle)
    {
        Uri = uri;
        this.handle = handle;
    }

    public string Uri { get; }

    public static LibvirtConnection Open(string uri)
    {
        _ = Initialized.Value;
        var handle = virConnectOpen(uri);
        if (handle == IntPtr.Zero) throw LastError($"cannot connect to libvirt at {uri}", uri);
        return new LibvirtConnection(uri, handle);
    }

    public LibvirtDomain Domain(string name)
    {
        var domain = virDomainLookupByName(handle, name);
        if (domain == IntPtr.Zero) throw LastError($"libvirt at {Uri}, domain {name}", name);
        return new LibvirtDomain(this, name, domain);
    }

    /// <summary>libvirt's last error on this thread, as an exception naming <paramref name="context"/>.</summary>
    internal static LibvirtException LastError(string context, string target)
    {
        var code = virGetLastErrorCode();
        var message = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(virGetLastErrorMessage()) ?? "unknown libvirt error";
        virResetLastError();
        return new LibvirtException(code, $"{context}: {message}", target);
    }

    private static unsafe bool Initialize()
    {
        try
        {
            if (virInitialize() < 0) throw new MigrationException("LibvirtUnavailable", FailureKind.OperationFailed, "libvirt's client library did not initialize");
            virSetErrorFunc(IntPtr.Zero, &IgnoreError);
            return true;
        }
        catch (DllNotFoundException e)
        {
            throw new MigrationException("LibvirtUnavailable", FailureKind.OperationFailed,
                "libvirt's client library (libvirt.so.0) is not installed on this host: install libvirt-clients (Debian: apt-get install libvirt-clients)", null, e);
        }
    }

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        virConnectClose(handle);
        handle = IntPtr.Zero;
    }
}
