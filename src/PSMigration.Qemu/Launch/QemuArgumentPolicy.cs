using PSMigration.Core.Diagnostics;

namespace PSMigration.Qemu.Launch;

/// <summary>
/// What the module lets a QEMU it starts do, decided from the inventory's arguments before anything runs (twins on a
/// destination, and the VMs the module starts itself). An allow-list: only the options below, each with its values
/// checked, and never one that runs a program on the host, passes in a file descriptor, gives the guest a host device,
/// or loosens the confinement the module sets (<c>-sandbox</c>, <c>-runas</c>). Every host path an argument names
/// (drives and their backing files, memory backends, chardevs, serial files, the kernel, firmware, sockets) must
/// resolve under <see cref="HostPathRoots"/>. <see cref="Check"/> lists every problem at once, each naming its argument.
/// </summary>
public sealed class QemuArgumentPolicy(HostPathRoots roots)
{
    /// <summary>Options that take no value (the last three are refused below).</summary>
    private static readonly HashSet<string> Flags =
    [
        "-enable-kvm", "-nodefaults", "-no-user-config", "-no-reboot", "-no-shutdown", "-snapshot", "-mem-prealloc",
        "-no-hpet", "-no-acpi", "-usb", "-S", "-daemonize", "-nographic", "-s",
    ];

    /// <summary>Options whose value is one host path.</summary>
    private static readonly HashSet<string> PathOptions = ["-kernel", "-initrd", "-dtb", "-bios", "-pflash", "-L", "-D", "-mem-path"];

    /// <summary>Options whose value is QEMU's key=value list, checked by the generic key rules only.</summary>
    private static readonly HashSet<string> PropertyOptions =
    [
        "-machine", "-M", "-accel", "-cpu", "-smp", "-m", "-numa", "-overcommit", "-rtc", "-boot", "-name", "-fw_cfg",
        "-smbios", "-action", "-msg", "-icount",
    ];

    /// <summary>Options whose value is a plain word or text, never a host path.</summary>
    private static readonly HashSet<string> TextOptions = ["-append", "-uuid", "-k", "-vga", "-watchdog-action", "-d"];

    /// <summary>Options the module sets itself, or that would undo what it sets; with the reason a user reads.</summary>
    private static readonly Dictionary<string, string> Refused = new(StringComparer.Ordinal)
    {
        ["-incoming"] = "the module sets it itself", ["-qmp"] = "the module sets it itself", ["-qmp-pretty"] = "the module sets it itself",
        ["-monitor"] = "the module owns the monitor (QMP)", ["-mon"] = "the module owns the monitor (QMP)",
        ["-daemonize"] = "the module starts QEMU itself", ["-pidfile"] = "the module sets it itself", ["-nographic"] = "use -display none",
        ["-sandbox"] = "the module confines QEMU itself (-sandbox on, no spawning, no privilege changes)",
        ["-runas"] = "the agent's --twin-user decides which user QEMU runs as", ["-chroot"] = "the agent decides how QEMU is confined",
        ["-plugin"] = "a TCG plugin is a shared library QEMU loads: it runs code on the host",
        ["-add-fd"] = "it passes a file descriptor the agent does not hold",
        ["-readconfig"] = "a config file would add options the agent cannot check", ["-writeconfig"] = "it writes a host file",
        ["-s"] = "a gdb server gives whoever connects the whole guest", ["-gdb"] = "a gdb server gives whoever connects the whole guest",
        ["-fsdev"] = "it shares a host directory with the guest", ["-virtfs"] = "it shares a host directory with the guest",
        ["-usbdevice"] = "it can pass a host USB device to the guest", ["-tpmdev"] = "it reaches a host TPM or its emulator",
        ["-option-rom"] = "use -device's romfile under a storage root", ["-acpitable"] = "use -smbios or -fw_cfg under a storage root",
        ["-trace"] = "trace output and event files are not checked", ["-loadvm"] = "a snapshot restores state the source does not have",
    };

    /// <summary>Keys whose value is a host path (the last part of a dotted key, as in <c>file.filename</c>); -drive's and
    /// -blockdev's own <c>file</c> are checked apart (an image, or a node's name).</summary>
    private static readonly HashSet<string> PathKeys =
        ["file", "filename", "path", "mem-path", "romfile", "sysfsdev", "dumpdtb", "splash", "logfile", "kernel", "initrd", "dtb", "firmware", "input-path", "tftp"];

    /// <summary>Keys that make QEMU run a program on the host.</summary>
    private static readonly HashSet<string> ProgramKeys = ["script", "downscript", "helper", "smb"];

    /// <summary>Keys that hand QEMU a file descriptor.</summary>
    private static readonly HashSet<string> DescriptorKeys = ["fd", "fds", "vhostfd", "vhostfds"];

    private static readonly HashSet<string> NetworkTypes = ["user", "tap", "socket", "stream", "dgram", "hubport", "vhost-user", "none"];
    private static readonly HashSet<string> ChardevBackends = ["null", "socket", "udp", "file", "pipe", "ringbuf", "memory", "pty"];
    private static readonly HashSet<string> ObjectTypes =
    [
        "memory-backend-ram", "memory-backend-memfd", "memory-backend-file", "rng-random", "rng-builtin", "rng-egd", "iothread",
        "throttle-group", "secret", "main-loop", "thread-context", "cryptodev-backend-builtin", "filter-buffer", "filter-dump",
    ];
    private static readonly HashSet<string> BlockdevDrivers = ["file", "raw", "qcow2", "throttle", "null-co", "copy-on-read"];
    private static readonly HashSet<string> DriveFormats = ["raw", "qcow2"];
    /// <summary>Devices that hand the guest a host device or a host kernel service.</summary>
    private static readonly string[] PassthroughDevices = ["vfio", "vhost-vdpa", "vhost-scsi", "usb-host", "u2f-passthru", "pci-assign"];
    private static readonly string[] SerialTargets = ["none", "null", "pty", "vc"];
    private static readonly string[] SerialPathPrefixes = ["file:", "pipe:", "unix:"];
    private static readonly string[] SerialNetworkPrefixes = ["tcp:", "telnet:", "udp:", "chardev:"];

    /// <summary>Refuses <paramref name="args"/> of <paramref name="vm"/> unless every argument passes, listing each problem.</summary>
    /// <param name="where">Whose check it is, for the message ("the agent of kvm02").</param>
    public void Check(string vm, string where, IReadOnlyList<string> args)
    {
        var problems = Problems(args);
        if (problems.Count > 0)
            throw new MigrationException("QemuArgumentRefused", FailureKind.InvalidInput,
                $"{where} refuses the qemu args of {vm}: {string.Join("; ", problems)}", vm);
    }

    public IReadOnlyList<string> Problems(IReadOnlyList<string> args)
    {
        var problems = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
            {
                problems.Add($"'{arg}' is not an option (a disk image is given with -drive file=...,format=...)");
                continue;
            }
            var option = arg.StartsWith("--", StringComparison.Ordinal) ? arg[1..] : arg; // QEMU reads --m as -m
            if (Refused.TryGetValue(option, out var why))
            {
                problems.Add($"'{arg}': {why}");
                if (!Flags.Contains(option) && i + 1 < args.Count) i++; // its value is not an option
                continue;
            }
            if (Flags.Contains(option)) continue;
            if (!IsKnown(option))
            {
                problems.Add($"'{arg}' is not an option the module lets a VM use");
                continue;
            }
            if (i + 1 >= args.Count)
            {
                problems.Add($"'{arg}' needs a value");
                continue;
            }
            var value = args[++i];
            foreach (var problem in ValueProblems(option, value)) problems.Add($"'{arg} {value}': {problem}");
        }
        return problems;
    }

    private static bool IsKnown(string option) =>
        PathOptions.Contains(option) || PropertyOptions.Contains(option) || TextOptions.Contains(option) ||
        option is "-drive" or "-blockdev" or "-device" or "-global" or "-object" or "-netdev" or "-nic" or "-chardev" or "-serial" or "-parallel" or "-display" or "-vnc";

    private IEnumerable<string> ValueProblems(string option, string value)
    {
        if (TextOptions.Contains(option)) return [];
        if (PathOptions.Contains(option)) return roots.Problem(value) is { } p ? [p] : [];
        if (option is "-serial" or "-parallel") return SerialProblems(value);
        if (option is "-display") return value.Split(',')[0] is "none" or "egl-headless" ? [] : ["the VM runs headless: use -display none (or -vnc)"];
        if (value.StartsWith('{')) return ["the JSON form is not checked: write it as key=value pairs"];
        var properties = QemuProperties.Parse(value);
        return option switch
        {
            "-drive" => DriveProblems(properties),
            "-blockdev" => BlockdevProblems(properties),
            "-device" => DeviceProblems(properties),
            "-global" => GlobalProblems(properties),
            "-object" => KindProblems(properties, "qom-type", ObjectTypes, "object").Concat(KeyProblems(properties)),
            "-netdev" or "-nic" => NetworkProblems(properties),
            "-chardev" => KindProblems(properties, "backend", ChardevBackends, "chardev backend").Concat(KeyProblems(properties)),
            "-vnc" => VncProblems(properties),
            _ => KeyProblems(properties),
        };
    }

    /// <summary>The rules every key=value list obeys: host paths inside the roots, no programs, no descriptors.</summary>
    private IEnumerable<string> KeyProblems(QemuProperties properties)
    {
        foreach (var (key, value) in properties.Pairs)
        {
            var name = key[(key.LastIndexOf('.') + 1)..];
            if (ProgramKeys.Contains(name) && !(name is "script" or "downscript" && value is "no"))
                yield return $"{key}= runs a program on the host";
            else if (DescriptorKeys.Contains(name)) yield return $"{key}= passes a file descriptor the agent does not hold";
            else if (PathKeys.Contains(name) && roots.Problem(value) is { } problem) yield return $"{key}=: {problem}";
        }
    }

    private static IEnumerable<string> KindProblems(QemuProperties properties, string implied, HashSet<string> allowed, string what)
    {
        var kind = properties.First(implied) ?? "";
        if (!allowed.Contains(kind)) yield return $"{what} '{kind}' is not one the module runs (allowed: {string.Join(", ", allowed.Order(StringComparer.Ordinal))})";
    }

    private IEnumerable<string> DriveProblems(QemuProperties properties)
    {
        var file = properties.Get("file");
        var format = properties.Get("format");
        if (file is not null)
        {
            if (QemuProperties.HasProtocol(file)) yield return $"file={file}: a protocol (nbd:, json:...) is not a host path the agent can check";
            else if (roots.Problem(file) is { } outside) yield return $"file=: {outside}";
            else if (format is null) yield return "set format=raw or format=qcow2: QEMU's format probing lets the guest's data choose the format";
            else if (!DriveFormats.Contains(format)) yield return $"format={format}: only raw and qcow2 (their other files are known)";
            else if (format == "qcow2")
                foreach (var backing in BackingChain.Problems(file, roots)) yield return backing;
        }
        foreach (var problem in KeyProblems(properties.Without("file"))) yield return problem;
    }

    private IEnumerable<string> BlockdevProblems(QemuProperties properties)
    {
        var driver = properties.Get("driver") ?? "";
        if (!BlockdevDrivers.Contains(driver)) yield return $"driver={driver}: only {string.Join(", ", BlockdevDrivers)}";
        // A qcow2 node opens the backing file its header names unless told which: make it say.
        if (driver == "qcow2" && properties.Get("backing") is null) yield return "set backing= (a node-name, or null): the image's own backing file is not checked";
        foreach (var problem in KeyProblems(properties.Without("file"))) yield return problem; // here file= names a node
    }

    private IEnumerable<string> DeviceProblems(QemuProperties properties)
    {
        var driver = properties.First("driver") ?? "";
        if (PassthroughDevices.Any(p => driver.StartsWith(p, StringComparison.Ordinal))) yield return $"'{driver}' gives the guest a host device";
        foreach (var problem in KeyProblems(properties)) yield return problem; // -device loader,file= is a path too
    }

    /// <summary><c>-global driver.property=value</c>: the property's value obeys the key rules.</summary>
    private IEnumerable<string> GlobalProblems(QemuProperties properties)
    {
        var pairs = properties.Get("property") is { } property ? [(property, properties.Get("value") ?? "")] : properties.Pairs;
        return KeyProblems(new QemuProperties(null, pairs.ToList()));
    }

    private IEnumerable<string> NetworkProblems(QemuProperties properties)
    {
        var type = properties.First("type") ?? "";
        if (type == "bridge") yield return "type bridge runs qemu-bridge-helper: use tap with script=no,downscript=no";
        else if (!NetworkTypes.Contains(type)) yield return $"network type '{type}' is not one the module runs (allowed: {string.Join(", ", NetworkTypes)})";
        if (type == "tap" && (properties.Get("script") != "no" || properties.Get("downscript") != "no"))
            yield return "a tap without script=no,downscript=no runs /etc/qemu-ifup as root: create the tap beforehand and set both to no";
        if (properties.Get("guestfwd") is { } forward && forward.Contains("cmd:", StringComparison.Ordinal)) yield return "guestfwd=...cmd: runs a program on the host";
        foreach (var problem in KeyProblems(properties)) yield return problem;
    }

    private IEnumerable<string> SerialProblems(string value)
    {
        if (SerialTargets.Contains(value)) return [];
        if (SerialNetworkPrefixes.Any(p => value.StartsWith(p, StringComparison.Ordinal))) return [];
        if (SerialPathPrefixes.FirstOrDefault(p => value.StartsWith(p, StringComparison.Ordinal)) is { } prefix)
            return roots.Problem(value[prefix.Length..].Split(',')[0]) is { } problem ? [problem] : [];
        if (value.StartsWith("mon:", StringComparison.Ordinal)) return ["it would put QEMU's monitor on the serial line (the module owns the monitor)"];
        return [$"'{value}' is a host device or terminal; use file:, unix:, tcp:, chardev:, pty or none"];
    }

    private IEnumerable<string> VncProblems(QemuProperties properties)
    {
        var display = properties.First("vnc") ?? "";
        if (display.StartsWith("unix:", StringComparison.Ordinal) && roots.Problem(display[5..]) is { } problem) yield return problem;
        foreach (var keyProblem in KeyProblems(properties.Without("vnc"))) yield return keyProblem;
    }
}
