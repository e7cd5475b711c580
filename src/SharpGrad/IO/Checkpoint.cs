using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SharpGrad.Data;

namespace SharpGrad.IO;

/// <summary>
/// Everything needed to resume training exactly: the model's state dict, the optimizer's state (moments and step
/// count), the best weights so far, every random generator's state, the current epoch's example order and the position
/// in it, the learning-rate schedule's epoch, plus free-form metadata (e.g. the trainer's running sums).
/// </summary>
/// <remarks>
/// <para>On disk a checkpoint is a valid safetensors file (any safetensors reader opens it) with tensors named
/// <c>model.*</c>, <c>optimizer.*</c>, <c>best.*</c>, <c>rng.NAME</c> (I64 [7]) and <c>data.order</c> (I64 [n]), and a
/// <c>__metadata__</c> map whose first entry is <c>sha256</c>: the SHA-256 of the whole file with those 64 hex digits
/// set to '0'. It is therefore found at a fixed offset (35) and checked before the rest of the file is parsed.</para>
/// <para><see cref="Save"/> is atomic (temporary file, flush to disk, rename): a crash leaves the old file or the new
/// one, never a torn one. <see cref="Load(string)"/> throws <see cref="InvalidDataException"/> naming the file and
/// the offset or field for any corruption, including a single flipped bit.</para>
/// </remarks>
public sealed class Checkpoint
{
    /// <summary>The <c>format</c> metadata value that marks a SharpGrad checkpoint.</summary>
    public const string FormatName = "sharpgrad-checkpoint";

    /// <summary>The layout version written and read.</summary>
    public const int FormatVersion = 1;

    /// <summary>File offset of the 64 hex digits of the checksum.</summary>
    public const int ChecksumOffset = 8 + 27;

    private static ReadOnlySpan<byte> HeaderStart => "{\"__metadata__\":{\"sha256\":\""u8;
    private static readonly string[] Reserved = ["sha256", "format", "version", "epoch", "batch", "step", "scheduler_epoch"];
    private const string RngPrefix = "rng.";
    private const string OrderName = "data.order";

    /// <summary>The model's state dict (PyTorch names).</summary>
    public OrderedDictionary<string, Tensor> Model { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The optimizer's state dict (<c>step</c>, <c>lr</c>, <c>{index}.{name}</c>).</summary>
    public OrderedDictionary<string, Tensor> Optimizer { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The best weights so far (validation-based model selection), if kept.</summary>
    public OrderedDictionary<string, Tensor>? BestModel { get; init; }

    /// <summary>Every random generator's state (<see cref="Generator.GetState"/>) by name, e.g. <c>loader</c>, <c>model.2</c>.</summary>
    public OrderedDictionary<string, ulong[]> Generators { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The example order of the epoch in progress, or null when the next epoch has not drawn one yet.</summary>
    public int[]? DataOrder { get; init; }

    /// <summary>The epoch in progress, 1-based (one past the last after the final epoch).</summary>
    public int Epoch { get; init; } = 1;

    /// <summary>Batches of <see cref="Epoch"/> already trained: training resumes at this batch of <see cref="DataOrder"/>.</summary>
    public int Batch { get; init; }

    /// <summary>Optimizer steps taken in total.</summary>
    public long Step { get; init; }

    /// <summary>The learning-rate schedule's epoch, when a schedule is used.</summary>
    public int? SchedulerEpoch { get; init; }

    /// <summary>Free-form metadata (keys other than the reserved ones written by the format itself).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The file it was loaded from (for error messages), or null.</summary>
    public string? Source { get; init; }

    /// <summary>Saves atomically (temporary file in the same directory, flushed to disk, renamed over <paramref name="path"/>).</summary>
    public void Save(string path) => AtomicFile.Write(path, Write);

    /// <summary>Writes the checkpoint to <paramref name="stream"/>, checksum included.</summary>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var tensors = Tensors().ToList();
        var zero = HeaderMetadata(new string('0', 64));
        using var sha = SHA256.Create();
        using (var hashing = new CryptoStream(Stream.Null, sha, CryptoStreamMode.Write))
            Safetensors.Write(hashing, tensors, zero);
        Safetensors.Write(stream, tensors, HeaderMetadata(Convert.ToHexStringLower(sha.Hash!)));
    }

    private List<KeyValuePair<string, string>> HeaderMetadata(string checksum)
    {
        static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
        var m = new List<KeyValuePair<string, string>>
        {
            new("sha256", checksum), new("format", FormatName), new("version", S(FormatVersion)),
            new("epoch", S(Epoch)), new("batch", S(Batch)), new("step", S(Step)),
        };
        if (SchedulerEpoch is int se) m.Add(new("scheduler_epoch", S(se)));
        foreach (var (k, v) in Metadata)
        {
            if (Reserved.Contains(k)) throw new ArgumentException($"Checkpoint: the metadata key '{k}' is reserved.");
            m.Add(new(k, v));
        }
        return m;
    }

    private IEnumerable<KeyValuePair<string, Tensor>> Tensors()
    {
        foreach (var (k, t) in Model) yield return new("model." + k, t);
        foreach (var (k, t) in Optimizer) yield return new("optimizer." + k, t);
        if (BestModel is not null) foreach (var (k, t) in BestModel) yield return new("best." + k, t);
        foreach (var (k, s) in Generators)
        {
            if (s is not { Length: 7 }) throw new ArgumentException($"Checkpoint: generator '{k}' state must have 7 words.");
            yield return new(RngPrefix + k, Tensor.FromArray(s.Select(w => unchecked((long)w)).ToArray()));
        }
        if (DataOrder is not null) yield return new(OrderName, Tensor.FromArray(DataOrder.Select(i => (long)i).ToArray()));
    }

    /// <summary>Loads and verifies a checkpoint file: checksum, safetensors layout, metadata and tensor kinds.</summary>
    /// <exception cref="InvalidDataException">The file is not an intact SharpGrad checkpoint; the message names the file and the offset or field.</exception>
    public static Checkpoint Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = Safetensors.OpenRead(path);
        return Load(file, path);
    }

    /// <summary>Loads and verifies a checkpoint from a seekable stream; see <see cref="Load(string)"/>.</summary>
    /// <param name="stream">Seekable, positioned at the checkpoint's first byte; it extends to the end of the stream.</param>
    /// <param name="name">What error messages call the stream.</param>
    public static Checkpoint Load(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("Checkpoint: the stream must be seekable.", nameof(stream));
        name ??= "<stream>";
        long start = stream.Position;
        VerifyChecksum(stream, name);
        stream.Position = start;
        var contents = Safetensors.Read(stream, name);
        return FromContents(contents, name);
    }

    private static void VerifyChecksum(Stream s, string name)
    {
        long length = s.Length - s.Position;
        int prefix = ChecksumOffset + 64;
        var head = new byte[Math.Min(length, prefix)];
        s.ReadExactly(head);
        if (length < prefix || !head.AsSpan(8, HeaderStart.Length).SequenceEqual(HeaderStart))
            throw SafetensorsParser.Fail(name, 8, "not a SharpGrad checkpoint: expected a safetensors header beginning {\"__metadata__\":{\"sha256\":\" and 64 hex digits");
        string recorded = Encoding.ASCII.GetString(head, ChecksumOffset, 64);
        if (!recorded.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            throw SafetensorsParser.Fail(name, ChecksumOffset, $"the checksum '{recorded}' is not 64 lower-case hex digits");
        head.AsSpan(ChecksumOffset, 64).Fill((byte)'0');
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(head);
        var buffer = new byte[(int)Math.Min(1 << 20, Math.Max(1, length - prefix))];
        int n;
        while ((n = s.Read(buffer)) > 0) hash.AppendData(buffer, 0, n);
        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != recorded)
            throw SafetensorsParser.Fail(name, ChecksumOffset, $"checksum mismatch: the header records SHA-256 {recorded} but the file hashes to {actual}; the checkpoint is corrupt (truncated or modified)");
    }

    private static Checkpoint FromContents(SafetensorsContents c, string name)
    {
        var meta = c.Metadata;
        string Get(string key) => meta.TryGetValue(key, out var v) ? v
            : throw SafetensorsParser.Fail(name, null, $"metadata '{key}' is missing; expected it in every SharpGrad checkpoint");
        long Integer(string key, long min, long max)
        {
            string v = Get(key);
            return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long x) && x >= min && x <= max ? x
                : throw SafetensorsParser.Fail(name, null, $"metadata '{key}' is '{v}'; expected an integer in [{min}, {max}]");
        }
        if (Get("format") != FormatName) throw SafetensorsParser.Fail(name, null, $"metadata 'format' is '{meta["format"]}'; expected '{FormatName}'");
        if (Get("version") != FormatVersion.ToString(CultureInfo.InvariantCulture))
            throw SafetensorsParser.Fail(name, null, $"metadata 'version' is '{meta["version"]}'; this SharpGrad reads checkpoint version {FormatVersion}");

        var model = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizer = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        OrderedDictionary<string, Tensor>? best = null;
        var generators = new OrderedDictionary<string, ulong[]>(StringComparer.Ordinal);
        int[]? order = null;
        foreach (var (key, t) in c.Tensors)
        {
            if (key.StartsWith("model.", StringComparison.Ordinal)) model.Add(key[6..], t);
            else if (key.StartsWith("optimizer.", StringComparison.Ordinal)) optimizer.Add(key[10..], t);
            else if (key.StartsWith("best.", StringComparison.Ordinal)) (best ??= new(StringComparer.Ordinal)).Add(key[5..], t);
            else if (key.StartsWith(RngPrefix, StringComparison.Ordinal))
            {
                if (t.DType != DType.Int64 || t.Rank != 1 || t.Numel != 7)
                    throw SafetensorsParser.Fail(name, null, $"tensor '{key}' is {t.DType.ToTorchName()} {Shapes.Format(t.ShapeRef)}; expected a generator state, int64 [7]");
                var words = t.Array<long>();
                // xoshiro256** never leaves the all-zero state: it would draw zeros for ever (and a permutation never end).
                if (words[0] == 0 && words[1] == 0 && words[2] == 0 && words[3] == 0)
                    throw SafetensorsParser.Fail(name, null, $"tensor '{key}' is the all-zero generator state, which xoshiro256** cannot be in; expected a state saved by Generator.GetState");
                generators.Add(key[RngPrefix.Length..], words.Select(w => unchecked((ulong)w)).ToArray());
            }
            else if (key == OrderName) order = ReadOrder(t, name);
            else throw SafetensorsParser.Fail(name, null, $"unexpected tensor '{key}'; expected names beginning model., optimizer., best., rng. or the tensor data.order");
        }
        var extra = meta.Where(kv => !Reserved.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new Checkpoint
        {
            Model = model, Optimizer = optimizer, BestModel = best, Generators = generators, DataOrder = order,
            Epoch = (int)Integer("epoch", 1, int.MaxValue), Batch = (int)Integer("batch", 0, int.MaxValue), Step = Integer("step", 0, long.MaxValue),
            SchedulerEpoch = meta.ContainsKey("scheduler_epoch") ? (int)Integer("scheduler_epoch", 0, int.MaxValue) : null,
            Metadata = extra, Source = name,
        };
    }

    /// <summary>The order must be a permutation of 0..n-1, or resuming would index outside the data set.</summary>
    private static int[] ReadOrder(Tensor t, string name)
    {
        if (t.DType != DType.Int64 || t.Rank != 1)
            throw SafetensorsParser.Fail(name, null, $"tensor '{OrderName}' is {t.DType.ToTorchName()} {Shapes.Format(t.ShapeRef)}; expected int64 [n], a permutation of 0..n-1");
        var values = t.Array<long>();
        var seen = new bool[values.Length];
        var order = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            long v = values[i];
            if (v < 0 || v >= values.Length || seen[v])
                throw SafetensorsParser.Fail(name, null, $"tensor '{OrderName}' element {i} is {v}; expected a permutation of 0..{values.Length - 1}");
            seen[v] = true;
            order[i] = (int)v;
        }
        return order;
    }
}
