// An MSBuild inline task (RoslynCodeTaskFactory, see Migration.Module.proj): writes the .nuspec of the
// module package from Migration.psd1, so the manifest is the one place for version, tags and release
// notes. The nuspec is what Publish-Module / Publish-PSResource would write: id = module name, the
// manifest's PSData, and the tags PowerShellGet adds (PSModule, PSEdition_*, PSIncludes_Cmdlet,
// PSCmdlet_<name>, PSCommand_<name>), which the PowerShell Gallery searches on.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WriteModuleNuspec : Task
{
    /// <summary>The module manifest (Migration.psd1).</summary>
    [Required] public string Manifest { get; set; } = "";

    /// <summary>The laid-out module folder: every file in it goes to the package root.</summary>
    [Required] public string ModuleFolder { get; set; } = "";

    [Required] public string NuspecPath { get; set; } = "";

    [Output] public string PackageId { get; set; } = "";

    [Output] public string PackageVersion { get; set; } = "";

    public override bool Execute()
    {
        // The manifest is read for its literal values only, the way the build writes it:
        // Key = 'string' (may span lines; '' is a quote) and Key = @('a', 'b'). Whole-line comments
        // are dropped first so a commented-out key is not taken.
        var text = string.Join("\n", File.ReadAllLines(Manifest).Where(l => !l.TrimStart().StartsWith("#")));
        string? One(string key)
        {
            var m = Regex.Match(text, @"(?mi)^\s*" + key + @"\s*=\s*'((?:[^']|'')*)'");
            return m.Success ? m.Groups[1].Value.Replace("''", "'") : null;
        }
        List<string> Many(string key)
        {
            var m = Regex.Match(text, @"(?mi)^\s*" + key + @"\s*=\s*(@\((?:[^)']|'(?:[^']|'')*')*\)|'(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*)");
            if (!m.Success) return new List<string>();
            return Regex.Matches(m.Groups[1].Value, @"'((?:[^']|'')*)'").Cast<Match>().Select(s => s.Groups[1].Value.Replace("''", "'")).ToList();
        }

        PackageId = Path.GetFileNameWithoutExtension(Manifest);
        PackageVersion = One("ModuleVersion") ?? "";
        var description = One("Description");
        if (PackageVersion.Length == 0 || string.IsNullOrEmpty(description))
        {
            Log.LogError($"{Manifest} needs a ModuleVersion and a Description to be packaged");
            return false;
        }
        var author = One("Author") ?? "";
        var cmdlets = Many("CmdletsToExport");
        if (cmdlets.Any(c => c.Contains('*')))
        {
            Log.LogError($"{Manifest}: CmdletsToExport has a wildcard; the package tags need the names");
            return false;
        }

        var tags = new List<string>(Many("Tags")) { "PSModule" };
        tags.AddRange(Many("CompatiblePSEditions").Select(e => "PSEdition_" + e));
        if (cmdlets.Count > 0) tags.Add("PSIncludes_Cmdlet");
        tags.AddRange(cmdlets.Select(c => "PSCmdlet_" + c));
        tags.AddRange(cmdlets.Select(c => "PSCommand_" + c));
        // NuGet tags are space-separated: a manifest tag with a space would become two.
        var bad = tags.FirstOrDefault(t => t.Any(char.IsWhiteSpace));
        if (bad != null)
        {
            Log.LogError($"{Manifest}: the tag '{bad}' has a space; NuGet tags cannot");
            return false;
        }

        XNamespace ns = "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd";
        var metadata = new XElement(ns + "metadata",
            new XElement(ns + "id", PackageId),
            new XElement(ns + "version", PackageVersion),
            new XElement(ns + "authors", author),
            new XElement(ns + "owners", One("CompanyName") ?? author),
            new XElement(ns + "requireLicenseAcceptance", "false"));
        void Optional(string element, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value)) metadata.Add(new XElement(ns + element, value));
        }
        Optional("licenseUrl", One("LicenseUri"));
        Optional("projectUrl", One("ProjectUri"));
        Optional("iconUrl", One("IconUri"));
        metadata.Add(new XElement(ns + "description", description));
        Optional("releaseNotes", One("ReleaseNotes"));
        Optional("copyright", One("Copyright"));
        metadata.Add(new XElement(ns + "tags", string.Join(" ", tags.Distinct(StringComparer.OrdinalIgnoreCase))));

        // Every file of the module folder, at the same place under the package root.
        var root = Path.GetFullPath(ModuleFolder).TrimEnd('/', '\\') + Path.DirectorySeparatorChar;
        var files = new XElement(ns + "files");
        foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            var relative = file.Substring(root.Length).Replace('\\', '/');
            files.Add(new XElement(ns + "file", new XAttribute("src", file), new XAttribute("target", relative)));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(NuspecPath))!);
        new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement(ns + "package", metadata, files)).Save(NuspecPath);
        Log.LogMessage(MessageImportance.Normal, $"{NuspecPath}: {PackageId} {PackageVersion}, {files.Elements().Count()} files");
        return true;
    }
}
