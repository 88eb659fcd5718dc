using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.QemuMigration;

namespace PSMigration.Qemu.Tests;

/// <summary>
/// Control messages are bad input too: thousands of them, from a host with a valid certificate, against the real agent:
/// every message type with fields of the wrong type, missing, huge or nested without end, unknown types, cut JSON, lying
/// lengths, messages out of order, and a message on a data channel. The agent closes each connection, logs a reason,
/// starts nothing, holds nothing afterwards, and then carries a real migration.
/// </summary>
[Collection(QemuLabCollection.Name)]
public sealed class AgentFuzzTests(QemuLab lab, Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Cases = 2000;
    private const string FuzzVm = "fuzz-vm";
    private static readonly TimeSpan ClosedWithin = TimeSpan.FromSeconds(20);

    [QemuFact]
    public async Task Thousands_of_malformed_control_messages_are_refused_and_a_migration_then_succeeds()
    {
        await using var run = await lab.StartAsync("{ transport: engine, encryption: tls }", [new GuestSpec(FuzzVm), new GuestSpec("fuzz-after")], startVms: false);
        // The fuzzed VM can never start here, even from a request that happens to stay valid: its own copy names an option the policy refuses.
        lab.EditAgentInventory(text => QemuLab.AddArgs(text, FuzzVm, "-s"));
        var twin = Twin(InventoryLoader.Load(lab.AgentInventoryPath).Vm(FuzzVm).Qemu!);
        var logBefore = lab.AgentLog.Count;
        var random = new Random(20261201);
        var cases = Enumerable.Range(0, Cases).Select(i => FuzzCase.Make(i, random, twin)).ToList();

        using var gate = new SemaphoreSlim(8);
        var outcomes = await Task.WhenAll(cases.Select(async fuzz =>
        {
            await gate.WaitAsync();
            try
            {
                return await SendAsync(fuzz);
            }
            finally
            {
                gate.Release();
            }
        }));

        var hung = outcomes.Where(o => o.Hung).Select(o => o.Case).ToList();
        Assert.True(hung.Count == 0, $"the agent kept {hung.Count} connections open, e.g. {string.Join("; ", hung.Take(3))}");
        Assert.Empty(QemuProcesses.Matching(FuzzVm));
        Assert.Empty(Directory.GetFileSystemEntries(lab.RightRunDirectory, FuzzVm + ".*"));
        await Eventually.TrueAsync(() => lab.Agent.Holding == (0, 0), "the agent holds no session and no relay target afterwards");
        var logged = lab.AgentLog.Count - logBefore;
        var reasons = lab.AgentLog.Skip(logBefore).Select(Reason).GroupBy(r => r).OrderByDescending(g => g.Count()).ToList();
        foreach (var reason in reasons) output.WriteLine($"{reason.Count(),5}  {reason.Key}");
        Assert.True(reasons.Count >= 15, $"only {reasons.Count} kinds of refusal for {Cases} varied messages");
        Assert.True(logged >= Cases, $"the agent logged {logged} lines for {Cases} bad messages: each should have a reason");
        Assert.Contains(lab.AgentLog, l => l.Contains("a malformed", StringComparison.Ordinal));
        Assert.Contains(lab.AgentLog, l => l.Contains("exceeds the limit", StringComparison.Ordinal));
        Assert.Contains(lab.AgentLog, l => l.Contains("refuses the qemu args of fuzz-vm", StringComparison.Ordinal));

        await run.StartSourceAsync("fuzz-after");
        var result = await MigrationBackends.MigrateAsync(run.Request("fuzz-after"), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);
        Assert.True(result.Succeeded, $"after the fuzzing a migration should succeed: {result.Error}");
    }

    /// <summary>A log line without who and when, cut before the details that vary (sizes, ids, paths), to count kinds.</summary>
    private static string Reason(string line)
    {
        var text = System.Text.RegularExpressions.Regex.Replace(line, @"^refused [0-9.:]+: |^(incoming|relay for|check for) \S+ from \S+: ", "");
        text = System.Text.RegularExpressions.Regex.Replace(text, @"[0-9a-f]{8,}|\d+", "N");
        return text.Length <= 90 ? text : text[..90];
    }

    /// <summary>Sends one case on its own connection and waits for the agent to close it.</summary>
    private async Task<(string Case, bool Hung)> SendAsync(FuzzCase fuzz)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse("127.0.0.2"), lab.AgentPort));
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (!fuzz.OnDataChannel)
            {
                var secure = new SslStream(stream);
                await ClusterHandshake.AsClientAsync(secure, lab.LeftCredentials, QemuLab.DestinationHost, CancellationToken.None);
                stream = secure;
            }
            var hello = fuzz.OnDataChannel ? new Hello(ChannelKind.Data, Guid.NewGuid(), 0, 1, Hello.NewToken()) : Hello.Control(Guid.NewGuid());
            await stream.WriteAsync(hello.Encode());
            var reply = await HelloReply.ReadAsync(stream, CancellationToken.None).WaitAsync(ClosedWithin);
            if (reply.Status == HelloStatus.Accepted) await stream.WriteAsync(fuzz.Bytes);
            if (stream is SslStream ssl) await ssl.ShutdownAsync();
            socket.Shutdown(SocketShutdown.Send);
            return (fuzz.Name, !await ClosedAsync(stream));
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            return (fuzz.Name, false); // the agent cut it: a refusal too
        }
    }

    /// <summary>Reads whatever the agent answers until it closes the connection.</summary>
    private static async Task<bool> ClosedAsync(Stream stream)
    {
        using var deadline = new CancellationTokenSource(ClosedWithin);
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, deadline.Token) > 0)
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>The request a source would send for the VM, as JSON: the seed the twin mutations start from.</summary>
    private static JsonElement Twin(QemuSpec spec) => new TwinRequest
    {
        Vm = FuzzVm,
        SourceQemu = spec,
        Settings = new MigrationSettings { Multifd = true, Channels = 2, MaxBandwidth = 1L << 30 },
        Transport = Core.Policies.MigrationTransport.Engine,
        ListenAddress = IPAddress.Parse("127.0.0.2"),
    }.ToJson();
}

/// <summary>One malformed input: the bytes after an accepted hello (a length-prefixed control message, usually broken).</summary>
internal sealed record FuzzCase(string Name, byte[] Bytes, bool OnDataChannel = false)
{
    private static readonly string[] Kinds = ["wrong type", "missing field", "unknown field", "bad type tag", "cut JSON", "random body",
        "lying length", "oversized length", "out of order", "twin mutation", "data channel", "huge value", "deep nesting"];

    public static FuzzCase Make(int index, Random random, JsonElement twin)
    {
        var kind = Kinds[index % Kinds.Length];
        var seeds = Seeds(twin);
        var seed = seeds[random.Next(seeds.Count)];
        return kind switch
        {
            "wrong type" => Body(kind, Replace(seed, random, Odd(random))),
            "missing field" => Body(kind, Remove(seed, random)),
            "unknown field" => Body(kind, Add(seed, "surprise" + random.Next(), Odd(random))),
            "bad type tag" => Body(kind, With(seed, "type", random.Next(3) switch { 0 => "no-such-type", 1 => 7, _ => null })),
            "cut JSON" => Frame(kind, Cut(seed.ToJsonString(), random)),
            "random body" => Frame(kind, RandomBytes(random, random.Next(1, 2000))),
            "lying length" => Lying(kind, Encoding.UTF8.GetBytes(seed.ToJsonString()), random.Next(1, 5000)),
            "oversized length" => Lying(kind, [], ControlMessage.MaxSize + 1 + random.Next(1 << 20)),
            "out of order" => Body(kind, OutOfOrder()[random.Next(OutOfOrder().Count)]),
            "twin mutation" => Body(kind, MutateTwin(twin, random)),
            "data channel" => Body(kind, seed) with { OnDataChannel = true },
            "huge value" => Body(kind, Replace(seed, random, new string('A', 60_000))),
            _ => Body(kind, Replace(seed, random, Nested(random.Next(20, 200)))),
        };
    }

    /// <summary>Valid requests a source could send, each aimed where the agent must not go along.</summary>
    private static List<JsonObject> Seeds(JsonElement twin) =>
    [
        Json(new OpenRequest(TransferMode.Relay, 2, true, "loop", "no-such-target")),
        Json(new OpenRequest(TransferMode.Synthetic, 300, true, "loop", null)),
        Json(new PrepareIncoming("fuzz-vm", twin)),
        Json(new PrepareRelay("fuzz-vm", "/etc/fuzz-vm.0123abcd.libvirt")),
        Json(new CheckIncoming("fuzz-vm", twin)),
    ];

    /// <summary>Messages the agent never receives first (its own answers, or a later step).</summary>
    private static List<JsonObject> OutOfOrder() =>
    [
        Json(new CommitIncoming(true)), Json(new Finish()), Json(new Ping(1)), Json(new Pong(1)), Json(new Opened(Hello.NewToken())),
        Json(new Refused("no")), Json(new Finished([1, 2], true, null)), Json(new IncomingReady("tcp:127.0.0.2:1", "x", "/q")),
        Json(new IncomingCommitted("running", "/q")), Json(new IncomingChecked(null, 1, "lo", 1500)),
    ];

    private static JsonObject Json(ControlMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteAsync(buffer, CancellationToken.None).GetAwaiter().GetResult();
        return JsonNode.Parse(buffer.ToArray().AsSpan(4))!.AsObject();
    }

    private static JsonNode? Odd(Random random) => random.Next(8) switch
    {
        0 => null,
        1 => JsonValue.Create(-1),
        2 => JsonValue.Create(long.MaxValue),
        3 => JsonValue.Create("../../etc/passwd"),
        4 => new JsonArray(1, "two", null),
        5 => new JsonObject { ["x"] = 1 },
        6 => JsonValue.Create(true),
        _ => JsonValue.Create("\u0000\uFFFF\u202E"),
    };

    private static JsonObject Replace(JsonObject seed, Random random, JsonNode? value)
    {
        var copy = seed.DeepClone().AsObject();
        var keys = copy.Select(p => p.Key).Where(k => k != "type").ToList();
        if (keys.Count > 0) copy[keys[random.Next(keys.Count)]] = value?.DeepClone();
        return copy;
    }

    private static JsonObject Remove(JsonObject seed, Random random)
    {
        var copy = seed.DeepClone().AsObject();
        var keys = copy.Select(p => p.Key).ToList();
        copy.Remove(keys[random.Next(keys.Count)]);
        return copy;
    }

    private static JsonObject Add(JsonObject seed, string key, JsonNode? value)
    {
        var copy = seed.DeepClone().AsObject();
        copy[key] = value?.DeepClone();
        return copy;
    }

    private static JsonObject With(JsonObject seed, string key, object? value)
    {
        var copy = seed.DeepClone().AsObject();
        copy[key] = value switch { null => null, int n => JsonValue.Create(n), _ => JsonValue.Create((string)value) };
        return copy;
    }

    /// <summary>A twin request with one nested value broken (a setting out of range, a wrong type, a foreign address...).</summary>
    private static JsonObject MutateTwin(JsonElement twin, Random random)
    {
        var request = JsonNode.Parse(twin.GetRawText())!.AsObject();
        JsonNode? broken = random.Next(10) switch
        {
            0 => JsonValue.Create("0.0.0.0"),
            1 => JsonValue.Create(0),
            2 => JsonValue.Create(100_000),
            3 => new JsonArray("-plugin", "file=/tmp/x.so"),
            4 => JsonValue.Create("someone-else"),
            5 => JsonValue.Create(-5),
            6 => JsonValue.Create("zstd-but-not"),
            7 => new JsonObject(),
            8 => null,
            _ => JsonValue.Create("direct"),
        };
        var paths = new[] { "listenAddress", "settings.channels", "settings.downtimeLimitMs", "sourceQemu.args", "vm", "settings.maxBandwidth",
            "settings.compression", "sourceQemu", "settings", "transport" };
        var path = paths[random.Next(paths.Length)].Split('.');
        var target = path.Length == 1 ? request : request[path[0]] as JsonObject ?? request;
        target[path[^1]] = broken;
        return new JsonObject { ["type"] = "prepareIncoming", ["vm"] = "fuzz-vm", ["twin"] = request };
    }

    private static JsonNode Nested(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 0; i < depth; i++) node = new JsonArray(node);
        return node;
    }

    private static byte[] Cut(string json, Random random) => Encoding.UTF8.GetBytes(json[..random.Next(1, json.Length)]);

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static FuzzCase Body(string kind, JsonObject message) => Frame(kind, Encoding.UTF8.GetBytes(message.ToJsonString()));

    private static FuzzCase Frame(string kind, byte[] body) => Lying(kind, body, body.Length);

    /// <summary>A frame whose length prefix says <paramref name="length"/>, whatever follows.</summary>
    private static FuzzCase Lying(string kind, byte[] body, long length)
    {
        var bytes = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Math.Min(length, uint.MaxValue));
        body.CopyTo(bytes, 4);
        return new FuzzCase($"{kind} ({body.Length} bytes, length {length})", bytes);
    }
}
