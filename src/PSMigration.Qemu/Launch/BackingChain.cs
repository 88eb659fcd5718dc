using System.Text.Json;

namespace PSMigration.Qemu.Launch;

/// <summary>The files a qcow2 image makes QEMU open besides itself (its backing files and an external data file), as
/// its headers name them, read with <c>qemu-img info --backing-chain</c>: each must be inside the roots too.</summary>
internal static class BackingChain
{
    public static IEnumerable<string> Problems(string image, HostPathRoots roots)
    {
        if (!File.Exists(image)) yield break; // QEMU will say it cannot open it
        var (files, error) = FilesBehind(image);
        if (error is not null) yield return $"cannot read the backing chain of {image}: {error}";
        foreach (var file in files)
            if (roots.Problem(file) is { } problem) yield return $"{image} opens {problem}";
    }

    private static (IReadOnlyList<string> Files, string? Error) FilesBehind(string image)
    {
        var (output, error) = QemuImg.Run("info", "-U", "--backing-chain", "--output=json", "-f", "qcow2", image);
        if (error is not null) return ([], error);
        using var chain = JsonDocument.Parse(output);
        var files = new List<string>();
        foreach (var layer in chain.RootElement.EnumerateArray().Skip(1))
            if (layer.TryGetProperty("filename", out var name) && name.GetString() is { } path) files.Add(path);
        foreach (var layer in chain.RootElement.EnumerateArray())
            if (layer.TryGetProperty("format-specific", out var specific) && specific.TryGetProperty("data", out var data) &&
                data.TryGetProperty("data-file", out var dataFile) && dataFile.GetString() is { } external)
                files.Add(Path.IsPathRooted(external) ? external : Path.Combine(Path.GetDirectoryName(image)!, external));
        return (files, null);
    }
}
