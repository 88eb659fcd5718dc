using PSMigration.Core.Diagnostics;
using YamlDotNet.Core;

namespace PSMigration.Core.Yaml;

/// <summary>Collects every problem of one file, so a user sees them all in one run.</summary>
internal sealed class ProblemSink(string file)
{
    private readonly List<InventoryProblem> problems = new();

    public string File { get; } = file;
    public IReadOnlyList<InventoryProblem> Problems => problems;
    public bool HasErrors => problems.Any(p => p.Severity == ProblemSeverity.Error);

    public SourceLocation At(Mark mark) => new(File, (int)mark.Line, (int)mark.Column);

    public void Error(Mark mark, string message) => Error(At(mark), message);
    public void Error(SourceLocation location, string message) =>
        problems.Add(new InventoryProblem(location, ProblemSeverity.Error, message));

    public void Warning(SourceLocation location, string message) =>
        problems.Add(new InventoryProblem(location, ProblemSeverity.Warning, message));

    /// <summary>In file order, the way a compiler lists them.</summary>
    public IReadOnlyList<InventoryProblem> Sorted() =>
        problems.OrderBy(p => p.Location.Line).ThenBy(p => p.Location.Column).ToList();
}
