using PSMigration.Core.Planning;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>The one mapping from a plan to QEMU's migration capabilities and parameters, applied
/// the same way to the source and to its twin (QEMU requires both ends to agree).</summary>
internal static class MigrationSetup
{
    /// <summary>QEMU's default max-bandwidth is 128 MiB/s: without a policy cap, lift it out of the way.</summary>
    private const long Unlimited = 1L << 40;

    public static MigrationSettings From(MigrationPlan plan) => new()
    {
        Multifd = plan.Parallel,
        Channels = plan.Channels,
        Compression = plan.Compression,
        DowntimeLimitMs = plan.MaxDowntimeMs,
        MaxBandwidth = plan.BandwidthCapGbps is { } cap ? (long)(cap * 1e9 / 8) : Unlimited,
        Postcopy = plan.Postcopy,
        AutoConverge = plan.AutoConverge,
    };

    /// <summary>auto-converge's throttle: where it starts and how much it adds each pass (QEMU's own defaults, set so
    /// that what the plan says is what QEMU does).</summary>
    public const int ThrottleInitial = 20, ThrottleIncrement = 10;

    /// <summary>The QMP commands, in order, as (command, arguments): also what -WhatIf shows.</summary>
    public static IReadOnlyList<(string Command, object Arguments)> Commands(MigrationSettings settings, string? tlsCreds, string? tlsHostname)
    {
        var capabilities = new (string Name, bool On)[]
        {
            ("events", true),
            ("multifd", settings.Multifd),
            ("xbzrle", settings.Compression == CompressionMethod.Xbzrle),
            ("postcopy-ram", settings.Postcopy),
            ("auto-converge", settings.AutoConverge),
        };
        var parameters = new Dictionary<string, object>
        {
            ["downtime-limit"] = settings.DowntimeLimitMs,
            ["max-bandwidth"] = settings.MaxBandwidth,
            ["tls-creds"] = tlsCreds ?? "",
            ["tls-hostname"] = tlsHostname ?? "",
        };
        if (settings.Postcopy) // post-copy has a cap of its own (0: none), or the policy's cap would end at the switch
            parameters["max-postcopy-bandwidth"] = settings.MaxBandwidth == Unlimited ? 0 : settings.MaxBandwidth;
        if (settings.AutoConverge)
        {
            parameters["cpu-throttle-initial"] = ThrottleInitial;
            parameters["cpu-throttle-increment"] = ThrottleIncrement;
        }
        if (settings.Multifd)
        {
            parameters["multifd-channels"] = settings.Channels;
            parameters["multifd-compression"] = settings.Compression is CompressionMethod.Zlib or CompressionMethod.Zstd ? Spelling.Of(settings.Compression) : "none";
        }
        return
        [
            ("migrate-set-capabilities", new { capabilities = capabilities.Select(c => new { capability = c.Name, state = c.On }).ToArray() }),
            ("migrate-set-parameters", parameters),
        ];
    }

    /// <summary>The commands as -WhatIf shows them: "migrate-set-parameters {...}".</summary>
    public static IEnumerable<string> Describe(MigrationSettings settings, string? tlsCreds, string? tlsHostname) =>
        Commands(settings, tlsCreds, tlsHostname).Select(c => $"{c.Command} {System.Text.Json.JsonSerializer.Serialize(c.Arguments)}");

    public static async Task ApplyAsync(QmpClient qmp, MigrationSettings settings, string? tlsCreds, string? tlsHostname, CancellationToken cancel)
    {
        foreach (var (command, arguments) in Commands(settings, tlsCreds, tlsHostname))
            await qmp.ExecuteAsync(command, arguments, cancel);
    }
}
