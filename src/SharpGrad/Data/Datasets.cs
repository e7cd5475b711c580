using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Data;

/// <summary>
/// A data set that can hand out a batch of examples by index (PyTorch: <c>Dataset</c>; fetching whole batches lets the
/// set convert its compact storage, e.g. uint8 pixels, once per batch).
/// </summary>
public interface IDataset
{
    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>The examples at <paramref name="indices"/>: inputs stacked along a new first dimension, and their targets.</summary>
    (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices);
}

/// <summary>Examples held as two tensors whose first dimensions match (PyTorch: <c>TensorDataset</c>).</summary>
public sealed class TensorDataset : IDataset
{
    /// <summary>Pairs row i of <paramref name="inputs"/> with row i of <paramref name="targets"/>.</summary>
    public TensorDataset(Tensor inputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Rank == 0 || targets.Rank == 0 || inputs.ShapeRef[0] != targets.ShapeRef[0])
            throw new ArgumentException($"TensorDataset: inputs {Shapes.Format(inputs.ShapeRef)} and targets {Shapes.Format(targets.ShapeRef)} must have the same first dimension.");
        (Inputs, Targets) = (inputs.Detach(), targets.Detach());
    }

    /// <summary>All inputs.</summary>
    public Tensor Inputs { get; }
    /// <summary>All targets.</summary>
    public Tensor Targets { get; }

    /// <inheritdoc/>
    public int Count => Inputs.ShapeRef[0];

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        var idx = new long[indices.Length];
        for (int i = 0; i < idx.Length; i++) idx[i] = indices[i];
        var index = Tensor.FromArray(idx);
        return (Inputs.IndexSelect(0, index), Targets.IndexSelect(0, index));
    }
}

/// <summary>
/// Images kept as uint8 pixels (one byte each: 47 MB for Fashion-MNIST's 60,000 training images rather than 188 MB as
/// float) with Int64 labels; each batch is converted to Float32 [B, C, H, W] in [0, 1], optionally standardised.
/// </summary>
public sealed class ImageDataset : IDataset
{
    private readonly byte[] _pixels;
    private readonly byte[] _labels;
    private readonly int _offset;

    /// <summary>Wraps images [count, channels·height·width] starting at image <paramref name="offset"/> of the arrays.</summary>
    public ImageDataset(byte[] pixels, byte[] labels, int channels, int height, int width, int offset = 0, int? count = null,
        int classes = 10, double mean = 0, double std = 1)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        int size = channels * height * width;
        if (size <= 0 || pixels.Length % size != 0)
            throw new ArgumentException($"ImageDataset: {pixels.Length} pixel bytes are not a whole number of {channels}x{height}x{width} images.");
        int total = pixels.Length / size;
        if (labels.Length != total) throw new ArgumentException($"ImageDataset: {total} images but {labels.Length} labels.");
        int n = count ?? total - offset;
        if (offset < 0 || n < 0 || offset + n > total) throw new ArgumentOutOfRangeException(nameof(count), $"ImageDataset: images [{offset}, {offset + n}) outside the {total} available.");
        for (int i = offset; i < offset + n; i++)
            if (labels[i] >= classes) throw new InvalidDataException($"ImageDataset: label {labels[i]} of image {i} is outside [0, {classes}).");
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "ImageDataset: std must be positive.");
        (_pixels, _labels, _offset, Count, Channels, Height, Width, Classes, Mean, Std) = (pixels, labels, offset, n, channels, height, width, classes, mean, std);
    }

    /// <inheritdoc/>
    public int Count { get; }
    /// <summary>Channels per image.</summary>
    public int Channels { get; }
    /// <summary>Image height.</summary>
    public int Height { get; }
    /// <summary>Image width.</summary>
    public int Width { get; }
    /// <summary>Number of classes.</summary>
    public int Classes { get; }
    /// <summary>Subtracted from each pixel (after scaling to [0, 1]).</summary>
    public double Mean { get; }
    /// <summary>Each pixel is divided by this (after subtracting the mean).</summary>
    public double Std { get; }

    /// <summary>The label of example <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[_offset + index];

    /// <summary>The raw pixels of example <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Pixels(int index)
    {
        int size = Channels * Height * Width;
        return _pixels.AsSpan((_offset + index) * size, size);
    }

    /// <summary>A subset of consecutive examples sharing this set's storage.</summary>
    public ImageDataset Slice(int start, int count) =>
        new(_pixels, _labels, Channels, Height, Width, _offset + start, count, Classes, Mean, Std);

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        int size = Channels * Height * Width;
        // Every element is written below; inside a TensorScope the batch takes pooled storage like any other tensor.
        var xt = Tensor.Uninitialized([indices.Length, Channels, Height, Width], DType.Float32);
        var x = xt.Array<float>();
        var y = new long[indices.Length];
        float scale = (float)(1.0 / (255.0 * Std)), shift = (float)(Mean / Std);
        for (int b = 0; b < indices.Length; b++)
        {
            int i = indices[b];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside the {Count} examples.");
            ScalePixels(_pixels.AsSpan((_offset + i) * size, size), x.AsSpan(b * size, size), scale, shift);
            y[b] = _labels[_offset + i];
        }
        // The labels are fresh and not shared, so the tensor takes them as they are (FromArray would copy them).
        return (xt, new Tensor(y, [indices.Length], DType.Int64));
    }

    /// <summary>
    /// <c>dst[k] = src[k] * scale - shift</c> in float, a vector at a time (the same two roundings per element as the
    /// scalar expression: the product is not fused into the subtraction).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a vector loop, hot from the first batch: no slow tier-0 version
    internal static void ScalePixels(ReadOnlySpan<byte> src, Span<float> dst, float scale, float shift)
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated && src.Length >= 32)
        {
            var vs = Vector256.Create(scale);
            var vh = Vector256.Create(shift);
            ref byte s0 = ref MemoryMarshal.GetReference(src);
            ref float d0 = ref MemoryMarshal.GetReference(dst);
            for (; k <= src.Length - 32; k += 32)
            {
                var bytes = Vector256.LoadUnsafe(ref s0, (nuint)k);
                var (lo, hi) = Vector256.Widen(bytes);
                var (i0, i1) = Vector256.Widen(lo);
                var (i2, i3) = Vector256.Widen(hi);
                (Vector256.ConvertToSingle(i0.AsInt32()) * vs - vh).StoreUnsafe(ref d0, (nuint)k);
                (Vector256.ConvertToSingle(i1.AsInt32()) * vs - vh).StoreUnsafe(ref d0, (nuint)(k + 8));
                (Vector256.ConvertToSingle(i2.AsInt32()) * vs - vh).StoreUnsafe(ref d0, (nuint)(k + 16));
                (Vector256.ConvertToSingle(i3.AsInt32()) * vs - vh).StoreUnsafe(ref d0, (nuint)(k + 24));
            }
        }
        for (; k < src.Length; k++) dst[k] = src[k] * scale - shift;
    }
}
