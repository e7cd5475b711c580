using SharpGrad.Kernels;

namespace SharpGrad.Optim;

public abstract partial class Optimizer
{
    /// <summary>A shared step's parameters take at least this many elements in all: below it one thread updates them.</summary>
    private const int SharedStepMinElements = 1 << 16;

    private SharedStepWork? _sharedStep;

    /// <summary>
    /// Whether an eager <see cref="Step"/> may update its parameters as one job over their element ranges on the worker
    /// pool: for Adam, AdamW and RMSprop exactly (elementwise updates whose state entries, once made, are only read; not
    /// SGD, whose momentum buffer starts differently on its first step), with two threads allowed and
    /// <see cref="StepPaths.SerialTails"/> off.
    /// </summary>
    private bool SharesStep
    {
        get
        {
            if (StepPaths.SerialTails || Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism) < 2) return false;
            var type = GetType();
            return type == typeof(Adam) || type == typeof(AdamW) || type == typeof(RmsProp);
        }
    }

    /// <summary>
    /// The eager step (not captured, not sharded) as one job over every parameter's element ranges, when
    /// <see cref="SharesStep"/> and the parameters with a gradient are large enough: first the first block of each
    /// parameter on the calling thread (which makes any state entry the update needs), then the rest in blocks of
    /// <see cref="SharedStepWork.Align"/> elements split over the pool. Each element gets the same operations as in
    /// one update of the whole parameter (ranges start at multiples of the block, so the same elements fall in the
    /// vector loops and in the tail), so the values are the same. False (nothing done) when it does not apply.
    /// </summary>
    private bool StepShared()
    {
        if (!SharesStep) return false;
        var work = _sharedStep ??= new SharedStepWork(this, _parameters.Length);
        long total = 0;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            work.Gradients[i] = null;
            if (p.Grad is null) continue;
            if (!Shapes.Equal(p.Grad.ShapeRef, p.ShapeRef))
            {
                Array.Clear(work.Gradients);
                throw new InvalidOperationException($"Parameter {i}: gradient shape {Shapes.Format(p.Grad.ShapeRef)} differs from the parameter's {Shapes.Format(p.ShapeRef)}.");
            }
            work.Gradients[i] = (p.Grad.DType == p.DType ? p.Grad : p.Grad.To(p.DType)).Storage;
            total += p.Numel;
        }
        if (total < SharedStepMinElements)
        {
            Array.Clear(work.Gradients);
            return false;
        }
        try
        {
            for (int i = 0; i < _parameters.Length; i++)
                if (work.Gradients[i] is { } g) UpdateRange(i, g, 0, Math.Min(SharedStepWork.Align, _parameters[i].Numel));
            work.Run();
        }
        finally { Array.Clear(work.Gradients); }
        return true;
    }

    /// <summary>
    /// The job of <see cref="StepShared"/>: the elements of every parameter past its first block, in blocks of
    /// <see cref="Align"/>, numbered one parameter after the other; each part updates a contiguous run of blocks (the
    /// parameters' ranges it meets) through <see cref="UpdateRange"/>. Made once per optimizer: a step allocates nothing.
    /// </summary>
    private sealed class SharedStepWork(Optimizer optimizer, int parameters) : ParallelWork
    {
        /// <summary>Ranges start at multiples of this many elements of their parameter (whole cache lines and vectors).</summary>
        internal const int Align = 64;

        /// <summary>This step's gradient arrays, by parameter (null: no gradient); cleared after the step.</summary>
        internal readonly Array?[] Gradients = new Array?[parameters];

        // First block of each parameter's run in the numbering, and the total (set by Run).
        private readonly int[] _firstBlock = new int[parameters + 1];

        internal void Run()
        {
            int blocks = 0;
            for (int i = 0; i < Gradients.Length; i++)
            {
                _firstBlock[i] = blocks;
                if (Gradients[i] is not null) blocks += (Math.Max(0, optimizer._parameters[i].Numel - Align) + Align - 1) / Align;
            }
            _firstBlock[^1] = blocks;
            int parts = ReplayParts.For(blocks);
            if (parts <= 1) Execute(0, 1);
            else WorkerPool.Run(this, parts);
        }

        public override void Execute(int index, int count)
        {
            int blocks = _firstBlock[^1];
            int b0 = (int)((long)blocks * index / count), b1 = (int)((long)blocks * (index + 1) / count);
            for (int i = 0; i < Gradients.Length && b0 < b1; i++)
            {
                if (Gradients[i] is not { } g || _firstBlock[i + 1] <= b0) continue;
                int n = optimizer._parameters[i].Numel;
                int first = Align + (b0 - _firstBlock[i]) * Align;
                int last = Math.Min(n, Align + (Math.Min(b1, _firstBlock[i + 1]) - _firstBlock[i]) * Align);
                if (first < last) optimizer.UpdateRange(i, g, first, last - first);
                b0 = _firstBlock[i + 1];
            }
        }
    }
}
