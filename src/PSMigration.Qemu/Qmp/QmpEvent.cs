using System.Text.Json;

namespace PSMigration.Qemu.Qmp;

/// <summary>An asynchronous QMP event, such as <c>MIGRATION</c> or <c>STOP</c>.</summary>
public sealed record QmpEvent(string Name, JsonElement Data, DateTimeOffset Received);
