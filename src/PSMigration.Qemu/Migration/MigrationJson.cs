using System.Text.Json;
using PSMigration.Core;
using PSMigration.Core.Yaml;

namespace PSMigration.Qemu.Migration;

/// <summary>How a migration's ask, progress and result travel between a caller and the source agent that runs it: the
/// JSON of psmig's own output (camelCase, modes as the inventory spells them, addresses as text), both ways.</summary>
internal static class MigrationJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    public static JsonElement ToElement<T>(T value) => JsonSerializer.SerializeToElement(value, Options);

    public static T From<T>(JsonElement element, string what) =>
        element.Deserialize<T>(Options) ?? throw new JsonException($"{what} is null");

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { MaxDepth = 16 };
        options.Converters.Add(new SpellingJsonConverterFactory());
        options.Converters.Add(new IPAddressJsonConverter());
        return options;
    }
}

/// <summary>What a caller asks a source agent to run (<see cref="RemoteMigration"/>): the migration as the user asked
/// for it, which the agent plans again from its own inventory.</summary>
internal sealed record RemoteAsk(string Destination, string? Network, Core.Planning.PlanOverrides Overrides, int? TimeoutSeconds, bool UpdateInventory,
    int? PostcopyAfterSeconds = null);
