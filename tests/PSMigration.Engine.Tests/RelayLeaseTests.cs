using System.Security.Cryptography;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>The agent's side of a libvirt migration through the engine: it relays only to a *.libvirt socket in its
/// run directory (where libvirt's destination QEMU listens, on the source's path), only while the source holds
/// the lease, and removes the socket file when the lease ends.</summary>
public sealed class RelayLeaseTests
{

    [Fact]
    public async Task A_libvirt_socket_in_the_run_directory_is_relayed_to_while_the_lease_lasts_and_removed_after()
    {
        var run = Path.Combine(Path.GetTempPath(), "psmig-relay-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(run);
        await using var lab = await EngineLab.StartAsync(o => o with { RelaySocketDirectory = run });
        using var source = new LocalStreams(lab.Directory, "src");
        using var qemu = new LocalStreams(run, "vm1.0123abcd", ".libvirt"); // where libvirt's destination QEMU listens

        var lease = await IncomingVmLease.PrepareRelayAsync(lab.Session(1), "vm1", qemu.Path, null, CancellationToken.None);
        Assert.Equal("unix://" + qemu.Path, lease.Ready.Uri);
        await using (var session = await EngineSession.OpenAsync(lab.Session(1), Protocol.TransferMode.Relay, lease.Ready.RelayTarget, CancellationToken.None))
        {
            var relay = session.RelayAsync((_, cancel) => source.AcceptAsync(cancel), CancellationToken.None);
            var data = RandomNumberGenerator.GetBytes(1 << 20);
            var client = await source.ConnectAsync();
            var server = await qemu.AcceptAsync(CancellationToken.None);
            await LocalStreams.SendAllAsync(client, data);
            var arrived = await LocalStreams.ReceiveAllAsync(server);
            Assert.Equal(data, arrived);
            await LocalStreams.SendAllAsync(server, []);
            await relay;
        }
        await lab.LoggedAsync("relay for vm1 from src: ready for " + qemu.Path);

        await lease.DisposeAsync();

        await lab.LoggedAsync("relay for vm1 from src: ended");
        Assert.False(File.Exists(qemu.Path), "the agent left libvirt's socket file behind");
        var afterwards = await Assert.ThrowsAsync<Protocol.ProtocolException>(() =>
            EngineSession.OpenAsync(lab.Session(1), Protocol.TransferMode.Relay, lease.Ready.RelayTarget, CancellationToken.None));
        Assert.Contains("no relay target", afterwards.Message);
    }

    [Theory]
    [InlineData("/etc/vm1.0123abcd.libvirt", "is not in the run directory of dst's agent")]
    [InlineData("{run}/../vm1.0123abcd.libvirt", "is not in the run directory of dst's agent")]
    [InlineData("{run}/vm1.qmp", "is not a libvirt migration socket (*.libvirt)")]
    public async Task Any_other_socket_is_refused_with_the_reason(string path, string reason)
    {
        var run = Path.Combine(Path.GetTempPath(), "psmig-relay-" + Guid.NewGuid().ToString("N")[..8]);
        await using var lab = await EngineLab.StartAsync(o => o with { RelaySocketDirectory = run });

        var refused = await Assert.ThrowsAsync<ChannelException>(() =>
            IncomingVmLease.PrepareRelayAsync(lab.Session(1), "vm1", path.Replace("{run}", run), null, CancellationToken.None));

        Assert.Contains("cannot relay vm1 to", refused.Message);
        Assert.Contains(reason, refused.Message);
    }

    [Fact]
    public async Task An_agent_without_a_run_directory_does_not_relay_to_libvirt()
    {
        await using var lab = await EngineLab.StartAsync();

        var refused = await Assert.ThrowsAsync<ChannelException>(() =>
            IncomingVmLease.PrepareRelayAsync(lab.Session(1), "vm1", "/run/psmigration/vm1.0123abcd.libvirt", null, CancellationToken.None));

        Assert.Contains("does not relay to libvirt", refused.Message);
    }
}
