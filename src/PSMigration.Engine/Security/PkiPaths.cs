using System.Text.RegularExpressions;

namespace PSMigration.Engine.Security;

/// <summary>Where the cluster PKI lives and what its files are called, in one place, so that
/// <c>psmig cert init</c>, the agent and the engine agree. A host's directory needs <c>ca.crt</c>,
/// <c>HOST.crt</c> and <c>HOST.key</c>; <c>ca.key</c> belongs only where certificates are issued.</summary>
public static partial class PkiPaths
{
    /// <summary>Where the agent and the engine look when no directory is given.</summary>
    public const string DefaultDirectory = "/etc/psmigration/pki";

    public const string CaCertificateName = "ca.crt";
    public const string CaKeyName = "ca.key";

    /// <summary>What to do about a missing PKI, for error messages.</summary>
    internal const string CreateHint =
        "create the cluster PKI with 'psmig cert init --inventory FILE --out DIR' (or New-MigrationCertificate)";

    public static string CaCertificate(string directory) => Path.Combine(directory, CaCertificateName);
    public static string CaKey(string directory) => Path.Combine(directory, CaKeyName);
    public static string HostCertificate(string directory, string hostName) => Path.Combine(directory, hostName + ".crt");
    public static string HostKey(string directory, string hostName) => Path.Combine(directory, hostName + ".key");

    /// <summary>Why <paramref name="hostName"/> cannot have a certificate, or null when it can. The name
    /// goes into the certificate as a DNS name and into file names, so it must be a DNS name (which also
    /// keeps it inside the directory), and not "ca", whose files are the CA's.</summary>
    internal static string? WhyNotAHostName(string hostName)
    {
        if (hostName.Length > 253 || !DnsName().IsMatch(hostName))
            return $"'{hostName}' is not a DNS name (labels of letters, digits and '-', separated by '.')";
        if (string.Equals(hostName, "ca", StringComparison.OrdinalIgnoreCase))
            return "'ca' is the name of the CA's own files (ca.crt, ca.key)";
        return null;
    }

    [GeneratedRegex(@"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")]
    private static partial Regex DnsName();
}
