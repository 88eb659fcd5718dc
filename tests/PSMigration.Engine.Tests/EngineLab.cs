using System.Collections.Concurrent;
using System.Net;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>
/// Two hosts on loopback: "src" at 127.0.0.1 and "dst" at 127.0.0.2 (Linux routes all of 127/8 to lo),
/// with a real cluster PKI in a temp folder and a real agent for "dst" on a free port.
/// </summary>
public sealed class EngineLab : IAsyncDisposable
{
    public static readonly IPAddress Source = IPAddress.Parse("127.0.0.1");
    public static readonly IPAddress Destination = IPAddress.Parse("127.0.0.2");

    public const string InventoryText = """
        networks:
          - name: lo
            cidr: 127.0.0.0/8
            role: migration
        hosts:
          - name: src
            cpuThreads: 4
            interfaces:
              - name: lo
                addresses: [127.0.0.1/8]
                speedGbps: 10
          - name: dst
            cpuThreads: 4
            interfaces:
              - name: lo
                addresses: [127.0.0.2/8]
                speedGbps: 10
          - name: third
            cpuThreads: 4
            interfaces:
              - name: lo
                addresses: [127.0.0.3/8]
                speedGbps: 10
        """;

    private EngineLab(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }
    public string PkiDirectory => Path.Combine(Directory, "pki");
    /// <summary>Where the agent relays the target "qemu": the socket a test's <see cref="LocalStreams"/> named "dst" listens on.</summary>
    public string RelayTargetPath => Path.Combine(Directory, "dst.sock");
    public HostCredentials SourceCredentials { get; private set; } = null!;
    public HostCredentials DestinationCredentials { get; private set; } = null!;
    /// <summary>A third host of the cluster: a valid certificate, but it holds no VM (it connects from src's address).</summary>
    public HostCredentials ThirdCredentials { get; private set; } = null!;
    public MigrationAgent Agent { get; private set; } = null!;
    public ConcurrentQueue<string> AgentLog { get; } = new();
    /// <summary>Who may move VMs here: "src" holds them all.</summary>
    internal TestAuthority Authority { get; } = new("src");
    public IPEndPoint AgentEndpoint => Agent.Endpoints[0];

    public static Task<EngineLab> StartAsync(Func<AgentOptions, AgentOptions>? configure = null)
    {
        var lab = new EngineLab(System.IO.Directory.CreateTempSubdirectory("psmig-engine-").FullName);
        ClusterPki.Initialize(Security.PkiHosts.Of(InventoryLoader.Parse(InventoryText, "engine-lab.yaml")), lab.PkiDirectory);
        lab.SourceCredentials = ClusterPki.Load(lab.PkiDirectory, "src");
        lab.DestinationCredentials = ClusterPki.Load(lab.PkiDirectory, "dst");
        lab.ThirdCredentials = ClusterPki.Load(lab.PkiDirectory, "third");
        var options = new AgentOptions
        {
            HostName = "dst",
            Listen = [new IPEndPoint(Destination, 0)],
            Credentials = lab.DestinationCredentials,
            AllowFrom = [IPNetwork.Parse("127.0.0.1/32")],
            // Generous bounds, as in production: on a loaded 2-core machine a TLS handshake or a write
            // can take seconds. Tests about these bounds set short ones themselves.
            HandshakeTimeout = TimeSpan.FromSeconds(5),
            Stall = TimeSpan.FromSeconds(10),
            Log = lab.AgentLog.Enqueue,
            RelayTargets = name => name == "qemu" ? lab.RelayTargetPath : null,
            Authority = lab.Authority,
        };
        lab.Agent = MigrationAgent.Start(configure?.Invoke(options) ?? options);
        return Task.FromResult(lab);
    }

    public SessionOptions Session(int channels, bool tls = true, HostCredentials? credentials = null) => new()
    {
        Agent = AgentEndpoint,
        AgentHost = "dst",
        Credentials = credentials ?? SourceCredentials,
        SourceAddress = Source,
        Channels = channels,
        Tls = tls,
        Network = "lo",
        Stall = TimeSpan.FromSeconds(10),
    };

    public Task<EngineSession> OpenAsync(int channels, bool tls = true, TransferMode mode = TransferMode.Synthetic, string? relayTarget = null) =>
        EngineSession.OpenAsync(Session(channels, tls), mode, relayTarget, CancellationToken.None);

    /// <summary>Waits until the agent has logged a line containing <paramref name="text"/>.</summary>
    public async Task<string> LoggedAsync(string text, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < until)
        {
            var line = AgentLog.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null) return line;
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException($"the agent never logged '{text}'; it logged:\n{string.Join("\n", AgentLog)}");
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a socket file still held open; the temp folder is cleaned by the OS
        }
    }
}
