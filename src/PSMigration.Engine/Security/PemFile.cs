using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Engine.Security;

/// <summary>Reads and writes the PKI's PEM files. Every failure is a <see cref="MigrationException"/>
/// naming the file; keys are never readable by others, not even for a moment.</summary>
internal static class PemFile
{
    public const UnixFileMode PrivateKeyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode CertificateMode = PrivateKeyMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MigrationException("PkiFileMissing", FailureKind.NotFound,
                $"The cluster PKI file {path} is missing: {PkiPaths.CreateHint}, then copy {PkiPaths.CaCertificateName}, " +
                $"HOST.crt and HOST.key to {PkiPaths.DefaultDirectory} (or the agent's --pki DIR) on each host", path, e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw Unreadable(path, e.Message, e);
        }
    }

    public static X509Certificate2 ReadCertificate(string path)
    {
        var pem = Read(path);
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw Unreadable(path, $"it holds no PEM certificate ({e.Message})", e);
        }
    }

    /// <summary>The certificate of <paramref name="certificatePath"/> with the private key of <paramref name="keyPath"/>.</summary>
    public static X509Certificate2 ReadCertificateWithKey(string certificatePath, string keyPath)
    {
        using var certificate = ReadCertificate(certificatePath);
        var keyPem = Read(keyPath);
        try
        {
            return X509Certificate2.CreateFromPem(certificate.ExportCertificatePem(), keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw Unreadable(keyPath, $"it holds no PEM private key of the certificate in {certificatePath} ({e.Message})", e);
        }
    }

    /// <summary>Writes atomically (a temporary file renamed over the target) with <paramref name="mode"/>.</summary>
    public static void Write(string path, string pem, UnixFileMode mode)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateKeyMode; // opened up below, after umask
            using (var stream = new FileStream(temporary, options))
            {
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(stream.SafeFileHandle, mode);
                using var writer = new StreamWriter(stream);
                writer.Write(pem);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            TryDelete(temporary);
            throw new MigrationException("PkiWriteFailed", FailureKind.OperationFailed, $"Cannot write {path}: {e.Message}", path, e);
        }
    }

    /// <summary>Creates <paramref name="directory"/> for the owner only. An existing directory keeps its
    /// mode: it may be one the user also uses for other things; the keys are private anyway.</summary>
    public static void CreateDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) return;
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, DirectoryMode);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new MigrationException("PkiWriteFailed", FailureKind.OperationFailed, $"Cannot create {directory}: {e.Message}", directory, e);
        }
    }

    private static MigrationException Unreadable(string path, string why, Exception inner) =>
        new("PkiFileUnreadable", FailureKind.InvalidInput, $"Cannot read the cluster PKI file {path}: {why}", path, inner);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { /* the original error says more */ }
    }
}
