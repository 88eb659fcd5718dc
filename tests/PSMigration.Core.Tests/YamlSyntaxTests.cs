using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Tests;

/// <summary>YAML syntax errors say what is wrong in YAML's terms, at the place to fix (not YamlDotNet's
/// parser state, and never "Operation is not valid due to the current state of the object").</summary>
public class YamlSyntaxTests
{
    [Theory]
    [InlineData("a:\n  b: {x: 1\nc: 2\n", 2, 6, "the '{' here opens a mapping that is never closed: a '}' is missing")]
    [InlineData("a:\n  b: [1, 2\nc: 3\n", 2, 6, "the '[' here opens a list that is never closed: a ']' is missing")]
    [InlineData("key: [a, {b: c]\n", 1, 10, "the '{' here is closed by the ']' at 1:15: a '}' is missing")]
    [InlineData("a: [1, 2]]\n", 1, 10, "this ']' closes nothing: there is no '[' open before it")]
    [InlineData("a:\n  - n: 1\n   c: 2\n", 3, 4, "line 3 is indented by 3 spaces, which lines up with no level above it (0, 2, 4 spaces)")]
    [InlineData("a:\n  b: 1\n c: 2\n", 3, 2, "line 3 is indented by 1 space, which lines up with no level above it (0, 2 spaces)")]
    [InlineData("a:\n  - n: 1\n  c: 2\n", 3, 3, "line 3 is at the level of the list items of line 2 (2 spaces), where every line starts with '- ': indent it by 4 spaces, under 'n'")]
    [InlineData("- a\nb: c\n", 2, 1, "line 2 is at the level of the list items of line 1 (0 spaces)")]
    [InlineData("a:\n\tb: 1\n", 2, 1, "line 2 is indented with a tab: YAML indents with spaces only")]
    [InlineData("a: 'abc\nb: 2\n", 1, 4, "the single-quoted text that starts here is never closed: add the closing '")]
    [InlineData("a: b: c\n", 1, 5, "a ': ' inside a plain value: put the whole value in quotes")]
    [InlineData("a: 1\n  b: 2\n", 2, 3, "line 2 is indented under 'a' (line 1), which already has its value on its own line")]
    [InlineData("a: @x\n", 1, 4, "'@' cannot start a plain value in YAML")]
    [InlineData("a: \"x\" y\n", 1, 8, "unexpected text after a complete value")]
    [InlineData("a: it's [x\nb: {c: 1\n", 2, 4, "the '{' here opens a mapping that is never closed")]
    public void SaysWhatIsWrong_WhereToFixIt(string text, int line, int column, string message)
    {
        var problem = Assert.Single(Assert.Throws<InventoryException>(() => InventoryLoader.Parse(text, "f.yaml")).Problems);
        Assert.Equal((line, column), (problem.Location.Line, problem.Location.Column));
        Assert.StartsWith("not valid YAML: ", problem.Message);
        Assert.Contains(message, problem.Message);
        Assert.DoesNotContain("While parsing", problem.Message);
        Assert.DoesNotContain("Operation is not valid", problem.Message);
    }
}
