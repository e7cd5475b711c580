namespace SharpGrad.Kernels;

/// <summary>
/// The data cache sizes of the first core, read once at start-up (Linux: <c>/sys/devices/system/cpu/cpu0/cache/index*/</c>
/// <c>level</c>, <c>type</c> and <c>size</c>), for the GEMM's blocking (<see cref="GemmTuning"/>). A size that cannot be
/// read (another system, no sysfs, an unexpected format) is 0, which the blocking takes as "unknown" and then keeps its
/// fixed values. Reading never throws and writes nothing.
/// </summary>
internal static class CacheSizes
{
    private const string Root = "/sys/devices/system/cpu/cpu0/cache";

    /// <summary>Bytes of level-1 data cache of one core; 0 when unknown.</summary>
    public static readonly long L1Data;

    /// <summary>Bytes of level-2 (data or unified) cache of one core; 0 when unknown.</summary>
    public static readonly long L2;

    /// <summary>Bytes of level-3 (data or unified) cache, the whole of it as seen by the first core; 0 when unknown.</summary>
    public static readonly long L3;

    static CacheSizes()
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !Directory.Exists(Root)) return;
            foreach (string dir in Directory.EnumerateDirectories(Root, "index*"))
            {
                string level = ReadLine(Path.Combine(dir, "level")), type = ReadLine(Path.Combine(dir, "type"));
                long size = ParseSize(ReadLine(Path.Combine(dir, "size")));
                if (size <= 0 || type is not ("Data" or "Unified")) continue;
                switch (level)
                {
                    case "1": L1Data = size; break;
                    case "2": L2 = size; break;
                    case "3": L3 = size; break;
                }
            }
        }
        catch (Exception)
        {
            // Unreadable: unknown sizes, the fixed blocking.
            (L1Data, L2, L3) = (0, 0, 0);
        }
    }

    private static string ReadLine(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "";

    /// <summary>
    /// Bytes in a sysfs cache size such as <c>48K</c>, <c>1024K</c>, <c>2M</c> or <c>512</c>; 0 for anything else
    /// (empty, negative, unknown suffix, overflow).
    /// </summary>
    internal static long ParseSize(string text)
    {
        text = text.Trim();
        if (text.Length == 0) return 0;
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        if (digits.Length == 0 || digits.Length > 9) return 0;
        long value = 0;
        foreach (char ch in digits)
        {
            if (ch is < '0' or > '9') return 0;
            value = value * 10 + (ch - '0');
        }
        return value * unit;
    }
}
