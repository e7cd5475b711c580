using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>this &gt; other</c> with broadcasting, as a Bool tensor (PyTorch: <c>gt</c>); NaN compares false.</summary>
    public Tensor Gt(Tensor other) => Compare<GreaterThan>(this, other, nameof(Gt));
    /// <summary>Elementwise <c>this &gt;= other</c>, as a Bool tensor (PyTorch: <c>ge</c>).</summary>
    public Tensor Ge(Tensor other) => Compare<GreaterOrEqual>(this, other, nameof(Ge));
    /// <summary>Elementwise <c>this &lt; other</c>, as a Bool tensor (PyTorch: <c>lt</c>).</summary>
    public Tensor Lt(Tensor other) => Compare<GreaterThan>(other, this, nameof(Lt));
    /// <summary>Elementwise <c>this &lt;= other</c>, as a Bool tensor (PyTorch: <c>le</c>).</summary>
    public Tensor Le(Tensor other) => Compare<GreaterOrEqual>(other, this, nameof(Le));
    /// <summary>
    /// Elementwise <c>this == other</c>, as a Bool tensor (PyTorch: <c>eq</c>); e.g. predicted against true labels, then
    /// <c>.To(DType.Float32).Mean()</c> for the accuracy.
    /// </summary>
    public Tensor Eq(Tensor other) => Compare<EqualTo>(this, other, nameof(Eq));
    /// <summary>Elementwise <c>this != other</c>, as a Bool tensor (PyTorch: <c>ne</c>); NaN differs from everything.</summary>
    public Tensor Ne(Tensor other) => Compare<NotEqualTo>(this, other, nameof(Ne));

    /// <summary>Elementwise <c>this &gt; value</c>.</summary>
    public Tensor Gt(double value) => Gt(ComparisonScalar(value));
    /// <summary>Elementwise <c>this &gt;= value</c>.</summary>
    public Tensor Ge(double value) => Ge(ComparisonScalar(value));
    /// <summary>Elementwise <c>this &lt; value</c>.</summary>
    public Tensor Lt(double value) => Lt(ComparisonScalar(value));
    /// <summary>Elementwise <c>this &lt;= value</c>.</summary>
    public Tensor Le(double value) => Le(ComparisonScalar(value));
    /// <summary>Elementwise <c>this == value</c>.</summary>
    public Tensor Eq(double value) => Eq(ComparisonScalar(value));
    /// <summary>Elementwise <c>this != value</c>.</summary>
    public Tensor Ne(double value) => Ne(ComparisonScalar(value));

    /// <summary>A constant to compare with: of this tensor's dtype when it is floating point, else Float64 (exact for integers up to 2^53).</summary>
    private Tensor ComparisonScalar(double value) => ScalarOf(value, DType.IsFloatingPoint() ? DType : DType.Float64);

    private static Tensor Compare<TTest>(Tensor a, Tensor b, string op) where TTest : IComparison
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int[] shape = Shapes.Broadcast(a._shape, b._shape, op);
        // Common type: int64 when both are integers (or bools), else the promoted floating type.
        if (!a.DType.IsFloatingPoint() && !b.DType.IsFloatingPoint())
            return CompareAs<long, TTest>(a.DType == DType.Int64 ? a : a.To(DType.Int64), b.DType == DType.Int64 ? b : b.To(DType.Int64), shape);
        DType common = a.DType == DType.Float64 || b.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        if (a.DType.IsFloatingPoint() != b.DType.IsFloatingPoint() && (a.DType == DType.Int64 || b.DType == DType.Int64))
            common = DType.Float64; // an int64 beside a float32 is compared exactly, not after rounding to float
        a = a.DType == common ? a : a.To(common);
        b = b.DType == common ? b : b.To(common);
        return common == DType.Float32 ? CompareAs<float, TTest>(a, b, shape) : CompareAs<double, TTest>(a, b, shape);
    }

    private static Tensor CompareAs<T, TTest>(Tensor a, Tensor b, int[] shape) where T : unmanaged, INumber<T> where TTest : IComparison
    {
        var x = a.BroadcastArray<T>(shape);
        var y = b.BroadcastArray<T>(shape);
        var result = new bool[x.Length];
        for (int i = 0; i < result.Length; i++) result[i] = TTest.Test(x[i], y[i]);
        return new Tensor(result, shape, DType.Bool);
    }

    private interface IComparison { static abstract bool Test<T>(T a, T b) where T : INumber<T>; }
    private readonly struct GreaterThan : IComparison { public static bool Test<T>(T a, T b) where T : INumber<T> => a > b; }
    private readonly struct GreaterOrEqual : IComparison { public static bool Test<T>(T a, T b) where T : INumber<T> => a >= b; }
    private readonly struct EqualTo : IComparison { public static bool Test<T>(T a, T b) where T : INumber<T> => a == b; }
    private readonly struct NotEqualTo : IComparison { public static bool Test<T>(T a, T b) where T : INumber<T> => a != b; }
}
