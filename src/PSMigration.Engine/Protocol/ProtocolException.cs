using PSMigration.Core.Diagnostics;

namespace PSMigration.Engine.Protocol;

/// <summary>The peer sent something that is not our protocol, or not this version of it, or refused what was asked.</summary>
public sealed class ProtocolException(string message) : MigrationException("ProtocolError", FailureKind.OperationFailed, message);
