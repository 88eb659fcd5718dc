using System.Text.Json;
using System.Text.Json.Serialization;

namespace PSMigration.Core.Yaml;

/// <summary>Enums in JSON spelt as in the inventory ("Auto", "zstd", "802.3ad"), read back in any case.</summary>
public sealed class SpellingJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type type) => type.IsEnum;

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(SpellingJsonConverter<>).MakeGenericType(type))!;

    private sealed class SpellingJsonConverter<T> : JsonConverter<T> where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
            Spelling<T>.TryParse(reader.GetString() ?? "", out var value) ? value : throw new JsonException($"'{reader.GetString()}' is not {Spelling<T>.OneOf}");

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Spelling<T>.Of(value));
    }
}
