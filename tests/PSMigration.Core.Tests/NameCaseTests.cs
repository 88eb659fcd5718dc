using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>VM, host, cluster and network names ignore case, as PowerShell users type them: lookups
/// find the item and answer with its name as defined; two names that differ only in case are a duplicate.</summary>
public class NameCaseTests
{
    private static readonly string Base = InventoryBuilder.TwoHosts().Yaml();

    [Fact]
    public void Lookups_IgnoreCase_AndAnswerWithTheDefinedName()
    {
        var inventory = InventoryLoader.Parse(Base, "inv.yaml");
        Assert.Equal("web01", inventory.Vm("WEB01").Name);
        Assert.Equal("kvm02", inventory.Host("Kvm02").Name);
        Assert.Equal("prod", inventory.Cluster("PROD").Name);
        Assert.Equal("lan", inventory.Network("LAN").Name);
        Assert.Equal("prod", inventory.ClusterPolicy("Prod").Name);
        Assert.Equal("web01", inventory.VmPolicy("Web01").Name);
    }

    [Fact]
    public void Plans_TakeNamesInAnyCase()
    {
        var plan = MigrationPlanner.Plan(InventoryLoader.Parse(Base, "inv.yaml"), "WEB01", "KVM02", "Lan");
        Assert.Equal(("web01", "kvm01", "kvm02", "lan"), (plan.Vm, plan.SourceHost, plan.DestinationHost, plan.Network));
    }

    [Fact]
    public void References_InAnotherCase_ResolveToTheDefinedName()
    {
        var text = Yaml.ReplaceOnce(Base, "    host: kvm01\n", "    host: KVM01\n");
        text = text.Replace("    cluster: prod\n", "    cluster: PROD\n");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        Assert.Equal("kvm01", inventory.Vm("web01").Host);
        Assert.Equal("prod", inventory.Host("kvm01").Cluster);
    }

    [Fact]
    public void Names_ThatDifferOnlyInCase_AreADuplicate()
    {
        var text = Yaml.ReplaceOnce(Base, "  - name: kvm02\n", "  - name: KVM01\n");
        Yaml.AssertSingleError(text, Yaml.Pos(text, "KVM01"), "duplicate host name 'KVM01' (first defined as 'kvm01'; names ignore case at inv.yaml:");
    }

    [Fact]
    public void PolicyEdits_FindTheBlock_WhateverTheCase()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("psmig-case-").FullName, "inv.yaml");
        File.WriteAllText(path, Base);
        var result = PolicyEditor.Apply(path, PolicyTarget.ForVm("WEB01"), new PolicyChange(new PolicyBlock { MaxDowntimeMs = 450 }, []), write: true);
        Assert.Equal("web01", result.Target.Name);
        Assert.Equal(450, InventoryLoader.Load(path).VmPolicy("web01").MaxDowntimeMs);
    }
}
