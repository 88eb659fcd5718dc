using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Accounts;

namespace PSMigration.Qemu.Qmp;

/// <summary>
/// A QMP connection to one QEMU over its unix socket: the greeting, capabilities negotiation, then
/// commands (matched to their answers by id) and events. A missing or dead socket, or an error
/// answer, is a <see cref="QmpException"/> that names the socket and the command. Commands that change
/// something are told to the log's verbose lines; every message in and out to its debug lines.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly StreamReader reader;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, (string Command, TaskCompletionSource<JsonElement> Answer)> pending = new();
    private readonly List<(Func<QmpEvent, bool> Match, TaskCompletionSource<QmpEvent> Seen)> eventWaiters = new();
    private readonly TaskCompletionSource<Exception> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IActivityLog log;
    private long nextId;
    private Task? readLoop;

    private QmpClient(string path, Socket socket, IActivityLog log)
    {
        SocketPath = path;
        this.log = log;
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        reader = new StreamReader(stream, new UTF8Encoding(false));
    }

    public string SocketPath { get; }
    /// <summary>Every event, as it arrives (called on the reader's thread: keep it short).</summary>
    public event Action<QmpEvent>? EventReceived;
    /// <summary>The account QEMU runs as (the other end of the socket), to give it what it must open after dropping root.</summary>
    public UnixAccount? Peer => UnixAccount.OfPeer(socket);

    /// <summary>Completes, with the reason, when QEMU closes the socket or the client is disposed.</summary>
    public Task<Exception> Closed => closed.Task;

    /// <summary>Connects, reads the greeting and negotiates capabilities. A socket that accepts but does
    /// not greet within <paramref name="timeout"/> is held by another client (QMP serves one at a time). One that closes
    /// at once has not yet seen its last client go (QEMU turns a second one away meanwhile): asked again until the timeout.</summary>
    public static async Task<QmpClient> ConnectAsync(string path, TimeSpan timeout, CancellationToken cancel, IActivityLog? log = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await ConnectOnceAsync(path, timeout, cancel, log ?? SilentLog.Instance);
            }
            catch (QmpException e) when (e.ErrorId == "QmpTurnedAway" && clock.Elapsed < timeout)
            {
                await Task.Delay(100, cancel);
            }
        }
    }

    private static async Task<QmpClient> ConnectOnceAsync(string path, TimeSpan timeout, CancellationToken cancel, IActivityLog log)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var why = !File.Exists(path) ? $"There is no QMP socket at {path} (is the VM running?)." : e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => $"Nothing listens on the QMP socket {path}: the VM is not running (a stale socket).",
                SocketError.AccessDenied => $"Permission denied on the QMP socket {path}.",
                _ => $"Cannot connect to the QMP socket {path}: {e.Message}",
            };
            throw new QmpException("QmpUnavailable", why, path, inner: e);
        }
        var client = new QmpClient(path, socket, log);
        try
        {
            using var greeting = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            greeting.CancelAfter(timeout);
            var first = await client.ReadMessageAsync(greeting.Token);
            // What QEMU had not yet flushed to the client before us (an event, an answer) comes before our greeting: seen
            // right after a post-copy stream broke for good. It is not ours; a few such messages are skipped.
            for (var skipped = 0; first is { } early && !early.TryGetProperty("QMP", out _) && skipped < 16; skipped++)
            {
                log.Debug($"QMP {path}: before the greeting, skipped {early.GetRawText()}");
                first = await client.ReadMessageAsync(greeting.Token);
            }
            if (first is null)
                throw new QmpException("QmpTurnedAway", $"The QMP socket {path} closed the connection before its greeting (another client still holds it, or the VM is exiting).", path);
            if (!first.Value.TryGetProperty("QMP", out _))
                throw new QmpException("QmpProtocol", $"{path} is not a QMP socket (no greeting; it sent {first.Value.GetRawText()}).", path);
            client.readLoop = client.ReadLoopAsync();
            await client.ExecuteAsync("qmp_capabilities", null, cancel);
            return client;
        }
        catch (IOException e)
        {
            await client.DisposeAsync();
            throw new QmpException("QmpUnavailable", $"The QMP socket {path} closed the connection before its greeting (is the VM exiting?): {e.Message}", path, inner: e);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            await client.DisposeAsync();
            throw new QmpException("QmpBusy", $"The QMP socket {path} did not greet within {timeout.TotalSeconds:0} s (another client holds it?).", path);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one command and returns its <c>return</c> value.</summary>
    public async Task<JsonElement> ExecuteAsync(string command, object? arguments = null, CancellationToken cancel = default)
    {
        var id = Interlocked.Increment(ref nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[id] = (command, answer);
        try
        {
            if (Closed.IsCompleted) throw Dead(command, Closed.Result);
            var request = new Dictionary<string, object?> { ["execute"] = command, ["id"] = id };
            if (arguments is not null) request["arguments"] = arguments;
            var line = JsonSerializer.SerializeToUtf8Bytes(request, Json);
            if (Changes(command)) log.Verbose($"QMP {SocketPath}: {command}{(arguments is null ? "" : " " + JsonSerializer.Serialize(arguments, Json))}");
            if (log.DebugEnabled) log.Debug($"QMP {SocketPath} -> {Encoding.UTF8.GetString(line)}");
            await writeLock.WaitAsync(cancel);
            try
            {
                await stream.WriteAsync(line, cancel);
                await stream.WriteAsync("\n"u8.ToArray(), cancel);
            }
            catch (IOException e)
            {
                throw Dead(command, e);
            }
            finally
            {
                writeLock.Release();
            }
            return await answer.Task.WaitAsync(cancel);
        }
        finally
        {
            pending.TryRemove(id, out _);
        }
    }

    /// <summary>The first event from now on that matches.</summary>
    public Task<QmpEvent> WaitForEventAsync(Func<QmpEvent, bool> match, CancellationToken cancel)
    {
        var seen = new TaskCompletionSource<QmpEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (eventWaiters) eventWaiters.Add((match, seen));
        return seen.Task.WaitAsync(cancel);
    }

    private async Task ReadLoopAsync()
    {
        Exception reason;
        try
        {
            while (await ReadMessageAsync(CancellationToken.None) is { } message)
                Dispatch(message);
            reason = new EndOfStreamException("QEMU closed the QMP socket");
        }
        catch (Exception e)
        {
            reason = e;
        }
        closed.TrySetResult(reason);
        foreach (var (command, answer) in pending.Values) answer.TrySetException(Dead(command, reason));
        lock (eventWaiters)
        {
            foreach (var (_, seen) in eventWaiters) seen.TrySetException(Dead("waiting for an event", reason));
            eventWaiters.Clear();
        }
    }

    private void Dispatch(JsonElement message)
    {
        if (message.TryGetProperty("event", out var name))
        {
            var data = message.TryGetProperty("data", out var d) ? d : default;
            var received = new QmpEvent(name.GetString() ?? "", data, DateTimeOffset.UtcNow);
            EventReceived?.Invoke(received);
            lock (eventWaiters)
                eventWaiters.RemoveAll(w => w.Match(received) && w.Seen.TrySetResult(received));
            return;
        }
        if (!message.TryGetProperty("id", out var idElement) || !idElement.TryGetInt64(out var id) || !pending.TryGetValue(id, out var waiter))
            return; // an answer nobody waits for any more (its caller was cancelled)
        if (message.TryGetProperty("return", out var result))
            waiter.Answer.TrySetResult(result);
        else if (message.TryGetProperty("error", out var error))
        {
            var errorClass = error.TryGetProperty("class", out var c) ? c.GetString() : null;
            var description = error.TryGetProperty("desc", out var desc) ? desc.GetString() : error.ToString();
            waiter.Answer.TrySetException(new QmpException("QmpCommandFailed",
                $"QEMU refused '{waiter.Command}' on {SocketPath}: {description}", SocketPath, errorClass));
        }
    }

    private async Task<JsonElement?> ReadMessageAsync(CancellationToken cancel)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync(cancel);
            if (line is null) return null;
            if (line.Length == 0) continue;
            if (log.DebugEnabled) log.Debug($"QMP {SocketPath} <- {line}");
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
    }

    /// <summary>Whether a command is a step worth telling (not a query, nor the handshake).</summary>
    private static bool Changes(string command) => !command.StartsWith("query-", StringComparison.Ordinal) && command != "qmp_capabilities";

    private QmpException Dead(string command, Exception reason) =>
        new("QmpClosed", $"QEMU's QMP socket {SocketPath} closed during '{command}' (did the VM exit?): {reason.Message}", SocketPath, inner: reason);

    public async ValueTask DisposeAsync()
    {
        closed.TrySetResult(new ObjectDisposedException(nameof(QmpClient), "the QMP connection was closed by this side"));
        socket.Dispose();
        if (readLoop is not null) await readLoop.ConfigureAwait(false);
        reader.Dispose();
        writeLock.Dispose();
    }
}
