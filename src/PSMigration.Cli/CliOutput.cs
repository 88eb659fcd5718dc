using System.Text.Json;
using System.Text.Json.Serialization;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Cli;

/// <summary>Where verbs write: results on stdout (one JSON document with --json, text otherwise),
/// warnings and errors on stderr, so stdout stays parseable.</summary>
public sealed class CliOutput(TextWriter stdout, TextWriter stderr)
{
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;
    /// <summary>--verbose and --debug: lines on stderr; silent without them.</summary>
    public IActivityLog Log { get; set; } = SilentLog.Instance;

    public void Json<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    public void Warnings(IEnumerable<string> warnings)
    {
        foreach (var warning in warnings) Error.WriteLine($"warning: {warning}");
    }

    public void Warnings(IEnumerable<InventoryProblem> problems) => Warnings(problems.Select(p => p.ToString()));

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DictionaryKeyPolicy = null,
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new SpellingJsonConverterFactory());
        options.Converters.Add(new PolicySourceConverter());
        options.Converters.Add(new Core.IPAddressJsonConverter());
        return options;
    }

    /// <summary>--verbose ("verbose: ...") and --debug ("debug: ...") lines on stderr, whole lines from any thread.</summary>
    public sealed class StderrLog(TextWriter stderr, bool verbose, bool debug) : IActivityLog
    {
        public bool DebugEnabled => debug;

        public void Verbose(string message)
        {
            if (verbose) Write("verbose: " + message);
        }

        public void Debug(string message)
        {
            if (debug) Write("debug: " + message);
        }

        private void Write(string line)
        {
            lock (stderr) stderr.WriteLine(line);
        }
    }

    /// <summary>A policy value's source is shown as its description: "cluster 'prod'".</summary>
    private sealed class PolicySourceConverter : JsonConverter<PolicySource>
    {
        public override PolicySource Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
            new(reader.GetString() ?? "", null);

        public override void Write(Utf8JsonWriter writer, PolicySource value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.Description);
    }
}
