using PSMigration.Engine.Security;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>QEMU's own TLS for the direct transport: a <c>tls-creds-x509</c> object made from the
/// cluster PKI. QEMU wants a directory of fixed names (ca-cert.pem, server-*/client-*.pem), so the
/// host's files are copied into a private one that lives as long as the migration.</summary>
internal sealed class QemuTls : IDisposable
{
    public const string ObjectId = "psmig-tls";

    private QemuTls(string directory, string endpoint)
    {
        Directory = directory;
        Endpoint = endpoint;
    }

    public string Directory { get; }
    /// <summary>"server" on the destination, "client" on the source.</summary>
    public string Endpoint { get; }

    public static QemuTls Create(string pkiDirectory, string hostName, string directory, bool server)
    {
        var endpoint = server ? "server" : "client";
        var tls = new QemuTls(directory, endpoint);
        try
        {
            ClusterPki.ExportForGnuTls(pkiDirectory, hostName, directory, endpoint);
            return tls;
        }
        catch
        {
            tls.Dispose();
            throw;
        }
    }

    /// <summary>Adds the credentials object (replacing one left by an earlier migration).</summary>
    public async Task AddAsync(QmpClient qmp, CancellationToken cancel)
    {
        try
        {
            await qmp.ExecuteAsync("object-del", new { id = ObjectId }, cancel);
        }
        catch (QmpException e) when (e.ErrorClass is not null)
        {
            // there was none
        }
        await qmp.ExecuteAsync("object-add", Command, cancel);
    }

    public Dictionary<string, object> Command => new()
    {
        ["qom-type"] = "tls-creds-x509",
        ["id"] = ObjectId,
        ["dir"] = Directory,
        ["endpoint"] = Endpoint,
        ["verify-peer"] = true,
    };

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
