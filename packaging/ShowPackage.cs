// An MSBuild inline task (RoslynCodeTaskFactory, see Migration.Module.proj): prints every file of a
// folder or every entry of a .nupkg (a zip), with its size, so the package step shows what it made.
#nullable enable
using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class ShowPackage : Task
{
    /// <summary>A folder or a .nupkg.</summary>
    [Required] public string Path { get; set; } = "";

    public override bool Execute()
    {
        if (Directory.Exists(Path))
        {
            var root = System.IO.Path.GetFullPath(Path).TrimEnd('/', '\\') + System.IO.Path.DirectorySeparatorChar;
            Log.LogMessage(MessageImportance.High, root);
            foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
                Log.LogMessage(MessageImportance.High, $"  {new FileInfo(file).Length,10}  {file.Substring(root.Length).Replace('\\', '/')}");
            return true;
        }
        if (!File.Exists(Path))
        {
            Log.LogError($"{Path} was not made");
            return false;
        }
        using var archive = ZipFile.OpenRead(Path);
        Log.LogMessage(MessageImportance.High, Path);
        foreach (var entry in archive.Entries.OrderBy(e => e.FullName, StringComparer.Ordinal))
            Log.LogMessage(MessageImportance.High, $"  {entry.Length,10}  {entry.FullName}");
        return true;
    }
}
