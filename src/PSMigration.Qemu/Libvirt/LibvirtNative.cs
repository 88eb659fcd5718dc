using System.Runtime.InteropServices;

namespace PSMigration.Qemu.Libvirt;

/// <summary>The part of libvirt's C API (libvirt.so.0, Debian's <c>libvirt0</c>) the driver uses. Every
/// call that can fail is followed, on the same thread, by reading libvirt's thread-local last error.</summary>
internal static unsafe partial class LibvirtNative
{
    private const string Library = "libvirt.so.0";

    [LibraryImport(Library)] internal static partial int virInitialize();
    [LibraryImport(Library)] internal static partial void virSetErrorFunc(IntPtr userData, delegate* unmanaged<IntPtr, IntPtr, void> handler);
    [LibraryImport(Library)] internal static partial IntPtr virGetLastErrorMessage();
    [LibraryImport(Library)] internal static partial int virGetLastErrorCode();
    [LibraryImport(Library)] internal static partial void virResetLastError();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr virConnectOpen(string uri);
    [LibraryImport(Library)] internal static partial int virConnectClose(IntPtr connection);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr virDomainLookupByName(IntPtr connection, string name);
    [LibraryImport(Library)] internal static partial int virDomainFree(IntPtr domain);
    [LibraryImport(Library)] internal static partial int virDomainGetState(IntPtr domain, out int state, out int reason, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainIsPersistent(IntPtr domain);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainMigrateToURI3(IntPtr domain, string destinationUri, IntPtr parameters, uint count, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainMigrateSetMaxDowntime(IntPtr domain, ulong milliseconds, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainGetJobStats(IntPtr domain, out int type, out IntPtr parameters, out int count, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainAbortJob(IntPtr domain);
    [LibraryImport(Library)] internal static partial int virDomainAbortJobFlags(IntPtr domain, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSuspend(IntPtr domain);
    [LibraryImport(Library)] internal static partial int virDomainResume(IntPtr domain);
    [LibraryImport(Library)] internal static partial int virDomainMigrateStartPostCopy(IntPtr domain, uint flags);
    /// <summary>The domain's XML (a string libvirt allocated: free it with <see cref="free"/>).</summary>
    [LibraryImport(Library)] internal static partial IntPtr virDomainGetXMLDesc(IntPtr domain, uint flags);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainGetBlockInfo(IntPtr domain, string disk, out BlockInfo info, uint flags);
    [LibraryImport("libc")] internal static partial void free(IntPtr pointer);
    [LibraryImport(Library)] internal static partial int virDomainStartDirtyRateCalc(IntPtr domain, int seconds, uint flags);
    /// <summary>Statistics of the NULL-terminated <paramref name="domains"/>: a NULL-terminated array of
    /// <see cref="StatsRecord"/> pointers (free it with <see cref="virDomainStatsRecordListFree"/>).</summary>
    [LibraryImport(Library)] internal static partial int virDomainListGetStats(IntPtr[] domains, uint stats, out IntPtr records, uint flags);
    [LibraryImport(Library)] internal static partial void virDomainStatsRecordListFree(IntPtr records);

    /// <summary>virDomainStatsRecord: one domain's statistics as typed parameters.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct StatsRecord
    {
        public IntPtr Domain;
        public IntPtr Parameters;
        public int Count;
    }

    /// <summary>virDomainBlockInfo: the disk's virtual size, what it holds, and the file's size.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BlockInfo
    {
        public ulong Capacity;
        public ulong Allocation;
        public ulong Physical;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsAddString(ref IntPtr parameters, ref int count, ref int capacity, string name, string value);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsAddInt(ref IntPtr parameters, ref int count, ref int capacity, string name, int value);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsAddULLong(ref IntPtr parameters, ref int count, ref int capacity, string name, ulong value);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsGetULLong(IntPtr parameters, int count, string name, out ulong value);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsGetLLong(IntPtr parameters, int count, string name, out long value);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsGetInt(IntPtr parameters, int count, string name, out int value);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsGetString(IntPtr parameters, int count, string name, out IntPtr value);
    [LibraryImport(Library)] internal static partial void virTypedParamsFree(IntPtr parameters, int count);

    /// <summary>Without a handler libvirt prints every error to stderr as well; the driver reports them itself.</summary>
    [UnmanagedCallersOnly]
    internal static void IgnoreError(IntPtr userData, IntPtr error)
    {
    }
}
