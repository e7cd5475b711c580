using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise e^x; d/dx = e^x (PyTorch: <c>exp</c>).</summary>
    public Tensor Exp()
    {
        var y = MapUnary<ExpOp>(this, nameof(Exp));
        return Autograd.ShouldRecord(this) ? RecordExp(y, this) : y;
    }

    private static Tensor RecordExp(Tensor y, Tensor x) => Autograd.Record(y, "ExpBackward", [x], g => [g * y]);

    /// <summary>Elementwise natural logarithm; d/dx = 1/x (PyTorch: <c>log</c>).</summary>
    public Tensor Log()
    {
        var y = MapUnary<LogOp>(this, nameof(Log));
        return Autograd.ShouldRecord(this) ? RecordLog(y, this) : y;
    }

    private static Tensor RecordLog(Tensor y, Tensor x) => Autograd.Record(y, "LogBackward", [x], g => [g / x]);

    /// <summary>Elementwise square root; d/dx = 1 / (2 sqrt x) (PyTorch: <c>sqrt</c>).</summary>
    public Tensor Sqrt()
    {
        var y = MapUnary<SqrtOp>(this, nameof(Sqrt));
        return Autograd.ShouldRecord(this) ? RecordSqrt(y, this) : y;
    }

    private static Tensor RecordSqrt(Tensor y, Tensor x) => Autograd.Record(y, "SqrtBackward", [x], g =>
    {
        if (Autograd.IsGradEnabled || g.Numel != y.Numel || g.DType != y.DType) return [g / (y * 2.0)];
        var r = Uninitialized(y._shape, y.DType);
        if (y.DType == DType.Float32) Fused.SqrtGrad<float>(g.Span<float>(), y.Span<float>(), r.Span<float>());
        else Fused.SqrtGrad<double>(g.Span<double>(), y.Span<double>(), r.Span<double>());
        return [r];
    });

    /// <summary>Elementwise |x|; the derivative is sign(x), taken as 0 at 0 like PyTorch (PyTorch: <c>abs</c>).</summary>
    public Tensor Abs()
    {
        var y = MapUnary<AbsOp>(this, nameof(Abs));
        return Autograd.ShouldRecord(this) ? RecordAbs(y, this) : y;
    }

    private static Tensor RecordAbs(Tensor y, Tensor x) => Autograd.Record(y, "AbsBackward", [x], g =>
    {
        if (Autograd.IsGradEnabled || g.Numel != x.Numel || g.DType != x.DType) return [g * MapUnary<SignOp>(x, nameof(Abs))];
        var r = Uninitialized(x._shape, x.DType);
        if (x.DType == DType.Float32) Fused.AbsGrad<float>(g.Span<float>(), x.Span<float>(), r.Span<float>());
        else Fused.AbsGrad<double>(g.Span<double>(), x.Span<double>(), r.Span<double>());
        return [r];
    });

    /// <summary>
    /// Elementwise clamp to [min, max] (either bound may be null); the gradient passes where min ≤ x ≤ max and is 0
    /// outside, as in PyTorch (PyTorch: <c>clamp</c>).
    /// </summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        EnsureFloatingPoint(nameof(Clamp));
        if (min is null && max is null) throw new ArgumentException("Clamp: give at least one of min and max.");
        if (min > max) throw new ArgumentException($"Clamp: min ({min}) is greater than max ({max}).");
        Tensor y = this, mask = OnesLike(this);
        if (min is double lo)
        {
            y = MapBinary<MaximumOp>(y, ScalarLike(lo), nameof(Clamp));
            mask = MapBinary<GreaterEqualOp>(this, ScalarLike(lo), nameof(Clamp));
        }
        if (max is double hi)
        {
            y = MapBinary<MinimumOp>(y, ScalarLike(hi), nameof(Clamp));
            mask = mask * MapBinary<GreaterEqualOp>(ScalarLike(hi), this, nameof(Clamp));
        }
        if (ReferenceEquals(y, this)) y = Detach();
        return Autograd.ShouldRecord(this) ? RecordClamp(y, this, mask, new ClampAttributes(min, max)) : y;
    }

    private static Tensor RecordClamp(Tensor y, Tensor x, Tensor mask, ClampAttributes bounds) =>
        Autograd.Record(y, "ClampBackward", [x], g => [g * mask], attributes: bounds);

    /// <summary>
    /// Elementwise sign: -1, 0 or 1 (PyTorch: <c>sign</c>). Its gradient is 0 wherever it exists; the backward records
    /// zeros, as PyTorch does, rather than no gradient.
    /// </summary>
    public Tensor Sign()
    {
        var y = MapUnary<SignOp>(this, nameof(Sign));
        return Autograd.Record(y, "SignBackward", [this], g => [ZerosLike(this)]);
    }

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
