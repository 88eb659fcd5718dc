using System.Text.Json;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>Readiness: the agent says whether it could take a VM, what memory its host has and which interface
/// (with its MTU) the check came in on; it starts nothing, and a source without a cluster certificate gets no answer.</summary>
public sealed class AgentCheckTests
{
    /// <summary>What the twin is, the agent does not read: it hands it to its incoming-VM host (here: none).</summary>
    private static JsonElement Twin(string vm) => JsonDocument.Parse($$"""{ "vm": "{{vm}}" }""").RootElement;

    [Fact]
    public async Task An_agent_without_QEMU_says_so_with_its_memory_and_interface()
    {
        await using var lab = await EngineLab.StartAsync();

        var answer = await AgentCheck.AskAsync(lab.Session(1), "vm1", Twin("vm1"), CancellationToken.None);

        Assert.Equal("the agent of dst does not start VMs (it has no QEMU configured)", answer.Answer.QemuProblem);
        Assert.True(answer.Answer.MemoryAvailableMiB > 0);
        Assert.Equal("lo", answer.Answer.Interface); // 127.0.0.2 is in lo's 127.0.0.1/8
        Assert.Equal(65536, answer.Answer.Mtu);
        await lab.LoggedAsync("check for vm1 from src: the agent of dst does not start VMs");
    }

    [Fact]
    public async Task A_libvirt_domain_needs_no_twin_so_only_the_host_is_described()
    {
        await using var lab = await EngineLab.StartAsync();

        var answer = await AgentCheck.AskAsync(lab.Session(1), "db1", null, CancellationToken.None);

        Assert.Null(answer.Answer.QemuProblem);
        Assert.True(answer.Answer.MemoryAvailableMiB > 0);
        await lab.LoggedAsync("check for db1 from src: it could be taken");
    }
}
