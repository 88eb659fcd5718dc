using System.Text.Json;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>A valid certificate is not enough: a host may ask only for the VMs the agent's inventory places on it, a
/// relay target serves only the host that leased it, and a session's data channels are its opener's. Each refusal says
/// why, is logged, and starts nothing.</summary>
public sealed class AgentAuthorizationTests
{
    [Fact]
    public async Task A_twin_for_a_VM_another_host_holds_is_refused_before_anything_is_started()
    {
        var incoming = new CountingIncomingHost();
        await using var lab = await EngineLab.StartAsync(o => o with { Incoming = incoming });

        var refused = await Assert.ThrowsAsync<ChannelException>(() =>
            IncomingVmLease.PrepareAsync(lab.Session(1, credentials: lab.ThirdCredentials), "vm1", Twin, CancellationToken.None));

        Assert.Contains("cannot start vm1: the inventory of dst places vm1 on src, not third", refused.Message);
        await lab.LoggedAsync("incoming vm1 from third: refused, the inventory of dst places vm1 on src, not third");
        Assert.Equal(0, incoming.Prepared);
    }

    [Fact]
    public async Task A_post_copy_recovery_for_a_VM_that_never_arrived_in_post_copy_is_refused_before_its_QEMU_is_touched()
    {
        var incoming = new CountingIncomingHost();
        await using var lab = await EngineLab.StartAsync(o => o with { Incoming = incoming });

        var refused = await Assert.ThrowsAsync<ChannelException>(() => IncomingVmLease.RecoverAsync(lab.Session(1), "vm1", Twin, CancellationToken.None));

        Assert.Contains("cannot recover vm1's post-copy: no post-copy migration of vm1 has arrived on dst since its agent started", refused.Message);
        await lab.LoggedAsync("incoming vm1 from src: post-copy recovery refused, no post-copy migration of vm1 has arrived on dst");
        Assert.Equal(0, incoming.Prepared);
    }

    [Fact]
    public async Task A_relay_lease_for_a_VM_another_host_holds_is_refused_and_nothing_is_held()
    {
        var run = Directory.CreateTempSubdirectory("psmig-relay-").FullName;
        await using var lab = await EngineLab.StartAsync(o => o with { RelaySocketDirectory = run });

        var refused = await Assert.ThrowsAsync<ChannelException>(() =>
            IncomingVmLease.PrepareRelayAsync(lab.Session(1, credentials: lab.ThirdCredentials), "vm1", Path.Combine(run, "vm1.0123abcd.libvirt"), null, CancellationToken.None));

        Assert.Contains("the inventory of dst places vm1 on src, not third", refused.Message);
        await lab.LoggedAsync("relay for vm1 from third: refused, the inventory of dst places vm1 on src, not third");
    }

    [Fact]
    public async Task A_relay_target_serves_only_the_host_that_leased_it()
    {
        var run = Directory.CreateTempSubdirectory("psmig-relay-").FullName;
        await using var lab = await EngineLab.StartAsync(o => o with { RelaySocketDirectory = run });
        await using var lease = await IncomingVmLease.PrepareRelayAsync(lab.Session(1), "vm1", Path.Combine(run, "vm1.0123abcd.libvirt"), null, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<ProtocolException>(() =>
            EngineSession.OpenAsync(lab.Session(1, credentials: lab.ThirdCredentials), TransferMode.Relay, lease.Ready.RelayTarget, CancellationToken.None));

        Assert.Contains($"relay target '{lease.Ready.RelayTarget}' belongs to src, not third", refused.Message);
    }

    [Fact]
    public async Task The_source_confirming_libvirts_completion_records_the_arrival()
    {
        var run = Directory.CreateTempSubdirectory("psmig-relay-").FullName;
        await using var lab = await EngineLab.StartAsync(o => o with { RelaySocketDirectory = run });
        await using var lease = await IncomingVmLease.PrepareRelayAsync(lab.Session(1), "vm1", Path.Combine(run, "vm1.0123abcd.libvirt"), null, CancellationToken.None);

        var committed = await lease.CommitAsync(resume: true, record: true, CancellationToken.None);

        Assert.Equal("running", committed.RunState);
        Assert.Equal(["vm1 from src"], lab.Authority.Arrivals);
        await lease.DisposeAsync();
        await lab.LoggedAsync("relay for vm1 from src: completed; recorded vm1 here");
    }

    [Fact]
    public async Task A_data_channel_with_another_hosts_certificate_cannot_join_a_session()
    {
        await using var lab = await EngineLab.StartAsync();
        var (id, _, control) = await RawClient.OpenSessionAsync(lab, tls: true);
        await using (control)
        {
            await using var intruder = await RawClient.ConnectTlsAsync(lab.AgentEndpoint, lab.ThirdCredentials, "dst");

            var reply = await intruder.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, new byte[Hello.TokenSize]));

            Assert.Equal(HelloStatus.Denied, reply.Status);
            Assert.Contains("the session belongs to src, not third", reply.Reason);
        }
    }

    [Fact]
    public async Task A_check_for_a_VM_another_host_holds_says_so()
    {
        await using var lab = await EngineLab.StartAsync();

        var answer = await AgentCheck.AskAsync(lab.Session(1, credentials: lab.ThirdCredentials), "vm1", Twin, CancellationToken.None);

        Assert.Equal("the inventory of dst places vm1 on src, not third", answer.Answer.QemuProblem);
    }

    private static JsonElement Twin => JsonDocument.Parse("""{ "vm": "vm1" }""").RootElement;

    /// <summary>An incoming-VM host that must never be reached in these tests.</summary>
    private sealed class CountingIncomingHost : IIncomingVmHost
    {
        public int Prepared;

        public Task<IIncomingVm> PrepareAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel)
        {
            Interlocked.Increment(ref Prepared);
            throw new InvalidOperationException("the agent asked the host to start a twin it should have refused");
        }

        public Task<TwinCheck> CheckAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel) => Task.FromResult(new TwinCheck(null));

        public Task<IRecoveringVm> RecoverAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel)
        {
            Interlocked.Increment(ref Prepared);
            throw new InvalidOperationException("the agent asked the host to recover a VM it should have refused");
        }
    }
}
