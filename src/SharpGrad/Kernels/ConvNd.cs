using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>
/// Geometry of a grouped 1-, 2- or 3-d convolution over a batch: input [N, InC, D, H, W], weight
/// [OutC, InC / Groups, KD, KH, KW], output [N, OutC, OD, OH, OW]. Fewer spatial dims are the same thing with unit
/// leading sizes (a 1-d convolution is a 2-d one of height 1, a 2-d one a 3-d one of depth 1), so the three share one
/// lowering onto the 2-d implicit GEMM (<see cref="ConvNd"/>).
/// </summary>
internal readonly record struct ConvSpec(int Batch, int InC, int OutC, int Groups,
    int D, int H, int W, int KD, int KH, int KW, int SD, int SH, int SW, int PD, int PH, int PW, int DD, int DH, int DW)
{
    public int OD => (D + 2 * PD - DD * (KD - 1) - 1) / SD + 1;
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
    /// <summary>Input channels of one group.</summary>
    public int GroupIn => InC / Groups;
    /// <summary>Output channels of one group.</summary>
    public int GroupOut => OutC / Groups;

    /// <summary>
    /// The 2-d problem one group and one output depth reduce to: the depth taps become channels ((channel, kd) pairs,
    /// which is also how the weight [Og, Cg, KD, KH, KW] lies in memory), so the 2-d kernels run unchanged.
    /// </summary>
    public ConvGeometry Plane => new(GroupIn * KD, H, W, KH, KW, SH, SW, PH, PW, DH, DW);

    /// <summary>Whether the tensors already have the layout of the 2-d problem: one group and no depth.</summary>
    public bool Direct => Groups == 1 && D == 1 && KD == 1 && OD == 1;
}

/// <summary>
/// Grouped N-d convolution (and, through the adjoint products, transposed convolution) lowered onto the 2-d kernels of
/// <see cref="ImplicitConv"/>: each group (and for 3-d each output depth, as extra images) becomes a 2-d problem over a
/// gathered copy of its channels and depth taps; with one group and no depth the tensors are used in place, so an
/// ordinary 2-d convolution runs exactly as before. Results do not depend on the thread count (the 2-d kernels' rule).
/// </summary>
internal static unsafe class ConvNd
{
    /// <summary><c>y = conv(x, w) (+ bias)</c>, overwriting <paramref name="y"/>.</summary>
    public static void Forward<T>(in ConvSpec s, T[] x, T[] w, T[]? bias, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = s.Plane;
        int og = s.GroupOut, count = s.Batch * s.OD, wGroup = og * g.ColumnRows;
        if (s.Direct)
        {
            fixed (T* px = x, pw = w, pb = bias, py = y)
                ImplicitConv.Forward(px, count, g, pw, og, bias is null ? null : pb, py, Gemm.MaxThreads);
            return;
        }
        T[] xcol = ScratchPool<T>.Rent(count * g.Channels * g.Height * g.Width);
        T[] ycol = ScratchPool<T>.Rent(count * og * g.ColumnCols);
        try
        {
            for (int grp = 0; grp < s.Groups; grp++)
            {
                GatherInput(s, x, grp, xcol);
                fixed (T* px = xcol, pw = w, pb = bias, py = ycol)
                    ImplicitConv.Forward(px, count, g, pw + grp * wGroup, og, bias is null ? null : pb + grp * og, py, Gemm.MaxThreads);
                MoveOutput(s, ycol, grp, y, toTensor: true);
            }
        }
        finally
        {
            ScratchPool<T>.Return(xcol);
            ScratchPool<T>.Return(ycol);
        }
    }

    /// <summary><c>gW = Σ gy ⋆ x</c> (the weight gradient), overwriting <paramref name="gw"/> (an array, or other memory a compiled step writes it to).</summary>
    public static void WeightGradient<T>(in ConvSpec s, T[] x, T[] gy, Span<T> gw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = s.Plane;
        int og = s.GroupOut, count = s.Batch * s.OD, wGroup = og * g.ColumnRows;
        if (s.Direct)
        {
            fixed (T* px = x, pgy = gy, pgw = gw)
                ImplicitConv.WeightGradient(px, pgy, count, g, og, pgw, Gemm.MaxThreads);
            return;
        }
        T[] xcol = ScratchPool<T>.Rent(count * g.Channels * g.Height * g.Width);
        T[] gycol = ScratchPool<T>.Rent(count * og * g.ColumnCols);
        try
        {
            for (int grp = 0; grp < s.Groups; grp++)
            {
                GatherInput(s, x, grp, xcol);
                MoveOutput(s, gycol, grp, gy, toTensor: false);
                fixed (T* px = xcol, pgy = gycol, pgw = gw)
                    ImplicitConv.WeightGradient(px, pgy, count, g, og, pgw + grp * wGroup, Gemm.MaxThreads);
            }
        }
        finally
        {
            ScratchPool<T>.Return(xcol);
            ScratchPool<T>.Return(gycol);
        }
    }

    /// <summary>
    /// <c>gx = convᵀ(gy, w)</c>, the adjoint of <see cref="Forward{T}"/> in its input (also the forward of a transposed
    /// convolution), overwriting <paramref name="gx"/>.
    /// </summary>
    public static void InputGradient<T>(in ConvSpec s, T[] gy, T[] w, T[] gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = s.Plane;
        int og = s.GroupOut, count = s.Batch * s.OD, wGroup = og * g.ColumnRows;
        int imageSize = g.Channels * g.Height * g.Width;
        if (s.Direct)
        {
            InputGradient2d(g, gy, 0, count, w, 0, og, gx, 0);
            return;
        }
        T[] gycol = ScratchPool<T>.Rent(count * og * g.ColumnCols);
        T[] gxcol = ScratchPool<T>.Rent(count * imageSize);
        try
        {
            Array.Clear(gx, 0, s.Batch * s.InC * s.D * s.H * s.W);
            for (int grp = 0; grp < s.Groups; grp++)
            {
                MoveOutput(s, gycol, grp, gy, toTensor: false);
                InputGradient2d(g, gycol, 0, count, w, grp * wGroup, og, gxcol, 0);
                ScatterInput(s, gxcol, grp, gx);
            }
        }
        finally
        {
            ScratchPool<T>.Return(gycol);
            ScratchPool<T>.Return(gxcol);
        }
    }

    /// <summary>
    /// Bias gradient: gb[o] = Σ over the batch and the output positions of gy[n, o, ·]: each image's sums over its
    /// positions, then those summed over the batch as <see cref="Reduce.Rows{T, TOp}"/>'s interleaved tree (so a batch
    /// gives bit for bit the sum of what its even- and odd-positioned halves give alone).
    /// </summary>
    public static void BiasGradient<T>(ReadOnlySpan<T> gy, int batch, int channels, int positions, Span<T> gb) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (batch == 0 || channels == 0) { gb.Clear(); return; }
        T[] sums = ScratchPool<T>.Rent(batch * channels);
        try
        {
            for (int i = 0; i < batch * channels; i++) sums[i] = TensorPrimitives.Sum(gy.Slice(i * positions, positions));
            fixed (T* ps = sums, pb = gb) Reduce.Rows<T, Tensor.SumOp>(ps, batch, channels, pb);
        }
        finally
        {
            ScratchPool<T>.Return(sums);
        }
    }

    /// <summary>Adds bias[o] to every position of channel o (a transposed convolution's bias).</summary>
    public static void AddBias<T>(Span<T> y, int batch, int channels, int positions, ReadOnlySpan<T> bias) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < channels; o++)
            {
                var plane = y.Slice((i * channels + o) * positions, positions);
                TensorPrimitives.Add(plane, bias[o], plane);
            }
    }

    /// <summary>
    /// The 2-d input gradient of <paramref name="count"/> images, written into <paramref name="gx"/> from
    /// <paramref name="gxOffset"/>: as a forward convolution of its own when that applies and pays
    /// (<see cref="ImplicitConv.InputGradientSupported"/>), else as dcols = Wᵀ · gy, each tile scattered back at once
    /// (<see cref="ImplicitConv.InputGradientScatter{T}"/>).
    /// </summary>
    private static void InputGradient2d<T>(in ConvGeometry g, T[] gy, int gyOffset, int count, T[] w, int wOffset, int outC, T[] gx, int gxOffset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int imageSize = g.Channels * g.Height * g.Width;
        if (ImplicitConv.InputGradientSupported(g))
        {
            fixed (T* pgy = gy, pw = w, pgx = gx)
                ImplicitConv.InputGradient(pgy + gyOffset, count, g, pw + wOffset, outC, pgx + gxOffset, Gemm.MaxThreads);
            return;
        }
        fixed (T* pgy = gy, pw = w, pgx = gx)
            ImplicitConv.InputGradientScatter(pgy + gyOffset, count, g, pw + wOffset, outC, pgx + gxOffset, Gemm.MaxThreads);
    }

    /// <summary>
    /// The input of group <paramref name="grp"/> as the images of its 2-d problem: image (n, z) holds, for each channel c
    /// of the group and depth tap kd, the input plane at depth z·SD − PD + kd·DD (zeros outside the input).
    /// </summary>
    private static void GatherInput<T>(in ConvSpec s, T[] x, int grp, T[] xcol) where T : unmanaged
    {
        int hw = s.H * s.W, od = s.OD, cg = s.GroupIn;
        for (int n = 0; n < s.Batch; n++)
            for (int z = 0; z < od; z++)
            {
                int dst = (n * od + z) * cg * s.KD * hw;
                for (int c = 0; c < cg; c++)
                    for (int kd = 0; kd < s.KD; kd++, dst += hw)
                    {
                        int iz = z * s.SD - s.PD + kd * s.DD;
                        if ((uint)iz >= (uint)s.D) xcol.AsSpan(dst, hw).Clear();
                        else x.AsSpan(((n * s.InC + grp * cg + c) * s.D + iz) * hw, hw).CopyTo(xcol.AsSpan(dst, hw));
                    }
            }
    }

    /// <summary>Adds the 2-d input gradient of group <paramref name="grp"/> back into the tensor's layout (the adjoint of <see cref="GatherInput{T}"/>).</summary>
    private static void ScatterInput<T>(in ConvSpec s, T[] gxcol, int grp, T[] gx) where T : unmanaged, INumber<T>
    {
        int hw = s.H * s.W, od = s.OD, cg = s.GroupIn;
        for (int n = 0; n < s.Batch; n++)
            for (int z = 0; z < od; z++)
            {
                int src = (n * od + z) * cg * s.KD * hw;
                for (int c = 0; c < cg; c++)
                    for (int kd = 0; kd < s.KD; kd++, src += hw)
                    {
                        int iz = z * s.SD - s.PD + kd * s.DD;
                        if ((uint)iz >= (uint)s.D) continue;
                        var dst = gx.AsSpan(((n * s.InC + grp * cg + c) * s.D + iz) * hw, hw);
                        TensorPrimitives.Add(dst, gxcol.AsSpan(src, hw), dst);
                    }
            }
    }

    /// <summary>
    /// Moves group <paramref name="grp"/>'s output channels between the tensor layout [N, OutC, OD, OH·OW] and the 2-d
    /// problem's [N·OD, Og, OH·OW] (to the tensor when <paramref name="toTensor"/>, else from it).
    /// </summary>
    private static void MoveOutput<T>(in ConvSpec s, T[] col, int grp, T[] tensor, bool toTensor) where T : unmanaged
    {
        int p = s.OH * s.OW, od = s.OD, og = s.GroupOut;
        for (int n = 0; n < s.Batch; n++)
            for (int z = 0; z < od; z++)
                for (int o = 0; o < og; o++)
                {
                    var a = col.AsSpan(((n * od + z) * og + o) * p, p);
                    var b = tensor.AsSpan(((n * s.OutC + grp * og + o) * od + z) * p, p);
                    if (toTensor) a.CopyTo(b);
                    else b.CopyTo(a);
                }
    }
}
