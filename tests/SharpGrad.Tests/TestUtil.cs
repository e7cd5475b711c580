namespace SharpGrad.Tests;

internal static class TestUtil
{
    /// <summary>Asserts |a - e| &lt;= atol + rtol |e| element by element, naming the worst element on failure.</summary>
    public static void AllClose(double[] expected, double[] actual, double rtol = 1e-12, double atol = 1e-12, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (e == a) continue;
            Assert.True(Math.Abs(a - e) <= atol + rtol * Math.Abs(e), $"{what} element {i}: expected {e:R}, got {a:R}");
        }
    }

    public static void AllClose(double[] expected, Tensor actual, double rtol = 1e-12, double atol = 1e-12, string what = "") =>
        AllClose(expected, actual.ToArray<double>(), rtol, atol, what);

    public static Tensor F64(params double[] values) => Tensor.FromArray(values);

    public static Tensor Leaf(double[] values, params int[] shape)
    {
        var t = Tensor.FromArray(values, shape);
        t.RequiresGrad = true;
        return t;
    }
}
