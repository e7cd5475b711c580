using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Tensors;

/// <summary>
/// Storage recycling by <see cref="TensorScope"/>. Shapes here use lengths no other test uses (the pool is shared by
/// every thread, and xunit runs test classes in parallel), so that a count of fresh allocations is this test's own.
/// </summary>
public class TensorScopeTests
{
    private const int Big = 1237; // above TensorScope.MinPooledElements, and a length of these tests only

    [Fact]
    public void TensorsMadeInAScopeCannotBeReadAfterIt()
    {
        Tensor y, view, detached, small;
        using (new TensorScope())
        {
            y = Tensor.Ones([Big]) * 3;
            view = y.Reshape(1, Big);
            detached = y.Detach();
            small = Tensor.Ones([5]) * 3; // below the pooling threshold: not pooled, but the scope's all the same
            Assert.Equal(3f, y.ToArray<float>()[Big - 1]);
        }
        var e = Assert.Throws<ObjectDisposedException>(() => y.ToArray<float>());
        Assert.Contains("TensorScope", e.Message);
        Assert.Contains($"[{Big}]", e.Message);
        Assert.Throws<ObjectDisposedException>(() => view.Sum());
        Assert.Throws<ObjectDisposedException>(() => detached.ToArray<double>());
        Assert.Throws<ObjectDisposedException>(() => y.Reshape(Big, 1));
        Assert.Contains("[5]", Assert.Throws<ObjectDisposedException>(() => small.ToArray<float>()).Message);
        Assert.Equal([Big], y.Shape); // shape and size stay known
        Assert.Equal(Big, y.Numel);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(5000)]
    public void WhetherATensorOutlivesItsScopeDoesNotDependOnItsSize(int n)
    {
        // Issue 17: tensors of 1,024+ elements expired with the scope while smaller ones stayed readable, so code that
        // kept one worked on small data and broke at a larger batch. Every kind of tensor made inside expires alike.
        var outside = Tensor.Ones([n]);
        Tensor product, factory, fromArray, view;
        using (new TensorScope())
        {
            product = outside * 2;
            factory = Tensor.Zeros(n);
            fromArray = Tensor.FromArray(new float[n]);
            view = outside.Reshape(1, n);
        }
        foreach (var t in new[] { product, factory, fromArray, view })
        {
            var e = Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
            Assert.Contains("Clone()", e.Message);
        }
        Assert.Equal(n, outside.ToArray<float>().Length); // what the view looked at is not the scope's
        Assert.Equal(1f, outside.ToArray<float>()[n - 1]);
    }

    [Fact]
    public void TensorsFromBeforeTheScopeAreUntouched()
    {
        var x = Tensor.Arange(Big);
        using (new TensorScope())
        {
            var y = x * 2;
            Assert.Equal(2.0 * (Big - 1), y.ToArray<float>()[Big - 1]);
        }
        Assert.Equal(Big - 1, x.ToArray<float>()[Big - 1]);
    }

    [Fact]
    public void ASecondScopeReusesTheStorageOfTheFirstAndStillZeroesWhatMustBeZero()
    {
        const int n = Big + 1;
        Array first;
        using (var scope = new TensorScope())
        {
            var t = Tensor.Full([n], 7.0);
            first = t.Storage;
            Assert.Equal(1, scope.FreshAllocations);
        }
        using (var scope = new TensorScope())
        {
            var z = Tensor.Zeros([n]); // zeroed even though the array it gets held sevens
            Assert.Same(first, z.Storage);
            Assert.Equal(0, scope.FreshAllocations);
            Assert.All(z.ToArray<float>(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void KeepMovesATensorToTheEnclosingScopeOrToTheGc()
    {
        Tensor kept, keptOuter, inner;
        using (var outer = new TensorScope())
        {
            using (var scope = new TensorScope())
            {
                kept = scope.Keep(Tensor.Full([Big], 2.0));
                inner = Tensor.Full([Big], 4.0);
            }
            Assert.Throws<ObjectDisposedException>(() => inner.Sum());
            Assert.Equal(2.0 * Big, kept.Sum().Item()); // alive until the outer scope ends
            keptOuter = outer.Keep(Tensor.Full([Big], 5.0));
        }
        Assert.Throws<ObjectDisposedException>(() => kept.Sum());
        Assert.Equal(5.0 * Big, keptOuter.Sum().Item());
    }

    [Fact]
    public void ACloneMadeInsideAScopeOutlivesIt()
    {
        Tensor original, copy;
        using (new TensorScope())
        {
            original = Tensor.Full([Big], 6.0);
            copy = original.Clone();
        }
        Assert.Throws<ObjectDisposedException>(() => original.Sum());
        Assert.Equal(6.0 * Big, copy.Sum().Item());
    }

    [Fact]
    public void ScopesAreDisposedInnermostFirstOnTheirOwnThread()
    {
        var outer = new TensorScope();
        var inner = new TensorScope();
        var e = Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        Assert.Contains("innermost first", e.Message);
        Exception? fromOtherThread = null;
        var thread = new Thread(() => { try { inner.Dispose(); } catch (Exception ex) { fromOtherThread = ex; } });
        thread.Start();
        thread.Join();
        Assert.IsType<InvalidOperationException>(fromOtherThread);
        inner.Dispose();
        inner.Dispose(); // twice: nothing
        outer.Dispose();
        Assert.Null(TensorScope.Current);
        Assert.Throws<ObjectDisposedException>(() => inner.Keep(Tensor.Ones([3])));
    }

    [Fact]
    public void AGraphKeptPastItsScopeFailsClearlyOnTheSecondBackward()
    {
        var w = Tensor.Ones([Big], DType.Float32, requiresGrad: true);
        Tensor loss;
        using (new TensorScope())
        {
            var h = w * 2; // saved by the product's backward, and recycled with the scope
            loss = (h * h).Sum();
            loss.Backward(null, retainGraph: true);
        }
        Assert.Throws<ObjectDisposedException>(() => loss.Backward());
    }

    /// <summary>A few steps of <paramref name="model"/> under Adam, each in a scope or not; the parameters afterwards.</summary>
    private static float[][] Train(Func<Module> makeModel, Tensor x, Tensor y, int steps, bool scoped, out int freshInLastStep)
    {
        var model = makeModel();
        var opt = new Adam(model.Parameters(), 1e-2);
        freshInLastStep = -1;
        for (int s = 0; s < steps; s++)
        {
            var scope = scoped ? new TensorScope() : null;
            try
            {
                var loss = F.CrossEntropy(model.Forward(x), y);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                if (scope is not null) freshInLastStep = scope.FreshAllocations;
            }
            finally { scope?.Dispose(); }
        }
        return model.Parameters().Select(p => p.ToArray<float>()).ToArray();
    }

    [Fact]
    public void ScopedTrainingGivesBitIdenticalWeightsAndAllocatesNoStorageOnceWarm()
    {
        var g = new Generator(5);
        var x = Tensor.Randn([37, 61], g);
        var y = Tensor.FromArray(Enumerable.Range(0, 37).Select(i => (long)(i % 7)).ToArray(), 37);
        Module Make() => Models.Mlp(61, [53, 41], 7, generator: new Generator(9));
        var plain = Train(Make, x, y, 6, scoped: false, out _);
        var scoped = Train(Make, x, y, 6, scoped: true, out int fresh);
        Assert.Equal(plain.Length, scoped.Length);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], scoped[i]);
        Assert.Equal(0, fresh);
    }

    [Fact]
    public void ScopedConvolutionTrainingWithBatchNormAndDropoutMatchesUnscoped()
    {
        var g = new Generator(6);
        var x = Tensor.Randn([6, 1, 12, 12], g);
        var y = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2 }, 6);
        Module Make() => Models.StagedCnn([[5], [7]], classes: 3, dropout: 0.25, generator: new Generator(2), inputSize: 12);
        var plain = Train(Make, x, y, 4, scoped: false, out _);
        var scoped = Train(Make, x, y, 4, scoped: true, out int fresh);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], scoped[i]);
        Assert.Equal(0, fresh);
    }

    [Fact]
    public void ParametersGradientsAndOptimizerStateMadeInsideAScopeOutliveIt()
    {
        Module model;
        Adam opt;
        var x = Tensor.Randn([3, 1229], new Generator(1));
        using (new TensorScope())
        {
            model = new Linear(1229, 2, generator: new Generator(3)); // 2,458 weights: pooled storage, but registered
            opt = new Adam(model.Parameters(), 1e-3);
            var loss = model.Forward(x).Sum();
            loss.Backward();
            opt.Step(); // Adam's moments are made here
        }
        var weight = model.Parameters().First();
        Assert.NotNull(weight.Grad);
        var grad = weight.Grad!.ToArray<float>();
        // d(sum of x W^T)/dW[j, k] = sum over rows of x[:, k], for each output j
        var xs = x.ToArray<float>();
        for (int k = 0; k < 1229; k += 97)
            Assert.Equal(xs[k] + xs[1229 + k] + xs[2 * 1229 + k], grad[k], 4);
        var before = weight.ToArray<float>();
        using (new TensorScope())
        {
            opt.ZeroGrad();
            model.Forward(x).Sum().Backward();
            opt.Step();
        }
        Assert.NotEqual(before, weight.ToArray<float>());
        Assert.Equal(grad, weight.Grad!.ToArray<float>()); // same batch, same gradient
    }

    [Fact]
    public void AGradientDroppedByZeroGradInsideAScopeIsRecycledWithIt()
    {
        var w = Tensor.Ones([Big + 2], DType.Float32, requiresGrad: true);
        var opt = new Sgd([w], 0.1);
        using (new TensorScope()) (w * 2).Sum().Backward();
        var old = w.Grad!;
        Assert.Equal(2f, old.ToArray<float>()[0]);
        using (new TensorScope())
        {
            opt.ZeroGrad();
            Assert.Equal(2f, old.ToArray<float>()[0]); // readable until the scope ends
        }
        Assert.Throws<ObjectDisposedException>(() => old.ToArray<float>());
        // A gradient the user put there is never taken.
        var mine = Tensor.Full([Big + 2], 1.0);
        w.Grad = mine;
        using (new TensorScope()) opt.ZeroGrad();
        Assert.Equal(1f, mine.ToArray<float>()[0]);
    }

    [Fact]
    public void GradientsAccumulatedOverTwoBackwardPassesInAScopeAreRight()
    {
        var w = Tensor.Ones([Big + 3], DType.Float64, requiresGrad: true);
        using (new TensorScope())
        {
            (w * 2).Sum().Backward();
            (w * w).Sum().Backward(); // 2 + 2w = 4
        }
        Assert.All(w.Grad!.ToArray<double>(), v => Assert.Equal(4.0, v));
    }
}
