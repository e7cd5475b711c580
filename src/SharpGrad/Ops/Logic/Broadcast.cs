namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// This tensor's elements laid out in <paramref name="shape"/> (a shape it broadcasts to), as a plain array: its
    /// own storage when the shape is already its own, else a materialised copy. For the ops of every dtype (masks,
    /// selections) whose kernels walk their operands element by element.
    /// </summary>
    internal T[] BroadcastArray<T>(int[] shape) where T : unmanaged
    {
        var src = (T[])Storage;
        if (Shapes.Equal(_shape, shape)) return src;
        int n = Shapes.Numel(shape), rank = shape.Length;
        var dst = new T[n];
        if (n == 0) return dst;
        if (src.Length == 1) { dst.AsSpan().Fill(src[0]); return dst; }
        // Source stride per output dimension: 0 where the source has size 1 (or lacks the dimension).
        var stride = new int[rank];
        for (int d = rank - 1, s = 1, k = _shape.Length - 1; d >= 0; d--, k--)
        {
            if (k >= 0 && _shape[k] != 1) { stride[d] = s; s *= _shape[k]; }
        }
        var index = new int[rank];
        int offset = 0;
        for (int i = 0; i < n; i++)
        {
            dst[i] = src[offset];
            for (int d = rank - 1; d >= 0; d--)
            {
                offset += stride[d];
                if (++index[d] < shape[d]) break;
                offset -= stride[d] * shape[d];
                index[d] = 0;
            }
        }
        return dst;
    }
}
