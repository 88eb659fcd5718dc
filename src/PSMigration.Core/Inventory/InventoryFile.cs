using System.Text;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Inventory;

/// <summary>
/// An inventory file as bytes on disk, for editing in place: read once, then replaced atomically
/// (a temporary file beside it, flushed to disk, renamed over it) so a reader never sees half a file
/// and a failed edit leaves the original. A symbolic link is followed, so the link stays a link.
/// Edits go through <see cref="Edit{T}"/>: one at a time across processes, each on the file as it is then.
/// </summary>
internal sealed class InventoryFile
{
    /// <summary>How often an edit is applied again when a writer that does not take the lock (an editor, a script)
    /// changed the file between the read and the write.</summary>
    private const int Attempts = 3;

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private readonly byte[] original;
    private readonly bool hasBom;
    /// <summary>The file that is really written: <see cref="Path"/> with links resolved.</summary>
    private readonly string target;

    private InventoryFile(string path, string target, byte[] bytes)
    {
        Path = path;
        this.target = target;
        original = bytes;
        hasBom = bytes.AsSpan().StartsWith(Utf8Bom);
        Text = new UTF8Encoding(false, true).GetString(bytes, hasBom ? 3 : 0, bytes.Length - (hasBom ? 3 : 0));
    }

    /// <summary>The full path as the user named it, for messages.</summary>
    public string Path { get; }
    public string Text { get; }

    public static InventoryFile Read(string path)
    {
        var full = Existing(path);
        try
        {
            var target = TargetOf(full);
            return new InventoryFile(full, target, File.ReadAllBytes(target));
        }
        catch (DecoderFallbackException e)
        {
            throw new MigrationException("InventoryNotUtf8", FailureKind.InvalidInput, $"The inventory file {full} is not UTF-8 text", full, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MigrationException("InventoryReadFailed", FailureKind.OperationFailed, $"Cannot read the inventory file {full}: {e.Message}", full, e);
        }
    }

    /// <summary>Edits the inventory at <paramref name="path"/> under its lock (<see cref="InventoryLock"/>), so two psmig
    /// processes never lose each other's edit: <paramref name="edit"/> gets the file as it is now and returns the new text
    /// (null: nothing to write) and its result. When something outside psmig wrote the file meanwhile, the edit is
    /// applied again to what it wrote.</summary>
    public static T Edit<T>(string path, Func<InventoryFile, (string? NewText, T Result)> edit)
    {
        var full = Existing(path);
        using var held = InventoryLock.Take(full, TargetOf(full));
        for (var attempt = 1; ; attempt++)
        {
            var file = Read(path);
            var (newText, result) = edit(file);
            if (newText is null) return result;
            try
            {
                file.Replace(newText);
                return result;
            }
            catch (MigrationException e) when (e.ErrorId == "InventoryChanged" && attempt < Attempts)
            {
                // written meanwhile by something that does not take the lock: edit what it wrote
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> under the inventory's lock: for files beside it (drain records) that must
    /// change in step with it.</summary>
    public static void Locked(string path, Action work)
    {
        var full = Existing(path);
        using var held = InventoryLock.Take(full, TargetOf(full));
        work();
    }

    /// <summary>The inventory file that is really written (links followed): its lock and drain records are beside it.</summary>
    public static string TargetPath(string path) => TargetOf(Existing(path));

    /// <summary>The full path of an inventory file that exists; else the error that says so.</summary>
    private static string Existing(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return File.Exists(full) ? full
            : throw new MigrationException("InventoryNotFound", FailureKind.NotFound, $"The inventory file {full} does not exist", full);
    }

    /// <summary>The file that is really written: <paramref name="full"/> with its links followed.</summary>
    private static string TargetOf(string full) => new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;

    /// <summary>Writes <paramref name="newText"/> in place of the file, unless someone changed the file
    /// since it was read: then nothing is written and the caller is told.</summary>
    private void Replace(string newText)
    {
        var directory = System.IO.Path.GetDirectoryName(target)!;
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                if (hasBom) stream.Write(Utf8Bom);
                stream.Write(new UTF8Encoding(false).GetBytes(newText));
                stream.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, File.GetUnixFileMode(target));
            if (!File.ReadAllBytes(target).AsSpan().SequenceEqual(original))
                throw new MigrationException("InventoryChanged", FailureKind.OperationFailed,
                    $"{Path} changed while it was being edited; nothing was written. Run the command again.", Path);
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MigrationException("InventoryWriteFailed", FailureKind.OperationFailed,
                $"Cannot write the inventory file {Path}; it is unchanged: {e.Message}", Path, e);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
