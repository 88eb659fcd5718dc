using System.Text;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Inventory;

/// <summary>
/// An inventory file as bytes on disk, for editing in place: read once, then replaced atomically
/// (a temporary file beside it, flushed to disk, renamed over it) so a reader never sees half a file
/// and a failed edit leaves the original. A symbolic link is followed, so the link stays a link.
/// </summary>
internal sealed class InventoryFile
{
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
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new MigrationException("InventoryNotFound", FailureKind.NotFound, $"The inventory file {full} does not exist", full);
        try
        {
            var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
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

    /// <summary>Writes <paramref name="newText"/> in place of the file, unless someone changed the file
    /// since it was read: then nothing is written and the caller is told.</summary>
    public void Replace(string newText)
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
