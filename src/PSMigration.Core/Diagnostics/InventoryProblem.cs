namespace PSMigration.Core.Diagnostics;

public enum ProblemSeverity { Error, Warning }

/// <summary>One thing wrong (or doubtful) in an inventory, pinned to its place in the file.</summary>
public sealed record InventoryProblem(SourceLocation Location, ProblemSeverity Severity, string Message)
{
    public override string ToString() =>
        Severity == ProblemSeverity.Error ? $"{Location}: {Message}" : $"{Location}: warning: {Message}";
}
