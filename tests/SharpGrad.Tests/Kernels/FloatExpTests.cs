using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// The single-precision vector exp (GELU, attention's probabilities) against Math.Exp in double: within a few float32
/// ulp over the range the kernels use, exactly 0 for −∞ and deep negative arguments in the shifted form, NaN kept, and the
/// same value for an element whichever vector width or tail computes it.
/// </summary>
public class FloatExpTests
{
    [Fact]
    public void ExpShiftedIsWithinTwoUlpOfTheDoubleResult()
    {
        // Arguments from −87 to 87 (every binade the kernels reach), shifted by a row maximum of 1.5.
        var x = Enumerable.Range(0, 17501).Select(i => (float)(-85.5 + i * 0.01)).ToArray();
        var y = (float[])x.Clone();
        FloatExp.ExpShifted<float>(y, 1.5f);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Exp((double)(x[i] - 1.5f)); // x − 1.5 rounded in float, as the kernel does
            float e = (float)expected;
            Assert.True(Math.Abs(y[i] - expected) <= 2 * (MathF.BitIncrement(e) - e), $"exp({x[i] - 1.5f:R}) = {y[i]:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void MaskedAndUnderflowingEntriesAreExactlyZeroAndNaNStaysNaN()
    {
        float[] x = [float.NegativeInfinity, -200f, -88.8f, 0f, float.NaN, 1f];
        FloatExp.ExpShifted<float>(x, 1f);
        Assert.Equal(0f, x[0]);
        Assert.Equal(0f, x[1]);
        Assert.Equal(0f, x[2]);
        Assert.True(Math.Abs(x[3] - Math.Exp(-1)) <= 1e-7, $"exp(-1) = {x[3]:R}");
        Assert.True(float.IsNaN(x[4]));
        Assert.Equal(1f, x[5]);
    }

    [Fact]
    public void AnElementsValueDoesNotDependOnTheSpanLengthOrItsPosition()
    {
        var rng = new Random(5);
        var pool = Enumerable.Range(0, 64).Select(_ => (float)(rng.NextDouble() * 40 - 30)).ToArray();
        var whole = (float[])pool.Clone();
        FloatExp.ExpShifted<float>(whole, 0.25f);
        for (int n = 1; n <= 40; n++)
            for (int start = 0; start + n <= pool.Length; start += 7)
            {
                var part = pool.AsSpan(start, n).ToArray();
                FloatExp.ExpShifted<float>(part, 0.25f);
                for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(whole[start + i]), BitConverter.SingleToInt32Bits(part[i]));
            }
    }
}
