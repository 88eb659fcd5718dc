namespace PSMigration.PowerShell.Tests;

/// <summary>One parameter as a user meets it in one set.</summary>
public sealed record ExpectedParameter(
    string Name, string Type, string Set = CompiledModule.AllParameterSets, bool Mandatory = false, int? Position = null,
    bool Pipeline = false, bool ByPropertyName = false, string[]? Aliases = null, bool Wildcards = false,
    bool NotNullOrEmpty = false, string DeclaredBy = "", bool NotNull = false);

public sealed record ExpectedCmdlet(
    string Name, bool ShouldProcess, string? ConfirmImpact, string? DefaultSet, string OutputType, ExpectedParameter[] Parameters);

/// <summary>The cmdlets' surface, parameter by parameter, as the source declares it today: a change to
/// what users type (a name, an alias, a position, pipeline input, a set) must change this table too.</summary>
public sealed class CmdletExpectationTests
{
    private const string Switch = "System.Management.Automation.SwitchParameter";
    private const string Policies = "PSMigration.Core.Policies.";

    /// <summary>-InventoryPath, from MigrationCmdlet: every cmdlet has it, and objects of the module carry
    /// an InventoryPath property, so a pipeline keeps using the inventory it started with.</summary>
    private static readonly ExpectedParameter InventoryPath = new("InventoryPath", "string", ByPropertyName: true,
        Aliases: ["Inventory"], NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.MigrationCmdlet");

    public static readonly ExpectedCmdlet[] Table =
    [
        new("Get-MigrationHost", ShouldProcess: false, ConfirmImpact: null, DefaultSet: null, "PSMigration.Core.Inventory.MigrationHost",
        [
            new("Name", "string[]", Position: 0, Pipeline: true, ByPropertyName: true, Wildcards: true, NotNullOrEmpty: true),
            new("Cluster", "string[]", ByPropertyName: true, Wildcards: true),
            InventoryPath,
        ]),
        new("Get-MigrationPlan", ShouldProcess: false, ConfirmImpact: null, DefaultSet: "ByVM", "PSMigration.Core.Planning.MigrationPlan",
        [
            new("VM", "string[]", Set: "ByVM", Mandatory: true, Position: 0, Pipeline: true, ByPropertyName: true, Aliases: ["Name", "VMName"], Wildcards: true, NotNullOrEmpty: true),
            new("FromHost", "string", Set: "FromHost", Mandatory: true, NotNullOrEmpty: true),
            new("Destination", "string[]", Position: 1, ByPropertyName: true, Aliases: ["DestinationHost"], NotNullOrEmpty: true),
            new("Network", "string", Set: "ByVM", ByPropertyName: true, NotNullOrEmpty: true),
            new("Predict", Switch, Set: "ByVM"),
            new("RunDirectory", "string", Set: "ByVM", NotNullOrEmpty: true),
            new("MeasuredGbps", "double?", Set: "ByVM"),
            InventoryPath,
        ]),
        new("Get-MigrationPolicy", ShouldProcess: false, ConfirmImpact: null, DefaultSet: "Cluster", Policies + "EffectivePolicy",
        [
            new("Cluster", "string[]", Set: "Cluster", Position: 0, Wildcards: true, NotNullOrEmpty: true),
            new("VM", "string[]", Set: "VM", Mandatory: true, ByPropertyName: true, Aliases: ["Name", "VMName"], Wildcards: true, NotNullOrEmpty: true),
            InventoryPath,
        ]),
        new("Get-MigrationVM", ShouldProcess: false, ConfirmImpact: null, DefaultSet: "Name", "PSMigration.Core.Inventory.VirtualMachine",
        [
            new("Name", "string[]", Set: "Name", Position: 0, Pipeline: true, ByPropertyName: true, Wildcards: true, NotNullOrEmpty: true),
            new("HostName", "string[]", Set: "Name", ByPropertyName: true, Aliases: ["Host"], Wildcards: true),
            new("InputObject", "PSMigration.Core.Inventory.MigrationHost[]", Set: "HostObject", Mandatory: true, Pipeline: true, NotNull: true),
            InventoryPath,
        ]),
        new("New-MigrationCertificate", ShouldProcess: true, ConfirmImpact: "Medium", DefaultSet: null, "PSMigration.PowerShell.MigrationCertificateFile",
        [
            new("Path", "string", Mandatory: true, Position: 0, NotNullOrEmpty: true),
            new("Force", Switch),
            InventoryPath,
        ]),
        new("Resume-MigrationHost", ShouldProcess: true, ConfirmImpact: "Medium", DefaultSet: "Maintenance", "PSMigration.Core.Inventory.MigrationHost, PSMigration.Qemu.Operations.DrainSummary",
        [
            new("Name", "string[]", Mandatory: true, Position: 0, Pipeline: true, ByPropertyName: true, Aliases: ["HostName"], Wildcards: true, NotNullOrEmpty: true),
            new("PassThru", Switch, Set: "Maintenance"),
            new("Failback", Switch, Set: "Failback"),
            new("AsJob", Switch, Set: "Failback"),
            new("PkiPath", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            new("RunDirectory", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            InventoryPath,
        ]),
        new("Set-MigrationPolicy", ShouldProcess: true, ConfirmImpact: "Medium", DefaultSet: "Cluster", Policies + "EffectivePolicy",
        [
            new("Cluster", "string[]", Set: "Cluster", Mandatory: true, Position: 0, Wildcards: true, NotNullOrEmpty: true),
            new("InputObject", Policies + "EffectivePolicy", Set: "InputObject", Mandatory: true, Pipeline: true, NotNull: true),
            new("VM", "string[]", Set: "VM", Mandatory: true, Pipeline: true, ByPropertyName: true, Aliases: ["Name", "VMName"], Wildcards: true, NotNullOrEmpty: true),
            new("Parallel", Policies + "ParallelMode?"),
            new("Connections", "int?"),
            new("MaxConnections", "int?"),
            new("Postcopy", Switch),
            new("Compression", Policies + "CompressionMethod?"),
            new("Transport", Policies + "MigrationTransport?"),
            new("Encryption", Policies + "EncryptionMode?"),
            new("Storage", Policies + "StorageMode?"),
            new("MaxDowntimeMs", "int?"),
            new("BandwidthGbps", "double?"),
            new("MaxConcurrentIncoming", "int?"),
            new("AutoConverge", Switch),
            new("TimeoutAction", Policies + "TimeoutAction?"),
            new("CompletionTimeoutPerGiB", "int?"),
            new("ProgressTimeout", "int?"),
            new("LinkLossToleranceSeconds", "int?"),
            new("Networks", "string[]"),
            new("Stripe", Switch),
            new("Clear", "string[]"),
            new("PassThru", Switch),
            InventoryPath,
        ]),
        new("Suspend-MigrationHost", ShouldProcess: true, ConfirmImpact: "Medium", DefaultSet: "Maintenance", "PSMigration.Core.Inventory.MigrationHost, PSMigration.Qemu.Operations.DrainSummary",
        [
            new("Name", "string[]", Mandatory: true, Position: 0, Pipeline: true, ByPropertyName: true, Aliases: ["HostName"], Wildcards: true, NotNullOrEmpty: true),
            new("PassThru", Switch, Set: "Maintenance"),
            new("Drain", Switch, Set: "Drain"),
            new("Destination", "string[]", Set: "Drain", NotNullOrEmpty: true),
            new("AsJob", Switch, Set: "Drain"),
            new("PkiPath", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            new("RunDirectory", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            InventoryPath,
        ]),
        new("Test-MigrationNetwork", ShouldProcess: false, ConfirmImpact: null, DefaultSet: null, "PSMigration.Engine.NetworkTest.NetworkTestResult, System.Boolean",
        [
            new("Source", "string", Mandatory: true, Position: 0, ByPropertyName: true, Aliases: ["SourceHost"], NotNullOrEmpty: true),
            new("Destination", "string", Mandatory: true, Position: 1, ByPropertyName: true, Aliases: ["DestinationHost"], NotNullOrEmpty: true),
            new("Network", "string", ByPropertyName: true, NotNullOrEmpty: true),
            new("Connections", "int[]"),
            new("Seconds", "int"),
            new("Sweep", Switch),
            new("Encryption", Policies + "EncryptionMode?"),
            new("Resilient", Switch),
            new("Quiet", Switch),
            new("PkiPath", "string", NotNullOrEmpty: true),
            InventoryPath,
        ]),
        new("Test-VMMigration", ShouldProcess: false, ConfirmImpact: null, DefaultSet: null, "PSMigration.Qemu.Readiness.MigrationReadiness, System.Boolean",
        [
            new("Name", "string[]", Mandatory: true, Position: 0, Pipeline: true, ByPropertyName: true, Aliases: ["VM", "VMName"], Wildcards: true, NotNullOrEmpty: true),
            new("Destination", "string[]", Position: 1, ByPropertyName: true, Aliases: ["DestinationHost"], Wildcards: true, NotNullOrEmpty: true),
            new("Quiet", Switch),
            new("PkiPath", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            new("RunDirectory", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            InventoryPath,
        ]),
        new("Start-VMMigration", ShouldProcess: true, ConfirmImpact: "Medium", DefaultSet: null, "PSMigration.Qemu.Migration.MigrationResult",
        [
            new("Name", "string[]", Mandatory: true, Position: 0, ByPropertyName: true, Aliases: ["VM", "VMName"], Wildcards: true, NotNullOrEmpty: true),
            new("Destination", "string", Mandatory: true, Position: 1, ByPropertyName: true, Aliases: ["DestinationHost"], NotNullOrEmpty: true),
            new("Network", "string", ByPropertyName: true, NotNullOrEmpty: true),
            new("Transport", Policies + "MigrationTransport?"),
            new("Connections", "int?"),
            new("CopyStorage", Switch),
            new("Postcopy", Switch),
            new("PostcopyAfterSeconds", "int?"),
            new("TimeoutSeconds", "int?"),
            new("NoInventoryUpdate", Switch),
            new("AsJob", Switch),
            new("PkiPath", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            new("RunDirectory", "string", NotNullOrEmpty: true, DeclaredBy: "PSMigration.PowerShell.SourceHostCmdlet"),
            InventoryPath,
        ]),
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var e in Table) data.Add(e.Name);
        return data;
    }

    [Fact]
    public void TheTableCoversExactlyTheCompiledCmdlets() =>
        Assert.Equal(Table.Select(e => e.Name).Order(StringComparer.Ordinal), CompiledModule.Instance.Cmdlets.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void TheCmdletIsDeclaredAsExpected(string name)
    {
        var expected = Table.Single(e => e.Name == name);
        var actual = CompiledModule.Instance.Cmdlet(name);
        var problems = new List<string>();
        void Check(string what, string? want, string? have)
        {
            if (want != have) problems.Add($"{what}: expected {want ?? "(none)"}, found {have ?? "(none)"}");
        }

        Check("SupportsShouldProcess", expected.ShouldProcess.ToString(), actual.SupportsShouldProcess.ToString());
        Check("ConfirmImpact", expected.ConfirmImpact, actual.ConfirmImpact);
        Check("DefaultParameterSetName", expected.DefaultSet, actual.DefaultParameterSetName);
        Check("OutputType", expected.OutputType, string.Join(", ", actual.OutputTypeNames));
        Check("parameters", string.Join(", ", expected.Parameters.Select(p => p.Name).Distinct().Order(StringComparer.Ordinal)),
            string.Join(", ", actual.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal)));
        Assert.True(problems.Count == 0, $"{name}:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryParameterIsDeclaredAsExpected(string name)
    {
        var cmdlet = CompiledModule.Instance.Cmdlet(name);
        var problems = new List<string>();
        foreach (var group in Table.Single(e => e.Name == name).Parameters.GroupBy(p => p.Name))
        {
            var actual = cmdlet.Parameter(group.Key);
            var first = group.First();
            void Check<T>(string what, T want, T have)
            {
                if (!EqualityComparer<T>.Default.Equals(want, have)) problems.Add($"-{group.Key} {what}: expected {want}, found {have}");
            }

            Check("type", first.Type, CompiledModule.Spell(actual.Type));
            Check("aliases", string.Join(",", (first.Aliases ?? []).Order(StringComparer.Ordinal)), string.Join(",", actual.Aliases.Order(StringComparer.Ordinal)));
            Check("[SupportsWildcards]", first.Wildcards, actual.Has(CompiledModule.Sma + "SupportsWildcardsAttribute"));
            Check("[ValidateNotNullOrEmpty]", first.NotNullOrEmpty, actual.Has(CompiledModule.Sma + "ValidateNotNullOrEmptyAttribute"));
            Check("[ValidateNotNull]", first.NotNull, actual.Has(CompiledModule.Sma + "ValidateNotNullAttribute"));
            if (first.DeclaredBy != "") Check("declared by", first.DeclaredBy, actual.Member.DeclaringType!.FullName);
            Check("sets", string.Join(",", group.Select(p => p.Set).Order(StringComparer.Ordinal)), string.Join(",", actual.Sets.Select(s => s.SetName).Order(StringComparer.Ordinal)));
            foreach (var want in group)
            {
                var have = actual.Sets.FirstOrDefault(s => s.SetName == want.Set);
                if (have is null) continue;
                Check($"in {want.Set}: Mandatory", want.Mandatory, have.Mandatory);
                Check($"in {want.Set}: Position", want.Position, have.Position);
                Check($"in {want.Set}: ValueFromPipeline", want.Pipeline, have.FromPipeline);
                Check($"in {want.Set}: ValueFromPipelineByPropertyName", want.ByPropertyName, have.FromPipelineByPropertyName);
                Check($"in {want.Set}: ValueFromRemainingArguments", false, have.FromRemainingArguments);
            }
        }
        Assert.True(problems.Count == 0, $"{name}:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    [Fact]
    public void EveryCmdletTakesTheInventoryFromTheCommonBase()
    {
        // One -InventoryPath for all, with the $env:PSMIGRATION_INVENTORY fallback in one place.
        var bad = CompiledModule.Instance.Cmdlets
            .Where(c => !c.Parameters.Any(p => p.Name == "InventoryPath" && p.Member.DeclaringType!.FullName == "PSMigration.PowerShell.MigrationCmdlet"))
            .Select(c => c.Name).ToList();
        Assert.True(bad.Count == 0, $"cmdlets without MigrationCmdlet's -InventoryPath: {string.Join(", ", bad)}");
    }
}
