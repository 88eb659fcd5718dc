using System.Net;
using System.Text.Json;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>What the source asks of the destination agent for a VM's incoming twin: the VM, the migration settings both
/// ends must share, and how the stream arrives. The agent starts the twin from its own inventory; <see cref="SourceQemu"/>
/// is only how the source's inventory describes the VM, so that a stale copy on either host is refused, saying what
/// differs, instead of starting a different machine. The engine carries it as an opaque JSON payload of its control
/// messages; only this type reads and writes it.</summary>
internal sealed record TwinRequest
{
    /// <summary>The pid file a waiting twin writes (<c>{vm}.incoming.pid</c>): the twin host renames it at the
    /// commit and cleans up the ones a crash left; -WhatIf shows it in the twin's command line.</summary>
    public const string UncommittedPidSuffix = ".incoming.pid";

    private static readonly JsonSerializerOptions Json = CreateJson();

    /// <summary>More QEMU arguments than any VM has: a bound on what a request may carry.</summary>
    private const int MaxArgs = 1024;

    /// <summary>More disks than a VM has, well inside what one engine session carries with its memory channels.</summary>
    private const int MaxDisks = 64;

    /// <summary>QEMU's own ceiling for downtime-limit (2000 s).</summary>
    private const int MaxDowntimeMs = 2_000_000;

    public required string Vm { get; init; }
    /// <summary>The VM's QEMU (binary, arguments, QMP path) as the source's inventory has it, to compare.</summary>
    public required QemuSpec SourceQemu { get; init; }
    public required MigrationSettings Settings { get; init; }
    /// <summary>Direct: QEMU listens on <see cref="ListenAddress"/>; engine: on a unix socket the agent relays to.</summary>
    public required MigrationTransport Transport { get; init; }
    public required IPAddress ListenAddress { get; init; }
    /// <summary>Direct transport with QEMU's own TLS (tls-creds-x509 from the cluster PKI).</summary>
    public bool Tls { get; init; }
    /// <summary>The local disks the source copies (copy-storage): the agent creates and exports an image for each.</summary>
    public IReadOnlyList<DiskToCopy> Disks { get; init; } = [];

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, Json);

    /// <summary>The request a source sent; a payload that is not one is refused, saying so.</summary>
    public static TwinRequest FromJson(string vm, JsonElement payload)
    {
        TwinRequest request;
        try
        {
            request = payload.Deserialize<TwinRequest>(Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw Invalid(vm, e.Message, e);
        }
        return request.Problem(vm) is { } problem ? throw Invalid(vm, problem, null) : request;
    }

    /// <summary>Values JSON lets through that no source would send: nulls in required places, and settings out of range.</summary>
    private string? Problem(string vm) =>
        !MigrationInventory.NameComparer.Equals(Vm, vm) ? $"it names VM '{Vm}', not {vm}"
        : SourceQemu is not { Qmp: not null, Args: not null, Binary: not null } ? "it does not describe the VM's QEMU"
        : SourceQemu.Args.Count > MaxArgs || SourceQemu.Args.Any(a => a is null) ? $"its QEMU arguments are missing or more than {MaxArgs}"
        : Settings is null ? "it has no migration settings"
        : Settings.Channels is < 1 or > PolicyKeys.MaxChannels ? $"{Settings.Channels} multifd channels (1 to {PolicyKeys.MaxChannels})"
        : Settings.DowntimeLimitMs is < 0 or > MaxDowntimeMs ? $"a downtime limit of {Settings.DowntimeLimitMs} ms (0 to {MaxDowntimeMs})"
        : Settings.MaxBandwidth < 0 ? "a negative bandwidth"
        : !Enum.IsDefined(Settings.Compression) || !Enum.IsDefined(Transport) ? "an unknown compression or transport"
        : ListenAddress is null ? "it has no listen address"
        : Disks is null || Disks.Count > MaxDisks || Disks.Any(d => d is null) ? $"its disks are missing or more than {MaxDisks}"
        : Disks.Select(d => d.Problem()).FirstOrDefault(p => p is not null) is { } disk ? disk
        : Disks.Select(d => d.Key).Distinct(StringComparer.Ordinal).Count() != Disks.Count ? "a disk is named twice"
        : null;

    private static MigrationException Invalid(string vm, string why, Exception? inner) =>
        new("TwinRequestInvalid", FailureKind.InvalidInput, $"The request to start {vm}'s twin is not one this agent reads: {why}", vm, inner);

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
        options.Converters.Add(new SpellingJsonConverterFactory());
        options.Converters.Add(new IPAddressJsonConverter());
        return options;
    }
}
