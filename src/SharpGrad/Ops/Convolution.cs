using System.Numerics;
using System.Numerics.Tensors;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>Convolution and pooling ops (cross-correlation, as in PyTorch), forward and backward side by side.</summary>
internal static class ConvOps
{
    private static ConvGeometry Geometry(string op, int[] xShape, int kh, int kw, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        if (xShape.Length != 4)
            throw new ArgumentException($"{op}: expected input of shape [N, C, H, W], got {Shapes.Format(xShape)}.");
        if (stride.H < 1 || stride.W < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be at least 1, got ({stride.H}, {stride.W}).");
        if (dilation.H < 1 || dilation.W < 1) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be at least 1, got ({dilation.H}, {dilation.W}).");
        if (padding.H < 0 || padding.W < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be non-negative, got ({padding.H}, {padding.W}).");
        var g = new ConvGeometry(xShape[1], xShape[2], xShape[3], kh, kw, stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W);
        int effH = dilation.H * (kh - 1) + 1, effW = dilation.W * (kw - 1) + 1;
        if (xShape[2] + 2 * padding.H < effH || xShape[3] + 2 * padding.W < effW)
            throw new ArgumentException(
                $"{op}: the input {xShape[2]}x{xShape[3]} padded by ({padding.H}, {padding.W}) is smaller than the dilated kernel {effH}x{effW} " +
                $"(kernel {kh}x{kw}, dilation ({dilation.H}, {dilation.W})); the output would be empty.");
        return g;
    }

    /// <summary>
    /// y[n, o] = b[o] + Σ_c w[o, c] ⋆ x[n, c]: a GEMM over the batch whose column matrix is gathered block by block
    /// (<see cref="ImplicitConv"/>), never stored; nothing is kept for the backward pass but the inputs.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? b, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        if (groups != 1) throw new NotSupportedException("Conv2d: groups other than 1 are not supported yet.");
        if (w.Rank != 4) throw new ArgumentException($"Conv2d: expected weight of shape [out, in, kh, kw], got {Shapes.Format(w.ShapeRef)}.");
        (x, w) = Tensor.Promote(x, w, nameof(Conv2d));
        if (b is not null) b = b.To(x.DType);
        var g = Geometry(nameof(Conv2d), x.ShapeRef, w.ShapeRef[2], w.ShapeRef[3], stride, padding, dilation);
        int n = x.ShapeRef[0], outC = w.ShapeRef[0];
        if (w.ShapeRef[1] != g.Channels)
            throw new ArgumentException($"Conv2d: the input has {g.Channels} channels (shape {Shapes.Format(x.ShapeRef)}) but the weight expects {w.ShapeRef[1]} (shape {Shapes.Format(w.ShapeRef)}).");
        if (b is not null && (b.Rank != 1 || b.ShapeRef[0] != outC))
            throw new ArgumentException($"Conv2d: the bias must have shape [{outC}], got {Shapes.Format(b.ShapeRef)}.");
        var y = Tensor.Uninitialized([n, outC, g.OutHeight, g.OutWidth], x.DType);
        if (x.DType == DType.Float32) Forward<float>(x, w, b, g, y);
        else Forward<double>(x, w, b, g, y);
        Tensor[] inputs = b is null ? [x, w] : [x, w, b];
        if (!Autograd.IsGradEnabled || !inputs.Any(t => t.RequiresGrad)) return y;
        Tensor xs = x, ws = w;
        bool hasBias = b is not null;
        return Autograd.Record(y, "Conv2dBackward", inputs, gy =>
        {
            var (gx, gw, gb) = xs.DType == DType.Float32
                ? Backward<float>(xs, ws, gy, g, hasBias)
                : Backward<double>(xs, ws, gy, g, hasBias);
            return hasBias ? [gx, gw, gb] : [gx, gw];
        }, differentiableBackward: false, attributes: new Conv2dAttributes(stride, padding, dilation, groups));
    }

    private static unsafe void Forward<T>(Tensor x, Tensor w, Tensor? b, ConvGeometry g, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* px = x.Span<T>(), pw = w.Span<T>(), pb = b is null ? default : b.Span<T>(), py = y.Span<T>())
            ImplicitConv.Forward(px, x.ShapeRef[0], g, pw, w.ShapeRef[0], b is null ? null : pb, py, Gemm.MaxThreads);
    }

    /// <summary>
    /// Elements of one column-matrix chunk (2 MB of float32, the fastest size measured) on the input-gradient path that
    /// still builds one (strides above 1, or outputs much smaller than the input): small enough that col2im reads back
    /// what the GEMM wrote while much of it is still in the core's cache. A batch is done in chunks of whole images, each
    /// thread its own chunks. Measured on the issue CNN's second layer (32→64, 5x5 on 12x12, batch 64): backward
    /// 7.0 ms with one 13 MB matrix split over the cores by the GEMM, 5.3-5.4 ms at 2 MB, 5.5-6.2 ms at 0.25-1 MB.
    /// </summary>
    internal const int ChunkElements = 1 << 19;

    /// <summary>Images per column-matrix chunk for this geometry.</summary>
    private static int ChunkImages(in ConvGeometry g, int n) => Math.Max(1, Math.Min(n, ChunkElements / Math.Max(1, g.ColumnRows * g.ColumnCols)));

    /// <summary>Gradients of the inputs that require one (null for the others).</summary>
    private static unsafe (Tensor? Gx, Tensor? Gw, Tensor? Gb) Backward<T>(Tensor x, Tensor w, Tensor gy, ConvGeometry g, bool hasBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.ShapeRef[0], outC = w.ShapeRef[0], p = g.ColumnCols;
        Tensor? gw = null, gx = null, gb = null;
        if (w.RequiresGrad)
        {
            gw = Tensor.Uninitialized(w.ShapeRef, w.DType);
            fixed (T* px = x.Span<T>(), pgy = gy.Span<T>(), pgw = gw.Span<T>())
                ImplicitConv.WeightGradient(px, pgy, n, g, outC, pgw, Gemm.MaxThreads);
        }
        if (hasBias)
        {
            gb = Tensor.Empty([outC], w.DType);
            Span<T> gbs = gb.Span<T>();
            ReadOnlySpan<T> gys = gy.Span<T>();
            for (int i = 0; i < n; i++)
                for (int o = 0; o < outC; o++) gbs[o] += TensorPrimitives.Sum(gys.Slice((i * outC + o) * p, p));
        }
        if (x.RequiresGrad)
        {
            if (ImplicitConv.InputGradientSupported(g))
            {
                gx = Tensor.Uninitialized(x.ShapeRef, x.DType);
                fixed (T* pgy = gy.Span<T>(), pw = w.Span<T>(), pgx = gx.Span<T>())
                    ImplicitConv.InputGradient(pgy, n, g, pw, outC, pgx, Gemm.MaxThreads);
            }
            else
            {
                gx = Tensor.Empty(x.ShapeRef, x.DType);
                ExplicitInputGradient<T>(w, gy, g, gx);
            }
        }
        return (gx, gw, gb);
    }

    /// <summary>
    /// The input gradient when it is not a cheap convolution itself (<see cref="ImplicitConv.InputGradientSupported"/>):
    /// dcols = Wᵀ · gy chunk by chunk, scattered back with col2im (adds into <paramref name="gx"/>, which starts at zero).
    /// The chunks are split over the cores, each thread running the GEMM and col2im of its own chunks in its own scratch,
    /// so a chunk never leaves that core's cache. The chunking depends only on the geometry and the batch, and each image
    /// lies in one chunk, so the result does not depend on the number of threads.
    /// </summary>
    private static void ExplicitInputGradient<T>(Tensor w, Tensor gy, ConvGeometry g, Tensor gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gx.ShapeRef[0], outC = w.ShapeRef[0], rows = g.ColumnRows, p = g.ColumnCols;
        int chunk = ChunkImages(g, n), chunks = (n + chunk - 1) / chunk;
        int imageSize = g.Channels * g.Height * g.Width;
        T[] wAll = w.Array<T>(), gyArray = gy.Array<T>(), gxArray = gx.Array<T>();
        RangeWork.Run(chunks, (long)n * rows * p, (firstChunk, lastChunk) =>
        {
            T[] gyChunk = ScratchPool<T>.Rent(outC * chunk * p);
            T[] gcols = ScratchPool<T>.Rent(rows * chunk * p);
            try
            {
                for (int c = firstChunk; c < lastChunk; c++)
                {
                    int first = c * chunk, count = Math.Min(chunk, n - first), ld = count * p;
                    for (int i = 0; i < count; i++)
                        for (int o = 0; o < outC; o++)
                            gyArray.AsSpan(((first + i) * outC + o) * p, p).CopyTo(gyChunk.AsSpan(o * ld + i * p, p));
                    Gemm.Multiply<T>(true, false, rows, ld, outC, wAll, gyChunk, gcols, accumulate: false);   // dcols = Wᵀ · gy
                    Im2Col.Backward<T>(gcols, g, gxArray.AsSpan(first * imageSize, count * imageSize), ld, 0, count);
                }
            }
            finally
            {
                ScratchPool<T>.Return(gyChunk);
                ScratchPool<T>.Return(gcols);
            }
        });
    }

    /// <summary>2-D max pooling; padding acts as -inf. The backward routes each gradient to the input that won.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        x.EnsureFloatingPoint(nameof(MaxPool2d));
        CheckPoolPadding(nameof(MaxPool2d), kernel, padding);
        var g = Geometry(nameof(MaxPool2d), x.ShapeRef, kernel.H, kernel.W, stride, padding, dilation);
        int planes = x.ShapeRef[0] * g.Channels;
        var y = Tensor.Uninitialized([x.ShapeRef[0], g.Channels, g.OutHeight, g.OutWidth], x.DType);
        int outputs = y.Numel;
        // Which input won each window, kept for the backward pass in pooled scratch (returned when the graph is freed).
        int[] argmax = ScratchPool<int>.Rent(Math.Max(outputs, 1));
        if (x.DType == DType.Float32) MaxForward<float>(x, planes, g, y, argmax);
        else MaxForward<double>(x, planes, g, y, argmax);
        if (!Autograd.IsGradEnabled || !x.RequiresGrad)
        {
            ScratchPool<int>.Return(argmax);
            return y;
        }
        int[] shape = x.ShapeRef;
        return Autograd.Record(y, "MaxPool2dBackward", [x], gy =>
        {
            var gx = Tensor.Uninitialized(shape, gy.DType);   // every plane is cleared by the kernel
            if (gy.DType == DType.Float32) MaxBackward<float>(gy, argmax, planes, g, gx);
            else MaxBackward<double>(gy, argmax, planes, g, gx);
            return [gx];
        }, differentiableBackward: false, onRelease: () => ScratchPool<int>.Return(argmax), attributes: new Pool2dAttributes(kernel, stride, padding, dilation));
    }

    // Pooling runs plane by plane, so the planes are split over the cores; argmax holds indices within a plane.
    private static void MaxForward<T>(Tensor x, int planes, ConvGeometry g, Tensor y, int[] argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] xs = x.Array<T>(), ys = y.Array<T>();
        int hw = g.Height * g.Width, o = g.OutHeight * g.OutWidth;
        RangeWork.Run(planes, (long)planes * hw, (first, last) => Pooling.MaxForward<T>(
            xs.AsSpan(first * hw, (last - first) * hw), last - first, g, ys.AsSpan(first * o, (last - first) * o), argmax.AsSpan(first * o, (last - first) * o)));
    }

    private static void MaxBackward<T>(Tensor gy, int[] argmax, int planes, ConvGeometry g, Tensor gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] gys = gy.Array<T>(), gxs = gx.Array<T>();
        int hw = g.Height * g.Width, o = g.OutHeight * g.OutWidth;
        RangeWork.Run(planes, (long)planes * hw, (first, last) => Pooling.MaxBackward<T>(
            gys.AsSpan(first * o, (last - first) * o), argmax.AsSpan(first * o, (last - first) * o), last - first, g, gxs.AsSpan(first * hw, (last - first) * hw)));
    }

    /// <summary>2-D average pooling with zero padding counted in the divisor (PyTorch's count_include_pad=True).</summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        x.EnsureFloatingPoint(nameof(AvgPool2d));
        CheckPoolPadding(nameof(AvgPool2d), kernel, padding);
        var g = Geometry(nameof(AvgPool2d), x.ShapeRef, kernel.H, kernel.W, stride, padding, (1, 1));
        int planes = x.ShapeRef[0] * g.Channels;
        var y = Tensor.Empty([x.ShapeRef[0], g.Channels, g.OutHeight, g.OutWidth], x.DType);
        if (x.DType == DType.Float32) Pooling.Average<float>(x.Span<float>(), planes, g, y.Span<float>(), backward: false);
        else Pooling.Average<double>(x.Span<double>(), planes, g, y.Span<double>(), backward: false);
        int[] shape = x.ShapeRef;
        return Autograd.Record(y, "AvgPool2dBackward", [x], gy =>
        {
            var gx = Tensor.Empty(shape, gy.DType);
            if (gy.DType == DType.Float32) Pooling.Average<float>(gy.Span<float>(), planes, g, gx.Span<float>(), backward: true);
            else Pooling.Average<double>(gy.Span<double>(), planes, g, gx.Span<double>(), backward: true);
            return [gx];
        }, differentiableBackward: false, attributes: new Pool2dAttributes(kernel, stride, padding, (1, 1)));
    }

    private static void CheckPoolPadding(string op, (int H, int W) kernel, (int H, int W) padding)
    {
        if (kernel.H < 1 || kernel.W < 1) throw new ArgumentOutOfRangeException(nameof(kernel), $"{op}: kernel size must be at least 1, got ({kernel.H}, {kernel.W}).");
        if (padding.H * 2 > kernel.H || padding.W * 2 > kernel.W)
            throw new ArgumentException($"{op}: padding ({padding.H}, {padding.W}) must be at most half the kernel ({kernel.H}, {kernel.W}), as in PyTorch.");
    }
}
