using System.Net;
using System.Text.Json;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

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

    public required string Vm { get; init; }
    /// <summary>The VM's QEMU (binary, arguments, QMP path) as the source's inventory has it, to compare.</summary>
    public required QemuSpec SourceQemu { get; init; }
    public required MigrationSettings Settings { get; init; }
    /// <summary>Direct: QEMU listens on <see cref="ListenAddress"/>; engine: on a unix socket the agent relays to.</summary>
    public required MigrationTransport Transport { get; init; }
    public required IPAddress ListenAddress { get; init; }
    /// <summary>Direct transport with QEMU's own TLS (tls-creds-x509 from the cluster PKI).</summary>
    public bool Tls { get; init; }

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, Json);

    /// <summary>The request a source sent; a payload that is not one is refused, saying so.</summary>
    public static TwinRequest FromJson(string vm, JsonElement payload)
    {
        try
        {
            return payload.Deserialize<TwinRequest>(Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new MigrationException("TwinRequestInvalid", FailureKind.InvalidInput, $"The request to start {vm}'s twin is not one this agent reads: {e.Message}", vm, e);
        }
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
        options.Converters.Add(new SpellingJsonConverterFactory());
        options.Converters.Add(new IPAddressJsonConverter());
        return options;
    }
}
