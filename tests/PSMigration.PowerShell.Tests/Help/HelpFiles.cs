namespace PSMigration.PowerShell.Tests.Help;

/// <summary>
/// Where the help lives and how the MAML is made from it: docs/*.md (PlatyPS markdown, the source) and
/// en-US/Migration.dll-Help.xml (generated; what Get-Help reads). Regenerate the MAML after editing docs/:
///   PSMIG_WRITE_HELP=1 dotnet test tests/PSMigration.PowerShell.Tests --filter FullyQualifiedName~HelpCoverageTests
/// (where PlatyPS exists, New-ExternalHelp -Path docs -OutputPath en-US -Force makes the equivalent file).
/// </summary>
public static class HelpFiles
{
    public const string RegenerateCommand =
        "PSMIG_WRITE_HELP=1 dotnet test tests/PSMigration.PowerShell.Tests --filter FullyQualifiedName~HelpCoverageTests";

    /// <summary>The module page: PlatyPS's index of the cmdlets, not a cmdlet page.</summary>
    public const string ModulePage = "Migration.md";

    public static string DocsDirectory => TestPaths.InRepository("docs");

    public static string MamlPath => TestPaths.InRepository(Path.Combine("en-US", "Migration.dll-Help.xml"));

    public static string AboutTopicPath => TestPaths.InRepository(Path.Combine("en-US", "about_Migration.help.txt"));

    public static bool WriteRequested => Environment.GetEnvironmentVariable("PSMIG_WRITE_HELP") == "1";

    /// <summary>The cmdlet pages, by file name order.</summary>
    /// <summary>The cmdlets' pages: docs/Verb-Noun.md (the module page and other docs, such as ARCHITECTURE.md, are not help).</summary>
    public static IReadOnlyList<string> CmdletPages() =>
        Directory.GetFiles(DocsDirectory, "*-*.md").Where(p => Path.GetFileName(p) != ModulePage).Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<CommandHelp> ParseCmdletPages() => CmdletPages().Select(HelpMarkdown.Parse).ToList();

    /// <summary>The MAML the markdown makes today.</summary>
    public static string GenerateMaml() => MamlWriter.Write(ParseCmdletPages());
}
