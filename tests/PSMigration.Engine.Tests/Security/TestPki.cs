using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Tests.Security;

/// <summary>In-memory cluster PKIs for the TLS tests: a CA whose validity spans the past and the future,
/// so certificates that expired or are not valid yet can be issued from it.</summary>
internal sealed class TestPki : IDisposable
{
    public static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public CertificateAuthority Ca { get; } = CertificateAuthority.Create(Now.AddDays(-30), Now.AddDays(365));

    public HostCredentials Credentials(string host, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null) =>
        new(host, X509CertificateLoader.LoadCertificate(Ca.Certificate.RawData),
            Ca.Issue(host, [IPAddress.Loopback], notBefore ?? Now.AddHours(-1), notAfter ?? Now.AddDays(30)));

    public void Dispose() => Ca.Dispose();
}

/// <summary>A temporary directory, deleted at the end of the test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("psmig-pki-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>A real TLS handshake over a loopback TCP connection: each side runs as it would in the
/// engine and the agent, and the outcome of each is kept (a result or the exception).</summary>
internal static class Loopback
{
    public sealed record Side<T>(T? Value, Exception? Error, SslProtocols Protocol);

    public sealed record Outcome(Side<string> Server, Side<bool> Client);

    public static async Task<Outcome> Handshake(
        Func<SslStream, CancellationToken, Task<string>> server, Func<SslStream, CancellationToken, Task> client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var serverSide = Serve(listener, server, timeout.Token);
            var clientSide = Connect(((IPEndPoint)listener.LocalEndpoint).Port, client, timeout.Token);
            return new Outcome(await serverSide, await clientSide);
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>After the handshake the server answers one byte with its successor: the channel works.</summary>
    private static async Task<Side<string>> Serve(TcpListener listener, Func<SslStream, CancellationToken, Task<string>> handshake, CancellationToken token)
    {
        using var socket = await listener.AcceptTcpClientAsync(token);
        await using var stream = new SslStream(socket.GetStream());
        try
        {
            var peer = await handshake(stream, token);
            var buffer = new byte[1];
            await stream.ReadExactlyAsync(buffer, token);
            buffer[0]++;
            await stream.WriteAsync(buffer, token);
            await stream.FlushAsync(token);
            return new Side<string>(peer, null, stream.SslProtocol);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new Side<string>(null, e, SslProtocols.None);
        }
    }

    private static async Task<Side<bool>> Connect(int port, Func<SslStream, CancellationToken, Task> handshake, CancellationToken token)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port, token);
        await using var stream = new SslStream(socket.GetStream());
        try
        {
            await handshake(stream, token);
            // With TLS 1.3 a refused client certificate shows here, not in the client's handshake.
            await stream.WriteAsync(new byte[] { 41 }, token);
            await stream.FlushAsync(token);
            var buffer = new byte[1];
            await stream.ReadExactlyAsync(buffer, token);
            return new Side<bool>(buffer[0] == 42, null, stream.SslProtocol);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new Side<bool>(false, e, SslProtocols.None);
        }
    }
}
