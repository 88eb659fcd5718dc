using System.Reflection;

namespace PSMigration.PowerShell.Tests;

/// <summary>What PowerShell binds when the module's objects are piped into its cmdlets, worked out the
/// way its binder does: by value first (exact type), then by property name, and within a pass the
/// default parameter set first.</summary>
public sealed class PipelineBindingTests
{
    private static CompiledModule Module => CompiledModule.Instance;

    private static Type OutputOf(string cmdlet) =>
        Module.ModuleType(Module.Cmdlet(cmdlet).OutputTypeNames.Single()) ?? throw new Xunit.Sdk.XunitException($"no output type for {cmdlet}");

    private static bool TakesByValue(ParameterModel p, Type input)
    {
        var target = p.Type.IsArray ? p.Type.GetElementType()! : p.Type;
        return target.IsAssignableFrom(input);
    }

    private static bool TakesByName(ParameterModel p, Type input) =>
        p.Aliases.Prepend(p.Name).Any(n => input.GetProperty(n, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not null);

    /// <summary>The named sets an input object of <paramref name="input"/> can select, in the first pass that binds a
    /// set-specific parameter (in-all-sets parameters such as -InventoryPath select none).</summary>
    private static IReadOnlyList<string> SelectableSets(CmdletModel cmdlet, Type input)
    {
        foreach (var pass in new Func<ParameterModel, ParameterSetEntry, bool>[]
                 {
                     (p, s) => s.FromPipeline && TakesByValue(p, input),
                     (p, s) => s.FromPipelineByPropertyName && TakesByName(p, input),
                 })
        {
            var sets = cmdlet.Parameters.SelectMany(p => p.Sets.Where(s => s.SetName != CompiledModule.AllParameterSets && pass(p, s)))
                .Select(s => s.SetName).Distinct().ToList();
            if (sets.Count > 0) return sets;
        }
        return [];
    }

    /// <summary>The parameters of <paramref name="cmdlet"/> that objects of <paramref name="input"/> bind by property name.</summary>
    private static IReadOnlyList<string> BoundByName(CmdletModel cmdlet, Type input) =>
        cmdlet.Parameters.Where(p => p.Sets.Any(s => s.FromPipelineByPropertyName) && TakesByName(p, input))
            .Select(p => p.Name).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void VMsPipedIntoGetMigrationPlanBindTheVMAndItsInventory()
    {
        // Get-MigrationVM -InventoryPath x | Get-MigrationPlan -Destination kvm02
        var vm = OutputOf("Get-MigrationVM");
        Assert.Equal(["InventoryPath", "VM"], BoundByName(Module.Cmdlet("Get-MigrationPlan"), vm));
    }

    [Fact]
    public void VMsPipedIntoThePolicyCmdletsSelectTheVMSet()
    {
        var vm = OutputOf("Get-MigrationVM");
        Assert.Equal(["VM"], SelectableSets(Module.Cmdlet("Get-MigrationPolicy"), vm));
        Assert.Equal(["VM"], SelectableSets(Module.Cmdlet("Set-MigrationPolicy"), vm));
    }

    [Fact]
    public void HostsPipedIntoGetMigrationHostBindTheirNames()
    {
        var host = OutputOf("Get-MigrationHost");
        Assert.Equal(["Cluster", "InventoryPath", "Name"], BoundByName(Module.Cmdlet("Get-MigrationHost"), host));
    }

    /// <summary>Get-X | Set-X is PowerShell's idiom for "change this one": a policy object must select the
    /// target it describes. An EffectivePolicy of a VM has both Name (the VM) and Cluster (its cluster); if
    /// both -VM (alias Name) and -Cluster take them by property name, the binder prefers the default set,
    /// Cluster, and "Get-MigrationPolicy -VM db01 | Set-MigrationPolicy -MaxDowntimeMs 400" edits the
    /// policy of cluster 'prod' instead of db01's.</summary>
    [Theory]
    [InlineData("Get-MigrationPolicy", "Set-MigrationPolicy")]
    [InlineData("Get-MigrationPolicy", "Get-MigrationPolicy")]
    public void PolicyObjectsSelectOneTarget(string producer, string consumer)
    {
        var sets = SelectableSets(Module.Cmdlet(consumer), OutputOf(producer));
        Assert.True(sets.Count == 1,
            $"{producer} | {consumer}: an {OutputOf(producer).Name} can bind the sets {string.Join(" and ", sets)}; " +
            $"the binder then takes the default set ({Module.Cmdlet(consumer).DefaultParameterSetName}) whatever the object's Scope says");
    }
}
