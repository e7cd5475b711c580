using System.Numerics;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>One recorded kernel launch of a plan: its buffers and parameters are bound once, at capture.</summary>
internal abstract class Instruction
{
    /// <summary>Runs the kernel again on the same buffers. Must not allocate.</summary>
    public abstract void Run();

    /// <summary>The arrays the launch declared it reads (set by <see cref="Capture.Add"/>; for the plan's fusion pass).</summary>
    internal Array[] ReadSet { get; set; } = [];

    /// <summary>The arrays the launch declared it writes (set by <see cref="Capture.Add"/>).</summary>
    internal Array[] WriteSet { get; set; } = [];

    /// <summary>A readable name for profiles: the instruction's type with its type arguments.</summary>
    public virtual string Describe() => Name(GetType());

    private static string Name(Type t)
    {
        if (!t.IsGenericType) return t.Name;
        string name = t.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        return (tick < 0 ? name : name[..tick]) + "<" + string.Join(",", t.GetGenericArguments().Select(Name)) + ">";
    }
}

/// <summary>
/// A kernel launched through <see cref="DTypeDispatch"/> whose struct can be replayed as it is: it names the tensors it
/// reads and writes (<see cref="Capture.Reads"/>, <see cref="Capture.Writes"/>), its <c>Run</c> depends only on those
/// tensors' storage and on values fixed at launch, and it does not allocate. A kernel struct without this interface
/// launched during a capture makes the step unreplayable (it then runs eagerly), never wrongly replayed.
/// </summary>
internal interface ICapturedKernel
{
    /// <summary>Declares the kernel's buffers to <paramref name="capture"/>.</summary>
    void Declare(Capture capture);
}

/// <summary>
/// The recording of one step by <see cref="Jit"/>: while it is active on a thread, every kernel launch point that has a
/// recorded form appends an <see cref="Instruction"/>, and every launch that has none (or anything a replay could not
/// reproduce: reading tensor data, drawing random numbers) marks the capture failed with a reason. The step itself runs
/// eagerly all the same. Arrays allocated while capturing become the plan's own (no <see cref="TensorScope"/> takes
/// them: the capture scope makes every tensor made meanwhile unscoped).
/// </summary>
internal sealed class Capture
{
    [ThreadStatic] private static Capture? t_active;

    /// <summary>The capture in progress on this thread, or null (the common case: one thread-static read).</summary>
    internal static Capture? Active
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_active;
    }

    private readonly List<Instruction> _instructions = [];
    private readonly HashSet<Array> _created = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Array> _written = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Array> _constants = new(ReferenceEqualityComparer.Instance);
    private readonly List<Array> _reads = [], _writes = [];
    private TensorScope? _scope;
    private Capture? _outer;
    private int _depth;
    private string _op = "";

    /// <summary>Why the step cannot be replayed (the first reason found), or null.</summary>
    internal string? Failure { get; private set; }

    /// <summary>True when a launch at this point is to be recorded: not inside another recorded launch, and no failure yet.</summary>
    internal bool Recording => _depth == 0 && Failure is null;

    internal List<Instruction> Instructions => _instructions;

    private static int s_activeCount;

    /// <summary>Whether a capture is in progress on any thread: a plain static read, for hot paths (random draws) that check before looking for this thread's.</summary>
    internal static bool AnyActive => Volatile.Read(ref s_activeCount) != 0;

    internal void Begin()
    {
        Interlocked.Increment(ref s_activeCount);
        _outer = t_active;
        t_active = this;
        _scope = TensorScope.ForCapture(this);
    }

    internal void End()
    {
        _scope?.Dispose();
        _scope = null;
        t_active = _outer;
        Interlocked.Decrement(ref s_activeCount);
    }

    /// <summary>Marks the capture as not replayable (the first reason wins).</summary>
    internal void Fail(string reason) => Failure ??= reason;

    /// <summary>Something outside the kernels looked at tensor data (e.g. <c>Item()</c>): the step's control flow may depend on it.</summary>
    internal void DataRead(string what)
    {
        if (_depth == 0) Fail($"{what} inside the step");
    }

    /// <summary>A fresh storage array was wrapped in a tensor.</summary>
    internal void Created(Array storage) => _created.Add(storage);

    /// <summary>A tensor made from values known when the step runs (a literal, a factory): replayed as a constant.</summary>
    internal void Constant(Tensor t) => _constants.Add(t.Storage);

    /// <summary>Whether <paramref name="storage"/> was allocated during this capture.</summary>
    internal bool IsCreated(Array storage) => _created.Contains(storage);

    /// <summary>Whether a replay finds the right values in <paramref name="storage"/>: made before the capture (parameters, inputs), written by a recorded instruction, or a constant.</summary>
    internal bool Readable(Array storage) => !_created.Contains(storage) || _written.Contains(storage) || _constants.Contains(storage);

    /// <summary>Declares that the launch being recorded reads <paramref name="t"/>.</summary>
    internal void Reads(Tensor? t)
    {
        if (t is null) return;
        _reads.Add(t.Storage);
        if (!Readable(t.Storage))
            Fail($"{_op} reads a tensor of shape {Shapes.Format(t.ShapeRef)} made by an op that has no recorded form" +
                (t.GradFnName is { } n ? $" ({n})" : ""));
    }

    /// <summary>Declares that the launch being recorded writes <paramref name="t"/>.</summary>
    internal void Writes(Tensor? t)
    {
        if (t is null) return;
        _written.Add(t.Storage);
        _writes.Add(t.Storage);
    }

    /// <summary>Declares the tensors a launch reads, then those it writes (nulls skipped): a one-line <see cref="ICapturedKernel.Declare"/>.</summary>
    internal static void Buffers(Capture capture, ReadOnlySpan<Tensor?> reads, ReadOnlySpan<Tensor?> writes)
    {
        foreach (var t in reads) capture.Reads(t);
        foreach (var t in writes) capture.Writes(t);
    }

    /// <summary>Names the launch whose buffers are declared next (for the failure message).</summary>
    internal void Launch(string op) => _op = op;

    /// <summary>Appends an instruction after its buffers were declared.</summary>
    internal void Add(Instruction instruction)
    {
        instruction.ReadSet = [.. _reads];
        instruction.WriteSet = [.. _writes];
        _reads.Clear();
        _writes.Clear();
        _instructions.Add(instruction);
    }

    // ---- Launch points -------------------------------------------------------------------------------------------

    /// <summary>
    /// <see cref="DTypeDispatch.Float"/> while capturing: records the kernel struct when it is an
    /// <see cref="ICapturedKernel"/>, else fails; then runs it eagerly, with nested launches not recorded.
    /// </summary>
    internal void Float<TKernel>(DType dtype, TKernel kernel, string op) where TKernel : IFloatKernel
    {
        bool record = Recording;
        if (record && kernel is not ICapturedKernel) { Fail($"{op} ({typeof(TKernel).Name}) has no recorded form"); record = false; }
        _depth++;
        try { DTypeDispatch.RunFloat(dtype, kernel, op); }
        finally { _depth--; }
        // Declared after the run: a kernel object (a class) may make its outputs in its first run and reuse them after.
        if (record && Recording)
        {
            _op = op;
            ((ICapturedKernel)kernel).Declare(this);
            Add(new FloatKernelInstruction<TKernel>(dtype, kernel, op));
        }
    }

    /// <summary><see cref="DTypeDispatch.Any"/> while capturing: as <see cref="Float"/>.</summary>
    internal void Any<TKernel>(DType dtype, TKernel kernel) where TKernel : IAnyKernel
    {
        bool record = Recording;
        if (record && kernel is not ICapturedKernel) { Fail($"{typeof(TKernel).Name} has no recorded form"); record = false; }
        _depth++;
        try { DTypeDispatch.RunAny(dtype, kernel); }
        finally { _depth--; }
        if (record && Recording)
        {
            _op = typeof(TKernel).Name;
            ((ICapturedKernel)kernel).Declare(this);
            Add(new AnyKernelInstruction<TKernel>(dtype, kernel));
        }
    }

    /// <summary>An elementwise unary map <c>y = f(x)</c> (already run).</summary>
    internal void Unary<TOp>(Tensor x, Tensor y, string op) where TOp : IUnaryFunction
    {
        if (!Recording) return;
        _op = op;
        Reads(x);
        Writes(y);
        Add(x.DType == DType.Float32
            ? new UnaryInstruction<float, TOp>(x.Array<float>(), y.Array<float>())
            : new UnaryInstruction<double, TOp>(x.Array<double>(), y.Array<double>()));
    }

    /// <summary>A broadcasting binary map (already run).</summary>
    internal void Binary<TOp>(Tensor a, Tensor b, Tensor y, string op) where TOp : IBinaryOperator
    {
        if (!Recording) return;
        _op = op;
        Reads(a);
        Reads(b);
        Writes(y);
        Add(a.DType == DType.Float32
            ? new BinaryInstruction<float, TOp>(a.Array<float>(), a.ShapeRef, b.Array<float>(), b.ShapeRef, y.Array<float>(), y.ShapeRef)
            : new BinaryInstruction<double, TOp>(a.Array<double>(), a.ShapeRef, b.Array<double>(), b.ShapeRef, y.Array<double>(), y.ShapeRef));
    }

    /// <summary><c>d = f(a, b)</c> over equal-length operands (already run); <paramref name="d"/> may be <paramref name="a"/>.</summary>
    internal void SameShape<TOp>(Tensor a, Tensor b, Tensor d, string op) where TOp : IBinaryFunction
    {
        if (!Recording) return;
        _op = op;
        Reads(a);
        Reads(b);
        Writes(d);
        Add(a.DType == DType.Float32
            ? new SameShapeInstruction<float, TOp>(a.Array<float>(), b.Array<float>(), d.Array<float>())
            : new SameShapeInstruction<double, TOp>(a.Array<double>(), b.Array<double>(), d.Array<double>()));
    }

    /// <summary><c>y = f(x, s)</c> or <c>f(s, x)</c> with a scalar fixed at capture (already run).</summary>
    internal void Scalar<TOp>(Tensor x, double s, bool scalarFirst, Tensor y, string op) where TOp : IBinaryFunction
    {
        if (!Recording) return;
        _op = op;
        Reads(x);
        Writes(y);
        Add(x.DType == DType.Float32
            ? new ScalarInstruction<float, TOp>(x.Array<float>(), (float)s, scalarFirst, y.Array<float>())
            : new ScalarInstruction<double, TOp>(x.Array<double>(), s, scalarFirst, y.Array<double>()));
    }

    /// <summary>A ternary map over equal shapes (already run).</summary>
    internal void Ternary<TOp>(Tensor a, Tensor b, Tensor c, Tensor d, string op) where TOp : ITernaryFunction
    {
        if (!Recording) return;
        _op = op;
        Reads(a);
        Reads(b);
        Reads(c);
        Writes(d);
        Add(a.DType == DType.Float32
            ? new TernaryInstruction<float, TOp>(a.Array<float>(), b.Array<float>(), c.Array<float>(), d.Array<float>())
            : new TernaryInstruction<double, TOp>(a.Array<double>(), b.Array<double>(), c.Array<double>(), d.Array<double>()));
    }

    /// <summary>ReLU (<paramref name="p"/> null) or its gradient <c>d = a·[p &gt; 0]</c> over equal shapes (already run).</summary>
    internal void Relu(Tensor a, Tensor? p, Tensor d, string op)
    {
        if (!Recording) return;
        _op = op;
        Reads(a);
        Reads(p);
        Writes(d);
        Add(a.DType == DType.Float32
            ? new ReluInstruction<float>(a.Array<float>(), p?.Array<float>(), d.Array<float>())
            : new ReluInstruction<double>(a.Array<double>(), p?.Array<double>(), d.Array<double>()));
    }

    /// <summary>
    /// <c>C = act(op(A) op(B) + bias)</c> with dense operands (<see cref="Gemm.Multiply{T}(bool, bool, int, int, int, T, ReadOnlySpan{T}, int, ReadOnlySpan{T}, int, T, Span{T}, int, ReadOnlySpan{T}, GemmActivation, bool)"/>
    /// with the default leading dimensions, alpha 1 and beta 0; already run).
    /// </summary>
    internal void Gemm(bool transA, bool transB, int m, int n, int k, Tensor a, Tensor b, Tensor c, Tensor? bias, GemmActivation activation, string op)
    {
        if (!Recording) return;
        _op = op;
        Reads(a);
        Reads(b);
        Reads(bias);
        Writes(c);
        Add(a.DType == DType.Float32
            ? new GemmInstruction<float>(transA, transB, m, n, k, a.Array<float>(), b.Array<float>(), c.Array<float>(), bias?.Array<float>(), activation)
            : new GemmInstruction<double>(transA, transB, m, n, k, a.Array<double>(), b.Array<double>(), c.Array<double>(), bias?.Array<double>(), activation));
    }

    /// <summary>The engine's sum of a broadcast gradient <paramref name="g"/> down to <paramref name="r"/>'s shape (already run into zeroed r).</summary>
    internal void SumTo(Tensor g, Tensor r, string op)
    {
        if (!Recording) return;
        _op = op;
        Reads(g);
        Writes(r);
        Add(g.DType == DType.Float32
            ? new SumToInstruction<float>(g.Array<float>(), g.ShapeRef, r.Array<float>(), r.ShapeRef)
            : new SumToInstruction<double>(g.Array<double>(), g.ShapeRef, r.Array<double>(), r.ShapeRef));
    }

    /// <summary><see cref="Tensor.Fill(double)"/> (already run).</summary>
    internal void Fill(Tensor t, double value)
    {
        if (!Recording) return;
        Writes(t);
        Add(new FillInstruction(t.Storage, value));
    }

    /// <summary>A counter (one Int64 element, e.g. BatchNorm's <c>num_batches_tracked</c>) incremented in place (already run).</summary>
    internal void Increment(long[] counter)
    {
        if (!Recording) return;
        Add(new IncrementInstruction(counter));
    }

    /// <summary><see cref="NN.Utils.ClipGradValue"/> on these gradients (already run): each is clamped in place.</summary>
    internal void ClampGradients(IReadOnlyList<Tensor> gradients, double clipValue)
    {
        if (!Recording) return;
        _op = nameof(NN.Utils.ClipGradValue);
        var arrays = new Array[gradients.Count];
        for (int i = 0; i < arrays.Length; i++)
        {
            Reads(gradients[i]);
            Writes(gradients[i]);
            arrays[i] = gradients[i].Storage;
        }
        Add(new ClampInstruction(arrays, clipValue));
    }

    /// <summary><see cref="Tensor.CopyFrom"/> between tensors of one dtype (already run).</summary>
    internal void Copy(Tensor source, Tensor destination)
    {
        if (!Recording) return;
        _op = nameof(Tensor.CopyFrom);
        Reads(source);
        Writes(destination);
        Add(new CopyInstruction(source.Storage, destination.Storage));
    }
}

/// <summary>
/// An instruction, or a recorded kernel, that can write one of the arrays it makes into other memory instead: set once
/// the plan is final by an instruction that owns that memory (a data-parallel bucket's slot, so that a gradient need not
/// be copied there). The array is then no longer written; whoever redirects it must know that nothing else reads it.
/// </summary>
internal interface IRedirectableOutput
{
    /// <summary>
    /// Writes <paramref name="array"/>'s values, from now on, at <paramref name="address"/> (its length valid from
    /// there) instead of into the array. False, with nothing changed, when this does not make the whole array itself
    /// or cannot write it elsewhere.
    /// </summary>
    bool RedirectOutput(Array array, nint address);
}

internal sealed class FloatKernelInstruction<TKernel>(DType dtype, TKernel kernel, string op) : Instruction, IRedirectableOutput where TKernel : IFloatKernel
{
    private readonly TKernel _kernel = kernel;

    public override void Run() => DTypeDispatch.RunFloat(dtype, _kernel, op);

    /// <summary>
    /// The kernel's own redirection when it has one; only a class kernel's (a struct kernel would redirect a boxed copy,
    /// not the one that runs).
    /// </summary>
    public bool RedirectOutput(Array array, nint address) =>
        !typeof(TKernel).IsValueType && _kernel is IRedirectableOutput r && r.RedirectOutput(array, address);

    public override string Describe() => base.Describe() + " " + op;
}

internal sealed class AnyKernelInstruction<TKernel>(DType dtype, TKernel kernel) : Instruction where TKernel : IAnyKernel
{
    private readonly TKernel _kernel = kernel;

    public override void Run() => DTypeDispatch.RunAny(dtype, _kernel);
}

internal sealed class UnaryInstruction<T, TOp>(T[] x, T[] y) : Instruction
    where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
{
    public override void Run() => Map.Unary<T, TOp>(x, y);
}

internal sealed class BinaryInstruction<T, TOp>(T[] a, int[] aShape, T[] b, int[] bShape, T[] y, int[] yShape) : Instruction
    where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOperator
{
    public override void Run() => Tensor.BinaryArrays<T, TOp>(a, aShape, b, bShape, y, yShape);
}

internal sealed class SameShapeInstruction<T, TOp>(T[] a, T[] b, T[] d) : Instruction
    where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
{
    public override void Run() => Map.Binary<T, TOp>(a, b, d);
}

internal sealed class ScalarInstruction<T, TOp>(T[] x, T s, bool scalarFirst, T[] y) : Instruction
    where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
{
    public override void Run()
    {
        if (scalarFirst) Map.Binary<T, TOp>(s, x, y);
        else Map.Binary<T, TOp>(x, s, y);
    }
}

internal sealed class TernaryInstruction<T, TOp>(T[] a, T[] b, T[] c, T[] d) : Instruction
    where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryFunction
{
    public override void Run() => Map.Ternary<T, TOp>(a, b, c, d);
}

internal sealed class ReluInstruction<T>(T[] a, T[]? p, T[] d) : Instruction where T : unmanaged, IFloatingPointIeee754<T>
{
    public override void Run() => Tensor.ReluArrays(a, p, d);
}

internal sealed class GemmInstruction<T>(bool transA, bool transB, int m, int n, int k, T[] a, T[] b, T[] c, T[]? bias, GemmActivation activation)
    : Instruction, IRedirectableOutput where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GemmSplit<T>? _split = GemmSplit<T>.For(transA, transB, m, n, k, a, b, c, bias, activation);

    internal bool TransA => transA;
    internal bool TransB => transB;
    internal int M => m;
    internal int N => n;
    internal int K => k;
    internal T[] A => a;
    internal T[] B => b;
    internal T[] C => c;
    internal bool Plain => bias is null && activation == GemmActivation.None;

    /// <summary>Whether the product is split into blocks computed on several threads.</summary>
    internal bool Split => _split is not null;

    /// <summary>
    /// Set by the plan's fusion pass when C is a parameter's gradient that the optimizer step updates in element ranges
    /// on several threads (<see cref="ParallelUpdate"/>): the packed product then gives each thread a share of C's rows
    /// (<see cref="GemmTuning.GradientRowShares"/>), the rows that thread's share of the update and of the next forward
    /// product read, rather than a share of its columns.
    /// </summary>
    internal bool RowShares { get; set; }

    public override void Run()
    {
        if (_split is not null) _split.Run();
        else Multiply();
    }

    /// <summary>
    /// Where the product is written instead of <see cref="C"/>, set once the plan is final by an instruction that owns
    /// that memory (<see cref="RedirectOutput"/>: a data-parallel bucket's slot, so that the gradient need not be copied
    /// there): the address of C's element 0 in it, C's length valid from there; 0 (the default): into <see cref="C"/>.
    /// Never for a split product.
    /// </summary>
    internal nint Output => _output;

    private nint _output;

    /// <summary>Sets <see cref="Output"/> for <see cref="C"/> when the product is not split and not redirected yet.</summary>
    public bool RedirectOutput(Array array, nint address)
    {
        if (!ReferenceEquals(array, c) || _split is not null || _output != 0 || address == 0) return false;
        _output = address;
        return true;
    }

    /// <summary>
    /// Where B is read instead of <see cref="B"/> while the image is <see cref="ParameterImage.Current"/> (set once the
    /// plan is final by the data-parallel wrapper that owns the image, <see cref="RedirectInputB"/>); null: from B.
    /// </summary>
    internal ParameterImage? InputB => _inputB;

    private ParameterImage? _inputB;

    /// <summary>Sets <see cref="InputB"/> for <see cref="B"/> when the product is not split and B is not its A, C or bias.</summary>
    internal bool RedirectInputB(Array array, ParameterImage image)
    {
        if (!CanRedirectInputB(array) || !ReferenceEquals(image.Array, b)) return false;
        _inputB = image;
        return true;
    }

    /// <summary>Whether <see cref="RedirectInputB"/> would take <paramref name="array"/>.</summary>
    internal bool CanRedirectInputB(Array array) =>
        ReferenceEquals(array, b) && !ReferenceEquals(array, a) && !ReferenceEquals(array, c) && !ReferenceEquals(array, bias)
        && _split is null && _inputB is null;

    /// <summary>The type with the shape, e.g. <c>GemmInstruction&lt;Single&gt; 64x256x784 NT relu</c>.</summary>
    public override string Describe() =>
        $"{base.Describe()} {m}x{n}x{k} {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')}{(bias is null ? "" : " bias")}{(activation == GemmActivation.Relu ? " relu" : "")}";

    private unsafe void Multiply() =>
        Kernels.Gemm.Multiply(transA, transB, m, n, k, T.One, a, Math.Max(1, transA ? m : k),
            _inputB is { Current: true } image ? new ReadOnlySpan<T>((void*)image.Address, b.Length) : b, Math.Max(1, transB ? k : n), T.Zero,
            Output != 0 ? new Span<T>((void*)Output, c.Length) : c, Math.Max(1, n), bias, activation, RowShares && GemmTuning.GradientRowShares);
}

internal sealed class SumToInstruction<T>(T[] g, int[] gShape, T[] r, int[] shape) : Instruction where T : unmanaged, IFloatingPointIeee754<T>
{
    public override void Run()
    {
        Array.Clear(r); // SumTo adds into its output
        Reduce.SumTo<T>(g, gShape, r, shape);
    }
}

internal sealed class FillInstruction(Array storage, double value) : Instruction
{
    public override void Run()
    {
        switch (storage)
        {
            case float[] f: f.AsSpan().Fill((float)value); break;
            case double[] d: d.AsSpan().Fill(value); break;
            case long[] l: l.AsSpan().Fill((long)value); break;
            case bool[] b: b.AsSpan().Fill(value != 0); break;
        }
    }
}

internal sealed class IncrementInstruction(long[] counter) : Instruction
{
    public override void Run() => counter[0]++;
}

internal sealed class ClampInstruction(Array[] gradients, double clipValue) : Instruction
{
    public override void Run()
    {
        foreach (var g in gradients)
        {
            switch (g)
            {
                case float[] f: NN.Utils.Clamp(f, (float)clipValue); break;
                case double[] d: NN.Utils.Clamp(d, clipValue); break;
            }
        }
    }
}

internal sealed class CopyInstruction(Array source, Array destination) : Instruction
{
    public override void Run() => Array.Copy(source, destination, destination.Length);
}

/// <summary>An optimizer's <see cref="Optim.Optimizer.Step"/> over the gradient arrays seen at capture; reads its settings and step count live.</summary>
internal sealed class OptimizerStepInstruction(Optim.Optimizer optimizer, Array?[] gradients) : Instruction
{
    private IParameterUpdate?[]? _updates = ParallelUpdate.For(optimizer, gradients);

    internal Optim.Optimizer Optimizer => optimizer;

    internal Array?[] Gradients => gradients;

    /// <summary>Whether some parameter's update is split over threads.</summary>
    internal bool Parallel => _updates is not null && Array.Exists(_updates, u => u is ParallelUpdate { Split: true } || u is IFusedUpdate { Split: true });

    /// <summary>Whether parameter <paramref name="index"/>'s update is split into element ranges over the threads (<see cref="ParallelUpdate"/>).</summary>
    internal bool UpdatesInRanges(int index) => _updates?[index] is ParallelUpdate;

    /// <summary>How many parameters' gradients are computed inside the update (<see cref="Fuse"/>).</summary>
    internal int Fused => _updates is null ? 0 : Array.FindAll(_updates, u => u is IFusedUpdate).Length;

    /// <summary>How many of the <see cref="Fused"/> updates are one-pass outer-product updates.</summary>
    internal int OnePass => _updates is null ? 0 : Array.FindAll(_updates, u => u is IFusedUpdate { OnePass: true }).Length;

    /// <summary>
    /// Makes parameter <paramref name="index"/>'s update compute its gradient too, block by block, with the recorded
    /// <paramref name="gemm"/> that wrote it (the plan then drops that instruction). False when the product cannot be
    /// computed in row blocks with the same result (see <see cref="FusedGradientUpdate{T}.For"/>).
    /// </summary>
    internal bool Fuse<T>(int index, GemmInstruction<T> gemm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (FusedGradientUpdate<T>.For(optimizer, index, gemm) is not { } fused) return false;
        _updates ??= new IParameterUpdate?[gradients.Length];
        _updates[index] = fused;
        return true;
    }

    /// <summary>
    /// Lets parameter <paramref name="index"/>'s one-pass update defer writing its gradient to a read of the parameter's
    /// <see cref="Tensor.Grad"/> (<see cref="Fusion"/> decides that nothing else in the plan reads it), when the
    /// parameter's gradient is that array.
    /// </summary>
    internal void DeferGradientStore(int index)
    {
        var parameter = optimizer.Parameters[index];
        if (_updates?[index] is IFusedUpdate fused && ReferenceEquals(parameter.Grad?.Storage, gradients[index])) fused.DeferGradientStore(parameter);
    }

    // The split updates' one pool run (UpdateRegion), made at the first replay (the plan's fusion is done by then).
    private UpdateRegion? _region;
    private bool _regionMade;

    public override void Run()
    {
        if (!_regionMade)
        {
            _region = UpdateRegion.For(_updates);
            _regionMade = true;
        }
        optimizer.ReplayStep(gradients, _updates, ReplayParts.OneUpdateRegion ? _region : null);
    }
}
