using SharpGrad;
using SharpGrad.Data;

namespace SharpGrad.Tests.Data;

public sealed class RandomHorizontalFlipTests
{
    /// <summary>n images [2, 3, 5] whose element (i, c, y, x) is a distinct number, and labels 0..n-1.</summary>
    private static TensorDataset Images(int n)
    {
        var x = Enumerable.Range(0, n * 2 * 3 * 5).Select(v => (float)v).ToArray();
        var y = Enumerable.Range(0, n).Select(v => (long)v).ToArray();
        return new TensorDataset(Tensor.FromArray(x, n, 2, 3, 5), Tensor.FromArray(y, n));
    }

    [Fact]
    public void ProbabilityOneMirrorsEveryRowOfEveryImageAndKeepsTheTargets()
    {
        var inner = Images(4);
        var flip = new RandomHorizontalFlip(inner, p: 1.0, new Generator(7));
        int[] idx = [3, 0, 2];
        var (x, y) = flip.GetBatch(idx);
        var (x0, y0) = inner.GetBatch(idx);
        Assert.Equal(x0.ShapeRef, x.ShapeRef);
        Assert.Equal(y0.ToArray<long>(), y.ToArray<long>());
        float[] got = x.ToArray<float>(), src = x0.ToArray<float>();
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 2; c++)
                for (int r = 0; r < 3; r++)
                    for (int col = 0; col < 5; col++)
                        Assert.Equal(src[((i * 2 + c) * 3 + r) * 5 + (4 - col)], got[((i * 2 + c) * 3 + r) * 5 + col]);
        // the wrapped set's data is not touched
        Assert.Equal(src, inner.GetBatch(idx).Input.ToArray<float>());
    }

    [Fact]
    public void ProbabilityZeroChangesNothing()
    {
        var inner = Images(5);
        int[] idx = [0, 1, 2, 3, 4];
        Assert.Equal(inner.GetBatch(idx).Input.ToArray<float>(), new RandomHorizontalFlip(inner, 0.0).GetBatch(idx).Input.ToArray<float>());
    }

    [Fact]
    public void HalfTheImagesAreFlippedReproduciblyFromTheGeneratorState()
    {
        var inner = Images(1000);
        int[] idx = Enumerable.Range(0, 1000).ToArray();
        var a = new RandomHorizontalFlip(inner, 0.5, new Generator(11));
        var b = new RandomHorizontalFlip(inner, 0.5, new Generator(11));
        float[] xa = a.GetBatch(idx).Input.ToArray<float>(), xb = b.GetBatch(idx).Input.ToArray<float>(), x0 = inner.GetBatch(idx).Input.ToArray<float>();
        Assert.Equal(xa, xb);
        // An image is flipped iff its first element moved; 1000 fair draws: 500 ± 16 (sd), so [400, 600] cannot fail by chance.
        int flipped = Enumerable.Range(0, 1000).Count(i => xa[i * 30] != x0[i * 30]);
        Assert.InRange(flipped, 400, 600);
        // Restoring the generator state replays the same decisions.
        var c = new RandomHorizontalFlip(inner, 0.5, new Generator(99));
        c.Generator.SetState(new Generator(11).GetState());
        Assert.Equal(xa, c.GetBatch(idx).Input.ToArray<float>());
    }

    [Fact]
    public void BadArgumentsAreRefusedByName()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(Images(1), 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(Images(1), double.NaN));
        Assert.Throws<ArgumentNullException>(() => new RandomHorizontalFlip(null!));
        var flat = new RandomHorizontalFlip(new TensorDataset(Tensor.FromArray(new float[] { 1, 2, 3 }, 3), Tensor.FromArray(new long[] { 0, 1, 2 }, 3)));
        var e = Assert.Throws<InvalidOperationException>(() => flat.GetBatch([0, 1]));
        Assert.Contains("[N, ..., W]", e.Message);
    }
}
