using System.Text.Json;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// The source's hold on the VM's incoming twin at the destination agent. The twin lives while this
/// lease does: disposing it uncommitted (failure, cancel) makes the agent stop the twin and remove
/// its files. For a libvirt VM there is no twin (libvirt starts the destination QEMU): the lease is
/// the agent's leave to relay to that QEMU's socket. <see cref="Lost"/> completes if the agent goes away first.
/// </summary>
public sealed class IncomingVmLease : IAsyncDisposable
{
    private readonly ControlChannel control;
    private readonly TaskCompletionSource<Exception> lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly SessionOptions options;

    private IncomingVmLease(EngineChannel connection, IncomingReady ready, SessionOptions options, ControlResume? resume)
    {
        Ready = ready;
        this.options = options;
        control = new ControlChannel(connection, e => lost.TrySetResult(e), options.Log, resume: resume);
    }

    /// <summary>How long the agent may take to get the destination ready (start a twin), on both ends.</summary>
    public static readonly TimeSpan PrepareTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long the agent may take to have a post-copy VM listen again (pause its stream, migrate-recover).</summary>
    public static readonly TimeSpan RecoverTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How long the agent may take to confirm a commit (the twin resumed, or the arrival recorded).</summary>
    public static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(30);

    public IncomingReady Ready { get; }
    /// <summary>Completes with the reason when the agent stops answering or closes the connection.</summary>
    public Task<Exception> Lost => lost.Task;

    /// <summary>Asks the agent for <paramref name="vm"/>'s twin (<paramref name="twin"/>, for its incoming-VM host) and waits
    /// (up to <paramref name="prepareTimeout"/>) until it listens.</summary>
    /// The lease outlives a broken connection for the session's tolerance: the agent holds the twin while this end brings another.
    public static Task<IncomingVmLease> PrepareAsync(SessionOptions options, string vm, JsonElement twin, CancellationToken cancel) =>
        OpenAsync(options, new PrepareIncoming(vm, twin, (int)Math.Ceiling(options.LinkLossTolerance.TotalSeconds)), $"start {vm}", PrepareTimeout, cancel);

    /// <summary>A post-copy whose stream broke: asks the agent to have <paramref name="vm"/> (committed there in post-copy) listen
    /// again at the transport <paramref name="twin"/> names; held until the source's stream runs again.</summary>
    public static Task<IncomingVmLease> RecoverAsync(SessionOptions options, string vm, JsonElement twin, CancellationToken cancel) =>
        OpenAsync(options, new RecoverIncoming(vm, twin), $"recover {vm}'s post-copy", RecoverTimeout, cancel);

    /// <summary>A libvirt migration: asks the agent to relay to the libvirt QEMU that will listen on
    /// <paramref name="socketPath"/> at the destination. libvirt finishes the migration; the commit only tells the agent
    /// that the domain arrived.</summary>
    /// <param name="diskSocketPath">Copy-storage: libvirt's NBD server at the destination, relayed to as well; null for none.</param>
    public static Task<IncomingVmLease> PrepareRelayAsync(SessionOptions options, string vm, string socketPath, string? diskSocketPath, CancellationToken cancel) =>
        OpenAsync(options, new PrepareRelay(vm, socketPath, diskSocketPath),
            $"relay {vm} to {socketPath}{(diskSocketPath is null ? "" : " and " + diskSocketPath)}", PrepareTimeout, cancel);

    private static async Task<IncomingVmLease> OpenAsync(SessionOptions options, ControlMessage ask, string what, TimeSpan prepareTimeout,
        CancellationToken cancel)
    {
        var hello = Hello.Control(Guid.NewGuid());
        var connection = await AgentConnector.ConnectAsync(options, hello, tls: true, "the control channel", cancel);
        try
        {
            options.Log.Verbose($"{options.AgentName}: asking it to {what}");
            await ask.WriteAsync(connection.Stream, cancel, options.Log);
            var ready = await ControlMessage.ExpectAsync<IncomingReady>(connection.Stream, cancel, options.Log).WaitAsync(prepareTimeout, cancel);
            options.Log.Verbose($"{options.AgentName}: ready at {ready.Uri}{(ready.RelayTarget is null ? "" : ", for the engine's relay")}; it holds this while the control connection lasts");
            var lease = new IncomingVmLease(connection, ready, options, ask is PrepareIncoming ? EngineSession.ControlResume(options, hello, "the twin's control channel") : null);
            lease.control.Start();
            return lease;
        }
        catch (ProtocolException e)
        {
            connection.Abort();
            throw new ChannelException($"the agent of {options.AgentHost} at {options.Agent} cannot {what}: {e.Message}", e);
        }
        catch (TimeoutException e)
        {
            connection.Abort();
            throw new ChannelException($"the agent of {options.AgentHost} at {options.Agent} did not {what} within {prepareTimeout.TotalSeconds:0} s", e);
        }
        catch
        {
            connection.Abort();
            throw;
        }
    }

    /// <summary>The source's migration completed: the agent keeps the twin, and starts it when <paramref name="resume"/>
    /// (a VM that was paused at the source stays paused).</summary>
    /// <param name="record">Whether the agent records the arrival in its inventory (the source's inventory update, on or off).</param>
    /// <param name="postcopy">The source switched to post-copy: the VM runs there now, while the rest of its memory arrives.</param>
    public async Task<IncomingCommitted> CommitAsync(bool resume, bool record, CancellationToken cancel, bool postcopy = false)
    {
        options.Log.Verbose($"{options.AgentName}: commit{(postcopy ? " in post-copy" : "")}: keep the VM{(resume ? " and start it" : ", paused as it was")}");
        var committed = await control.RequestAsync<IncomingCommitted>(new CommitIncoming(resume, record, postcopy), cancel);
        options.Log.Verbose($"{options.AgentName}: committed, the VM is {committed.RunState}");
        return committed;
    }

    public ValueTask DisposeAsync() => control.DisposeAsync();
}
