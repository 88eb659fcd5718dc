using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PSMigration.Core;

/// <summary>An <see cref="IPAddress"/> in JSON as its text, "198.51.100.11" (System.Text.Json has no converter of its own).</summary>
public sealed class IPAddressJsonConverter : JsonConverter<IPAddress>
{
    public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IPAddress.TryParse(reader.GetString(), out var address) ? address : throw new JsonException($"'{reader.GetString()}' is not an IP address");

    public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
