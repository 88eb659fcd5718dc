using PSMigration.Core.Diagnostics;

namespace PSMigration.Qemu.Libvirt;

/// <summary>A libvirt call failed: libvirt's own message, with what we asked and of which domain or URI.</summary>
internal sealed class LibvirtException : MigrationException
{
    /// <summary>virErrorNumber values the driver tells apart.</summary>
    public const int NoDomain = 42, OperationInvalid = 55;

    public LibvirtException(int code, string message, string target)
        : base(code == NoDomain ? "LibvirtDomainNotFound" : "LibvirtError", code == NoDomain ? FailureKind.NotFound : FailureKind.OperationFailed, message, target)
    {
        Code = code;
    }

    /// <summary>libvirt's virErrorNumber.</summary>
    public int Code { get; }
}
