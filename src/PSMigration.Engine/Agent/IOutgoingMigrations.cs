using System.Text.Json;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Engine.Agent;

/// <summary>Runs migrations this host is the source of for a caller on another host (PSMigration.Qemu: psmig's own
/// migration, on this host, with this agent's inventory, certificates and run directory). What is asked
/// (<paramref name="request"/>) and answered is the host's to read: the agent only carries it.</summary>
public interface IOutgoingMigrations
{
    /// <summary>Migrates <paramref name="vm"/> as <paramref name="request"/> says and returns the result; reports progress
    /// and tells the story (<paramref name="story"/>) as it goes. Throws a MigrationException to refuse (the VM is not on
    /// this host, the request makes no sense). Cancelled, it still returns the (Cancelled) result.</summary>
    /// <param name="caller">The cluster host whose certificate asked.</param>
    Task<JsonElement> MigrateAsync(string vm, JsonElement request, string caller, Action<JsonElement> progress, IActivityLog story, CancellationToken cancel);
}
