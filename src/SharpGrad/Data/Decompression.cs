using System.Globalization;

namespace SharpGrad.Data;

/// <summary>
/// How far compressed input (IDX <c>.gz</c>, .npz members) may inflate. A few kilobytes of deflate can expand to
/// gigabytes, so readers refuse data past a limit before allocating for it. By default the limit is
/// <see cref="DefaultAllowanceBytes"/> plus <see cref="DefaultRatio"/> times the compressed file's size, which keeps
/// what reading allocates within 8 MB + 64 × the file's size (RELIABILITY.md); the readers take a
/// <c>maxDecompressedBytes</c> argument to raise (or lower) it for data that compresses better than that.
/// </summary>
public static class Decompression
{
    /// <summary>Decompressed bytes allowed per compressed byte by default: 24. Images and weights compress 1-5 ×;
    /// mostly-zero arrays far more, and those need a larger explicit limit. Reading may hold the data twice (a
    /// Fortran-order array is transposed into a copy), so 2 × 24 leaves room within 64 × the file for the archive's own
    /// structures.</summary>
    public const int DefaultRatio = 24;

    /// <summary>Decompressed bytes allowed on top of the ratio by default, so small arrays that compress very well (labels,
    /// masks) load whatever their ratio: 2 MiB.</summary>
    public const long DefaultAllowanceBytes = 2L << 20;

    /// <summary>The default limit for a compressed file of <paramref name="compressedBytes"/> bytes:
    /// <see cref="DefaultAllowanceBytes"/> + <see cref="DefaultRatio"/> × <paramref name="compressedBytes"/>.</summary>
    /// <param name="compressedBytes">The size of the compressed file (the whole archive for .npz).</param>
    public static long DefaultLimit(long compressedBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(compressedBytes);
        return compressedBytes > (long.MaxValue - DefaultAllowanceBytes) / DefaultRatio ? long.MaxValue : DefaultAllowanceBytes + DefaultRatio * compressedBytes;
    }

    /// <summary>The limit to apply: the caller's, or the default for the file's size.</summary>
    internal static long Resolve(long? maxDecompressedBytes, long compressedBytes)
    {
        if (maxDecompressedBytes is long m) { ArgumentOutOfRangeException.ThrowIfNegative(m, "maxDecompressedBytes"); return m; }
        return DefaultLimit(compressedBytes);
    }

    /// <summary>The end of every refusal: which limit applied and how to raise it.</summary>
    internal static string Explain(long limit, long? maxDecompressedBytes, long compressedBytes) =>
        (maxDecompressedBytes is null
            ? string.Create(CultureInfo.InvariantCulture, $"the default decompression limit of {limit} bytes (2 MiB + {DefaultRatio} x the {compressedBytes}-byte file)")
            : string.Create(CultureInfo.InvariantCulture, $"the decompression limit of {limit} bytes that was given")) +
        "; pass a larger maxDecompressedBytes (sharpgrad inspect --max-decompressed BYTES) if the file is trusted";
}
