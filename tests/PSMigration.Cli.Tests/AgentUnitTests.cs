using System.Diagnostics;
using PSMigration.Testing;

namespace PSMigration.Cli.Tests;

/// <summary>The systemd unit in deploy/: systemd reads every directive (no typo silently ignored), it starts psmig agent
/// with options psmig has, and its sandbox leaves writable and allowed what the agent and its twins use.</summary>
public sealed class AgentUnitTests
{
    private static readonly string UnitPath = Path.Combine(AppContext.BaseDirectory, "deploy", "psmigration-agent.service");
    private static readonly string[] Lines = File.ReadAllLines(UnitPath);

    [Fact]
    public void Systemd_reads_every_directive_of_the_unit()
    {
        TestRequirements.EnsureAvailable("unit checks", TestRequirements.MissingCommands("systemd-analyze"));
        var folder = Directory.CreateTempSubdirectory("psmig-unit-").FullName;
        try
        {
            // verify wants ExecStart's program to exist: psmig is not installed here, the directives are what is checked
            var unit = Path.Combine(folder, "psmigration-agent.service");
            File.WriteAllLines(unit, Lines.Select(l => l.StartsWith("ExecStart=", StringComparison.Ordinal) ? "ExecStart=/bin/true" : l));
            using var verify = Process.Start(new ProcessStartInfo("systemd-analyze", ["verify", unit]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            var complaints = verify.StandardError.ReadToEnd() + verify.StandardOutput.ReadToEnd();
            verify.WaitForExit();

            Assert.Equal(0, verify.ExitCode);
            Assert.True(complaints.Trim().Length == 0, $"systemd-analyze verify: {complaints}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_unit_starts_the_agent_with_options_psmig_has()
    {
        var exec = Value("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["/usr/local/bin/psmig", "agent"], exec[..2]);
        var agentOptions = AgentCommand.Create(new CliOutput(TextWriter.Null, TextWriter.Null)).Options.SelectMany(o => o.Aliases.Prepend(o.Name)).ToHashSet();
        Assert.All(exec.Where(a => a.StartsWith("--", StringComparison.Ordinal)), option => Assert.Contains(option, agentOptions));
    }

    [Fact]
    public void The_sandbox_keeps_writable_and_allowed_what_the_agent_and_its_twins_use()
    {
        var writable = Value("ReadWritePaths").Split(' ').Select(p => p.TrimStart('-')).ToList();
        var exec = Value("ExecStart");
        Assert.Contains(PSMigration.Qemu.Launch.RunDirectory.Default, writable); // twins' sockets, pid files, logs
        Assert.Contains("/etc/psmigration", writable); // the agent records arriving VMs in its inventory
        Assert.Contains("--inventory /etc/psmigration/inventory.yaml", exec);
        Assert.Contains($"--run-dir {PSMigration.Qemu.Launch.RunDirectory.Default}", exec);
        Assert.Equal("strict", Value("ProtectSystem"));
        Assert.Equal("true", Value("NoNewPrivileges"));
        Assert.Equal("true", Value("PrivateTmp"));
        var capabilities = Value("CapabilityBoundingSet").Split(' ');
        Assert.Subset(capabilities.ToHashSet(), new HashSet<string> { "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN" }); // --twin-user, taps
        Assert.DoesNotContain("CAP_SYS_ADMIN", capabilities);
        var devices = Lines.Where(l => l.StartsWith("DeviceAllow=", StringComparison.Ordinal)).Select(l => l.Split('=')[1].Split(' ')[0]).ToList();
        Assert.Equal("closed", Value("DevicePolicy"));
        Assert.Contains("/dev/kvm", devices);
        Assert.Contains("/dev/net/tun", devices);
        Assert.Equal("process", Value("KillMode")); // the VMs outlive the agent
    }

    private static string Value(string key) =>
        Lines.Last(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];
}
