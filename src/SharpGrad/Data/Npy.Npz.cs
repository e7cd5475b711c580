using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace SharpGrad.Data;

// .npz: a zip archive of .npy members, one per array, named NAME.npy.
public static partial class Npy
{
    /// <summary>
    /// Reads every array of a .npz archive into tensors, in archive order, keyed by member name without
    /// <c>.npy</c> (NumPy: <c>np.load</c> of an .npz). Stored and deflated members are both read.
    /// </summary>
    /// <param name="path">The .npz file; error messages name it and the member.</param>
    /// <param name="maxDecompressedBytes">The most bytes all members together may decompress to; null for
    /// <see cref="Decompression.DefaultLimit"/> of the archive's size.</param>
    /// <exception cref="InvalidDataException">Not a zip archive, a member that is not a well-formed .npy, members that
    /// share bytes, members decompressing past the limit, or two members with the same name.</exception>
    public static OrderedDictionary<string, Tensor> LoadNpz(string path, long? maxDecompressedBytes = null) => ToTensors(ReadNpz(path, maxDecompressedBytes));

    /// <summary>Reads every array of a .npz archive in <paramref name="stream"/>; see <see cref="LoadNpz(string, long?)"/>.</summary>
    /// <param name="stream">The archive; it is left open.</param>
    /// <param name="name">What error messages call the stream.</param>
    /// <param name="maxDecompressedBytes">See <see cref="LoadNpz(string, long?)"/>.</param>
    /// <exception cref="InvalidDataException">See <see cref="LoadNpz(string, long?)"/>.</exception>
    public static OrderedDictionary<string, Tensor> LoadNpz(Stream stream, string? name = null, long? maxDecompressedBytes = null) => ToTensors(ReadNpz(stream, name, maxDecompressedBytes));

    /// <summary>Reads every array of a .npz archive keeping their element types; see <see cref="LoadNpz(string, long?)"/>.</summary>
    /// <param name="path">The .npz file; error messages name it and the member.</param>
    /// <param name="maxDecompressedBytes">See <see cref="LoadNpz(string, long?)"/>.</param>
    /// <exception cref="InvalidDataException">See <see cref="LoadNpz(string, long?)"/>.</exception>
    public static OrderedDictionary<string, NpyArray> ReadNpz(string path, long? maxDecompressedBytes = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = OpenRead(path);
        return ReadNpz(file, path, maxDecompressedBytes);
    }

    /// <summary>Reads every array of a .npz archive in <paramref name="stream"/> keeping their element types.</summary>
    /// <param name="stream">The archive; it is left open. A stream that cannot seek is copied into memory first.</param>
    /// <param name="name">What error messages call the stream.</param>
    /// <param name="maxDecompressedBytes">See <see cref="LoadNpz(string, long?)"/>.</param>
    /// <exception cref="InvalidDataException">See <see cref="LoadNpz(string, long?)"/>.</exception>
    public static OrderedDictionary<string, NpyArray> ReadNpz(Stream stream, string? name = null, long? maxDecompressedBytes = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string label = name ?? StreamName;
        if (!stream.CanSeek)
        {
            // ZipArchive would buffer it anyway; a copy lets the layout be checked first.
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        long archiveBytes = stream.Length - stream.Position;
        long limit = Decompression.Resolve(maxDecompressedBytes, archiveBytes);
        var budget = new DecompressionBudget(limit, () => Decompression.Explain(limit, maxDecompressedBytes, archiveBytes));
        ZipLayout.CheckNoOverlap(stream, label);
        ZipArchive zip;
        IReadOnlyList<ZipArchiveEntry> entries;
        try { zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e) { throw Fail(label, null, $"not a .npz (zip) archive: {e.Message}", e); }

        using (zip)
        {
            // The central directory is read on first access to Entries, so its errors surface here.
            try { entries = zip.Entries; }
            catch (InvalidDataException e) { throw Fail(label, null, $"corrupt .npz (zip) central directory: {e.Message}", e); }
            var result = new OrderedDictionary<string, NpyArray>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (entry.FullName.EndsWith('/')) continue;
                string member = $"{label}[{entry.FullName}]";
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
                    throw Fail(member, null, "archive member is not a .npy file; expected every member name to end in .npy");
                string key = entry.FullName[..^4];
                if (result.ContainsKey(key))
                    throw Fail(member, null, $"a second member named '{key}'; expected unique array names");
                try
                {
                    using var s = entry.Open();
                    // The declared size rejects impossible headers early, but it comes from the archive, so the
                    // data is still read as if its length were unknown.
                    result.Add(key, Read(s, member, entry.Length, trusted: false, wholeFile: true, budget));
                }
                catch (InvalidDataException e) when (!e.Message.StartsWith(member, StringComparison.Ordinal))
                {
                    throw Fail(member, null, $"corrupt archive member: {e.Message}", e);
                }
            }
            return result;
        }
    }

    /// <summary>
    /// Saves tensors as a .npz archive atomically, one member <c>NAME.npy</c> per entry, in enumeration order
    /// (NumPy: <c>np.savez</c>, or <c>np.savez_compressed</c> when <paramref name="compress"/> is true).
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="arrays">Names (non-empty, unique) and tensors.</param>
    /// <param name="compress">Deflate the members instead of storing them.</param>
    // Tensors are the common case, so [new("w", t)] picks this overload instead of being ambiguous.
    [OverloadResolutionPriority(1)]
    public static void SaveNpz(string path, IEnumerable<KeyValuePair<string, Tensor>> arrays, bool compress = false)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        SaveNpz(path, FromTensors(arrays), compress);
    }

    /// <summary>Saves arrays of any supported dtype as a .npz archive atomically; see
    /// <see cref="SaveNpz(string, IEnumerable{KeyValuePair{string, Tensor}}, bool)"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="arrays">Names (non-empty, unique) and arrays.</param>
    /// <param name="compress">Deflate the members instead of storing them.</param>
    public static void SaveNpz(string path, IEnumerable<KeyValuePair<string, NpyArray>> arrays, bool compress = false)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        WriteAtomically(path, s => WriteNpz(s, arrays, compress));
    }

    /// <summary>Writes tensors to <paramref name="stream"/> as a .npz archive; see
    /// <see cref="SaveNpz(string, IEnumerable{KeyValuePair{string, Tensor}}, bool)"/>.</summary>
    /// <param name="stream">Written sequentially and left open.</param>
    /// <param name="arrays">Names (non-empty, unique) and tensors.</param>
    /// <param name="compress">Deflate the members instead of storing them.</param>
    // Tensors are the common case, so [new("w", t)] picks this overload instead of being ambiguous.
    [OverloadResolutionPriority(1)]
    public static void WriteNpz(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> arrays, bool compress = false)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        WriteNpz(stream, FromTensors(arrays), compress);
    }

    /// <summary>Writes arrays to <paramref name="stream"/> as a .npz archive; see
    /// <see cref="SaveNpz(string, IEnumerable{KeyValuePair{string, Tensor}}, bool)"/>.</summary>
    /// <param name="stream">Written sequentially and left open.</param>
    /// <param name="arrays">Names (non-empty, unique) and arrays.</param>
    /// <param name="compress">Deflate the members instead of storing them.</param>
    public static void WriteNpz(Stream stream, IEnumerable<KeyValuePair<string, NpyArray>> arrays, bool compress = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(arrays);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (key, array) in arrays)
        {
            if (string.IsNullOrEmpty(key)) throw new ArgumentException("A .npz array name must be non-empty.", nameof(arrays));
            if (!seen.Add(key)) throw new ArgumentException($"The .npz array name '{key}' appears twice.", nameof(arrays));
            if (array is null) throw new ArgumentException($"The .npz array '{key}' is null.", nameof(arrays));
            var entry = zip.CreateEntry(key + ".npy", compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            // A fixed timestamp, as NumPy uses, so that the same arrays always give the same bytes.
            entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
            using var s = entry.Open();
            Write(s, array);
        }
    }

    private static OrderedDictionary<string, Tensor> ToTensors(OrderedDictionary<string, NpyArray> arrays)
    {
        var result = new OrderedDictionary<string, Tensor>(arrays.Count, StringComparer.Ordinal);
        foreach (var (key, array) in arrays) result.Add(key, array.ToTensor(copy: false));
        return result;
    }

    private static IEnumerable<KeyValuePair<string, NpyArray>> FromTensors(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (key, tensor) in tensors)
            yield return new(key, tensor is null ? null! : NpyArray.FromTensor(tensor));
    }
}
