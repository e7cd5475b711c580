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
    /// The arguments of the blocked 2-d kernels in <see cref="ConvOps"/> when they apply: a batched [N, C, H, W] input
    /// and no ceil mode effect (ceil mode adding no window); null otherwise. Validates the arguments either way.
    /// </summary>
    public static ((int H, int W) K, (int H, int W) S, (int H, int W) P, (int H, int W) D)? FastPath2d(string op, Tensor input, int[] kernel, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode)
    {
        var axes = SlidingAxes(op, input, 2, kernel, stride, padding, dilation, ceilMode, countIncludePad: true);
        if (input.Rank != 4) return null;
        var k = Expand(op, "kernelSize", kernel, 2, 1, 1);
        var s = stride is null || stride.Length == 0 ? k : Expand(op, "stride", stride, 2, 1, 1);
        var p = Expand(op, "padding", padding, 2, 0, 0);
        var d = Expand(op, "dilation", dilation, 2, 1, 1);
        for (int i = 0; i < 2; i++)
            if (axes[i].Out != (input.ShapeRef[2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i] + 1) return null;
        return ((k[0], k[1]), (s[0], s[1]), (p[0], p[1]), (d[0], d[1]));
    }

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
    /// Max pooling: y = max over each window (NaN wins, padding never does); the backward adds each gradient to the
    /// input that won, as a ScatterAdd of the winners' indices, so it is itself differentiable.
    /// Returns the values and the Int64 indices within each plane (PyTorch's return_indices).
    /// </summary>
    public static (Tensor Values, Tensor Indices) Max(string op, Tensor x, PoolAxis[] axes)
    {
        int dims = axes.Length, planes = Planes(x, dims);
        var shape = OutShape(x, axes);
        var y = Tensor.Uninitialized(shape, x.DType);
        var idx = Tensor.Uninitialized(shape, DType.Int64);
        DTypeDispatch.Float(x.DType, new MaxKernel(x, y, idx, Lift(axes), planes), op);
        if (!Autograd.ShouldRecord(x)) return (y, idx);
        int inPlane = x.Numel / Math.Max(planes, 1), outPlane = y.Numel / Math.Max(planes, 1);
        int[] xShape = x.ShapeRef;
        var flatIdx = idx.Reshape(planes, outPlane);
        var yr = Autograd.Record(y, op + "Backward", [x], g =>
            [Tensor.Zeros([planes, inPlane], g.DType).ScatterAdd(1, flatIdx, g.Reshape(planes, outPlane)).Reshape(xShape)],
            attributes: new PoolAttributes(axes, null));
        return (yr, idx);
    }

    /// <summary>
    /// Average pooling: y = Σ window / divisor, the divisor being <paramref name="divisorOverride"/> when given, else
    /// the product of the axes' divisor factors. The backward spreads g / divisor back over each window.
    /// </summary>
    public static Tensor Average(string op, Tensor x, PoolAxis[] axes, int? divisorOverride)
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
        }, differentiableBackward: false, attributes: new PoolAttributes(axes, divisorOverride));
    }

    private readonly struct MaxKernel(Tensor x, Tensor y, Tensor idx, PoolAxis[] a, int planes) : IFloatKernel
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] xs = x.Array<T>(), ys = y.Array<T>();
            long[] ids = idx.Array<long>();
            PoolAxis ad = a[0], ah = a[1], aw = a[2];
            int inPlane = ad.In * ah.In * aw.In, outPlane = ad.Out * ah.Out * aw.Out;
            RangeWork.Run(planes, (long)planes * inPlane, (first, last) =>
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
                                ids[o] = Math.Max(bi, 0);
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
