namespace PSMigration.Core.Diagnostics;

/// <summary>What kind of failure, so each front end maps it once: the CLI to an exit code,
/// the cmdlets to an ErrorCategory.</summary>
public enum FailureKind
{
    /// <summary>The input is wrong: a malformed inventory, an unknown name, a bad parameter (CLI exit 2).</summary>
    InvalidInput,
    /// <summary>A named thing does not exist (CLI exit 2).</summary>
    NotFound,
    /// <summary>The input is fine but the operation cannot be done (CLI exit 1).</summary>
    OperationFailed,
}

/// <summary>Base of every failure the module reports to users: a stable id plus a kind.</summary>
public class MigrationException : Exception
{
    public MigrationException(string errorId, FailureKind kind, string message, string? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    /// <summary>Stable identifier, used as the ErrorRecord's FullyQualifiedErrorId.</summary>
    public string ErrorId { get; }
    public FailureKind Kind { get; }
    /// <summary>The VM, host, network, file or parameter the failure is about.</summary>
    public string? Target { get; }
}

/// <summary>An inventory file that does not load: every problem found, each with file:line:column.</summary>
public sealed class InventoryException : MigrationException
{
    public InventoryException(string path, IReadOnlyList<InventoryProblem> problems)
        : base("InventoryInvalid", FailureKind.InvalidInput, Describe(path, problems), path)
    {
        Problems = problems;
    }

    public IReadOnlyList<InventoryProblem> Problems { get; }

    private static string Describe(string path, IReadOnlyList<InventoryProblem> problems)
    {
        var errors = problems.Where(p => p.Severity == ProblemSeverity.Error).ToList();
        var header = errors.Count == 1
            ? $"The inventory {path} has 1 error:"
            : $"The inventory {path} has {errors.Count} errors:";
        return header + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e));
    }
}
