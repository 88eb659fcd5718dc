using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PSMigration.Core;

/// <summary>
/// A read-only list whose text is its items, one after another ("mig: not on kvm03; corosync: cluster
/// network ..."). Output objects use it for their lists so that Export-Csv, ConvertTo-Csv and "$value"
/// show the items, not "System.Collections.Generic.List`1[System.String]"; JSON still writes an array.
/// </summary>
[CollectionBuilder(typeof(TextList), nameof(TextList.Create))]
[JsonConverter(typeof(TextListJsonConverterFactory))]
public sealed class TextList<T> : IReadOnlyList<T>
{
    private readonly T[] items;

    public TextList(IEnumerable<T> items) => this.items = items.ToArray();

    public static TextList<T> Empty { get; } = new([]);

    public int Count => items.Length;
    public T this[int index] => items[index];
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => items.GetEnumerator();

    public override string ToString() => string.Join(TextList.Separator, items);

    public static implicit operator TextList<T>(List<T> items) => new(items);
    public static implicit operator TextList<T>(T[] items) => new(items);
}

/// <summary>Builds <see cref="TextList{T}"/> from collection expressions (<c>[]</c>, <c>[a, b]</c>).</summary>
public static class TextList
{
    /// <summary>Between two items of a list's text.</summary>
    public const string Separator = "; ";

    public static TextList<T> Create<T>(ReadOnlySpan<T> items) => items.Length == 0 ? TextList<T>.Empty : new(items.ToArray());

    public static TextList<T> ToTextList<T>(this IEnumerable<T> items) => new(items);
}

/// <summary>A <see cref="TextList{T}"/> in JSON is an array, both ways (a result read back from a source agent).</summary>
public sealed class TextListJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(TextList<>);

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(type.GetGenericArguments()[0]))!;

    private sealed class Converter<T> : JsonConverter<TextList<T>>
    {
        public override TextList<T> Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
            new(JsonSerializer.Deserialize<List<T>>(ref reader, options) ?? []);

        public override void Write(Utf8JsonWriter writer, TextList<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, (IReadOnlyList<T>)value, options);
    }
}
