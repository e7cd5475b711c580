using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>
/// The windows of one spatial dimension of a pooling op: output position o reads the input positions
/// <c>Start[o] + j·Dilation</c> for j &lt; <c>Length[o]</c> that fall inside [0, In); <c>Divisor[o]</c> is this
/// dimension's factor of the average's divisor. Regular, ceil-mode and adaptive pooling differ only in these tables.
/// </summary>
internal sealed class PoolAxis
{
    public required int In { get; init; }
    public required int[] Start { get; init; }
    public required int[] Length { get; init; }
    public int Dilation { get; init; } = 1;
    public required int[] Divisor { get; init; }
    public int Out => Start.Length;

    /// <summary>A dimension that pooling leaves alone (used to lift 1-d and 2-d pooling to the 3-d kernels).</summary>
    public static readonly PoolAxis Trivial = new() { In = 1, Start = [0], Length = [1], Divisor = [1] };

    /// <summary>
    /// PyTorch's sliding windows: out = ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1 (⌈·⌉ in ceil mode, then one fewer if the last
    /// window would start past the input and the left padding). The divisor counts padded positions up to in + p when
    /// <paramref name="countIncludePad"/>, else only the positions inside the input.
    /// </summary>
    public static PoolAxis Sliding(string op, int axis, int input, int k, int s, int p, int d, bool ceilMode, bool countIncludePad)
    {
        long span = (long)input + 2 * p - (long)d * (k - 1) - 1;
        if (span < 0)
            throw new ArgumentException($"{op}: spatial dimension {axis} of size {input} padded by {p} is smaller than the dilated kernel {(long)d * (k - 1) + 1} (kernel {k}, dilation {d}); the output would be empty.");
        long outN = (ceilMode ? (span + s - 1) / s : span / s) + 1;
        if (ceilMode && (outN - 1) * s >= input + p) outN--;
        int n = checked((int)outN);
        var start = new int[n];
        var length = new int[n];
        var div = new int[n];
        for (int o = 0; o < n; o++)
        {
            int st = o * s - p;
            start[o] = st;
            length[o] = k;
            if (countIncludePad) div[o] = Math.Min(st + k, input + p) - st;   // PyTorch's pool size (no dilation for averages)
            else div[o] = Math.Min(st + k, input) - Math.Max(st, 0);
        }
        return new PoolAxis { In = input, Start = start, Length = length, Dilation = d, Divisor = div };
    }

    /// <summary>Adaptive windows (PyTorch): output o covers [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉).</summary>
    public static PoolAxis Adaptive(int input, int output)
    {
        var start = new int[output];
        var length = new int[output];
        for (int o = 0; o < output; o++)
        {
            int st = (int)((long)o * input / output);
            int end = (int)(((long)(o + 1) * input + output - 1) / output);
            start[o] = st;
            length[o] = end - st;
        }
        return new PoolAxis { In = input, Start = start, Length = length, Divisor = (int[])length.Clone() };
    }
}

/// <summary>Pooling over up to three spatial dimensions of [N, C, *spatial] by window tables (<see cref="PoolAxis"/>).</summary>
internal static class PoolCore
{
    /// <summary>Validates an int-or-per-dimension argument and expands it to one value per spatial dimension.</summary>
    public static int[] Expand(string op, string name, int[]? values, int dims, int fallback, int min)
    {
        int[] v = values is null || values.Length == 0 ? Enumerable.Repeat(fallback, dims).ToArray()
            : values.Length == 1 ? Enumerable.Repeat(values[0], dims).ToArray()
            : values.Length == dims ? (int[])values.Clone()
            : throw new ArgumentException($"{op}: {name} needs one value or {dims} (one per spatial dimension), got {values.Length}: {Shapes.Format(values)}.", name);
        foreach (int x in v)
            if (x < min) throw new ArgumentOutOfRangeException(name, $"{op}: {name} must be at least {min}, got {Shapes.Format(v)}.");
        return v;
    }

    /// <summary>Checks the input is [N, C, *spatial] or unbatched [C, *spatial] with <paramref name="dims"/> spatial dimensions.</summary>
    public static void CheckInput(string op, Tensor x, int dims)
    {
        ArgumentNullException.ThrowIfNull(x);
        x.EnsureFloatingPoint(op);
        if (x.Rank != dims + 2 && x.Rank != dims + 1)
            throw new ArgumentException($"{op}: expected an input of shape [N, C, {SpatialNames(dims)}] or [C, {SpatialNames(dims)}], got {Shapes.Format(x.ShapeRef)}.", nameof(x));
    }

    private static string SpatialNames(int dims) => dims switch { 1 => "L", 2 => "H, W", _ => "D, H, W" };

    /// <summary>The sliding-window axes of a regular pooling op, after PyTorch's checks on its arguments.</summary>
    public static PoolAxis[] SlidingAxes(string op, Tensor x, int dims, int[] kernel, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode, bool countIncludePad)
    {
        CheckInput(op, x, dims);
        var k = Expand(op, "kernelSize", kernel, dims, 1, 1);
        var s = stride is null || stride.Length == 0 ? k : Expand(op, "stride", stride, dims, 1, 1);
        var p = Expand(op, "padding", padding, dims, 0, 0);
        var d = Expand(op, "dilation", dilation, dims, 1, 1);
        for (int i = 0; i < dims; i++)
            if (2 * p[i] > k[i])
                throw new ArgumentException($"{op}: padding {Shapes.Format(p)} must be at most half the kernel {Shapes.Format(k)}, as in PyTorch.", nameof(padding));
        var axes = new PoolAxis[dims];
        int first = x.Rank - dims;
        for (int i = 0; i < dims; i++)
            axes[i] = PoolAxis.Sliding(op, i, x.ShapeRef[first + i], k[i], s[i], p[i], d[i], ceilMode, countIncludePad);
        return axes;
    }

    /// <summary>
    /// The geometry for the blocked 2-d max kernel (<see cref="Pooling.MaxForward"/>) when it covers the case: a batched
    /// [N, C, H, W] input whose windows all start inside the usual floor-mode range (ceil mode adding no window); null
    /// otherwise (an unbatched input takes the window tables, which keeps both kernels under the same tests).
    /// </summary>
    public static ConvGeometry? Blocked2d(string op, Tensor x, PoolAxis[] axes, int[] kernel, int[]? stride, int[]? padding, int[]? dilation)
    {
        if (axes.Length != 2 || x.Rank != 4) return null;
        var k = Expand(op, "kernelSize", kernel, 2, 1, 1);
        var s = stride is null || stride.Length == 0 ? k : Expand(op, "stride", stride, 2, 1, 1);
        var p = Expand(op, "padding", padding, 2, 0, 0);
        var d = Expand(op, "dilation", dilation, 2, 1, 1);
        var g = new ConvGeometry(1, axes[0].In, axes[1].In, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]);
        return g.OutHeight == axes[0].Out && g.OutWidth == axes[1].Out ? g : null;
    }

    /// <summary>
    /// The ONNX exporter's description of a 2-d pooling op (<see cref="Pool2dAttributes"/>), when the op is one ONNX's
    /// MaxPool/AveragePool with those attributes computes, i.e. when <see cref="Blocked2d"/> gave a geometry; null otherwise.
    /// </summary>
    public static Pool2dAttributes? Attributes2d(ConvGeometry? g) =>
        g is { } v ? new Pool2dAttributes((v.KernelH, v.KernelW), (v.StrideH, v.StrideW), (v.PadH, v.PadW), (v.DilationH, v.DilationW)) : null;

    /// <summary>Output shape: the input's leading dimensions, then each axis's output size.</summary>
    private static int[] OutShape(Tensor x, PoolAxis[] axes)
    {
        var shape = (int[])x.ShapeRef.Clone();
        for (int i = 0; i < axes.Length; i++) shape[x.Rank - axes.Length + i] = axes[i].Out;
        return shape;
    }

    private static PoolAxis[] Lift(PoolAxis[] axes) => axes.Length switch
    {
        1 => [PoolAxis.Trivial, PoolAxis.Trivial, axes[0]],
        2 => [PoolAxis.Trivial, axes[0], axes[1]],
        _ => axes,
    };

    private static int Planes(Tensor x, int dims)
    {
        int planes = 1;
        for (int i = 0; i < x.Rank - dims; i++) planes *= x.ShapeRef[i];
        return planes;
    }

    /// <summary>
    /// Max pooling: y = max over each window (NaN wins, padding never does). The forward is the blocked 2-d kernel when
    /// <paramref name="blocked"/> is given, the window-table kernel otherwise; either keeps, per output, the index within
    /// its plane of the input that won, and the one backward adds each gradient there. That backward is a fused
    /// first-order kernel (it is what the CNN epoch row spends its pooling time on), so double backward is refused.
    /// </summary>
    public static Tensor Max(string op, Tensor x, PoolAxis[] axes, ConvGeometry? blocked = null, object? attributes = null)
    {
        int dims = axes.Length, planes = Planes(x, dims);
        var y = Tensor.Uninitialized(OutShape(x, axes), x.DType);
        int inPlane = x.Numel / Math.Max(planes, 1), outPlane = y.Numel / Math.Max(planes, 1);
        // Which input won each window, kept for the backward in pooled scratch (returned when the graph is freed). A
        // compiled step's plan keeps its own array instead: its replays write and read it long after the graph is gone.
        bool planOwned = Capture.Active is not null;
        int[] argmax = planOwned ? new int[Math.Max(y.Numel, 1)] : ScratchPool<int>.Rent(Math.Max(y.Numel, 1));
        if (blocked is { } g) DTypeDispatch.Float(x.DType, new MaxBlockedKernel(x, y, argmax, planes, g, new RangeWorkCache()), op);
        else DTypeDispatch.Float(x.DType, new MaxKernel(x, y, argmax, Lift(axes), planes, new RangeWorkCache()), op);
        if (!Autograd.ShouldRecord(x))
        {
            if (!planOwned) ScratchPool<int>.Return(argmax);
            return y;
        }
        int[] xShape = x.ShapeRef;
        return Autograd.Record(y, op + "Backward", [x], gy =>
        {
            var gx = Tensor.Uninitialized(xShape, gy.DType);   // every plane is cleared by the kernel
            if (blocked is { } b && Pooling.IsTwoByTwo(b))
                DTypeDispatch.Float(gy.DType, new MaxBackward2x2Kernel(gy, argmax, planes, b.Height, b.Width, gx, new RangeWorkCache()), op);
            else DTypeDispatch.Float(gy.DType, new MaxBackwardKernel(gy, argmax, planes, inPlane, outPlane, gx, new RangeWorkCache()), op);
            return [gx];
        }, differentiableBackward: false, onRelease: planOwned ? null : () => ScratchPool<int>.Return(argmax), attributes: attributes ?? new PoolAttributes(axes, null));
    }

    /// <summary>
    /// Average pooling: y = Σ window / divisor, the divisor being <paramref name="divisorOverride"/> when given, else
    /// the product of the axes' divisor factors. The backward spreads g / divisor back over each window.
    /// </summary>
    public static Tensor Average(string op, Tensor x, PoolAxis[] axes, int? divisorOverride, object? attributes = null)
    {
        if (divisorOverride is int dv && dv == 0)
            throw new ArgumentOutOfRangeException(nameof(divisorOverride), $"{op}: divisorOverride must not be zero.");
        int dims = axes.Length, planes = Planes(x, dims);
        var lifted = Lift(axes);
        var y = Tensor.Uninitialized(OutShape(x, axes), x.DType);
        DTypeDispatch.Float(x.DType, new AvgKernel(x, y, lifted, planes, divisorOverride, backward: false), op);
        if (!Autograd.ShouldRecord(x)) return y;
        int[] xShape = x.ShapeRef;
        return Autograd.Record(y, op + "Backward", [x], g =>
        {
            var gx = Tensor.Uninitialized(xShape, g.DType);
            DTypeDispatch.Float(g.DType, new AvgKernel(g, gx, lifted, planes, divisorOverride, backward: true), op);
            return [gx];
        }, differentiableBackward: false, attributes: attributes ?? new PoolAttributes(axes, divisorOverride));
    }

    // The kernels below are recorded by a compiled step as they are; each makes its parallel work once (in work), so
    // that a replay allocates nothing.
    private readonly struct MaxBlockedKernel(Tensor x, Tensor y, int[] argmax, int planes, ConvGeometry g, RangeWorkCache work) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(x);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            work.First ??= Make<T>(x.Array<T>(), y.Array<T>(), argmax, planes, g);
            RangeWork.Run(work.First, (long)planes * g.Height * g.Width);
        }

        private static RangeWork Make<T>(T[] xs, T[] ys, int[] am, int planes, ConvGeometry geo) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int hw = geo.Height * geo.Width, o = geo.OutHeight * geo.OutWidth;
            return new RangeWork(planes, (first, last) => Pooling.MaxForward<T>(
                xs.AsSpan(first * hw, (last - first) * hw), last - first, geo, ys.AsSpan(first * o, (last - first) * o), am.AsSpan(first * o, (last - first) * o)));
        }
    }

    // The planes are split over the cores; each thread clears and fills its own planes of gx.
    private readonly struct MaxBackwardKernel(Tensor gy, int[] argmax, int planes, int inPlane, int outPlane, Tensor gx, RangeWorkCache work) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(gy);
            capture.Writes(gx);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            work.First ??= Make<T>(gy.Array<T>(), argmax, inPlane, outPlane, gx.Array<T>(), planes);
            RangeWork.Run(work.First, (long)planes * inPlane);
        }

        private static RangeWork Make<T>(T[] gys, int[] am, int i, int o, T[] gxs, int planes) where T : unmanaged, IFloatingPointIeee754<T> =>
            new(planes, (first, last) => Pooling.MaxBackward<T>(
                gys.AsSpan(first * o, (last - first) * o), am.AsSpan(first * o, (last - first) * o), last - first, i, o, gxs.AsSpan(first * i, (last - first) * i)));
    }

    // Non-overlapping 2x2 windows: each thread writes its own planes of gx whole (no clearing pass).
    private readonly struct MaxBackward2x2Kernel(Tensor gy, int[] argmax, int planes, int h, int w, Tensor gx, RangeWorkCache work) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(gy);
            capture.Writes(gx);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            work.First ??= Make<T>(gy.Array<T>(), argmax, h, w, gx.Array<T>(), planes);
            RangeWork.Run(work.First, (long)planes * h * w);
        }

        private static RangeWork Make<T>(T[] gys, int[] am, int h, int w, T[] gxs, int planes) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = h * w, o = h / 2 * (w / 2);
            return new(planes, (first, last) => Pooling.MaxBackward2x2<T>(
                gys.AsSpan(first * o, (last - first) * o), am.AsSpan(first * o, (last - first) * o), last - first, h, w, gxs.AsSpan(first * i, (last - first) * i)));
        }
    }

    private readonly struct MaxKernel(Tensor x, Tensor y, int[] argmax, PoolAxis[] a, int planes, RangeWorkCache work) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(x);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            work.First ??= Make<T>(x.Array<T>(), y.Array<T>(), argmax, a, planes);
            RangeWork.Run(work.First, (long)planes * a[0].In * a[1].In * a[2].In);
        }

        private static RangeWork Make<T>(T[] xs, T[] ys, int[] ids, PoolAxis[] a, int planes) where T : unmanaged, IFloatingPointIeee754<T>
        {
            PoolAxis ad = a[0], ah = a[1], aw = a[2];
            int inPlane = ad.In * ah.In * aw.In, outPlane = ad.Out * ah.Out * aw.Out;
            return new RangeWork(planes, (first, last) =>
            {
                for (int p = first; p < last; p++)
                {
                    int xo = p * inPlane, o = p * outPlane;
                    for (int od = 0; od < ad.Out; od++)
                        for (int oh = 0; oh < ah.Out; oh++)
                            for (int ow = 0; ow < aw.Out; ow++, o++)
                            {
                                T best = T.NegativeInfinity;
                                int bi = -1;
                                for (int jd = 0; jd < ad.Length[od]; jd++)
                                {
                                    int id = ad.Start[od] + jd * ad.Dilation;
                                    if ((uint)id >= (uint)ad.In) continue;
                                    for (int jh = 0; jh < ah.Length[oh]; jh++)
                                    {
                                        int ih = ah.Start[oh] + jh * ah.Dilation;
                                        if ((uint)ih >= (uint)ah.In) continue;
                                        int row = (id * ah.In + ih) * aw.In;
                                        for (int jw = 0; jw < aw.Length[ow]; jw++)
                                        {
                                            int iw = aw.Start[ow] + jw * aw.Dilation;
                                            if ((uint)iw >= (uint)aw.In) continue;
                                            T v = xs[xo + row + iw];
                                            if (bi < 0 || v > best || T.IsNaN(v)) { best = v; bi = row + iw; if (T.IsNaN(v)) goto done; }
                                        }
                                    }
                                }
                            done:
                                ys[o] = best;
                                ids[o] = bi;
                            }
                }
            });
        }
    }

    // Forward: dst[o] = Σ src[window(o)] / div(o). Backward (src = g over outputs, dst = gx over inputs): dst[i] = Σ over
    // windows holding i of src[o] / div(o).
    private readonly struct AvgKernel(Tensor src, Tensor dst, PoolAxis[] a, int planes, int? divisorOverride, bool backward) : IFloatKernel
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] ss = src.Array<T>(), ds = dst.Array<T>();
            PoolAxis ad = a[0], ah = a[1], aw = a[2];
            int inPlane = ad.In * ah.In * aw.In, outPlane = ad.Out * ah.Out * aw.Out;
            int? over = divisorOverride;
            bool back = backward;
            if (back) Array.Clear(ds);
            RangeWork.Run(planes, (long)planes * inPlane, (first, last) =>
            {
                for (int p = first; p < last; p++)
                {
                    int xo = p * inPlane, o = p * outPlane;
                    for (int od = 0; od < ad.Out; od++)
                        for (int oh = 0; oh < ah.Out; oh++)
                            for (int ow = 0; ow < aw.Out; ow++, o++)
                            {
                                int div = over ?? ad.Divisor[od] * ah.Divisor[oh] * aw.Divisor[ow];
                                T sum = T.Zero, share = back ? ss[o] / T.CreateChecked(div) : T.Zero;
                                for (int jd = 0; jd < ad.Length[od]; jd++)
                                {
                                    int id = ad.Start[od] + jd;
                                    if ((uint)id >= (uint)ad.In) continue;
                                    for (int jh = 0; jh < ah.Length[oh]; jh++)
                                    {
                                        int ih = ah.Start[oh] + jh;
                                        if ((uint)ih >= (uint)ah.In) continue;
                                        int row = xo + (id * ah.In + ih) * aw.In;
                                        for (int jw = 0; jw < aw.Length[ow]; jw++)
                                        {
                                            int iw = aw.Start[ow] + jw;
                                            if ((uint)iw >= (uint)aw.In) continue;
                                            if (back) ds[row + iw] += share;
                                            else sum += ss[row + iw];
                                        }
                                    }
                                }
                                if (!back) ds[o] = sum / T.CreateChecked(div);
                            }
                }
            });
        }
    }
}

internal static class PoolCoreAdaptive
{
    /// <summary>The adaptive axes of an input with <paramref name="dims"/> spatial dimensions for the requested output size.</summary>
    public static PoolAxis[] Axes(string op, Tensor input, int dims, int[] outputSize)
    {
        ArgumentNullException.ThrowIfNull(outputSize);
        PoolCore.CheckInput(op, input, dims);
        var o = PoolCore.Expand(op, "outputSize", outputSize, dims, 1, 1);
        var axes = new PoolAxis[dims];
        for (int i = 0; i < dims; i++)
        {
            int n = input.ShapeRef[input.Rank - dims + i];
            if (n < 1)
                throw new ArgumentException($"{op}: spatial dimension {i} of the input {Shapes.Format(input.ShapeRef)} is empty.", nameof(input));
            axes[i] = PoolAxis.Adaptive(n, o[i]);
        }
        return axes;
    }
}
