namespace SharpGrad.Tests.Distributed;

/// <summary>The engine's post-accumulate gradient hooks and end-of-pass callbacks, which data-parallel training uses.</summary>
public class GradHookTests
{
    [Fact]
    public void HookRunsWhenTheLeafsGradientIsFinalBeforeThePassEnds()
    {
        // loss = sum(w2 * relu(w1 * x)) + sum(w1): the sweep finishes w2 first, w1 (read twice) last.
        var x = Tensor.FromArray(new double[] { 1, -2, 3 }, 3);
        var w1 = Tensor.FromArray(new double[] { 0.5, 1.5, -1 }, 3); w1.RequiresGrad = true;
        var w2 = Tensor.FromArray(new double[] { 2, 3, 4 }, 3); w2.RequiresGrad = true;
        var events = new List<string>();
        double[]? w2AtHook = null, w1AtHook = null;
        bool w1GradNullWhenW2Hooked = false;
        using var h2 = w2.RegisterPostAccumulateGradHook(t =>
        {
            events.Add("w2");
            w2AtHook = t.Grad!.ToArray<double>();
            w1GradNullWhenW2Hooked = w1.Grad is null;
            SharpGrad.Autograd.QueueCallback(() => events.Add("end"));
        });
        using var h1 = w1.RegisterPostAccumulateGradHook(t => { events.Add("w1"); w1AtHook = t.Grad!.ToArray<double>(); });

        var loss = (w2 * (w1 * x).Relu()).Sum() + w1.Sum();
        loss.Backward();

        Assert.Equal(["w2", "w1", "end"], events);
        Assert.True(w1GradNullWhenW2Hooked);
        // Closed form: d/dw2 = relu(w1 x) = [0.5, 0, 0]; d/dw1 = w2 * x * [w1 x > 0] + 1 = [2*1+1, 1, 1].
        Assert.Equal([0.5, 0, 0], w2AtHook!);
        Assert.Equal([3, 1, 1], w1AtHook!);
        Assert.Equal([3, 1, 1], w1.Grad!.ToArray<double>());
    }

    [Fact]
    public void HookSeesTheAccumulatedGradientAndCanBeRemoved()
    {
        var w = Tensor.FromArray(new double[] { 1, 2 }, 2); w.RequiresGrad = true;
        int calls = 0;
        double[]? seen = null;
        var handle = w.RegisterPostAccumulateGradHook(t => { calls++; seen = t.Grad!.ToArray<double>(); });
        (w * 3.0).Sum().Backward();
        (w * 3.0).Sum().Backward(); // accumulates: the hook sees 3 + 3
        Assert.Equal(2, calls);
        Assert.Equal([6, 6], seen!);
        handle.Dispose();
        (w * 3.0).Sum().Backward();
        Assert.Equal(2, calls);
        Assert.Equal([9, 9], w.Grad!.ToArray<double>());
    }

    [Fact]
    public void UnreachedLeafGetsNoHookAndNonLeafIsRefused()
    {
        var a = Tensor.FromArray(new double[] { 1 }, 1); a.RequiresGrad = true;
        var unused = Tensor.FromArray(new double[] { 1 }, 1); unused.RequiresGrad = true;
        bool called = false;
        using var h = unused.RegisterPostAccumulateGradHook(_ => called = true);
        (a * 2.0).Sum().Backward();
        Assert.False(called);
        Assert.Throws<InvalidOperationException>(() => (a * 2.0).RegisterPostAccumulateGradHook(_ => { }));
        Assert.Throws<InvalidOperationException>(() => SharpGrad.Autograd.QueueCallback(() => { }));
    }
}
