using System.Diagnostics;
using System.Net.Sockets;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Tests;

/// <summary><see cref="QmpClient"/> against a real QEMU (no machine, so it starts at once), and
/// against the sockets a QMP user meets when things go wrong: none, stale, busy, dying.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class QmpClientTests
{
    private static readonly TimeSpan Greeting = TimeSpan.FromSeconds(10);

    [QemuFact]
    public async Task Query_status_answers_after_the_greeting_and_capabilities()
    {
        await using var qemu = await BareQemu.StartAsync();
        await using var qmp = await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None);

        var status = await qmp.ExecuteAsync("query-status");

        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("running").GetBoolean());
        Assert.Equal(qemu.QmpPath, qmp.SocketPath);
    }

    [QemuFact]
    public async Task Unknown_command_is_QEMUs_CommandNotFound_naming_the_command()
    {
        await using var qemu = await BareQemu.StartAsync();
        await using var qmp = await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None);

        var e = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("no-such-command"));

        Assert.Equal("QmpCommandFailed", e.ErrorId);
        Assert.Equal("CommandNotFound", e.ErrorClass);
        Assert.Contains("'no-such-command'", e.Message);
        Assert.Contains(qemu.QmpPath, e.Message);
        // the connection is still usable after an error answer
        Assert.Equal("running", (await qmp.ExecuteAsync("query-status")).GetProperty("status").GetString());
    }

    [QemuFact]
    public async Task Stop_raises_the_STOP_event_and_pauses_the_vm()
    {
        await using var qemu = await BareQemu.StartAsync();
        await using var qmp = await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None);
        var received = new List<string>();
        qmp.EventReceived += e => { lock (received) received.Add(e.Name); };
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var stopped = qmp.WaitForEventAsync(e => e.Name == "STOP", deadline.Token); // QEMU sends it before the answer
        await qmp.ExecuteAsync("stop");
        var stop = await stopped;
        var resumed = qmp.WaitForEventAsync(e => e.Name == "RESUME", deadline.Token);
        Assert.Equal("paused", (await qmp.ExecuteAsync("query-status")).GetProperty("status").GetString());
        await qmp.ExecuteAsync("cont");
        await resumed;

        Assert.Equal("STOP", stop.Name);
        lock (received) Assert.Equal(["STOP", "RESUME"], received);
    }

    [QemuFact]
    public async Task Missing_socket_says_there_is_no_QMP_socket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"psmig-none-{Guid.NewGuid():N}.qmp");

        var e = await Assert.ThrowsAsync<QmpException>(() => QmpClient.ConnectAsync(path, Greeting, CancellationToken.None));

        Assert.Equal("QmpUnavailable", e.ErrorId);
        Assert.Contains($"There is no QMP socket at {path}", e.Message);
    }

    [QemuFact]
    public async Task Socket_file_nobody_listens_on_is_called_stale()
    {
        await using var crashed = await BareQemu.StartAsync();
        var path = await crashed.CrashAsync();

        var e = await Assert.ThrowsAsync<QmpException>(() => QmpClient.ConnectAsync(path, Greeting, CancellationToken.None));

        Assert.Equal("QmpUnavailable", e.ErrorId);
        Assert.Contains("stale", e.Message);
        Assert.Contains(path, e.Message);
    }

    /// <summary>
    /// Regression test: a QEMU that exits while a client connects resets the connection before its
    /// greeting; <see cref="QmpClient.ConnectAsync"/> once let the raw IOException ("Connection reset by
    /// peer") escape instead of a QmpException naming the socket, which callers that catch QmpException
    /// (QemuTwinHost.EnsureFreeAsync, psmig demo's cleanup) did not catch. Seen with a SIGKILLed QEMU whose
    /// threads were still closing its files; reproduced exactly here with a listener that never accepts.
    /// </summary>
    [Fact]
    public async Task Socket_reset_before_the_greeting_is_a_QmpException_naming_the_socket()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-qmp-").FullName;
        try
        {
            var path = Path.Combine(directory, "exiting.qmp");
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);

            var connecting = QmpClient.ConnectAsync(path, Greeting, CancellationToken.None);
            await Eventually.TrueAsync(() => listener.Poll(0, SelectMode.SelectRead), "the client waits in the listener's backlog");
            listener.Dispose(); // closed without accepting: the kernel resets the waiting connection

            var e = await Assert.ThrowsAsync<QmpException>(() => connecting.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task What_QEMU_had_not_flushed_to_the_client_before_comes_before_the_greeting_and_is_skipped()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-qmp-").FullName;
        try
        {
            // QEMU's monitor sends what it still held for its last client (here an event and an answer) before the greeting.
            var path = Path.Combine(directory, "leftover.qmp");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var serving = Task.Run(async () =>
            {
                using var peer = await listener.AcceptAsync();
                await peer.SendAsync(System.Text.Encoding.UTF8.GetBytes(
                    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"MIGRATION\", \"data\": {\"status\": \"postcopy-paused\"}}\r\n" +
                    "{\"return\": {}}\r\n" +
                    "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": \"\"}, \"capabilities\": []}}\r\n"));
                var buffer = new byte[4096];
                var received = await peer.ReceiveAsync(buffer); // qmp_capabilities
                Assert.Contains("qmp_capabilities", System.Text.Encoding.UTF8.GetString(buffer, 0, received));
                var id = System.Text.Json.JsonDocument.Parse(buffer.AsMemory(0, received)).RootElement.GetProperty("id").GetInt64();
                await peer.SendAsync(System.Text.Encoding.UTF8.GetBytes($"{{\"return\": {{}}, \"id\": {id}}}\r\n"));
                await Task.Delay(500);
            });

            await using var client = await QmpClient.ConnectAsync(path, Greeting, CancellationToken.None);
            await serving.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [QemuFact]
    public async Task Qemu_dying_mid_command_fails_the_pending_command_with_QmpClosed()
    {
        await using var qemu = await BareQemu.StartAsync();
        await using var qmp = await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None);
        Signal("STOP", qemu.Pid); // frozen: the next command stays unanswered (SIGKILL still ends it)
        var pending = qmp.ExecuteAsync("query-status");
        await Task.Delay(200);
        Assert.False(pending.IsCompleted, "test setup: a frozen QEMU should not answer");

        await qemu.CrashAsync();
        var e = await Assert.ThrowsAsync<QmpException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("QmpClosed", e.ErrorId);
        Assert.Contains("'query-status'", e.Message);
        Assert.Contains(qemu.QmpPath, e.Message);
        Assert.True(qmp.Closed.IsCompleted);
        // and later commands fail the same way, at once
        var later = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("query-version"));
        Assert.Equal("QmpClosed", later.ErrorId);
    }

    [QemuFact]
    public async Task Second_client_gets_QmpBusy_while_the_first_holds_the_socket()
    {
        await using var qemu = await BareQemu.StartAsync();
        await using var first = await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None);

        var e = await Assert.ThrowsAsync<QmpException>(() => QmpClient.ConnectAsync(qemu.QmpPath, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.Equal("QmpBusy", e.ErrorId);
        Assert.Contains(qemu.QmpPath, e.Message);
        Assert.Contains("another client", e.Message);
        // the first client is unaffected
        Assert.Equal("running", (await first.ExecuteAsync("query-status")).GetProperty("status").GetString());
    }

    [QemuFact]
    public async Task Socket_is_free_again_once_the_first_client_disposes()
    {
        await using var qemu = await BareQemu.StartAsync();
        await (await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None)).DisposeAsync();

        await using var second = await QmpClient.ConnectAsync(qemu.QmpPath, Greeting, CancellationToken.None);

        Assert.Equal("running", (await second.ExecuteAsync("query-status")).GetProperty("status").GetString());
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
