using System.Runtime.CompilerServices;

namespace SharpGrad;

/// <summary>
/// Marks a stretch of work — typically one training step — whose tensors are not needed after it, so that their
/// storage is recycled for the next stretch instead of being left to the garbage collector. Optional: without a scope
/// the GC owns every tensor, as always.
/// <code>
/// foreach (var (x, y) in loader.Epoch())
/// {
///     using var scope = new TensorScope();
///     var loss = F.CrossEntropy(model.Forward(x), y);
///     optimizer.ZeroGrad();
///     loss.Backward();
///     optimizer.Step();
///     total += loss.Item();          // read what you need while the scope is open
/// }
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// While a scope is open on a thread, every tensor made on that thread belongs to it, whatever its size: op results,
/// factories such as <see cref="Tensor.Zeros(int[])"/> and <see cref="Tensor.FromArray(float[], int[])"/>, views such as
/// <see cref="Tensor.Reshape"/> and <see cref="Tensor.Detach"/>, and a data loader's batches. When the scope is
/// disposed, every one of them becomes unusable: touching its elements throws <see cref="ObjectDisposedException"/>
/// (with a message saying how to keep it) rather than reading another step's numbers. The rule does not depend on size,
/// so code that keeps a step's tensor fails at its first wrong use on small data too, not only once the batch grows.
/// Tensors of at least <see cref="MinPooledElements"/> elements take their storage from a pool shared by all threads
/// and give it back at the scope's end, for the next step to reuse; smaller ones are left to the GC (for them a pool
/// would cost more than it saves) but expire all the same.
/// </para>
/// <para>
/// What outlives the scope: tensors made before it opened (parameters, a batch made outside it); parameters and buffers
/// registered by a <see cref="NN.Module"/>, and optimizer state, even when made inside; the gradients that
/// <see cref="Tensor.Backward()"/> leaves in <see cref="Tensor.Grad"/> of a tensor from outside the scope; copies made
/// with <see cref="Tensor.Clone"/>; and any tensor passed to <see cref="Keep"/>. Gradients that <see cref="Optim.Optimizer.ZeroGrad"/> drops inside a scope (and those
/// a later backward pass replaces there) are recycled at its end, so a steady-state step reuses the same storage for its
/// gradients too. <see cref="Training.Trainer"/> opens one scope per step and per evaluation batch.
/// </para>
/// <para>
/// Scopes nest (a tensor belongs to the innermost one open when it was made) and belong to the thread that opened them;
/// dispose them on that thread, innermost first, e.g. with <c>using</c>. A scope that is never disposed holds on to
/// every tensor made in it (it is still the thread's innermost scope), so a loop must dispose its scope each time round.
/// </para>
/// </remarks>
public sealed class TensorScope : IDisposable
{
    /// <summary>Tensors with fewer elements than this are not pooled (their arrays are left to the GC), though they expire with the scope like any other.</summary>
    public const int MinPooledElements = 1024;

    [ThreadStatic] private static TensorScope? t_current;

    private readonly TensorScope? _parent;
    private readonly int _threadId;
    private readonly List<PooledStorage> _owned = [];
    private bool _disposed;

    /// <summary>Opens a scope on the current thread; it is the innermost one until disposed.</summary>
    public TensorScope()
    {
        _threadId = Environment.CurrentManagedThreadId;
        // Inside a step being captured (Jit) every array made belongs to the plan: a scope opened by the step does nothing.
        if (t_current?._capture is not null) { _inert = true; return; }
        _parent = t_current;
        t_current = this;
    }

    private TensorScope(Capture capture)
    {
        _capture = capture;
        _parent = t_current;
        _threadId = Environment.CurrentManagedThreadId;
        t_current = this;
    }

    /// <summary>
    /// The scope a <see cref="Jit"/> capture opens around the step: it pools nothing and tracks nothing (the tensors
    /// made in it are the GC's, their arrays the plan's) but tells the capture of every fresh storage array.
    /// </summary>
    internal static TensorScope ForCapture(Capture capture) => new(capture);

    private readonly Capture? _capture;
    private readonly bool _inert;

    /// <summary>Whether this is a capture's scope (which lends no pooled storage).</summary>
    internal bool Capturing => _capture is not null;

    /// <summary>The innermost scope open on this thread, or null.</summary>
    internal static TensorScope? Current => t_current;

    /// <summary>
    /// Keeps <paramref name="tensor"/>'s storage (and so every view of it) alive past this scope: it moves to the
    /// enclosing scope if there is one, otherwise to the GC. Returns the tensor, for chaining. A tensor the scope does not
    /// own is returned unchanged.
    /// </summary>
    public Tensor Keep(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ThrowIfDisposed();
        if (_inert) return tensor;
        if (tensor.Pooled is { } storage && ReferenceEquals(storage.Owner, this))
        {
            storage.Owner = _parent;
            _parent?._owned.Add(storage);
        }
        return tensor;
    }

    /// <summary>
    /// Recycles the storage of every tensor made in this scope and not kept; those tensors can no longer be read.
    /// Disposing twice does nothing. Throws if called from another thread or while an inner scope is still open.
    /// </summary>
    public void Dispose()
    {
        if (_disposed || _inert) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("TensorScope: a scope must be disposed on the thread that opened it.");
        if (!ReferenceEquals(t_current, this))
            throw new InvalidOperationException("TensorScope: an inner scope is still open; dispose scopes innermost first.");
        _disposed = true;
        t_current = _parent;
        foreach (var storage in _owned)
        {
            if (!ReferenceEquals(storage.Owner, this)) continue; // kept, or escaped as a parameter's gradient
            storage.Owner = null;
            if (storage.Data is Array data)
            {
                storage.Data = null;
                if (storage.Recyclable) StoragePool.Return(data);
            }
        }
        _owned.Clear();
    }

    /// <summary>How many storages this scope had to allocate because the pool had none of the length (tests, benchmarks).</summary>
    internal int FreshAllocations { get; private set; }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Pooled storage of <paramref name="numel"/> elements owned by this scope; zeroed if <paramref name="clear"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal PooledStorage Rent(DType dtype, int numel, bool clear)
    {
        var array = StoragePool.TryRent(dtype, numel, clear);
        if (array is null)
        {
            FreshAllocations++;
            array = clear ? Tensor.Allocate(dtype, numel) : Tensor.AllocateUninitialized(dtype, numel);
        }
        var storage = new PooledStorage(array, this);
        _owned.Add(storage);
        return storage;
    }

    /// <summary>
    /// Storage for a tensor made in this scope on an array the pool did not lend (a small op result, a factory's copy, a
    /// view of a tensor from outside): the scope's end makes the tensor unreadable but leaves the array to the GC, since
    /// other tensors may share it. A capture's scope returns null (the tensor is the GC's) and notes a
    /// <paramref name="fresh"/> array (not a view's) as made during the capture.
    /// </summary>
    internal PooledStorage? Track(Array array, bool fresh)
    {
        if (_capture is not null)
        {
            if (fresh) _capture.Created(array);
            return null;
        }
        var storage = new PooledStorage(array, this) { Recyclable = false };
        _owned.Add(storage);
        return storage;
    }

    /// <summary>
    /// Takes <paramref name="tensor"/>'s storage out of whatever scope owns it, for tensors that by their nature outlive a
    /// step: parameters, buffers, optimizer state. The GC owns it from then on.
    /// </summary>
    internal static void Escape(Tensor tensor)
    {
        if (tensor.Pooled is { } storage) storage.Owner = null;
    }

    /// <summary>
    /// A gradient the engine stores in <see cref="Tensor.Grad"/> of a leaf: it escapes its scope (the leaf outlives it)
    /// and is marked as the engine's, so that a later <see cref="Adopt"/> may recycle it.
    /// </summary>
    internal static void EscapeGradient(Tensor gradient)
    {
        if (gradient.Pooled is { } storage && storage.Owner is not null)
        {
            storage.Owner = null;
            storage.EngineGradient = true;
        }
    }

    /// <summary>
    /// A gradient the library lets go of (ZeroGrad, or a backward pass replacing it by the sum): if the engine made it
    /// and a scope is open, that scope recycles it at its end. Gradients the user supplied are never taken.
    /// </summary>
    internal static void Adopt(Tensor? gradient)
    {
        if (gradient?.Pooled is not { EngineGradient: true, Owner: null } storage || t_current is not { } scope) return;
        if (storage.Data is null) return;
        storage.EngineGradient = false;
        storage.Owner = scope;
        scope._owned.Add(storage);
    }
}

/// <summary>
/// Storage on loan from <see cref="StoragePool"/>, shared by every tensor that views it. Recycling it nulls
/// <see cref="Data"/>, so no tensor can read the array once another step has it.
/// </summary>
internal sealed class PooledStorage(Array data, TensorScope? owner)
{
    /// <summary>The elements, or null once recycled.</summary>
    public Array? Data = data;

    /// <summary>The scope that recycles it, or null once it has escaped to the GC.</summary>
    public TensorScope? Owner = owner;

    /// <summary>Set while the storage is a gradient the engine left on a leaf (see <see cref="TensorScope.Adopt"/>).</summary>
    public bool EngineGradient;

    /// <summary>Whether the array was lent by the pool and goes back to it at the scope's end (else the GC takes it).</summary>
    public bool Recyclable = true;
}

/// <summary>
/// Arrays of tensor storage waiting for reuse, by element type and exact length (a training step asks for the same
/// shapes every time, so exact lengths match without rounding, and <see cref="Tensor.Numel"/> stays the array's length).
/// At most <see cref="MaxPerLength"/> arrays per length and <see cref="CapBytes"/> in all are kept, none above
/// <see cref="MaxArrayBytes"/>: a training step's largest activations are a few MB (6.4 MB for RESULTS.md's CNN at batch 64),
/// evaluation batches of 250 images 25 MB (kept: pooled, the staged CNN's training run peaked at 538 MB, with a 16 MB
/// limit that left them to the GC at 707 MB), and the 100 MB ones of 1,000-image batches would stay cached for the life
/// of the process.
/// </summary>
internal static class StoragePool
{
    /// <summary>
    /// Arrays kept per length: enough for every same-shaped tensor of one step. A transformer step has well over a hundred
    /// [tokens, width] activations and gradients alive at its end (4 layers × 4 heads, d 128: 64 kept left 35 MB per step
    /// to the GC, gen-2 collections of the large-object heap included).
    /// </summary>
    public const int MaxPerLength = 512;

    public const long CapBytes = 256L << 20;

    public const long MaxArrayBytes = 32L << 20;

    private static readonly Dictionary<long, Stack<Array>> s_free = [];
    private static long s_bytes;

    private static long Key(DType dtype, int numel) => ((long)dtype << 32) | (uint)numel;

    private static int ElementSize(DType dtype) => dtype.ElementSize();

    /// <summary>A cached array of exactly <paramref name="numel"/> elements (zeroed if <paramref name="clear"/>), or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Array? TryRent(DType dtype, int numel, bool clear)
    {
        Array? array = null;
        lock (s_free)
        {
            if (s_free.TryGetValue(Key(dtype, numel), out var stack) && stack.TryPop(out array))
                s_bytes -= (long)numel * ElementSize(dtype);
        }
        if (clear && array is not null) Array.Clear(array);
        return array;
    }

    /// <summary>Gives an array back for reuse; left to the GC when too large, when its length already has <see cref="MaxPerLength"/> or when the pool is full.</summary>
    public static void Return(Array array)
    {
        DType dtype = array switch
        {
            float[] => DType.Float32,
            double[] => DType.Float64,
            long[] => DType.Int64,
            bool[] => DType.Bool,
            _ => throw new ArgumentException("StoragePool: not tensor storage.", nameof(array)),
        };
        long bytes = (long)array.Length * ElementSize(dtype);
        if (bytes > MaxArrayBytes) return;
        lock (s_free)
        {
            long key = Key(dtype, array.Length);
            if (!s_free.TryGetValue(key, out var stack)) s_free[key] = stack = new Stack<Array>();
            if (stack.Count >= MaxPerLength || s_bytes + bytes > CapBytes) return;
            stack.Push(array);
            s_bytes += bytes;
        }
    }
}
