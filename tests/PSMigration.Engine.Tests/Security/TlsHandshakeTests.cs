using System.Net.Security;
using System.Security.Authentication;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Tests.Security;

/// <summary>Mutual TLS between engine (client) and agent (server) over real loopback sockets.</summary>
public sealed class TlsHandshakeTests : IDisposable
{
    private readonly TestPki cluster = new();
    private readonly TestPki other = new();

    public void Dispose()
    {
        cluster.Dispose();
        other.Dispose();
    }

    private static Func<SslStream, CancellationToken, Task<string>> Agent(HostCredentials credentials) =>
        (stream, token) => ClusterHandshake.AsServerAsync(stream, credentials, token);

    private static Func<SslStream, CancellationToken, Task> Engine(HostCredentials credentials, string destination) =>
        (stream, token) => ClusterHandshake.AsClientAsync(stream, credentials, destination, token);

    private static MigrationException Rejection(Exception? error, string errorId)
    {
        var e = Assert.IsType<MigrationException>(error);
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(FailureKind.OperationFailed, e.Kind);
        return e;
    }

    [Fact]
    public async Task Mutual_handshake_uses_tls13_and_the_agent_learns_the_engines_host()
    {
        using var source = cluster.Credentials("kvm01");
        using var destination = cluster.Credentials("kvm02");

        var outcome = await Loopback.Handshake(Agent(destination), Engine(source, "kvm02"));

        Assert.Null(outcome.Server.Error);
        Assert.Null(outcome.Client.Error);
        Assert.Equal("kvm01", outcome.Server.Value);
        Assert.True(outcome.Client.Value, "the byte did not make the round trip");
        Assert.Equal(SslProtocols.Tls13, outcome.Server.Protocol);
        Assert.Equal(SslProtocols.Tls13, outcome.Client.Protocol);
    }

    [Fact]
    public async Task The_agent_rejects_a_client_certificate_of_another_ca_and_says_why()
    {
        using var intruder = other.Credentials("kvm09");
        using var destination = cluster.Credentials("kvm02");

        var outcome = await Loopback.Handshake(Agent(destination), Engine(intruder, "kvm02"));

        var e = Rejection(outcome.Server.Error, "TlsPeerRejected");
        Assert.Contains("certificate of 'kvm09' is not issued by the cluster CA", e.Message);
        Assert.NotNull(outcome.Client.Error);
    }

    [Fact]
    public async Task The_engine_rejects_a_server_certificate_of_another_ca()
    {
        using var source = cluster.Credentials("kvm01");
        using var impostor = other.Credentials("kvm02");

        var outcome = await Loopback.Handshake(Agent(impostor), Engine(source, "kvm02"));

        var e = Rejection(outcome.Client.Error, "TlsPeerRejected");
        Assert.Equal("kvm02", e.Target);
        Assert.Contains("with kvm02 failed: certificate of 'kvm02' is not issued by the cluster CA", e.Message);
        Assert.NotNull(outcome.Server.Error);
    }

    [Fact]
    public async Task The_agent_rejects_an_expired_client_certificate()
    {
        var expiry = TestPki.Now.AddDays(-1);
        using var source = cluster.Credentials("kvm01", notBefore: TestPki.Now.AddDays(-20), notAfter: expiry);
        using var destination = cluster.Credentials("kvm02");

        var outcome = await Loopback.Handshake(Agent(destination), Engine(source, "kvm02"));

        var e = Rejection(outcome.Server.Error, "TlsPeerRejected");
        Assert.Contains($"certificate of 'kvm01' expired on {expiry.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC", e.Message);
        Assert.NotNull(outcome.Client.Error);
    }

    [Fact]
    public async Task The_engine_rejects_a_server_certificate_that_is_not_valid_yet()
    {
        var start = TestPki.Now.AddDays(2);
        using var source = cluster.Credentials("kvm01");
        using var destination = cluster.Credentials("kvm02", notBefore: start, notAfter: TestPki.Now.AddDays(30));

        var outcome = await Loopback.Handshake(Agent(destination), Engine(source, "kvm02"));

        var e = Rejection(outcome.Client.Error, "TlsPeerRejected");
        Assert.Contains($"certificate of 'kvm02' is not valid before {start.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC", e.Message);
    }

    [Fact]
    public async Task The_agent_rejects_a_client_certificate_that_is_not_valid_yet()
    {
        using var source = cluster.Credentials("kvm01", notBefore: TestPki.Now.AddDays(2), notAfter: TestPki.Now.AddDays(30));
        using var destination = cluster.Credentials("kvm02");

        var outcome = await Loopback.Handshake(Agent(destination), Engine(source, "kvm02"));

        Assert.Contains("certificate of 'kvm01' is not valid before", Rejection(outcome.Server.Error, "TlsPeerRejected").Message);
    }

    [Fact]
    public async Task The_engine_rejects_the_certificate_of_another_host_of_the_cluster()
    {
        // The address of kvm02 answered by kvm03: a cluster certificate, but not the destination's.
        using var source = cluster.Credentials("kvm01");
        using var wrong = cluster.Credentials("kvm03");

        var outcome = await Loopback.Handshake(Agent(wrong), Engine(source, "kvm02"));

        var e = Rejection(outcome.Client.Error, "TlsPeerRejected");
        Assert.Contains("certificate of 'kvm03' is not for 'kvm02' (it names kvm03, 127.0.0.1)", e.Message);
    }

    [Fact]
    public async Task A_client_that_offers_only_tls12_fails()
    {
        using var source = cluster.Credentials("kvm01");
        using var destination = cluster.Credentials("kvm02");
        var tls12 = source.ClientOptions("kvm02");
        tls12.EnabledSslProtocols = SslProtocols.Tls12;

        var outcome = await Loopback.Handshake(Agent(destination), (stream, token) => stream.AuthenticateAsClientAsync(tls12, token));

        Rejection(outcome.Server.Error, "TlsHandshakeFailed");
        Assert.NotNull(outcome.Client.Error);
        Assert.False(outcome.Client.Value);
    }

    [Fact]
    public async Task The_agent_rejects_a_client_without_a_certificate()
    {
        using var destination = cluster.Credentials("kvm02");
        var anonymous = destination.ClientOptions("kvm02");
        anonymous.ClientCertificateContext = null;

        var outcome = await Loopback.Handshake(Agent(destination), (stream, token) => stream.AuthenticateAsClientAsync(anonymous, token));

        Assert.Contains("the peer presented no certificate", Rejection(outcome.Server.Error, "TlsPeerRejected").Message);
        Assert.NotNull(outcome.Client.Error);
    }

    [Fact]
    public async Task Verification_reports_the_reason_to_callers_of_the_raw_options()
    {
        using var intruder = other.Credentials("kvm09");
        using var destination = cluster.Credentials("kvm02");
        var verification = new PeerVerification();

        var outcome = await Loopback.Handshake(
            async (stream, token) =>
            {
                await stream.AuthenticateAsServerAsync(destination.ServerOptions(verification), token);
                return verification.HostName!;
            },
            Engine(intruder, "kvm02"));

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
        Assert.Null(verification.HostName);
        Assert.StartsWith("certificate of 'kvm09' is not issued by the cluster CA", verification.FailureReason);
    }

    [Fact]
    public void Options_allow_only_tls13_require_a_client_certificate_and_trust_only_the_cluster_ca()
    {
        using var credentials = cluster.Credentials("kvm01");

        var server = credentials.ServerOptions();
        var client = credentials.ClientOptions("kvm02");

        Assert.Equal(SslProtocols.Tls13, server.EnabledSslProtocols);
        Assert.Equal(SslProtocols.Tls13, client.EnabledSslProtocols);
        Assert.True(server.ClientCertificateRequired);
        Assert.Equal("kvm02", client.TargetHost);
        Assert.NotNull(client.ClientCertificateContext);
        foreach (var policy in new[] { server.CertificateChainPolicy!, client.CertificateChainPolicy! })
        {
            Assert.Equal(System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
            Assert.Equal(System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck, policy.RevocationMode);
            Assert.Equal(cluster.Ca.Certificate.Thumbprint, Assert.Single(policy.CustomTrustStore).Thumbprint);
        }
    }
}
