namespace PSMigration.Core.Planning;

/// <summary>How long one copy of a VM's memory takes at a bandwidth: the base of the default timeout and of a drain's
/// predictions (a guest that dirties memory needs more than one pass; the prediction says it counts one).</summary>
public static class TransferTime
{
    /// <summary>Seconds for <paramref name="memoryMiB"/> at <paramref name="bandwidthGbps"/> (at least 0.1 Gbit/s).</summary>
    public static double Seconds(long memoryMiB, double bandwidthGbps) => memoryMiB * 1048576.0 * 8 / (Math.Max(bandwidthGbps, 0.1) * 1e9);
}
