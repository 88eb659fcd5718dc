namespace PSMigration.Engine.Protocol;

/// <summary>The peer sent something that is not our protocol, or not this version of it.</summary>
public sealed class ProtocolException(string message) : Exception(message);
