using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;

namespace SharpGrad;

/// <summary>
/// An n-dimensional array of <see cref="DType.Float32"/>, <see cref="DType.Float64"/>, <see cref="DType.Int64"/> or
/// <see cref="DType.Bool"/> elements that records the operations applied to it for reverse-mode automatic differentiation
/// (PyTorch: <c>torch.Tensor</c>).
/// </summary>
/// <remarks>
/// Elements are stored contiguously in row-major (C) order; <see cref="Strides"/> are therefore always the contiguous
/// ones. Ops never modify their inputs, so tensors that share storage (a <see cref="Reshape"/> or a
/// <see cref="Detach"/>) cannot observe each other. The garbage collector owns tensors: there is nothing to dispose.
/// </remarks>
public sealed partial class Tensor
{
    private readonly int[] _shape;
    private bool _requiresGrad;

    /// <summary>The elements when the GC owns them and the tensor was made outside every <see cref="TensorScope"/>; else null.</summary>
    private readonly Array? _array;

    /// <summary>
    /// The elements of a tensor made inside a <see cref="TensorScope"/> (on loan from its pool, or just tracked so that the
    /// scope's end can make the tensor unreadable), shared by every view; else null.
    /// </summary>
    internal readonly PooledStorage? Pooled;

    /// <summary>The elements: a float[], double[], long[] or bool[] of exactly <see cref="Numel"/> elements.</summary>
    internal Array Storage
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_deferredData is not null) WriteDeferredData();
            return _array ?? PooledData();
        }
    }

    /// <summary>
    /// Set by a data-parallel replay that left this parameter's current values in its image (<see cref="ParameterImage"/>):
    /// <see cref="Storage"/> copies them into the array first.
    /// </summary>
    private ParameterImage? _deferredData;

    /// <summary>Makes the next read of <see cref="Storage"/> copy <paramref name="image"/>'s values into the array first.</summary>
    internal void DeferData(ParameterImage image) => _deferredData = image;

    /// <summary>Writes the values a replay left in the parameter's image into its array, if any (<see cref="DeferData"/>).</summary>
    internal void WriteDeferredData()
    {
        if (_deferredData is not { } image) return;
        image.Write(); // before the field is cleared: a thread that saw it set waits in Write for the copy
        _deferredData = null;
    }

    /// <summary>The elements, or null when the scope that lent them has ended: never throws (for prefetch hints).</summary>
    internal Array? StorageIfAlive => _array ?? Pooled?.Data;

    private Array PooledData() => Pooled!.Data ?? throw new ObjectDisposedException(nameof(Tensor),
        $"This tensor (shape {Shapes.Format(_shape)}) was made inside a TensorScope that has been disposed; every tensor made in a scope, " +
        "whatever its size, expires with it (and the storage of large ones is reused by other tensors). " +
        "Read what you need before the scope ends, Clone() it, or pass it to TensorScope.Keep.");

    /// <summary>The node that produced this tensor on the tape, or null for a leaf.</summary>
    internal Node? GradFn;

    /// <summary>The autograd engine's slot for this tensor as a leaf in the pass in progress (stamp and slot number).</summary>
    internal long EngineTag;

    /// <summary>The shape of every 0-dimensional tensor the library makes itself (shapes are never written to).</summary>
    internal static readonly int[] ScalarShape = [];

    /// <summary>A tensor on <paramref name="storage"/>; inside a <see cref="TensorScope"/> it belongs to that scope (see there).</summary>
    internal Tensor(Array storage, int[] shape, DType dtype)
    {
        if (TensorScope.Current is { } scope && scope.Track(storage, fresh: true) is { } pooled) Pooled = pooled;
        else _array = storage;
        _shape = shape;
        DType = dtype;
    }

    /// <summary>A tensor on <paramref name="storage"/> that the GC owns even inside a scope (<see cref="Clone"/>).</summary>
    private Tensor(Array storage, int[] shape, DType dtype, bool unscoped)
    {
        _ = unscoped;
        _array = storage;
        _shape = shape;
        DType = dtype;
    }

    private Tensor(PooledStorage storage, int[] shape, DType dtype)
    {
        Pooled = storage;
        _shape = shape;
        DType = dtype;
    }

    /// <summary>A tensor of another shape (same element count, not checked here) on this one's storage, outside the tape.</summary>
    internal Tensor View(int[] shape)
    {
        _ = Storage; // a recycled tensor cannot be viewed
        if (Pooled is not null) return new Tensor(Pooled, shape, DType);
        // A view is no new storage: a capture must not take it for an op's output.
        return TensorScope.Current is { } scope && scope.Track(_array!, fresh: false) is { } pooled
            ? new Tensor(pooled, shape, DType) : new Tensor(_array!, shape, DType, unscoped: true);
    }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>A copy of the shape (PyTorch: <c>tensor.shape</c>).</summary>
    public int[] Shape => _shape.AsSpan().ToArray();

    /// <summary>The shape without copying, for the library's own use.</summary>
    internal int[] ShapeRef => _shape;

    /// <summary>Element strides of the row-major layout (PyTorch: <c>tensor.stride()</c>).</summary>
    public int[] Strides => Shapes.ContiguousStrides(_shape);

    /// <summary>Number of dimensions (PyTorch: <c>tensor.dim()</c>).</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (PyTorch: <c>tensor.numel()</c>).</summary>
    public int Numel => _array is { } a ? a.Length : Pooled!.Data?.Length ?? Shapes.Numel(_shape);

    /// <summary>Size of dimension <paramref name="dim"/>; negative values count from the end.</summary>
    public int Size(int dim) => _shape[Shapes.WrapDim(dim, Rank, nameof(Size))];

    /// <summary>
    /// Whether operations on this tensor are recorded so that gradients flow back to it (PyTorch:
    /// <c>requires_grad</c>). Only leaves may be changed, and only floating-point tensors can require gradients.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn is not null && !value)
                throw new InvalidOperationException("RequiresGrad can only be cleared on a leaf tensor; use Detach() to cut a non-leaf out of the graph.");
            if (value && !DType.IsFloatingPoint())
                throw new InvalidOperationException($"Only floating-point tensors can require gradients; this tensor is {DType.ToTorchName()}.");
            _requiresGrad = value;
        }
    }

    /// <summary>The gradient accumulated by <see cref="Backward()"/> for a leaf that requires it (PyTorch: <c>.grad</c>); settable, e.g. to null.</summary>
    public Tensor? Grad
    {
        get
        {
            // A replay that applied this gradient without storing it writes it now, before anyone sees it.
            if (_deferredGrad is { } deferred)
            {
                _deferredGrad = null;
                deferred.Write();
            }
            return _grad;
        }
        set
        {
            _deferredGrad = null;
            _grad = value;
        }
    }

    private Tensor? _grad;

    /// <summary>
    /// Set by a compiled step's replay that updated this parameter from a gradient it did not store (a batch-1 weight
    /// gradient, see <see cref="FusedGradientUpdate{T}"/>): <see cref="Grad"/> writes it into its storage when read.
    /// </summary>
    private IDeferredGradient? _deferredGrad;

    /// <summary>Makes the next read of <see cref="Grad"/> write the gradient with <paramref name="deferred"/> first.</summary>
    internal void DeferGradient(IDeferredGradient deferred) => _deferredGrad = deferred;

    /// <summary>True for tensors created by the user rather than by a recorded op (PyTorch: <c>is_leaf</c>).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Name of the op that produced this tensor (PyTorch: <c>grad_fn</c>), or null for a leaf.</summary>
    public string? GradFnName => GradFn?.Name;

    internal Span<T> Span<T>() where T : unmanaged => ((T[])Storage).AsSpan();

    internal T[] Array<T>() where T : unmanaged => (T[])Storage;

    /// <summary>Whether the storage holds elements of type T.</summary>
    internal bool Is<T>() => Storage is T[];

    /// <summary>
    /// Copies the elements, in row-major order, to a new array of <typeparamref name="T"/> (float, double, long, or
    /// any other number type), converting if T is not the tensor's own element type (True is 1, False is 0). For a
    /// <see cref="DType.Bool"/> tensor's own values use <see cref="ToBoolArray"/>.
    /// </summary>
    public T[] ToArray<T>() where T : unmanaged, INumber<T>
    {
        Capture.Active?.DataRead("ToArray() reads tensor data");
        if (Storage is T[] same) return (T[])same.Clone();
        var result = new T[Numel];
        switch (Storage)
        {
            case float[] f: for (int i = 0; i < f.Length; i++) result[i] = T.CreateChecked(f[i]); break;
            case double[] d: for (int i = 0; i < d.Length; i++) result[i] = T.CreateChecked(d[i]); break;
            case long[] l: for (int i = 0; i < l.Length; i++) result[i] = T.CreateChecked(l[i]); break;
            case bool[] b: for (int i = 0; i < b.Length; i++) result[i] = b[i] ? T.One : T.Zero; break;
        }
        return result;
    }

    /// <summary>
    /// Copies the elements, in row-major order, to a new bool array: a <see cref="DType.Bool"/> tensor's own values, or
    /// for a numeric tensor whether each element is non-zero (NaN counts as true, as in PyTorch's <c>bool()</c>).
    /// </summary>
    public bool[] ToBoolArray()
    {
        Capture.Active?.DataRead("ToBoolArray() reads tensor data");
        if (Storage is bool[] same) return (bool[])same.Clone();
        var result = new bool[Numel];
        for (int i = 0; i < result.Length; i++) result[i] = GetDouble(i) != 0;
        return result;
    }

    /// <summary>The value of a one-element tensor as a double (PyTorch: <c>item()</c>).</summary>
    public double Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item() needs a tensor with exactly one element; this one has shape {Shapes.Format(_shape)} ({Numel} elements).");
        Capture.Active?.DataRead("Item() reads tensor data");
        return GetDouble(0);
    }

    /// <summary>Element <paramref name="flatIndex"/> in row-major order, as a double.</summary>
    internal double GetDouble(int flatIndex)
    {
        Capture.Active?.DataRead("reading a tensor element");
        return GetDoubleUnchecked(flatIndex);
    }

    private double GetDoubleUnchecked(int flatIndex) => Storage switch
    {
        float[] f => f[flatIndex],
        double[] d => d[flatIndex],
        long[] l => l[flatIndex],
        bool[] b => b[flatIndex] ? 1.0 : 0.0,
        _ => throw new InvalidOperationException("Unknown storage."),
    };

    /// <summary>The raw bytes of the elements (little-endian on every platform .NET runs on).</summary>
    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            Capture.Active?.DataRead("reading tensor bytes");
            return RawBytes;
        }
    }

    private ReadOnlySpan<byte> RawBytes => Storage switch
    {
        float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
        double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
        long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
        bool[] b => MemoryMarshal.AsBytes(b.AsSpan()),
        _ => throw new InvalidOperationException("Unknown storage."),
    };

    /// <summary>
    /// Zeroed storage. Large arrays are allocated uninitialised and cleared here, by writing: memory the GC has just
    /// taken from the OS reads as zero without having been written, and a kernel that reads it before writing (an
    /// accumulation into a zeroed gradient) then takes a copy-on-write fault per page, with a TLB flush on every core
    /// running the process — measured at a tenth of a CNN training step. Clearing first turns those into plain
    /// first-write faults.
    /// </summary>
    internal static Array Allocate(DType dtype, int numel)
    {
        if (numel * 8L < UninitializedMinBytes)
        {
            return dtype switch
            {
                DType.Float32 => new float[numel],
                DType.Float64 => new double[numel],
                DType.Int64 => new long[numel],
                DType.Bool => new bool[numel],
                _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
            };
        }
        Array a = AllocateUninitialized(dtype, numel);
        switch (a)
        {
            case float[] f: f.AsSpan().Clear(); break;
            case double[] d: d.AsSpan().Clear(); break;
            case long[] l: l.AsSpan().Clear(); break;
            case bool[] b: b.AsSpan().Clear(); break;
        }
        return a;
    }

    /// <summary>
    /// Storage whose elements are not cleared first (<see cref="GC.AllocateUninitializedArray{T}"/>): only for op outputs
    /// that a kernel overwrites completely. Saves the clearing pass on multi-megabyte activations.
    /// </summary>
    internal static Array AllocateUninitialized(DType dtype, int numel) =>
        numel * 8L < UninitializedMinBytes ? Allocate(dtype, numel) : dtype switch
        {
            DType.Float32 => GC.AllocateUninitializedArray<float>(numel),
            DType.Float64 => GC.AllocateUninitializedArray<double>(numel),
            DType.Int64 => GC.AllocateUninitializedArray<long>(numel),
            DType.Bool => GC.AllocateUninitializedArray<bool>(numel),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };

    /// <summary>
    /// Below this size an ordinary array is cheaper: it comes from the thread's allocation context, which the GC has
    /// already cleared, while an uninitialised one goes through a slower runtime call.
    /// </summary>
    private const long UninitializedMinBytes = 64 * 1024;

    /// <summary>A new tensor whose elements are garbage until written: only for outputs a kernel writes in full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Uninitialized(int[] shape, DType dtype) => Create(shape, dtype, clear: false);

    /// <summary>An op output: pooled storage inside a <see cref="TensorScope"/> (for tensors worth pooling), else the GC's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Tensor Create(int[] shape, DType dtype, bool clear)
    {
        int numel = Shapes.Numel(shape);
        if (numel >= TensorScope.MinPooledElements && TensorScope.Current is { Capturing: false } scope) return new(scope.Rent(dtype, numel, clear), shape, dtype);
        return new(clear ? Allocate(dtype, numel) : AllocateUninitialized(dtype, numel), shape, dtype);
    }

    /// <summary>A tensor of <paramref name="like"/>'s shape (shared, not copied) and dtype, every element <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor FullLike(Tensor like, double value)
    {
        var t = Uninitialized(like._shape, like.DType);
        t.Fill(value);
        return t;
    }

    /// <summary>A 0-dimensional tensor of a floating-point dtype holding <paramref name="value"/>, made without copying a shape.</summary>
    internal static Tensor ScalarOf(double value, DType dtype) => dtype switch
    {
        DType.Float32 => Literal(new Tensor(new[] { (float)value }, ScalarShape, DType.Float32)),
        DType.Float64 => Literal(new Tensor(new[] { value }, ScalarShape, DType.Float64)),
        _ => Full([], value, dtype),
    };

    /// <summary>A tensor whose values are fixed when the step runs (a literal, a factory's): a capture replays it as a constant.</summary>
    internal static Tensor Literal(Tensor t)
    {
        Capture.Active?.Constant(t);
        return t;
    }

    /// <summary>
    /// A tensor of values from outside the tensors (<see cref="FromArray(float[], int[])"/>): made inside a captured step,
    /// they could differ from call to call, so the step is not replayed.
    /// </summary>
    private static Tensor FromOutside(Tensor t)
    {
        Capture.Active?.DataRead("Tensor.FromArray (values from outside the step's tensors; pass them as an input)");
        return t;
    }

    /// <summary>A tensor on <paramref name="storage"/> that the GC owns whatever scope is open (a compiled step's result).</summary>
    internal static Tensor Unscoped(Array storage, int[] shape, DType dtype) => new(storage, shape, dtype, unscoped: true);

    /// <summary>A new tensor of uninitialised-by-contract (actually zeroed) storage, for op outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Empty(int[] shape, DType dtype) => Create(shape, dtype, clear: true);

    internal void EnsureFloatingPoint(string op)
    {
        if (!DType.IsFloatingPoint())
            throw new NotSupportedException($"{op} needs a floating-point tensor; got {DType.ToTorchName()} with shape {Shapes.Format(_shape)}. Convert with To(DType.Float32) first.");
    }

    /// <summary>
    /// A tensor sharing this one's storage but cut out of the graph: no gradient flows through it
    /// (PyTorch: <c>detach()</c>).
    /// </summary>
    public Tensor Detach() => View(_shape);

    /// <summary>
    /// A tensor with its own copy of the elements, recorded on the tape like PyTorch's <c>clone()</c>. The copy always
    /// belongs to the GC, also inside a <see cref="TensorScope"/>: cloning is how a step's result is kept past its scope.
    /// </summary>
    public Tensor Clone()
    {
        var y = new Tensor((Array)Storage.Clone(), _shape, DType, unscoped: true);
        return Autograd.ShouldRecord(this) ? Autograd.Record(y, "CloneBackward", [this], static g => [g]) : y;
    }
}
