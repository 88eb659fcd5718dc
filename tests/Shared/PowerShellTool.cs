namespace PSMigration.Testing;

/// <summary>
/// The pwsh (7.4 or later) and Pester 5 that tests run PowerShell scripts with: $PSMIG_PWSH (tests/run.sh sets
/// it), else .tools/pwsh/pwsh of the checkout (scripts/install-pwsh.sh puts it there), else pwsh on PATH; Pester
/// from .tools/Modules, else from PowerShell's own module path. Missing, such tests skip with the reason, or
/// fail under CI=true (<see cref="TestRequirements"/>).
/// </summary>
public static class PowerShellTool
{
    /// <summary>The pwsh to run, or null.</summary>
    public static string? Find(string? repoRoot)
    {
        if (Environment.GetEnvironmentVariable("PSMIG_PWSH") is { Length: > 0 } given && File.Exists(given)) return given;
        if (repoRoot is not null && Path.Combine(repoRoot, ".tools", "pwsh", "pwsh") is var tool && File.Exists(tool)) return tool;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "pwsh")).FirstOrDefault(File.Exists);
    }

    /// <summary>The folder of modules with Pester 5 in it (.tools/Modules), or null to rely on pwsh's own path.</summary>
    public static string? ModulesFolder(string? repoRoot) =>
        repoRoot is not null && Directory.Exists(Path.Combine(repoRoot, ".tools", "Modules", "Pester")) ? Path.Combine(repoRoot, ".tools", "Modules") : null;

    /// <summary>Null when pwsh is there, else what is missing and how to get it.</summary>
    public static string? Missing(string? repoRoot) =>
        Find(repoRoot) is null ? "pwsh not found (bash scripts/install-pwsh.sh installs PowerShell 7.6.9 and Pester 5.7.1 into .tools; tests/run.sh does)" : null;
}
