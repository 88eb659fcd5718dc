namespace PSMigration.Core.Policies;

/// <summary>What <c>Set-MigrationPolicy</c> did (or, with -WhatIf, would do).</summary>
public sealed record PolicyEditResult(
    PolicyTarget Target, string Path, bool Written,
    IReadOnlyList<string> Changes, IReadOnlyList<string> Diff, IReadOnlyList<string> Warnings, EffectivePolicy Policy)
{
    public bool Changed => Changes.Count > 0;
}
