namespace SharpGrad.Kernels;

/// <summary>Block copies shared by the shape ops that cut a tensor into rows along one dimension and put them back.</summary>
internal static class Layout
{
    /// <summary>
    /// Copies the (outer, size, inner) block x into rows [start, start + size) of the (outer, total, inner) block y
    /// (the forward of Concat and the backward of Narrow).
    /// </summary>
    public static void Place<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> y, int total, int start) where T : unmanaged
    {
        int run = size * inner;
        for (int o = 0; o < outer; o++)
            x.Slice(o * run, run).CopyTo(y.Slice((o * total + start) * inner, run));
    }

    /// <summary>Copies rows [start, start + size) of the (outer, total, inner) block x into y (the forward of Narrow).</summary>
    public static void Slice<T>(ReadOnlySpan<T> x, int outer, int total, int inner, int start, int size, Span<T> y) where T : unmanaged
    {
        int run = size * inner;
        for (int o = 0; o < outer; o++)
            x.Slice((o * total + start) * inner, run).CopyTo(y.Slice(o * run, run));
    }
}
