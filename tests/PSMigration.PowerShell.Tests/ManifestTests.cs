using System.Reflection;

namespace PSMigration.PowerShell.Tests;

/// <summary>Migration.psd1 against what the build produced: what it exports, loads and requires.</summary>
public sealed class ManifestTests
{
    private static CompiledModule Module => CompiledModule.Instance;

    private static readonly Lazy<Dictionary<string, object?>> Manifest =
        new(() => PowerShellDataFile.Parse(File.ReadAllText(TestPaths.InRepository("Migration.psd1"))));

    private static object? Key(string key) =>
        Manifest.Value.TryGetValue(key, out var value) ? value : throw new Xunit.Sdk.XunitException($"Migration.psd1 has no {key}");

    private static string Text(string key) => Assert.IsType<string>(Key(key));

    [Fact]
    public void CmdletsToExportIsExactlyTheCompiledCmdlets()
    {
        var exported = PowerShellDataFile.Strings(Key("CmdletsToExport"));
        var duplicates = exported.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"CmdletsToExport lists twice: {string.Join(", ", duplicates)}");
        Assert.DoesNotContain(exported, n => n.Contains('*'));
        Assert.Equal(Module.Cmdlets.Select(c => c.Name).Order(StringComparer.Ordinal), exported.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void NothingButCmdletsIsExported()
    {
        foreach (var key in new[] { "FunctionsToExport", "VariablesToExport", "AliasesToExport" })
            Assert.True(PowerShellDataFile.Strings(Key(key)).Count == 0, $"{key} should be @() (a binary module has none; '*' slows discovery)");
    }

    [Fact]
    public void RootModuleIsMigrationDll()
    {
        Assert.Equal("Migration.dll", Text("RootModule"));
        Assert.Equal("Migration", Module.Migration.GetName().Name);
        Assert.Equal("Migration.dll", Path.GetFileName(TestPaths.MigrationDll));
    }

    [Fact]
    public void FormatsToProcessShipWithTheBuild()
    {
        var formats = PowerShellDataFile.Strings(Key("FormatsToProcess"));
        Assert.NotEmpty(formats);
        foreach (var format in formats)
        {
            var built = Path.Combine(TestPaths.ModuleDirectory, format);
            Assert.True(File.Exists(built), $"{format} is not in the build output {TestPaths.ModuleDirectory}");
            Assert.True(File.Exists(TestPaths.InRepository(format)), $"{format} is not at the repository root");
            Assert.Equal(File.ReadAllBytes(TestPaths.InRepository(format)), File.ReadAllBytes(built));
        }
    }

    [Fact]
    public void TheBuildOutputCarriesThisManifest()
    {
        var built = Path.Combine(TestPaths.ModuleDirectory, "Migration.psd1");
        Assert.True(File.Exists(built), $"no Migration.psd1 beside {TestPaths.MigrationDll}");
        Assert.Equal(File.ReadAllBytes(TestPaths.InRepository("Migration.psd1")), File.ReadAllBytes(built));
    }

    [Fact]
    public void ItRequiresPowerShell74Core()
    {
        Assert.Equal("7.4", Text("PowerShellVersion"));
        Assert.Equal(["Core"], PowerShellDataFile.Strings(Key("CompatiblePSEditions")));
    }

    private static Dictionary<string, object?> PSData =>
        Assert.IsType<Dictionary<string, object?>>(Assert.IsType<Dictionary<string, object?>>(Key("PrivateData"))["PSData"]);

    [Fact]
    public void TheGalleryMetadataIsComplete()
    {
        // What Install-Module / Find-PSResource show and search on; packaging/ writes the .nuspec from it.
        foreach (var key in new[] { "Author", "CompanyName", "Copyright", "Description" })
            Assert.False(string.IsNullOrWhiteSpace(Text(key)), $"{key} is empty");

        var tags = PowerShellDataFile.Strings(PSData["Tags"]);
        Assert.NotEmpty(tags);
        foreach (var tag in new[] { "KVM", "QEMU", "libvirt", "LiveMigration", "Linux" }) Assert.Contains(tag, tags);
        Assert.DoesNotContain(tags, t => t.Any(char.IsWhiteSpace));    // NuGet tags are space-separated

        // An address is real or absent: a placeholder would reach users through Get-Help and the gallery.
        foreach (var key in new[] { "ProjectUri", "LicenseUri", "IconUri" })
        {
            if (!PSData.ContainsKey(key)) continue;
            var uri = Assert.IsType<string>(PSData[key]);
            Assert.True(Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme == "https", $"{key} '{uri}' is not an https URI");
            Assert.False(parsed!.Host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase) || parsed.Host.EndsWith("example.com", StringComparison.OrdinalIgnoreCase), $"{key} '{uri}' is a placeholder");
        }
        Assert.False(Manifest.Value.ContainsKey("HelpInfoURI"), "HelpInfoURI names where Update-Help downloads help from; the module has no such place");
    }

    [Fact]
    public void NoPlaceholderAddressReachesUsers()
    {
        // Get-Help -Online opens the first related link with an address: a relative one ("Start-VMMigration.md")
        // or a placeholder fails there. The MAML keeps absolute addresses only.
        foreach (var file in new[] { "Migration.psd1", "en-US/Migration.dll-Help.xml", "en-US/about_Migration.help.txt", "src/PSMigration.Cli/PSMigration.Cli.csproj" })
            Assert.DoesNotContain("example.invalid", File.ReadAllText(TestPaths.InRepository(file)));
        var uris = System.Xml.Linq.XDocument.Load(TestPaths.InRepository("en-US/Migration.dll-Help.xml")).Descendants()
            .Where(e => e.Name.LocalName == "uri" && e.Value.Trim().Length > 0).Select(e => e.Value.Trim()).ToList();
        Assert.All(uris, uri => Assert.True(Uri.TryCreate(uri, UriKind.Absolute, out _), $"the MAML has the relative link '{uri}'"));
    }

    [Fact]
    public void TheReleaseNotesSayWhatExistsNow()
    {
        var notes = Assert.IsType<string>(PSData["ReleaseNotes"]);
        Assert.StartsWith(Text("ModuleVersion"), notes);
        // Each part of the release, by the words a reader looks for.
        foreach (var part in new[] { "Get-MigrationPlan", "polic", "Test-MigrationNetwork", "Start-VMMigration", "QEMU", "libvirt", "engine", "psmig" })
            Assert.True(notes.Contains(part, StringComparison.OrdinalIgnoreCase), $"the release notes do not mention {part}");
    }

    [Fact]
    public void ModuleVersionIsTheAssemblyVersion()
    {
        var version = Version.Parse(Text("ModuleVersion"));
        foreach (var assembly in new[] { Module.Migration, Module.Core })
        {
            var built = assembly.GetName().Version!;
            Assert.True(new Version(built.Major, built.Minor, built.Build) == new Version(version.Major, version.Minor, Math.Max(version.Build, 0)),
                $"ModuleVersion {version} but {assembly.GetName().Name} is {built}");
        }
        Assert.True(Guid.TryParse(Text("GUID"), out var guid) && guid != Guid.Empty, "GUID is not a GUID");
    }

    [Fact]
    public void TheAssembliesTargetARuntimePowerShell74Has()
    {
        // PowerShell 7.4 runs on .NET 8: an assembly built for a later .NET does not load in it.
        foreach (var assembly in new[] { Module.Migration, Module.Core })
        {
            var framework = CustomAttributeData.GetCustomAttributes(assembly)
                .Single(a => a.AttributeType.FullName == "System.Runtime.Versioning.TargetFrameworkAttribute");
            var name = (string)framework.ConstructorArguments[0].Value!;
            Assert.StartsWith(".NETCoreApp,Version=v", name);
            var version = Version.Parse(name[".NETCoreApp,Version=v".Length..]);
            Assert.True(version <= new Version(8, 0), $"{assembly.GetName().Name} targets {name}; PowerShell 7.4 is .NET 8");
        }
    }

    [Fact]
    public void TheModuleFolderHasItsDependenciesButNotSystemManagementAutomation()
    {
        var folder = TestPaths.ModuleDirectory;
        Assert.False(File.Exists(Path.Combine(folder, "System.Management.Automation.dll")),
            "System.Management.Automation.dll is in the module folder: PowerShell brings its own, a shipped copy (the 5.1 reference) breaks loading");
        var (missing, seen) = ModuleDependencies.Walk(Module.Context, folder);
        Assert.True(missing.Count == 0, $"referenced but not beside Migration.dll: {string.Join(", ", missing)}");
        Assert.Contains("PSMigration.Core", seen);
        Assert.Contains("YamlDotNet", seen);
    }

    [Fact]
    public void TheDataFileReaderReadsWhatPowerShellWould()
    {
        var parsed = PowerShellDataFile.Parse("""
            <# block
               comment #>
            @{
                # a comment with 'quotes' and = signs
                RootModule = 'It''s.dll'   # trailing comment
                List = @(
                    'a'
                    "b", 'c'; 'd'
                )
                Comma = 'x', 'y'
                Empty = @()
                Nested = @{ Inner = @{ Deep = $true } }
            }
            """);
        Assert.Equal("It's.dll", parsed["rootmodule"]);
        Assert.Equal(["a", "b", "c", "d"], PowerShellDataFile.Strings(parsed["List"]));
        Assert.Equal(["x", "y"], PowerShellDataFile.Strings(parsed["Comma"]));
        Assert.Empty(PowerShellDataFile.Strings(parsed["Empty"]));
        Assert.Equal("$true", ((Dictionary<string, object?>)((Dictionary<string, object?>)parsed["Nested"]!)["Inner"]!)["Deep"]);
        Assert.Throws<FormatException>(() => PowerShellDataFile.Parse("@{ A = 'x'\n a = 'y' }"));
        Assert.Throws<FormatException>(() => PowerShellDataFile.Parse("@{ A = 'x' "));
    }
}
