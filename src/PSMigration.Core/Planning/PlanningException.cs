using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Planning;

/// <summary>The inventory is valid but no plan can be made (no shared network, and the like).</summary>
internal sealed class PlanningException(string errorId, string message, string target)
    : MigrationException(errorId, FailureKind.OperationFailed, message, target);
