namespace PSMigration.PowerShell.Tests;

/// <summary>Every parameter that takes names from the inventory completes them with the completer of
/// its kind ([ArgumentCompleter(typeof(...))] as compiled), and no other parameter claims one.</summary>
public sealed class ArgumentCompleterTests
{
    private const string Completion = "PSMigration.PowerShell.";
    private const string Vm = Completion + "VmNameCompleter";
    private const string Host = Completion + "HostNameCompleter";
    private const string Network = Completion + "NetworkNameCompleter";
    private const string Cluster = Completion + "ClusterNameCompleter";

    /// <summary>Cmdlet -Parameter: the completer it must carry.</summary>
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["Get-MigrationHost -Name"] = Host,
        ["Suspend-MigrationHost -Name"] = Host,
        ["Suspend-MigrationHost -Destination"] = Host,
        ["Resume-MigrationHost -Name"] = Host,
        ["Get-MigrationHost -Cluster"] = Cluster,
        ["Get-MigrationPlan -VM"] = Vm,
        ["Get-MigrationPlan -Destination"] = Host,
        ["Get-MigrationPlan -FromHost"] = Host,
        ["Get-MigrationPlan -Network"] = Network,
        ["Get-MigrationPolicy -Cluster"] = Cluster,
        ["Get-MigrationPolicy -VM"] = Vm,
        ["Get-MigrationVM -Name"] = Vm,
        ["Get-MigrationVM -HostName"] = Host,
        ["Set-MigrationPolicy -Cluster"] = Cluster,
        ["Set-MigrationPolicy -VM"] = Vm,
        ["Set-MigrationPolicy -Networks"] = Network,
        ["Start-VMMigration -Name"] = Vm,
        ["Start-VMMigration -Destination"] = Host,
        ["Start-VMMigration -Network"] = Network,
        ["Test-MigrationNetwork -Source"] = Host,
        ["Test-MigrationNetwork -Destination"] = Host,
        ["Test-MigrationNetwork -Network"] = Network,
        ["Test-VMMigration -Name"] = Vm,
        ["Test-VMMigration -Destination"] = Host,
    };

    /// <summary>Parameter names (or aliases) that always mean inventory names: a new cmdlet or parameter
    /// spelt like this must get a completer and a line above.</summary>
    private static readonly string[] NameLike = ["VM", "VMName", "HostName", "Host", "Destination", "DestinationHost", "Source", "SourceHost", "Network", "Cluster"];

    private static string? CompleterOf(ParameterModel parameter)
    {
        var attribute = parameter.Attribute(CompiledModule.Sma + "ArgumentCompleterAttribute");
        return attribute?.ConstructorArguments.Single().Value is Type type ? type.FullName : null;
    }

    [Fact]
    public void EveryNameParameterCarriesTheCompleterOfItsKind()
    {
        var problems = new List<string>();
        foreach (var cmdlet in CompiledModule.Instance.Cmdlets)
            foreach (var parameter in cmdlet.Parameters)
            {
                var key = $"{cmdlet.Name} -{parameter.Name}";
                var want = Expected.GetValueOrDefault(key);
                var have = CompleterOf(parameter);
                if (want != have) problems.Add($"{key}: expected completer {want ?? "(none)"}, found {have ?? "(none)"}");
                if (want is null && parameter.Type.FullName is "System.String" or "System.String[]"
                                 && NameLike.Intersect(parameter.Aliases.Append(parameter.Name), StringComparer.OrdinalIgnoreCase).Any())
                    problems.Add($"{key} looks like it takes inventory names but the table has no completer for it");
            }
        var unknown = Expected.Keys.Where(k => !CompiledModule.Instance.Cmdlets.Any(c => c.Parameters.Any(p => k == $"{c.Name} -{p.Name}")));
        problems.AddRange(unknown.Select(k => $"{k}: no such parameter"));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void TheCompletersArePublicIArgumentCompleters()
    {
        var module = CompiledModule.Instance;
        var completer = module.SmaType("IArgumentCompleter");
        foreach (var name in Expected.Values.Distinct())
        {
            var type = module.Migration.GetType(name);
            Assert.True(type is { IsPublic: true, IsAbstract: false }, $"{name} is no public concrete type of Migration.dll");
            Assert.Contains(completer, type!.GetInterfaces());
            Assert.NotNull(type.GetConstructor(Type.EmptyTypes)); // PowerShell creates it with new()
        }
    }
}
