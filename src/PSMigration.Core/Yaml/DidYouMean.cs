namespace PSMigration.Core.Yaml;

/// <summary>Suggests the closest known word for a misspelt key or name.</summary>
public static class DidYouMean
{
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        // Beyond a third of the longer word, a "suggestion" is noise ("migrate" is 3 edits from "migration").
        var tolerance = Math.Max(2, Math.Max(word.Length, best?.Length ?? 0) / 3);
        return bestDistance <= tolerance ? best : null;
    }

    /// <summary>"; did you mean 'x'?" or nothing.</summary>
    public static string Hint(string word, IEnumerable<string> candidates) =>
        Closest(word, candidates) is { } match ? $"; did you mean '{match}'?" : "";

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
