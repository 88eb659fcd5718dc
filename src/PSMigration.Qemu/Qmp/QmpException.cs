using PSMigration.Core.Diagnostics;

namespace PSMigration.Qemu.Qmp;

/// <summary>QMP failed: the socket is missing or dead, or QEMU answered a command with an error.
/// <see cref="ErrorClass"/> is QEMU's class (GenericError, CommandNotFound...) when QEMU answered.</summary>
public sealed class QmpException(string errorId, string message, string socketPath, string? errorClass = null, Exception? inner = null)
    : MigrationException(errorId, FailureKind.OperationFailed, message, socketPath, inner)
{
    public string SocketPath { get; } = socketPath;
    public string? ErrorClass { get; } = errorClass;
}
