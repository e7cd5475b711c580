using System.Runtime.CompilerServices;
using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

// Each op computes its result with one kernel and records a backward closure only when the result is to be recorded
// (Autograd.ShouldRecord), so an unrecorded call allocates no closure. The backward closures skip the gradient of an
// input that does not require one, and where the rule takes several ops they run it as one fused kernel when the pass
// is first-order (Autograd.IsGradEnabled is false inside the closure); with createGraph they build the same rule from
// recorded ops, so that it can be differentiated again.
public sealed partial class Tensor
{
    /// <summary>Elementwise <c>a + b</c> with NumPy broadcasting (PyTorch: <c>torch.add</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Add(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Add));
        var y = MapBinary<AddOp>(a, b, nameof(Add));
        return Autograd.ShouldRecord(a, b) ? RecordAdd(y, a, b) : y;
    }

    private static Tensor RecordAdd(Tensor y, Tensor a, Tensor b) => Autograd.Record(y, "AddBackward", [a, b], g => [g, g]);

    /// <summary>Elementwise <c>a - b</c> with broadcasting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Sub(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Sub));
        var y = MapBinary<SubtractOp>(a, b, nameof(Sub));
        return Autograd.ShouldRecord(a, b) ? RecordSub(y, a, b) : y;
    }

    private static Tensor RecordSub(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "SubBackward", [a, b], g => [g, b.RequiresGrad ? -g : null]);

    /// <summary>Elementwise <c>a * b</c> with broadcasting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Mul(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Mul));
        var y = MapBinary<MultiplyOp>(a, b, nameof(Mul));
        return Autograd.ShouldRecord(a, b) ? RecordMul(y, a, b) : y;
    }

    private static Tensor RecordMul(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "MulBackward", [a, b], g => [a.RequiresGrad ? g * b : null, b.RequiresGrad ? g * a : null]);

    /// <summary>Elementwise <c>a / b</c> with broadcasting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Div(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Div));
        var y = MapBinary<DivideOp>(a, b, nameof(Div));
        return Autograd.ShouldRecord(a, b) ? RecordDiv(y, a, b) : y;
    }

    // d(a/b)/db = -a / b^2
    private static Tensor RecordDiv(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "DivBackward", [a, b], g => [a.RequiresGrad ? g / b : null, b.RequiresGrad ? DivGradB(g, a, b) : null]);

    /// <summary>-(g a) / (b b): fused when first-order and nothing is broadcast, else from (unrecorded or recorded) ops.</summary>
    private static Tensor DivGradB(Tensor g, Tensor a, Tensor b)
    {
        if (!Autograd.IsGradEnabled && a.Numel == g.Numel && b.Numel == g.Numel && a.DType == g.DType && b.DType == g.DType)
        {
            var r = Uninitialized(g._shape, g.DType);
            if (g.DType == DType.Float32) Fused.DivGradB<float>(g.Span<float>(), a.Span<float>(), b.Span<float>(), r.Span<float>());
            else Fused.DivGradB<double>(g.Span<double>(), a.Span<double>(), b.Span<double>(), r.Span<double>());
            return r;
        }
        return -(g * a) / (b * b);
    }

    /// <summary><c>this + other</c>.</summary>
    public Tensor Add(Tensor other) => Add(this, other);
    /// <summary><c>this - other</c>.</summary>
    public Tensor Sub(Tensor other) => Sub(this, other);
    /// <summary><c>this * other</c>.</summary>
    public Tensor Mul(Tensor other) => Mul(this, other);
    /// <summary><c>this / other</c>.</summary>
    public Tensor Div(Tensor other) => Div(this, other);

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);
    /// <summary>Elementwise product with broadcasting (use <see cref="MatMul"/> for the matrix product).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(Tensor a, double b) => IsFloat(a) ? ScalarOp(a, b, ScalarOpKind.Add) : Add(a, a.ScalarLike(b));
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(double a, Tensor b) => IsFloat(b) ? ScalarOp(b, a, ScalarOpKind.Add) : Add(b.ScalarLike(a), b);
    /// <summary>Subtracts a scalar from every element.</summary>
    public static Tensor operator -(Tensor a, double b) => IsFloat(a) ? ScalarOp(a, b, ScalarOpKind.Sub) : Sub(a, a.ScalarLike(b));
    /// <summary>Subtracts every element from a scalar.</summary>
    public static Tensor operator -(double a, Tensor b) => IsFloat(b) ? ScalarOp(b, a, ScalarOpKind.SubFrom) : Sub(b.ScalarLike(a), b);
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => IsFloat(a) ? ScalarOp(a, b, ScalarOpKind.Mul) : Mul(a, a.ScalarLike(b));
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => IsFloat(b) ? ScalarOp(b, a, ScalarOpKind.Mul) : Mul(b.ScalarLike(a), b);
    /// <summary>Divides every element by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => IsFloat(a) ? ScalarOp(a, b, ScalarOpKind.Div) : Div(a, a.ScalarLike(b));
    /// <summary>Divides a scalar by every element.</summary>
    public static Tensor operator /(double a, Tensor b) => IsFloat(b) ? ScalarOp(b, a, ScalarOpKind.DivInto) : Div(b.ScalarLike(a), b);
    /// <summary>Elementwise negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    private static bool IsFloat(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.DType.IsFloatingPoint();
    }

    /// <summary>Which tensor-scalar op <see cref="ScalarOp"/> computes (x the tensor, s the scalar).</summary>
    internal enum ScalarOpKind { Add, Sub, SubFrom, Mul, Div, DivInto }

    /// <summary>
    /// x + s, x - s, s - x, x s, x / s or s / x for a floating-point tensor x and a scalar s of x's dtype, without
    /// making a tensor of the scalar: the same kernels, values and op names as the tensor-tensor ops with a
    /// 0-dimensional operand, recorded with x as the only input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor ScalarOp(Tensor x, double s, ScalarOpKind kind)
    {
        var y = Uninitialized(x._shape, x.DType);
        if (x.DType == DType.Float32) ScalarKernel<float>(x.Span<float>(), (float)s, y.Span<float>(), kind);
        else ScalarKernel<double>(x.Span<double>(), s, y.Span<double>(), kind);
        return Autograd.ShouldRecord(x) ? RecordScalarOp(y, x, s, kind) : y;
    }

    private static void ScalarKernel<T>(ReadOnlySpan<T> x, T s, Span<T> y, ScalarOpKind kind) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case ScalarOpKind.Add: AddOp.Invoke(x, s, y); break;
            case ScalarOpKind.Sub: SubtractOp.Invoke(x, s, y); break;
            case ScalarOpKind.SubFrom: SubtractOp.Invoke(s, x, y); break;
            case ScalarOpKind.Mul: MultiplyOp.Invoke(x, s, y); break;
            case ScalarOpKind.Div: DivideOp.Invoke(x, s, y); break;
            default: DivideOp.Invoke(s, x, y); break;
        }
    }

    private static Tensor RecordScalarOp(Tensor y, Tensor x, double s, ScalarOpKind kind) => kind switch
    {
        ScalarOpKind.Add => Autograd.Record(y, "AddBackward", [x], g => [g], attributes: new ScalarAttributes(s)),
        ScalarOpKind.Sub => Autograd.Record(y, "SubBackward", [x], g => [g], attributes: new ScalarAttributes(s)),
        ScalarOpKind.SubFrom => Autograd.Record(y, "SubBackward", [x], g => [-g], attributes: new ScalarAttributes(s, ScalarFirst: true)),
        ScalarOpKind.Mul => Autograd.Record(y, "MulBackward", [x], g => [g * s], attributes: new ScalarAttributes(s)),
        ScalarOpKind.Div => Autograd.Record(y, "DivBackward", [x], g => [g / s], attributes: new ScalarAttributes(s)),
        _ => Autograd.Record(y, "DivBackward", [x], g => [ScalarDivIntoGrad(g, x, s)], attributes: new ScalarAttributes(s, ScalarFirst: true)),
    };

    /// <summary>d(s/x)/dx applied to g: -(g s) / (x x), fused for a first-order pass.</summary>
    private static Tensor ScalarDivIntoGrad(Tensor g, Tensor x, double s)
    {
        if (!Autograd.IsGradEnabled && x.Numel == g.Numel && x.DType == g.DType)
        {
            var r = Uninitialized(g._shape, g.DType);
            if (g.DType == DType.Float32) Fused.ScalarDivIntoGrad<float>(g.Span<float>(), x.Span<float>(), (float)s, r.Span<float>());
            else Fused.ScalarDivIntoGrad<double>(g.Span<double>(), x.Span<double>(), s, r.Span<double>());
            return r;
        }
        return -(g * s) / (x * x);
    }

    /// <summary>Elementwise <c>-x</c> (PyTorch: <c>neg</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Neg()
    {
        var y = MapUnary<NegateOp>(this, nameof(Neg));
        return Autograd.ShouldRecord(this) ? RecordNeg(y, this) : y;
    }

    private static Tensor RecordNeg(Tensor y, Tensor x) => Autograd.Record(y, "NegBackward", [x], g => [-g]);

    /// <summary>Elementwise <c>x^p</c> for a scalar exponent; d/dx = p x^(p-1) (PyTorch: <c>pow</c>).</summary>
    public Tensor Pow(double exponent)
    {
        EnsureFloatingPoint(nameof(Pow));
        var y = MapBinary<PowOp>(this, ScalarLike(exponent), nameof(Pow));
        return Autograd.ShouldRecord(this) ? RecordPow(y, this, exponent) : y;
    }

    private static Tensor RecordPow(Tensor y, Tensor x, double exponent) => Autograd.Record(y, "PowBackward", [x], g => [PowGrad(g, x, exponent)], attributes: new ScalarAttributes(exponent));

    /// <summary>g p x^(p-1): one buffer and three vector passes when first-order, the recorded rule otherwise.</summary>
    private static Tensor PowGrad(Tensor g, Tensor x, double exponent)
    {
        if (exponent == 0) return ZerosLike(x);
        if (!Autograd.IsGradEnabled && exponent != 1 && g.Numel == x.Numel && g.DType == x.DType)
        {
            var r = Uninitialized(x._shape, x.DType);
            if (x.DType == DType.Float32) Fused.PowGrad<float>(g.Span<float>(), x.Span<float>(), (float)exponent, (float)(exponent - 1), r.Span<float>());
            else Fused.PowGrad<double>(g.Span<double>(), x.Span<double>(), exponent, exponent - 1, r.Span<double>());
            return r;
        }
        return g * (exponent * (exponent == 1 ? OnesLike(x) : x.Pow(exponent - 1)));
    }

    /// <summary>Elementwise <c>x^e</c> with a tensor exponent, broadcast; d/de = x^e ln x.</summary>
    public Tensor Pow(Tensor exponent)
    {
        var (x, e) = Promote(this, exponent, nameof(Pow));
        var y = MapBinary<PowOp>(x, e, nameof(Pow));
        return Autograd.ShouldRecord(x, e) ? RecordPowTensor(y, x, e) : y;
    }

    private static Tensor RecordPowTensor(Tensor y, Tensor x, Tensor e) =>
        Autograd.Record(y, "PowBackward", [x, e], g => [x.RequiresGrad ? g * e * x.Pow(e - 1.0) : null, e.RequiresGrad ? g * y * x.Log() : null]);

    /// <summary>Elementwise maximum of two tensors with broadcasting (PyTorch: <c>torch.maximum</c>); ties send half the gradient to each.</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Maximum));
        var y = MapBinary<MaximumOp>(a, b, nameof(Maximum));
        return Autograd.ShouldRecord(a, b) ? RecordMaximum(y, a, b) : y;
    }

    private static Tensor RecordMaximum(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "MaximumBackward", [a, b], g =>
        {
            var gt = MapBinary<GreaterOp>(a, b, nameof(Maximum));
            var eq = MapBinary<EqualOp>(a, b, nameof(Maximum));
            var wa = gt + eq * 0.5;
            return [a.RequiresGrad ? g * wa : null, b.RequiresGrad ? g * (1.0 - wa) : null];
        });

    /// <summary>Elementwise minimum of two tensors with broadcasting (PyTorch: <c>torch.minimum</c>).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => -Maximum(-a, -b);
}
