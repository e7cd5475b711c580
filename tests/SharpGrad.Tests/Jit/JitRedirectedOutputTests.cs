using System.Runtime.InteropServices;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// A compiled step's instruction may write a gradient into other memory instead of its array (what data-parallel
/// training does with a bucket's slot in the shared window: <see cref="IRedirectableOutput"/>). A convolution's replayed
/// backward, so redirected, must write there the bits the eager backward computes, for the weight and the bias, and
/// leave the arrays alone; and only the instruction that makes an array accepts it.
/// </summary>
public class JitRedirectedOutputTests
{
    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public unsafe void RedirectedConvolutionGradientsAreTheEagerOnes(DType dtype)
    {
        static Sequential Model(DType dtype)
        {
            var g = new Generator(5);
            return new Sequential(new Conv2d(3, 8, 3, padding: 1, generator: g, dtype: dtype), new ReLU(), new Flatten(), new Linear(8 * 6 * 6, 4, generator: g, dtype: dtype));
        }
        // Gradients only (no update: the step's reader of .Grad would read the arrays, which the redirection leaves stale).
        static Tensor Step(Module model, Optimizer opt, Tensor x, Tensor y)
        {
            var loss = F.CrossEntropy(model.Forward(x), y);
            opt.ZeroGrad();
            loss.Backward();
            return loss;
        }
        var g = new Generator(9);
        var xs = Enumerable.Range(0, 4).Select(_ => Tensor.Randn([2, 3, 6, 6], g, dtype)).ToArray();
        var ys = Enumerable.Range(0, 4).Select(i => Tensor.FromArray(new long[] { i % 4, (i + 1) % 4 })).ToArray();

        var model = Model(dtype);
        var opt = new Sgd(model.Parameters(), lr: 0.1);
        var step = SharpGrad.Jit.Compile(t => Step(model, opt, t[0], t[1]));
        for (int i = 0; i < 3; i++) step.Run(xs[i], ys[i]); // warm-up, capture, one replay
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);

        var conv = (Conv2d)model[0];
        var (gw, gb) = (conv.Weight.Grad!, conv.Bias!.Grad!);
        var (gwBefore, gbBefore) = (Bits(gw), Bits(gb));
        int size = dtype == DType.Float32 ? 4 : 8;
        void* w = NativeMemory.AllocZeroed((nuint)(gw.Numel * size)), b = NativeMemory.AllocZeroed((nuint)(gb.Numel * size));
        try
        {
            var redirectable = step.PlanInstructions.OfType<IRedirectableOutput>().ToArray();
            Assert.Equal(1, redirectable.Count(r => r.RedirectOutput(gw.Storage, (nint)w)));
            Assert.Equal(1, redirectable.Count(r => r.RedirectOutput(gb.Storage, (nint)b)));
            Assert.DoesNotContain(redirectable, r => r.RedirectOutput(gw.Storage, (nint)b)); // once only

            step.Run(xs[3], ys[3]);
            Assert.True(step.LastRunReplayed);
            var eager = Model(dtype);
            Step(eager, new Sgd(eager.Parameters(), lr: 0.1), xs[3], ys[3]);
            var eagerConv = (Conv2d)eager[0];
            Assert.Equal(Bits(eagerConv.Weight.Grad!), Bits(Native(w, gw.Numel, dtype)));
            Assert.Equal(Bits(eagerConv.Bias!.Grad!), Bits(Native(b, gb.Numel, dtype)));
            // The arrays still hold the replay before's gradients: the redirected replay did not write them.
            Assert.Equal(gwBefore, Bits(gw));
            Assert.Equal(gbBefore, Bits(gb));
            Assert.NotEqual(gwBefore, Bits(eagerConv.Weight.Grad!));
        }
        finally
        {
            NativeMemory.Free(w);
            NativeMemory.Free(b);
        }
    }

    private static unsafe Tensor Native(void* at, int count, DType dtype) => dtype == DType.Float32
        ? Tensor.FromArray(new ReadOnlySpan<float>(at, count).ToArray(), count)
        : Tensor.FromArray(new ReadOnlySpan<double>(at, count).ToArray(), count);

    private static long[] Bits(Tensor t) => JitOuterProductTests.Bits(t);
}
