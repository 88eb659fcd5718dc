using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PSMigration.Engine.Security;

/// <summary>Decides whether a certificate is a host certificate of this cluster: issued by the cluster CA
/// and by nothing the system trusts, within its dates, for the use at hand and, when a host is expected,
/// for that host. One place for the rule, used by the TLS handshakes and by <see cref="ClusterPki.Load"/>;
/// it answers with a reason for people, which the agent logs.</summary>
internal sealed class ClusterTrust(X509Certificate2 caCertificate)
{
    private const X509ChainStatusFlags NotAnchoredInTheCa =
        X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid |
        X509ChainStatusFlags.Cyclic | X509ChainStatusFlags.ExplicitDistrust;

    public X509Certificate2 CaCertificate { get; } = caCertificate;

    /// <summary>Trust the cluster CA and nothing else; no revocation lists and no downloads (a cluster
    /// that just lost its gateway must still migrate its VMs away).</summary>
    public X509ChainPolicy ChainPolicy(IEnumerable<Oid> usages)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(CaCertificate);
        foreach (var usage in usages) policy.ApplicationPolicy.Add(usage);
        return policy;
    }

    /// <summary>Null when <paramref name="certificate"/> passes; otherwise why not, naming its host.</summary>
    /// <param name="expectedHost">The host the certificate must name (a DNS entry), or null for any host of the cluster.</param>
    /// <param name="usages">The extended key usages it must allow: server and/or client authentication.</param>
    public string? Check(X509Certificate? certificate, string? expectedHost, IReadOnlyList<Oid> usages)
    {
        if (certificate is null) return "the peer presented no certificate";
        using var owned = certificate as X509Certificate2 is null ? new X509Certificate2(certificate) : null;
        var leaf = owned ?? (X509Certificate2)certificate;
        var at = DateTimeOffset.UtcNow;
        var label = Label(leaf);

        if (leaf.RawDataMemory.Span.SequenceEqual(CaCertificate.RawDataMemory.Span))
            return "the peer presented the cluster CA certificate instead of a host certificate";

        using var chain = new X509Chain { ChainPolicy = ChainPolicy(usages) };
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.Build(leaf);
        var problems = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);

        var anchored = chain.ChainElements.Count == 2 && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(CaCertificate.RawDataMemory.Span);
        if ((problems & NotAnchoredInTheCa) != 0 || !anchored)
            return $"{label} is not issued by the cluster CA (its issuer is '{leaf.Issuer}', the cluster CA is '{CaCertificate.Subject}')";
        if (at > CaCertificate.NotAfter.ToUniversalTime())
            return $"the cluster CA certificate expired on {Date(CaCertificate.NotAfter)}";
        if (at > leaf.NotAfter.ToUniversalTime())
            return $"{label} expired on {Date(leaf.NotAfter)}";
        if (at < leaf.NotBefore.ToUniversalTime())
            return $"{label} is not valid before {Date(leaf.NotBefore)}";
        if ((problems & X509ChainStatusFlags.NotValidForUsage) != 0)
            return $"{label} is not valid for {string.Join(" and ", usages.Select(u => u.FriendlyName ?? u.Value))}";
        if (problems != X509ChainStatusFlags.NoError)
            return $"{label} is not valid: {string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct())}";
        if (expectedHost is not null && !leaf.MatchesHostname(expectedHost, allowWildcards: false, allowCommonName: false))
            return $"{label} is not for '{expectedHost}' (it names {string.Join(", ", Names(leaf))})";
        return null;
    }

    /// <summary>The host a certificate belongs to: its common name.</summary>
    public static string HostNameOf(X509Certificate2 certificate) => certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    private static string Label(X509Certificate2 certificate) =>
        HostNameOf(certificate) is { Length: > 0 } host ? $"certificate of '{host}'" : $"certificate '{certificate.Subject}'";

    private static IEnumerable<string> Names(X509Certificate2 certificate)
    {
        var names = SubjectAlternativeNames(certificate).SelectMany(san =>
            san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString()))).ToList();
        return names.Count > 0 ? names : ["no host names"];
    }

    internal static IEnumerable<X509SubjectAlternativeNameExtension> SubjectAlternativeNames(X509Certificate2 certificate) =>
        certificate.Extensions.Where(e => e.Oid?.Value == "2.5.29.17")
            .Select(e => e as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(e.RawData, e.Critical));

    private static string Date(DateTime time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
