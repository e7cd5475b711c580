namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Converts to another dtype (PyTorch: <c>to(dtype)</c>); between floating types the gradient flows back converted.
    /// Returns this tensor when the dtype already matches. Float to Int64 truncates toward zero; to Bool, non-zero (and NaN) is true.
    /// </summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        var y = Uninitialized(_shape, dtype);
        switch (Storage, y.Storage)
        {
            case (float[] s, double[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i]; break;
            case (double[] s, float[] d): for (int i = 0; i < s.Length; i++) d[i] = (float)s[i]; break;
            case (long[] s, float[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i]; break;
            case (long[] s, double[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i]; break;
            case (float[] s, long[] d): for (int i = 0; i < s.Length; i++) d[i] = (long)s[i]; break;
            case (double[] s, long[] d): for (int i = 0; i < s.Length; i++) d[i] = (long)s[i]; break;
            case (bool[] s, float[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i] ? 1 : 0; break;
            case (bool[] s, double[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i] ? 1 : 0; break;
            case (bool[] s, long[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i] ? 1 : 0; break;
            case (float[] s, bool[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i] != 0; break; // NaN is true, as in PyTorch
            case (double[] s, bool[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i] != 0; break;
            case (long[] s, bool[] d): for (int i = 0; i < s.Length; i++) d[i] = s[i] != 0; break;
        }
        if (!DType.IsFloatingPoint() || !dtype.IsFloatingPoint()) return y;
        return Autograd.ShouldRecord(this) ? RecordTo(y, this, DType) : y;
    }

    private static Tensor RecordTo(Tensor y, Tensor x, DType source) => Autograd.Record(y, "ToBackward", [x], g => [g.To(source)]);
}
