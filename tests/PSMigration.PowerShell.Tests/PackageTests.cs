using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace PSMigration.PowerShell.Tests;

/// <summary>
/// Runs the package step once (scripts/package.sh: dotnet pack packaging/Migration.Module.proj, the
/// same project build.ps1 -Task Package runs) into a temporary folder, never the repository's out/.
/// The build output goes to $PSMIG_ARTIFACTS when it is set, else to a temporary folder as well.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    public string Out { get; }
    public string Output { get; }
    public int ExitCode { get; }
    private readonly string scratch;

    public PackageFixture()
    {
        scratch = Directory.CreateTempSubdirectory("psmig-package-test-").FullName;
        Out = Path.Combine(scratch, "out");
        var start = new ProcessStartInfo("bash", [TestPaths.InRepository("scripts/package.sh"), Out, "Release"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = scratch,
        };
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PSMIG_ARTIFACTS")))
            start.Environment["PSMIG_ARTIFACTS"] = Path.Combine(scratch, "artifacts");
        // No MSBuild nodes or compiler server outliving the build: they would hold the output pipes
        // open, and the wait below would not end.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("scripts/package.sh took more than 10 minutes");
        }
        Output = stdout + stderr.Result;
        ExitCode = process.ExitCode;
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public sealed class PackageTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    // Files NuGet adds to every package; the rest of the package root is the module folder.
    private static readonly string[] NuGetFiles = ["[Content_Types].xml", "_rels/.rels", "Migration.nuspec"];

    private static readonly Lazy<Dictionary<string, object?>> Manifest =
        new(() => PowerShellDataFile.Parse(File.ReadAllText(TestPaths.InRepository("Migration.psd1"))));

    private static string ModuleVersion => (string)Manifest.Value["ModuleVersion"]!;

    private static Dictionary<string, object?> PSData =>
        (Dictionary<string, object?>)((Dictionary<string, object?>)Manifest.Value["PrivateData"]!)["PSData"]!;

    private string Made(string name)
    {
        Assert.True(package.ExitCode == 0, $"scripts/package.sh exited with {package.ExitCode}:\n{package.Output}");
        var path = Path.Combine(package.Out, name);
        Assert.True(File.Exists(path) || Directory.Exists(path), $"the package step made no {name}:\n{package.Output}");
        return path;
    }

    private string ModuleFolder => Made($"Migration/{ModuleVersion}");

    private string ModulePackage => Made($"Migration.{ModuleVersion}.nupkg");

    private static List<string> Entries(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    private static XElement Nuspec(string nupkg, string name)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.GetEntry(name) ?? throw new Xunit.Sdk.XunitException($"{Path.GetFileName(nupkg)} has no {name}");
        using var stream = entry.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return metadata;
    }

    private static string? Field(XElement metadata, string name) =>
        metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

    private List<string> FolderFiles() =>
        Directory.GetFiles(ModuleFolder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(ModuleFolder, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void TheModulePackageHoldsTheModuleAtItsRoot()
    {
        var entries = Entries(ModulePackage);
        foreach (var file in new[]
        {
            "Migration.psd1", "Migration.format.ps1xml", "Migration.dll", "PSMigration.Core.dll", "PSMigration.Engine.dll",
            "PSMigration.Qemu.dll", "YamlDotNet.dll", "en-US/Migration.dll-Help.xml", "en-US/about_Migration.help.txt",
        })
            Assert.True(entries.Contains(file), $"Migration.{ModuleVersion}.nupkg has no {file}: {string.Join(", ", entries)}");
        Assert.DoesNotContain(entries, e => e.EndsWith("System.Management.Automation.dll", StringComparison.OrdinalIgnoreCase));

        // Exactly the module folder, plus NuGet's own files: nothing missing, nothing under a subfolder.
        var module = entries.Where(e => !NuGetFiles.Contains(e) && !e.StartsWith("package/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(FolderFiles(), module);
    }

    [Fact]
    public void TheModuleFolderCarriesTheRepositoryFilesUnchanged()
    {
        var files = new[] { "Migration.psd1", "Migration.format.ps1xml" }
            .Concat(Directory.GetFiles(TestPaths.InRepository("en-US"), "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(TestPaths.RepositoryRoot, f).Replace('\\', '/')));
        foreach (var file in files)
        {
            var packaged = Path.Combine(ModuleFolder, file);
            Assert.True(File.Exists(packaged), $"{file} is not in the module folder");
            Assert.True(File.ReadAllBytes(TestPaths.InRepository(file)).SequenceEqual(File.ReadAllBytes(packaged)), $"the packaged {file} differs from the repository's");
        }
        Assert.False(File.Exists(Path.Combine(ModuleFolder, "System.Management.Automation.dll")));
    }

    [Fact]
    public void EveryAssemblyMigrationDllNeedsIsInTheModuleFolder()
    {
        // As PowerShell 7.4 will load it: from the module folder, the runtime, and its own
        // System.Management.Automation (here the reference assembly stands in for it).
        var folder = ModuleFolder;
        using var context = new MetadataLoadContext(new PathAssemblyResolver(Directory.GetFiles(folder, "*.dll")
            .Concat(Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")).Append(TestPaths.SystemManagementAutomationDll)));
        var (missing, seen) = ModuleDependencies.Walk(context, folder);
        Assert.True(missing.Count == 0, $"Migration.dll needs, and the module folder lacks: {string.Join(", ", missing)}");
        Assert.Contains("PSMigration.Engine", seen);
        Assert.Contains("PSMigration.Qemu", seen);
    }

    [Fact]
    public void TheNuspecIsTheManifestsMetadata()
    {
        var metadata = Nuspec(ModulePackage, "Migration.nuspec");
        Assert.Equal("Migration", Field(metadata, "id"));
        Assert.Equal(ModuleVersion, Field(metadata, "version"));
        Assert.Equal((string)Manifest.Value["Author"]!, Field(metadata, "authors"));
        Assert.Equal((string)Manifest.Value["Description"]!, Field(metadata, "description"));
        Assert.Equal(PSData.TryGetValue("ProjectUri", out var project) ? (string?)project : null, Field(metadata, "projectUrl"));
        Assert.Equal(((string)PSData["ReleaseNotes"]!).ReplaceLineEndings("\n"), Field(metadata, "releaseNotes")?.ReplaceLineEndings("\n"));

        // The tags PowerShellGet writes when it publishes a binary module: the gallery finds
        // modules and commands by them.
        var tags = (Field(metadata, "tags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var cmdlets = PowerShellDataFile.Strings(Manifest.Value["CmdletsToExport"]);
        var expected = PowerShellDataFile.Strings(PSData["Tags"])
            .Concat(["PSModule", "PSIncludes_Cmdlet"])
            .Concat(PowerShellDataFile.Strings(Manifest.Value["CompatiblePSEditions"]).Select(e => $"PSEdition_{e}"))
            .Concat(cmdlets.Select(c => $"PSCmdlet_{c}"))
            .Concat(cmdlets.Select(c => $"PSCommand_{c}"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), tags.Order(StringComparer.Ordinal));
        Assert.Contains("PSEdition_Core", tags);
        Assert.Contains("PSCmdlet_Start-VMMigration", tags);
    }

    [Fact]
    public void PsmigIsADotnetTool()
    {
        var tool = Directory.GetFiles(package.Out, "psmig.*.nupkg");
        Assert.True(tool.Length == 1, $"expected one psmig.<version>.nupkg in {package.Out}:\n{package.Output}");
        Assert.Equal($"psmig.{ModuleVersion}.nupkg", Path.GetFileName(tool[0]));
        var entries = Entries(tool[0]);
        Assert.Contains(entries, e => System.Text.RegularExpressions.Regex.IsMatch(e, @"^tools/net[0-9.]+/any/psmig\.dll$"));
        var settings = entries.SingleOrDefault(e => System.Text.RegularExpressions.Regex.IsMatch(e, @"^tools/net[0-9.]+/any/DotnetToolSettings\.xml$"));
        Assert.NotNull(settings);
        using (var zip = ZipFile.OpenRead(tool[0]))
        using (var stream = zip.GetEntry(settings)!.Open())
        {
            var command = XDocument.Load(stream).Descendants().Single(e => e.Name.LocalName == "Command");
            Assert.Equal("psmig", command.Attribute("Name")?.Value);
            Assert.Equal("psmig.dll", command.Attribute("EntryPoint")?.Value);
        }
        var metadata = Nuspec(tool[0], "psmig.nuspec");
        Assert.Equal("psmig", Field(metadata, "id"));
        Assert.Contains(metadata.Descendants(), e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
    }

    [Fact]
    public void ThePackageStepListsEveryFileItMade()
    {
        foreach (var file in FolderFiles())
            Assert.True(package.Output.Contains($"  {file}\n") || package.Output.Contains($"  {file}\r\n"), $"the output does not list {file}:\n{package.Output}");
        foreach (var nupkg in Directory.GetFiles(package.Out, "*.nupkg"))
        {
            Assert.Contains(nupkg, package.Output);
            foreach (var entry in Entries(nupkg))
                Assert.True(package.Output.Contains($"  {entry}"), $"the output does not list {entry} of {Path.GetFileName(nupkg)}");
        }
    }
}
