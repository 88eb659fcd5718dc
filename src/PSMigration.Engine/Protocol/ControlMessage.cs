using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Engine.Protocol;

/// <summary>Messages on the control channel: a u32 length, then one JSON object.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(OpenRequest), "open")]
[JsonDerivedType(typeof(Opened), "opened")]
[JsonDerivedType(typeof(Refused), "refused")]
[JsonDerivedType(typeof(Ping), "ping")]
[JsonDerivedType(typeof(Pong), "pong")]
[JsonDerivedType(typeof(Finish), "finish")]
[JsonDerivedType(typeof(Finished), "finished")]
[JsonDerivedType(typeof(ChannelAcks), "acks")]
[JsonDerivedType(typeof(Goodbye), "goodbye")]
[JsonDerivedType(typeof(PrepareIncoming), "prepareIncoming")]
[JsonDerivedType(typeof(IncomingReady), "incomingReady")]
[JsonDerivedType(typeof(CommitIncoming), "commitIncoming")]
[JsonDerivedType(typeof(IncomingCommitted), "incomingCommitted")]
[JsonDerivedType(typeof(PrepareRelay), "prepareRelay")]
[JsonDerivedType(typeof(RecoverIncoming), "recoverIncoming")]
[JsonDerivedType(typeof(CheckIncoming), "checkIncoming")]
[JsonDerivedType(typeof(IncomingChecked), "incomingChecked")]
[JsonDerivedType(typeof(MigrateOutgoing), "migrateOutgoing")]
[JsonDerivedType(typeof(OutgoingProgress), "outgoingProgress")]
[JsonDerivedType(typeof(OutgoingNote), "outgoingNote")]
[JsonDerivedType(typeof(CancelOutgoing), "cancelOutgoing")]
[JsonDerivedType(typeof(OutgoingDone), "outgoingDone")]
public abstract record ControlMessage
{
    /// <summary>Control messages are small; a bigger length is garbage, not a message.</summary>
    public const int MaxSize = 64 * 1024;

    /// <summary>JSON nests no deeper than this in any message (a twin request is the deepest, at five).</summary>
    public const int MaxDepth = 16;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, MaxDepth = MaxDepth };

    /// <summary>What makes a decoded message unusable (a missing name, an impossible value), or null. JSON turns a
    /// missing or null field into null even where the type says it cannot be, so each message checks its own.</summary>
    protected virtual string? Problem() => null;

    /// <summary>A name that names files on the agent's host: a VM's (<see cref="PSMigration.Core.Inventory.VmNames"/>).</summary>
    private protected static string? VmProblem(string? vm) =>
        PSMigration.Core.Inventory.VmNames.IsValid(vm) ? null : $"the VM name {(vm is null ? "is missing" : $"'{Shorten(vm)}' is not {PSMigration.Core.Inventory.VmNames.Rule}")}";

    private protected static string? TextProblem(string what, string? text, int max, bool required = true) =>
        text is null ? (required ? $"{what} is missing" : null) : text.Length > max ? $"{what} is longer than {max} characters" : null;

    private protected static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "...";

    /// <param name="log">Told each message but the keepalives, at debug level.</param>
    public async Task WriteAsync(Stream stream, CancellationToken cancel, IActivityLog? log = null)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(this, Json);
        if (log is { DebugEnabled: true } && this is not (Ping or Pong)) log.Debug($"control -> {System.Text.Encoding.UTF8.GetString(body)}");
        var bytes = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)body.Length);
        body.CopyTo(bytes, 4);
        await stream.WriteAsync(bytes, cancel);
        await stream.FlushAsync(cancel);
    }

    public static async Task<ControlMessage> ReadAsync(Stream stream, CancellationToken cancel, IActivityLog? log = null)
    {
        var head = new byte[4];
        await stream.ReadExactlyAsync(head, cancel);
        var length = BinaryPrimitives.ReadUInt32BigEndian(head);
        if (length > MaxSize) throw new ProtocolException($"a control message of {length} bytes exceeds the limit of {MaxSize}");
        var body = new byte[length];
        var read = await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancel);
        if (read < body.Length) throw new ProtocolException($"a control message cut short: {read} of its {length} bytes");
        try
        {
            var message = JsonSerializer.Deserialize<ControlMessage>(body, Json) ?? throw new ProtocolException("an empty control message");
            if (log is { DebugEnabled: true } && message is not (Ping or Pong)) log.Debug($"control <- {System.Text.Encoding.UTF8.GetString(body)}");
            if (message.Problem() is { } problem) throw new ProtocolException($"a malformed {message.GetType().Name} message: {problem}");
            return message;
        }
        catch (JsonException e)
        {
            throw new ProtocolException($"a malformed control message: {e.Message}");
        }
        catch (NotSupportedException) // System.Text.Json's word for a message without its "type" first
        {
            throw new ProtocolException("a control message that does not start with its \"type\"");
        }
    }

    public static async Task<T> ExpectAsync<T>(Stream stream, CancellationToken cancel, IActivityLog? log = null) where T : ControlMessage =>
        As<T>(await ReadAsync(stream, cancel, log));

    /// <summary>The answer wanted; a refusal throws with the agent's reason, anything else as out of turn.</summary>
    public static T As<T>(ControlMessage message) where T : ControlMessage => message switch
    {
        T wanted => wanted,
        Refused refused => throw new ProtocolException(refused.Reason),
        var other => throw new ProtocolException($"expected {typeof(T).Name}, got {other.GetType().Name}"),
    };
}

public enum TransferMode { Synthetic, Relay }

/// <summary>The source opens a session: how many data channels, what they carry, and how they are secured.</summary>
/// <param name="LeadTarget">When set, the first <paramref name="LeadChannels"/> channels relay to it (a twin's NBD server,
/// one channel per disk) and the rest to <paramref name="RelayTarget"/>.</param>
/// <param name="ResumeSeconds">How long the agent holds a channel whose connection broke, waiting for the source to bring
/// another (its linkLossToleranceSeconds); zero: a break ends the session.</param>
internal sealed record OpenRequest(TransferMode Mode, int Channels, bool Tls, string? Network, string? RelayTarget,
    string? LeadTarget = null, int LeadChannels = 0, int ResumeSeconds = 0) : ControlMessage
{
    /// <summary>The longest a source may ask the agent to hold a broken channel (the policy key's own bound).</summary>
    public const int MaxResumeSeconds = 3600;

    protected override string? Problem() =>
        !Enum.IsDefined(Mode) ? $"mode {(int)Mode} is not a transfer mode"
        : ResumeSeconds is < 0 or > MaxResumeSeconds ? $"resume within {ResumeSeconds} s (0 to {MaxResumeSeconds})"
        : LeadChannels < 0 || (LeadChannels > 0 && LeadChannels >= Channels) || (LeadChannels > 0) != (LeadTarget is not null) ? $"{LeadChannels} lead channels of {Channels}"
        : TextProblem("the network", Network, 256, required: false) ?? TextProblem("the relay target", RelayTarget, 64, required: false)
          ?? TextProblem("the lead target", LeadTarget, 64, required: false);

    /// <summary>The relay target channel <paramref name="index"/> connects to.</summary>
    public string? TargetOf(int index) => index < LeadChannels ? LeadTarget : RelayTarget;
}

/// <summary>The agent accepts; data channels without TLS must present <see cref="Token"/>.</summary>
internal sealed record Opened(byte[] Token) : ControlMessage
{
    protected override string? Problem() => Token is { Length: Hello.TokenSize } ? null : $"the token is not {Hello.TokenSize} bytes";
}

internal sealed record Refused(string Reason) : ControlMessage
{
    protected override string? Problem() => TextProblem("the reason", Reason, HelloReply.MaxReason * 8);
}

internal sealed record Ping(long Sequence) : ControlMessage;

internal sealed record Pong(long Sequence) : ControlMessage;

/// <summary>How far each listed data channel's stream has arrived (stream positions): the sender may forget what came
/// before. On the control channel, not in the data channel's own stream, so a reader busy delivering one way never
/// holds up the acknowledgements of the other way.</summary>
internal sealed record ChannelAcks(int[] Channels, long[] Positions) : ControlMessage
{
    protected override string? Problem() =>
        Channels is null || Positions is null || Channels.Length != Positions.Length || Channels.Length > Hello.MaxChannels
            ? "the channels and their positions do not match" : null;
}

/// <summary>The source ends this control channel on purpose (done, cancelled, failed): the agent lets go now, not after
/// waiting for the source to come back.</summary>
internal sealed record Goodbye : ControlMessage;

/// <summary>The source is done sending; it asks the agent what arrived.</summary>
internal sealed record Finish : ControlMessage;

/// <summary>Bytes the agent received on each channel, for honest statistics on both ends.</summary>
internal sealed record Finished(long[] BytesReceived, bool Ok, string? Error) : ControlMessage
{
    protected override string? Problem() =>
        BytesReceived is null || BytesReceived.Length > Hello.MaxChannels ? $"the byte counts are missing or more than {Hello.MaxChannels}" : null;
}

/// <summary>The source asks the agent to start the VM's incoming twin and hold it while this control
/// connection lasts: closing the connection before <see cref="CommitIncoming"/> stops the twin. <see cref="Twin"/>
/// is what the agent's <c>IIncomingVmHost</c> needs to start it (the engine carries it as it is).</summary>
/// <param name="ResumeSeconds">How long the agent holds the twin when the connection breaks, waiting for the source to
/// come back (its linkLossToleranceSeconds); zero: a break stops the twin.</param>
internal sealed record PrepareIncoming(string Vm, JsonElement Twin, int ResumeSeconds = 0) : ControlMessage
{
    protected override string? Problem() => VmProblem(Vm) ?? (Twin.ValueKind == JsonValueKind.Object ? null : "the twin is not a JSON object")
        ?? (ResumeSeconds is < 0 or > OpenRequest.MaxResumeSeconds ? $"resume within {ResumeSeconds} s (0 to {OpenRequest.MaxResumeSeconds})" : null);
}

/// <summary>The twin waits: at <see cref="Uri"/> for QEMU (direct), or behind <see cref="RelayTarget"/> for a relay session (engine).</summary>
/// <param name="DiskUri">Where the twin's NBD server takes the disks (direct transport), when disks are copied.</param>
/// <param name="DiskRelayTarget">The relay target of that NBD server (engine transport).</param>
/// <param name="DiskPaths">The images the agent created for the disks, in the request's order.</param>
public sealed record IncomingReady(string Uri, string? RelayTarget, string QmpPath,
    string? DiskUri = null, string? DiskRelayTarget = null, IReadOnlyList<string>? DiskPaths = null) : ControlMessage
{
    protected override string? Problem() =>
        TextProblem("the uri", Uri, 4096) ?? TextProblem("the relay target", RelayTarget, 64, required: false) ?? TextProblem("the QMP path", QmpPath, 4096)
        ?? TextProblem("the disk uri", DiskUri, 4096, required: false) ?? TextProblem("the disk relay target", DiskRelayTarget, 64, required: false)
        ?? (DiskPaths is { } paths && (paths.Count > 256 || paths.Any(p => p is null || p.Length > 4096)) ? "its disk paths are more than 256 or too long" : null);
}

/// <summary>The source's migration completed: the agent keeps the twin without the connection, and starts it
/// when <see cref="Resume"/> (the VM ran at the source; a paused VM stays paused).
/// <see cref="Record"/>: the agent records the arrival in its inventory (false when the source keeps inventories as they are).
/// <see cref="Postcopy"/>: the source switched to post-copy, so the VM must run here now, before the rest of its memory
/// has arrived (the twin pulls it from the source).</summary>
internal sealed record CommitIncoming(bool Resume = true, bool Record = true, bool Postcopy = false) : ControlMessage;

/// <summary>A VM committed here in post-copy lost its stream (the link broke): the agent pauses what is left of the
/// incoming stream, has the VM's QEMU listen again (migrate-recover) at the transport <see cref="Twin"/> names (the same
/// twin request as <see cref="PrepareIncoming"/>'s), and answers with <see cref="IncomingReady"/>; it holds the new relay
/// target while this control connection lasts. Only the host the post-copy came from may ask.</summary>
internal sealed record RecoverIncoming(string Vm, JsonElement Twin) : ControlMessage
{
    protected override string? Problem() => VmProblem(Vm) ?? (Twin.ValueKind == JsonValueKind.Object ? null : "the twin is not a JSON object");
}

/// <summary>The twin is kept (its QMP <see cref="RunState"/>: "running", or "paused" when not resumed).</summary>
public sealed record IncomingCommitted(string RunState, string QmpPath) : ControlMessage
{
    protected override string? Problem() => TextProblem("the run state", RunState, 64) ?? TextProblem("the QMP path", QmpPath, 4096);
}

/// <summary>A libvirt migration through the engine: libvirt starts the destination QEMU listening on
/// <see cref="SocketPath"/> (the same path as the source's, in the agent's run directory); the agent only relays
/// to it, while this control connection lasts. Answered with <see cref="IncomingReady"/>.</summary>
/// <param name="DiskSocketPath">Copy-storage: the socket of libvirt's NBD server there, relayed to as well.</param>
internal sealed record PrepareRelay(string Vm, string SocketPath, string? DiskSocketPath = null) : ControlMessage
{
    protected override string? Problem() =>
        VmProblem(Vm) ?? TextProblem("the socket path", SocketPath, 4096) ?? TextProblem("the disk socket path", DiskSocketPath, 4096, required: false);
}

/// <summary>Readiness (Test-VMMigration): could the agent take this VM now? Nothing is started. <see cref="Twin"/>
/// is the twin it would start (a QEMU VM), or null (a libvirt domain: libvirt starts the destination QEMU).</summary>
internal sealed record CheckIncoming(string Vm, JsonElement? Twin) : ControlMessage
{
    protected override string? Problem() =>
        VmProblem(Vm) ?? (Twin is null or { ValueKind: JsonValueKind.Object or JsonValueKind.Null } ? null : "the twin is not a JSON object");
}

/// <summary>The agent's answer to <see cref="CheckIncoming"/>: why it could not start the twin (null: it could),
/// the memory its host has available, and the interface (with its MTU) the check arrived on; for a twin that would
/// receive disks, why it could not create them (<see cref="StorageProblem"/>) or what it would create (<see cref="Storage"/>).</summary>
public sealed record IncomingChecked(string? QemuProblem, long? MemoryAvailableMiB, string? Interface, int? Mtu,
    string? StorageProblem = null, string? Storage = null) : ControlMessage;

/// <summary>A caller on another host (a runbook's) asks the VM's source agent to migrate it: the agent runs the
/// migration as psmig would on its own host and answers with <see cref="OutgoingProgress"/> and <see cref="OutgoingNote"/>
/// as it goes, then <see cref="OutgoingDone"/>. <see cref="CancelOutgoing"/>, or the connection closing, cancels it.
/// <see cref="Request"/> is what the agent's <c>IOutgoingMigrations</c> needs (the engine carries it as it is).</summary>
/// <param name="Debug">The caller wants the protocol lines too (its -Debug).</param>
internal sealed record MigrateOutgoing(string Vm, JsonElement Request, bool Debug = false) : ControlMessage
{
    protected override string? Problem() => VmProblem(Vm) ?? (Request.ValueKind == JsonValueKind.Object ? null : "the request is not a JSON object");
}

/// <summary>Where the migration the caller asked for is now (opaque to the engine).</summary>
internal sealed record OutgoingProgress(JsonElement Progress) : ControlMessage;

/// <summary>A line of the migration's story (what -Verbose tells), for the caller's own log.</summary>
internal sealed record OutgoingNote(string Text, bool Debug) : ControlMessage
{
    protected override string? Problem() => TextProblem("the text", Text, 16 * 1024);
}

/// <summary>The caller gives up: the agent cancels the migration (the VM runs on where it was) and still answers
/// with <see cref="OutgoingDone"/>.</summary>
internal sealed record CancelOutgoing : ControlMessage;

/// <summary>The migration's result (opaque to the engine); the agent closes the channel after it.</summary>
internal sealed record OutgoingDone(JsonElement Result) : ControlMessage
{
    protected override string? Problem() => Result.ValueKind == JsonValueKind.Object ? null : "the result is not a JSON object";
}
