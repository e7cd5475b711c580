using SharpGrad.NN;

namespace SharpGrad.Tests.Ops;

/// <summary>
/// What the golden PyTorch cases (floating point only) cannot show for the shape and indexing ops: Int64 and Bool
/// tensors (expected values written out by hand), argument errors, and the gradient of the gradient.
/// </summary>
public class ShapeIndexingOpsTests
{
    private static readonly long[] L6 = [1, 2, 3, 4, 5, 6];

    private static Tensor Ints(long[] v, params int[] shape) => Tensor.FromArray(v, shape);
    private static Tensor Bools(bool[] v, params int[] shape) => Tensor.FromArray(v, shape);

    private static void Same(long[] expected, int[] shape, Tensor t)
    {
        Assert.Equal(DType.Int64, t.DType);
        Assert.Equal(shape, t.Shape);
        Assert.Equal(expected, t.ToArray<long>());
    }

    private static void Same(bool[] expected, int[] shape, Tensor t)
    {
        Assert.Equal(DType.Bool, t.DType);
        Assert.Equal(shape, t.Shape);
        Assert.Equal(expected, t.ToBoolArray());
    }

    [Fact]
    public void MovingOpsKeepInt64Values()
    {
        var x = Ints(L6, 2, 3); // [[1 2 3] [4 5 6]]
        Same([2, 5], [2, 1], x.Slice(1, 1, null, 2));
        Same([3, 6], [2, 1], x.Slice(1, -1));
        var pieces = x.Split([2, 1], 1);
        Same([1, 2, 4, 5], [2, 2], pieces[0]);
        Same([3, 6], [2, 1], pieces[1]);
        Assert.Equal(2, x.Chunk(2, 1).Length);
        Same([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6], [2, 6], x.Repeat(1, 2));
        Same([6, 5, 4, 3, 2, 1], [2, 3], x.Flip(0, 1));
        Same([6, 1, 2, 3, 4, 5], [2, 3], x.Roll(1));
        Same([3, 1, 2, 6, 4, 5], [2, 3], x.Roll(1, 1));
        Same([1, 0, 0, 4, 5, 0], [2, 3], x.Tril());
        Same([0, 2, 3, 0, 0, 6], [2, 3], x.Triu(1));
        Same([9, 1, 2, 3, 9, 9, 4, 5, 6, 9], [2, 5], Functional.Pad(x, [1, 1], PadMode.Constant, 9));
        Same([2, 1, 2, 3, 2, 5, 4, 5, 6, 5], [2, 5], Functional.Pad(x, [1, 1], PadMode.Reflect));
        Same([2, 3], [1, 2], Functional.Pad(x, [-1, 0, 0, -1]));
    }

    [Fact]
    public void MovingOpsKeepBoolValues()
    {
        var x = Bools([true, false, true, true, true, false], 2, 3);
        Same([false, true], [2, 1], x.Slice(1, 1, 2));
        Same([true, false, true, true], [2, 2], x.Split(2, 1)[0]);
        Same([true, false, true, false], [1, 4], Bools([true, false], 1, 2).Repeat(1, 2));
        Same([true, true, false, true, false, true], [2, 3], x.Flip(0));
        Same([false, true, true, true, false, true], [2, 3], x.Roll(-1, 1));
        Same([true, false, false, true, true, false], [2, 3], x.Tril());
        Same([false, false, true, false, false, false], [2, 3], x.Triu(2));
        Same([true, true, false, true, true, true, true, true, false, true], [2, 5], Functional.Pad(x, [1, 1], PadMode.Constant, 1));
    }

    [Fact]
    public void ScatterOpsWorkOnInt64AndBool()
    {
        var index = Ints([2, 0, 0, 2], 1, 4);
        Same([0, 0, 0, 0, 0, 0], [1, 6], Ints(new long[6], 1, 6).Scatter(1, Ints([0, 1], 1, 2), Ints([0, 0], 1, 2)));
        // Repeated targets: 0 gets 2 + 3, 2 gets 1 + 4.
        Same([15, 10, 15], [1, 3], Ints([10, 10, 10], 1, 3).ScatterAdd(1, index, Ints([1, 2, 3, 4], 1, 4)));
        Same([10, 10, -4], [1, 3], Ints([10, 10, 10], 1, 3).Scatter(1, Ints([2], 1, 1), -4));
        Same([false, false, true], [1, 3], Bools([false, false, false], 1, 3).ScatterAdd(1, index, Bools([true, false, false, false], 1, 4)));
        // IndexAdd with a repeated row and an integer alpha.
        Same([1 + 2 * 5, 2 + 2 * 6, 3, 4, 5 + 2 * 1 + 2 * 3, 6 + 2 * 2 + 2 * 4], [3, 2],
            Ints(L6, 3, 2).IndexAdd(0, Ints([2, 2, 0], 3), Ints([1, 2, 3, 4, 5, 6], 3, 2), alpha: 2));
        Same([true, true, true, false], [2, 2], Bools([false, true, false, false], 2, 2).IndexAdd(1, Ints([0], 1), Bools([true, true], 2, 1)));
    }

    [Fact]
    public void OneHotIsInt64AsInPyTorch()
    {
        var y = Functional.OneHot(Ints([2, 0], 2));
        Same([0, 0, 1, 1, 0, 0], [2, 3], y);
        Assert.Equal(DType.Float32, Functional.OneHot(Ints([1], 1), 2, DType.Float32).DType);
        var e = Assert.Throws<ArgumentException>(() => Functional.OneHot(Ints([0, 3], 2), 3));
        Assert.Contains("index 3", e.Message);
        Assert.Throws<ArgumentException>(() => Functional.OneHot(Ints([], 0)));
    }

    [Fact]
    public void IndexErrorsNameTheValueTheDimensionAndTheSize()
    {
        var x = Tensor.Zeros(2, 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => x.Scatter(1, Ints([0, 5], 2, 1), 1.0));
        Assert.Contains("index 5", e.Message);
        Assert.Contains("dimension 1", e.Message);
        Assert.Contains("size 4", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => x.ScatterAdd(0, Ints([-1], 1, 1), Tensor.Zeros(1, 1)));
        Assert.Contains("index -1", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => x.IndexAdd(0, Ints([2], 1), Tensor.Zeros(1, 4)));
        Assert.Contains("index 2", e.Message);
        Assert.Contains("size 2", e.Message);
        var a = Assert.Throws<ArgumentException>(() => x.Scatter(1, Ints([0, 1], 1, 2), Tensor.Zeros(1, 1)));
        Assert.Contains("src", a.Message);
        a = Assert.Throws<ArgumentException>(() => x.Scatter(0, Tensor.Zeros(1, 1), 1.0));
        Assert.Contains("Int64", a.Message);
        a = Assert.Throws<ArgumentException>(() => x.IndexAdd(1, Ints([0, 1], 2), Tensor.Zeros(2, 3)));
        Assert.Contains("[2, 3]", a.Message);
    }

    [Fact]
    public void ShapeArgumentErrorsAreClear()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Contains("add up to 2", Assert.Throws<ArgumentException>(() => x.Split([1, 1], 1)).Message);
        Assert.Contains("step", Assert.Throws<ArgumentOutOfRangeException>(() => x.Slice(1, 0, null, 0)).Message);
        Assert.Contains("rank 2", Assert.Throws<ArgumentException>(() => x.Repeat(2)).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => x.Flip(1, -1)).Message);
        Assert.Throws<ArgumentException>(() => x.Roll([1], [0, 1]));
        Assert.Contains("[3]", Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).Tril()).Message);
        Assert.Contains("smaller than its size 3", Assert.Throws<ArgumentException>(() => Functional.Pad(x, [3, 0], PadMode.Reflect)).Message);
        Assert.Contains("pairs", Assert.Throws<ArgumentException>(() => Functional.Pad(x, [1])).Message);
        Assert.Contains("negative size", Assert.Throws<ArgumentException>(() => Functional.Pad(x, [-2, -2])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Chunk(0));
    }

    [Fact]
    public void EinsumErrorsNameTheSubscript()
    {
        var a = Tensor.Zeros(2, 3);
        Assert.Contains("2 operand term", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij,jk", a)).Message);
        Assert.Contains("subscript j has size 4", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij,jk", a, Tensor.Zeros(4, 2))).Message);
        Assert.Contains("subscript i has size 3", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ii", a)).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij->ii", a)).Message);
        Assert.Contains("does not appear", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij->k", a)).Message);
        Assert.Contains("invalid subscript '1'", Assert.Throws<ArgumentException>(() => Tensor.Einsum("i1", a)).Message);
        Assert.Contains("names 3 dimension", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ijk", a)).Message);
    }

    [Fact]
    public void EinsumMatchesExplicitSums()
    {
        // "bij,bjk->bik" against the triple loop, and a bilinear form with three operands.
        var g = new Generator(7);
        var x = Tensor.Randn([2, 3, 4], g, DType.Float64);
        var w = Tensor.Randn([2, 4, 5], g, DType.Float64);
        var y = Tensor.Einsum("bij,bjk->bik", x, w).ToArray<double>();
        var xs = x.ToArray<double>();
        var ws = w.ToArray<double>();
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 5; k++)
                {
                    double s = 0;
                    for (int j = 0; j < 4; j++) s += xs[(b * 3 + i) * 4 + j] * ws[(b * 4 + j) * 5 + k];
                    Assert.Equal(s, y[(b * 3 + i) * 5 + k], 12);
                }
    }

    [Fact]
    public void SecondDerivativesFlowThroughTheCompositeRules()
    {
        // d²/dx² Σ (pad(x)·c)² over a reflect pad is 2·Σ c² over each element's copies: checked against finite
        // differences of the first gradient.
        var c = Tensor.FromArray(new[] { 1.0, -2.0, 0.5, 3.0, 1.5, -1.0 }, 1, 6);
        Tensor Grad(Tensor x)
        {
            // GradCheck evaluates f without recording for its finite differences; the inner gradient needs the tape.
            using var _ = SharpGrad.Autograd.EnableGrad();
            var y = Tensor.Einsum("ij,ij->", Functional.Pad(x, [2, 1], PadMode.Reflect).Slice(1, 0, null, 1).Flip(1).Roll(1, 1), c);
            return SharpGrad.Autograd.Grad(y * y, [x], createGraph: true)[0];
        }
        var r = GradCheck.Check(t => Grad(t[0]), Tensor.FromArray(new[] { 0.3, -0.7, 1.1 }, 1, 3));
        Assert.True(r.Passed, r.ToString());
    }
}
