namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise logical and of two tensors of any dtype (non-zero is true), with broadcasting (PyTorch: <c>logical_and</c>).</summary>
    public Tensor LogicalAnd(Tensor other) => Logical(this, other, static (p, q) => p && q, nameof(LogicalAnd));
    /// <summary>Elementwise logical or (PyTorch: <c>logical_or</c>).</summary>
    public Tensor LogicalOr(Tensor other) => Logical(this, other, static (p, q) => p || q, nameof(LogicalOr));
    /// <summary>Elementwise logical exclusive or (PyTorch: <c>logical_xor</c>).</summary>
    public Tensor LogicalXor(Tensor other) => Logical(this, other, static (p, q) => p != q, nameof(LogicalXor));

    /// <summary>Elementwise logical not: true where the element is zero (PyTorch: <c>logical_not</c>).</summary>
    public Tensor LogicalNot()
    {
        var p = AsBools();
        var r = new bool[p.Length];
        for (int i = 0; i < r.Length; i++) r[i] = !p[i];
        return new Tensor(r, _shape, DType.Bool);
    }

    /// <summary>Elementwise: true where the element is NaN (PyTorch: <c>isnan</c>); all false for integer and Bool tensors.</summary>
    public Tensor IsNan() => Classify(double.IsNaN);

    /// <summary>Elementwise: true where the element is neither infinite nor NaN (PyTorch: <c>isfinite</c>).</summary>
    public Tensor IsFinite() => Classify(double.IsFinite);

    /// <summary>Elementwise: true where the element is +∞ or −∞ (PyTorch: <c>isinf</c>).</summary>
    public Tensor IsInf() => Classify(double.IsInfinity);

    private Tensor Classify(Func<double, bool> test)
    {
        var r = new bool[Numel];
        switch (Storage)
        {
            case float[] f: for (int i = 0; i < r.Length; i++) r[i] = test(f[i]); break;
            case double[] d: for (int i = 0; i < r.Length; i++) r[i] = test(d[i]); break;
            default: for (int i = 0; i < r.Length; i++) r[i] = test(0); break; // integers and bools are finite numbers
        }
        return new Tensor(r, _shape, DType.Bool);
    }

    /// <summary>The elements as truth values: this tensor's own array when it is Bool.</summary>
    private bool[] AsBools() => Storage as bool[] ?? ToBoolArray();

    private static Tensor Logical(Tensor a, Tensor b, Func<bool, bool, bool> f, string op)
    {
        ArgumentNullException.ThrowIfNull(b);
        int[] shape = Shapes.Broadcast(a._shape, b._shape, op);
        var p = (a.DType == DType.Bool ? a : new Tensor(a.AsBools(), a._shape, DType.Bool)).BroadcastArray<bool>(shape);
        var q = (b.DType == DType.Bool ? b : new Tensor(b.AsBools(), b._shape, DType.Bool)).BroadcastArray<bool>(shape);
        var r = new bool[p.Length];
        for (int i = 0; i < r.Length; i++) r[i] = f(p[i], q[i]);
        return new Tensor(r, shape, DType.Bool);
    }
}

