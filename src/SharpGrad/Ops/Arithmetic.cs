using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>a + b</c> with NumPy broadcasting (PyTorch: <c>torch.add</c>).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Add));
        var y = MapBinary<AddOp>(a, b, nameof(Add));
        return Autograd.Record(y, "AddBackward", [a, b], g => [g, g]);
    }

    /// <summary>Elementwise <c>a - b</c> with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Sub));
        var y = MapBinary<SubtractOp>(a, b, nameof(Sub));
        return Autograd.Record(y, "SubBackward", [a, b], g => [g, -g]);
    }

    /// <summary>Elementwise <c>a * b</c> with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Mul));
        var y = MapBinary<MultiplyOp>(a, b, nameof(Mul));
        return Autograd.Record(y, "MulBackward", [a, b], g => [g * b, g * a]);
    }

    /// <summary>Elementwise <c>a / b</c> with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Div));
        var y = MapBinary<DivideOp>(a, b, nameof(Div));
        // d(a/b)/db = -a / b^2
        return Autograd.Record(y, "DivBackward", [a, b], g => [g / b, -(g * a) / (b * b)]);
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
    public static Tensor operator +(Tensor a, double b) => Add(a, a.ScalarLike(b));
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(double a, Tensor b) => Add(b.ScalarLike(a), b);
    /// <summary>Subtracts a scalar from every element.</summary>
    public static Tensor operator -(Tensor a, double b) => Sub(a, a.ScalarLike(b));
    /// <summary>Subtracts every element from a scalar.</summary>
    public static Tensor operator -(double a, Tensor b) => Sub(b.ScalarLike(a), b);
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => Mul(a, a.ScalarLike(b));
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => Mul(b.ScalarLike(a), b);
    /// <summary>Divides every element by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => Div(a, a.ScalarLike(b));
    /// <summary>Divides a scalar by every element.</summary>
    public static Tensor operator /(double a, Tensor b) => Div(b.ScalarLike(a), b);
    /// <summary>Elementwise negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>Elementwise <c>-x</c> (PyTorch: <c>neg</c>).</summary>
    public Tensor Neg()
    {
        var y = MapUnary<NegateOp>(this, nameof(Neg));
        return Autograd.Record(y, "NegBackward", [this], g => [-g]);
    }

    /// <summary>Elementwise <c>x^p</c> for a scalar exponent; d/dx = p x^(p-1) (PyTorch: <c>pow</c>).</summary>
    public Tensor Pow(double exponent)
    {
        EnsureFloatingPoint(nameof(Pow));
        var y = MapBinary<PowOp>(this, ScalarLike(exponent), nameof(Pow));
        return Autograd.Record(y, "PowBackward", [this], g =>
            [exponent == 0 ? ZerosLike(this) : g * (exponent * (exponent == 1 ? OnesLike(this) : Pow(exponent - 1)))]);
    }

    /// <summary>Elementwise <c>x^e</c> with a tensor exponent, broadcast; d/de = x^e ln x.</summary>
    public Tensor Pow(Tensor exponent)
    {
        var (x, e) = Promote(this, exponent, nameof(Pow));
        var y = MapBinary<PowOp>(x, e, nameof(Pow));
        return Autograd.Record(y, "PowBackward", [x, e], g => [g * e * x.Pow(e - 1.0), g * y * x.Log()]);
    }

    /// <summary>Elementwise maximum of two tensors with broadcasting (PyTorch: <c>torch.maximum</c>); ties send half the gradient to each.</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        (a, b) = Promote(a, b, nameof(Maximum));
        var y = MapBinary<MaximumOp>(a, b, nameof(Maximum));
        return Autograd.Record(y, "MaximumBackward", [a, b], g =>
        {
            var gt = MapBinary<GreaterOp>(a, b, nameof(Maximum));
            var eq = MapBinary<EqualOp>(a, b, nameof(Maximum));
            var wa = gt + eq * 0.5;
            return [g * wa, g * (1.0 - wa)];
        });
    }

    /// <summary>Elementwise minimum of two tensors with broadcasting (PyTorch: <c>torch.minimum</c>).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => -Maximum(-a, -b);
}
