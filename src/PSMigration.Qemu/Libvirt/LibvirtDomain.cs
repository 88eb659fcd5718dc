using static PSMigration.Qemu.Libvirt.LibvirtNative;

namespace PSMigration.Qemu.Libvirt;

/// <summary>One libvirt domain on a connection: its state, its migration and the job that runs it.</summary>
internal sealed class LibvirtDomain : IDisposable
{
    private const uint StatsCompleted = 1;
    /// <summary>VIR_DOMAIN_STATS_DIRTYRATE, and VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS: fail, not leave the group
    /// out, where the daemon cannot give it.</summary>
    private const uint StatsDirtyRate = 1 << 9, EnforceStats = 1u << 31;
    private readonly LibvirtConnection connection;
    private IntPtr handle;

    internal LibvirtDomain(LibvirtConnection connection, string name, IntPtr handle)
    {
        this.connection = connection;
        this.handle = handle;
        Name = name;
    }

    public string Name { get; }

    /// <summary>virDomainState: running, paused, shutoff...</summary>
    public string State
    {
        get
        {
            if (virDomainGetState(handle, out var state, out _, 0) < 0) throw Error("cannot read its state");
            return state switch
            {
                0 => "nostate", 1 => "running", 2 => "blocked", 3 => "paused", 4 => "shutdown", 5 => "shutoff", 6 => "crashed", 7 => "pmsuspended",
                _ => $"state {state}",
            };
        }
    }

    /// <summary>Defined (kept when it stops), as opposed to transient (started from XML, gone when it stops).</summary>
    public bool IsPersistent => virDomainIsPersistent(handle) switch
    {
        < 0 => throw Error("cannot tell whether it is persistent"),
        var p => p == 1,
    };

    /// <summary>The domain's live XML description.</summary>
    public string XmlDescription
    {
        get
        {
            var xml = virDomainGetXMLDesc(handle, 0);
            if (xml == IntPtr.Zero) throw Error("cannot read its XML");
            try
            {
                return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(xml) ?? "";
            }
            finally
            {
                free(xml);
            }
        }
    }

    /// <summary>A disk's virtual size and what it holds (virDomainGetBlockInfo), by its target (vda).</summary>
    public (long Capacity, long Allocation) BlockInfo(string target)
    {
        if (virDomainGetBlockInfo(handle, target, out var info, 0) < 0) throw Error($"cannot read disk {target}");
        return ((long)info.Capacity, (long)info.Allocation);
    }

    /// <summary>The job running now, or (with <paramref name="completed"/>) the last one that completed; null when there is none.</summary>
    public LibvirtJobStats? JobStats(bool completed = false)
    {
        if (virDomainGetJobStats(handle, out var type, out var parameters, out var count, completed ? StatsCompleted : 0) < 0)
            throw Error("cannot read its job statistics");
        try
        {
            return type == 0 ? null : LibvirtJobStats.Read(type, parameters, count);
        }
        finally
        {
            virTypedParamsFree(parameters, count);
        }
    }

    /// <summary>Blocks until the migration ends; throws libvirt's error when it fails or is aborted.</summary>
    public void Migrate(LibvirtMigrationCall call)
    {
        using var parameters = new TypedParameters();
        foreach (var (name, value) in call.Parameters) parameters.Add(name, value);
        if (virDomainMigrateToURI3(handle, call.DestinationUri, parameters.Pointer, (uint)parameters.Count, call.Flags) < 0)
            throw Error($"migration to {call.DestinationUri} failed");
    }

    public void SetMaxDowntime(long milliseconds)
    {
        if (virDomainMigrateSetMaxDowntime(handle, (ulong)milliseconds, 0) < 0) throw Error($"cannot set the maximum downtime to {milliseconds} ms");
    }

    /// <summary>Pauses the domain's vCPUs (a migration running on it goes on, with nothing more dirtied).</summary>
    public void Suspend()
    {
        if (virDomainSuspend(handle) < 0) throw Error("cannot pause it");
    }

    public void Resume()
    {
        if (virDomainResume(handle) < 0) throw Error("cannot resume it");
    }

    /// <summary>Switches its running migration (started with VIR_MIGRATE_POSTCOPY) to post-copy.</summary>
    public void StartPostCopy()
    {
        if (virDomainMigrateStartPostCopy(handle, 0) < 0) throw Error("cannot switch its migration to post-copy");
    }

    /// <summary>Starts libvirt's dirty-rate calculation over <paramref name="seconds"/> (flags 0: page sampling, as QEMU's
    /// calc-dirty-rate is asked directly); <see cref="DirtyRate"/> reads it.</summary>
    public void StartDirtyRateCalc(int seconds)
    {
        if (virDomainStartDirtyRateCalc(handle, seconds, 0) < 0) throw Error("cannot start its dirty-rate calculation");
    }

    /// <summary>The last dirty-rate calculation (stats group dirtyrate), its status spelt as QEMU's query-dirty-rate
    /// spells it, and its rate once measured: QEMU's own number, which libvirt passes on.</summary>
    public (string Status, double? MegabytesPerSecond) DirtyRate()
    {
        if (virDomainListGetStats([handle, IntPtr.Zero], StatsDirtyRate, out var records, EnforceStats) < 0) throw Error("cannot read its dirty rate");
        try
        {
            var record = records == IntPtr.Zero ? IntPtr.Zero : System.Runtime.InteropServices.Marshal.ReadIntPtr(records);
            if (record == IntPtr.Zero) return ("unstarted", null); // the domain stopped meanwhile
            var stats = System.Runtime.InteropServices.Marshal.PtrToStructure<StatsRecord>(record);
            var status = virTypedParamsGetInt(stats.Parameters, stats.Count, "dirtyrate.calc_status", out var code) == 1 ? code : 0;
            double? rate = virTypedParamsGetLLong(stats.Parameters, stats.Count, "dirtyrate.megabytes_per_second", out var value) == 1 ? value : null;
            return (status switch { 0 => "unstarted", 1 => "measuring", 2 => "measured", _ => $"status {status}" }, status == 2 ? rate : null);
        }
        finally
        {
            if (records != IntPtr.Zero) virDomainStatsRecordListFree(records);
        }
    }

    public void AbortJob()
    {
        if (virDomainAbortJob(handle) < 0) throw Error("cannot abort its job");
    }

    /// <summary>Pauses its migration in post-copy (VIR_DOMAIN_ABORT_JOB_POSTCOPY: QEMU's migrate-pause), so that a
    /// stalled stream can be resumed (VIR_MIGRATE_POSTCOPY_RESUME); the migration call then returns with an error.</summary>
    public void PausePostcopy()
    {
        if (virDomainAbortJobFlags(handle, 1) < 0) throw Error("cannot pause its post-copy migration");
    }

    private LibvirtException Error(string what) => LibvirtConnection.LastError($"libvirt at {connection.Uri}, domain {Name}: {what}", Name);

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        virDomainFree(handle);
        handle = IntPtr.Zero;
    }

    /// <summary>A virTypedParameter array built by libvirt's own helpers (and freed by them).</summary>
    private sealed class TypedParameters : IDisposable
    {
        private IntPtr pointer;
        private int count, capacity;

        public IntPtr Pointer => pointer;
        public int Count => count;

        public void Add(string name, object value)
        {
            var result = value switch
            {
                string s => virTypedParamsAddString(ref pointer, ref count, ref capacity, name, s),
                int i => virTypedParamsAddInt(ref pointer, ref count, ref capacity, name, i),
                long l => virTypedParamsAddULLong(ref pointer, ref count, ref capacity, name, (ulong)l),
                _ => throw new ArgumentException($"{name}: a {value.GetType().Name} is not a libvirt typed parameter", nameof(value)),
            };
            if (result < 0) throw LibvirtConnection.LastError($"libvirt parameter {name}", name);
        }

        public void Dispose() => virTypedParamsFree(pointer, count);
    }
}
