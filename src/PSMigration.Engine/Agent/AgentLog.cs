using System.Net;

namespace PSMigration.Engine.Agent;

/// <summary>What the agent tells its log (psmig agent writes one line each on stderr), one method per event; it also
/// counts the connections turned away.</summary>
internal sealed class AgentLog(Action<string> write)
{
    private long refusals;

    /// <summary>Connections turned away so far (not allowed, garbage, bad credentials, refused requests...).</summary>
    public long Refusals => Interlocked.Read(ref refusals);

    public void Listening(string host, IEnumerable<IPEndPoint> endpoints) => write($"agent of {host} listening on {string.Join(", ", endpoints)}");

    public void AcceptFailed(EndPoint? listener, string why) => write($"accept failed on {listener}: {why}");

    public void Refused(EndPoint peer, string why)
    {
        Interlocked.Increment(ref refusals);
        write($"refused {peer}: {why}");
    }

    /// <summary>A session's one line: who, over which network, what it carried, and how it ended.</summary>
    public void Session(string summary) => write(summary);

    public void Incoming(string vm, string source, string what) => write($"incoming {vm} from {source}: {what}");

    public void Relay(string vm, string source, string what) => write($"relay for {vm} from {source}: {what}");

    public void Outgoing(string vm, string caller, string what) => write($"outgoing {vm} for {caller}: {what}");

    public void Checked(string vm, string source, string outcome) => write($"check for {vm} from {source}: {outcome}");
}

/// <summary>Who opened a connection to the agent: its address, whether it spoke TLS, and the cluster host its
/// certificate names (TLS only).</summary>
internal sealed record AgentPeer(IPEndPoint EndPoint, IPAddress Address, bool Tls, string? Host);
