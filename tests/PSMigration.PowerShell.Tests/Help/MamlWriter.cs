using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace PSMigration.PowerShell.Tests.Help;

/// <summary>
/// Writes the MAML help file (en-US/Migration.dll-Help.xml) Get-Help reads, from the markdown pages, in the
/// structure PlatyPS's New-ExternalHelp gives it. It stands in for New-ExternalHelp where PlatyPS cannot run;
/// the output is deterministic so the committed file can be compared byte for byte.
/// </summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    private static readonly XNamespace MsHelp = "http://msdn.microsoft.com/mshelp";
    private static readonly Regex SyntaxParameter = new(@"(?<=[\s\[])-(?<name>[A-Za-z]+)");

    public static string Write(IEnumerable<CommandHelp> commands)
    {
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
                commands.OrderBy(c => c.Name, StringComparer.Ordinal).Select(CommandElement)));
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", NewLineChars = "\n", Encoding = new UTF8Encoding(false) };
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, settings)) document.Save(writer);
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static XElement CommandElement(CommandHelp help)
    {
        var dash = help.Name.IndexOf('-');
        return new XElement(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XAttribute(XNamespace.Xmlns + "MSHelp", MsHelp),
            new XElement(Command + "details",
                new XElement(Command + "name", help.Name),
                new XElement(Command + "verb", help.Name[..dash]),
                new XElement(Command + "noun", help.Name[(dash + 1)..]),
                Description(help.Synopsis)),
            Description(help.Description),
            new XElement(Command + "syntax", help.Syntax.Select(s => SyntaxItem(help, s))),
            new XElement(Command + "parameters", help.Parameters.Select(p => ParameterElement(p))),
            new XElement(Command + "inputTypes", help.Inputs.Select(t => TypeElement(Command + "inputType", t))),
            new XElement(Command + "returnValues", help.Outputs.Select(t => TypeElement(Command + "returnValue", t))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paragraphs(help.Notes))),
            new XElement(Command + "examples", help.Examples.Select(ExampleElement)),
            // Only absolute links keep their address: Get-Help -Online opens the first one it finds, and a relative
            // one ("Start-VMMigration.md", a link between the markdown pages) is no address it can open.
            new XElement(Command + "relatedLinks", help.Links.Select(l => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", l.Text), new XElement(Maml + "uri", Uri.TryCreate(l.Uri, UriKind.Absolute, out _) ? l.Uri : "")))));
    }

    /// <summary>A parameter set: its parameters in the order the SYNTAX line shows them.</summary>
    private static XElement SyntaxItem(CommandHelp help, SyntaxHelp syntax)
    {
        var byName = help.Parameters.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var parameters = SyntaxParameter.Matches(syntax.Line).Select(m => m.Groups["name"].Value)
            .Select(n => byName.TryGetValue(n, out var p) ? p : throw new FormatException($"{help.Name}: SYNTAX names -{n}, which PARAMETERS does not document"));
        return new XElement(Command + "syntaxItem", new XElement(Maml + "name", help.Name),
            parameters.Select(p => ParameterElement(p, inSyntax: true)));
    }

    private static XElement ParameterElement(ParameterHelp parameter) => ParameterElement(parameter, inSyntax: false);

    private static XElement ParameterElement(ParameterHelp parameter, bool inSyntax)
    {
        var type = parameter.Value("Type");
        var accepted = parameter.Value("Accepted values").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var aliases = parameter.Value("Aliases");
        var position = parameter.Value("Position");
        return new XElement(Command + "parameter",
            new XAttribute("required", Bool(parameter.Value("Required"))),
            new XAttribute("variableLength", "true"),
            new XAttribute("globbing", Bool(parameter.Value("Accept wildcard characters"))),
            new XAttribute("pipelineInput", parameter.Value("Accept pipeline input")),
            new XAttribute("position", position == "Named" ? "named" : position),
            new XAttribute("aliases", aliases == "" ? "none" : aliases),
            new XElement(Maml + "name", parameter.Name),
            Description(parameter.Description),
            accepted.Length > 0 && inSyntax
                ? new XElement(Command + "parameterValueGroup", accepted.Select(v => new XElement(Command + "parameterValue",
                    new XAttribute("required", "false"), new XAttribute(Command + "variableLength", "false"), v)))
                : null,
            parameter.IsSwitch && inSyntax
                ? null
                : new XElement(Command + "parameterValue", new XAttribute("required", parameter.IsSwitch ? "false" : "true"),
                    new XAttribute("variableLength", "false"), type),
            new XElement(Dev + "type", new XElement(Maml + "name", type), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", parameter.Value("Default value") is { Length: > 0 } value ? value : "None"));
    }

    private static XElement TypeElement(XName name, TypeHelp type) =>
        new(name, new XElement(Dev + "type", new XElement(Maml + "name", type.Name)), Description(type.Description));

    private static XElement ExampleElement(ExampleHelp example) =>
        new(Command + "example",
            new XElement(Maml + "title", $"-------------------------- {example.Title} --------------------------"),
            new XElement(Dev + "code", string.Join("\n\n", example.Code)),
            new XElement(Dev + "remarks", Paragraphs(example.Remarks)));

    private static XElement Description(IReadOnlyList<string> paragraphs) => new(Maml + "description", Paragraphs(paragraphs));

    /// <summary>maml:para elements; an empty list still gives one (Get-Help expects it).</summary>
    private static IEnumerable<XElement> Paragraphs(IReadOnlyList<string> paragraphs) =>
        (paragraphs.Count == 0 ? [""] : paragraphs).Select(p => new XElement(Maml + "para", p));

    private static string Bool(string value) => value.Equals("True", StringComparison.OrdinalIgnoreCase) ? "true" : "false";
}
