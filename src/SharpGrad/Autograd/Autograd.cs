using System.Runtime.CompilerServices;

namespace SharpGrad;

/// <summary>
/// Reverse-mode automatic differentiation: the tape, gradient mode, and the engine behind
/// <see cref="Tensor.Backward()"/> and <see cref="Grad"/> (PyTorch: <c>torch.autograd</c>).
/// </summary>
public static partial class Autograd
{
    [ThreadStatic] private static bool t_gradDisabled;

    /// <summary>Whether ops on this thread are currently recorded (PyTorch: <c>torch.is_grad_enabled()</c>).</summary>
    public static bool IsGradEnabled => !t_gradDisabled;

    /// <summary>
    /// A scope in which nothing is recorded on the tape (PyTorch: <c>torch.no_grad()</c>); use it for inference and for
    /// updating parameters. <c>using (Autograd.NoGrad()) { ... }</c>. Scopes nest and are per thread.
    /// </summary>
    public static GradModeScope NoGrad() => new(enabled: false);

    /// <summary>A scope in which recording is on again, e.g. inside a <see cref="NoGrad"/> scope (PyTorch: <c>torch.enable_grad()</c>).</summary>
    public static GradModeScope EnableGrad() => new(enabled: true);

    /// <summary>Restores the previous gradient mode when disposed.</summary>
    public readonly struct GradModeScope : IDisposable
    {
        private readonly bool _previousDisabled;

        internal GradModeScope(bool enabled)
        {
            _previousDisabled = t_gradDisabled;
            t_gradDisabled = !enabled;
        }

        /// <summary>Restores the gradient mode that was in force when the scope was created.</summary>
        public void Dispose() => t_gradDisabled = _previousDisabled;
    }

    /// <summary>
    /// Whether an op whose (floating-point) output was computed from <paramref name="a"/> is to be recorded: gradient
    /// mode is on and the input requires a gradient. Ops test this before building their backward closure, so that an
    /// op run without recording (inference, or a first-order backward pass) allocates no closure at all.
    /// </summary>
    internal static bool ShouldRecord(Tensor a) => !t_gradDisabled && a.RequiresGrad;

    /// <summary>Whether an op with inputs <paramref name="a"/> and <paramref name="b"/> is to be recorded.</summary>
    internal static bool ShouldRecord(Tensor a, Tensor b) => !t_gradDisabled && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>
    /// Records <paramref name="output"/> as produced from <paramref name="inputs"/> when gradient mode is on and any input
    /// requires a gradient; <paramref name="backward"/> maps the output's gradient to one gradient (or null) per input.
    /// <paramref name="onRelease"/> (optional) runs when the graph is freed after a backward pass; an op that keeps pooled
    /// scratch for its backward returns it there. It does not run when nothing was recorded (the caller checks
    /// <see cref="Tensor.RequiresGrad"/> of the result), nor when the graph is simply dropped (the GC takes the scratch).
    /// <paramref name="attributes"/> (optional) is the op's non-tensor arguments for tools that read the tape (<see cref="Node.Attributes"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Record(Tensor output, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, bool differentiableBackward = true,
        Action? onRelease = null, object? attributes = null)
    {
        if (t_gradDisabled || !output.DType.IsFloatingPoint()) return output;
        OpProfile.Mark("fwd ", name); // inside a backward pass (grad mode off) the time stays with the node being run
        foreach (var input in inputs)
        {
            if (input.RequiresGrad)
            {
                output.GradFn = new Node(name, inputs, backward, differentiableBackward, onRelease, attributes);
                output.RequiresGrad = true;
                return output;
            }
        }
        return output;
    }

    /// <summary>
    /// Computes and returns the gradients of <paramref name="output"/> with respect to <paramref name="inputs"/> without
    /// touching any <see cref="Tensor.Grad"/> (PyTorch: <c>torch.autograd.grad</c>). With <paramref name="createGraph"/>
    /// the gradients are themselves recorded, so they can be differentiated again (Hessians, double backward).
    /// </summary>
    /// <param name="output">The tensor to differentiate.</param>
    /// <param name="inputs">Tensors that require gradients (leaves or intermediate results of the graph).</param>
    /// <param name="gradOutput">The vector in the vector-Jacobian product; may be null only for a one-element output.</param>
    /// <param name="createGraph">Record the backward computation for higher-order derivatives.</param>
    /// <param name="retainGraph">Keep the graph for another pass; defaults to <paramref name="createGraph"/>.</param>
    /// <param name="allowUnused">Return zeros for an input the output does not depend on, instead of throwing.</param>
    public static Tensor[] Grad(Tensor output, Tensor[] inputs, Tensor? gradOutput = null, bool createGraph = false,
        bool? retainGraph = null, bool allowUnused = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var x in inputs)
            if (!x.RequiresGrad) throw new ArgumentException("Grad: every input must require a gradient; one does not.", nameof(inputs));
        var grads = Run(output, gradOutput, retainGraph ?? createGraph, createGraph, accumulateIntoLeaves: false, wanted: inputs)!;
        var result = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (grads[i] is Tensor g) result[i] = g;
            else if (allowUnused) result[i] = Tensor.ZerosLike(inputs[i]);
            else throw new InvalidOperationException(
                $"Grad: input {i} (shape {Shapes.Format(inputs[i].ShapeRef)}) is not used to compute the output; pass allowUnused: true to get zeros.");
        }
        return result;
    }

    /// <summary>Source of the pass stamps: each backward pass gets a number no earlier pass had.</summary>
    private static int s_passStamp;

    // Scratch of the engine, reused by the passes of one thread. A pass takes a buffer out of its slot while it runs, so
    // a backward pass started from inside a backward closure gets buffers of its own.
    [ThreadStatic] private static Node[]? t_order;
    [ThreadStatic] private static (Node Node, int Next)[]? t_stack;
    [ThreadStatic] private static LeafGradients? t_leaves;

    /// <summary>
    /// The engine: one reverse sweep over the graph in topological order, accumulating gradients with +=. The gradient
    /// of an intermediate result is kept on its node while the pass runs, a leaf's in a per-pass list that the leaf
    /// finds by a stamped slot number, so the pass needs no dictionary or visited set. With
    /// <paramref name="accumulateIntoLeaves"/> the leaves' gradients are added to their <see cref="Tensor.Grad"/>;
    /// with <paramref name="wanted"/> the gradients of those tensors are returned (null where none arrived).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor?[]? Run(Tensor root, Tensor? rootGrad, bool retainGraph, bool createGraph, bool accumulateIntoLeaves, Tensor[]? wanted = null)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward: the tensor does not require a gradient and has no grad function; set RequiresGrad on a leaf it depends on.");
        if (rootGrad is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException($"Backward: a gradient can be created implicitly only for a one-element output; this one has shape {Shapes.Format(root.ShapeRef)}. Pass a gradient of that shape.");
            rootGrad = Tensor.FullLike(root, 1.0);
        }
        else if (!Shapes.Equal(rootGrad.ShapeRef, root.ShapeRef))
            throw new ArgumentException($"Backward: the gradient has shape {Shapes.Format(rootGrad.ShapeRef)} but the output has shape {Shapes.Format(root.ShapeRef)}.");
        if (rootGrad.DType != root.DType) rootGrad = rootGrad.To(root.DType);

        using var mode = new GradModeScope(enabled: createGraph);
        int stamp = Interlocked.Increment(ref s_passStamp);
        var order = t_order ?? new Node[16];
        t_order = null;
        var leaves = t_leaves ?? new LeafGradients();
        t_leaves = null;
        int count = 0;
        bool completed = false;
        var outerCallbacks = t_callbacks;
        List<(int Index, Tensor Leaf)>? hookSchedule = null;
        int nextHook = -1;
        try
        {
            if (root.GradFn is Node rootNode)
            {
                count = TopologicalOrder(rootNode, stamp, ref order);
                rootNode.PendingGrad = rootGrad;
                rootNode.PendingGradOwned = false;
                if (accumulateIntoLeaves && (hookSchedule = HookSchedule(order, count)) is not null)
                {
                    nextHook = hookSchedule.Count - 1;
                    t_callbacks = [];
                }
            }
            else leaves.Accumulate(root, rootGrad, stamp, createGraph);

            OpProfile.Mark("bwd setup");
            for (int n = count - 1; n >= 0; n--)
            {
                Node node = order[n];
                var backward = node.Backward ?? throw new InvalidOperationException(
                    $"Backward: trying to go through the graph a second time ({node.Name}), but its saved tensors were freed by the first pass. " +
                    "Pass retainGraph: true to the first Backward call if you need a second one.");
                Tensor? g = node.PendingGrad;
                if (g is null) { if (!retainGraph) node.Release(); continue; }
                if (createGraph && !node.DifferentiableBackward)
                    throw new NotSupportedException($"Backward with createGraph: {node.Name} has a first-order backward only, so higher derivatives through it are not available.");
                if (accumulateIntoLeaves) node.PendingGrad = null; // Backward keeps only leaves' gradients: free the intermediates' early
                var inputGrads = backward(g);
                if (!retainGraph) node.Release();
                var inputs = node.Inputs;
                for (int i = 0; i < inputs.Length; i++)
                {
                    Tensor input = inputs[i];
                    Tensor? gi = inputGrads[i];
                    if (gi is null || !input.RequiresGrad) continue;
                    gi = SumTo(gi, input.ShapeRef);
                    if (gi.DType != input.DType) gi = gi.To(input.DType);
                    if (input.GradFn is Node child) Accumulate(ref child.PendingGrad, ref child.PendingGradOwned, gi, createGraph);
                    else leaves.Accumulate(input, gi, stamp, createGraph);
                }
                OpProfile.Mark("bwd ", node.Name);
                // Leaves with hooks whose last reader was this node have their whole gradient: write it and tell the hooks.
                for (; nextHook >= 0 && hookSchedule![nextHook].Index == n; nextHook--)
                {
                    Tensor leaf = hookSchedule[nextHook].Leaf;
                    int slot = (int)(leaf.EngineTag & 0xFFFFFFFF);
                    if ((int)(leaf.EngineTag >> 32) != stamp || (uint)slot >= (uint)leaves.Count || leaves.Grads[slot] is null) continue;
                    WriteLeafGrad(leaves, slot, createGraph);
                    leaves.Grads[slot] = null;
                    RunHooks(leaf);
                }
            }

            if (accumulateIntoLeaves)
            {
                for (int i = 0; i < leaves.Count; i++)
                {
                    if (leaves.Grads[i] is null) continue; // written early, for its hooks
                    WriteLeafGrad(leaves, i, createGraph);
                    if (hookSchedule is not null || leaves.Leaves[i].PostAccumulateGradHooks is not null)
                    {
                        t_callbacks ??= [];
                        RunHooks(leaves.Leaves[i]);
                    }
                }
                if (t_callbacks is { } callbacks && !ReferenceEquals(callbacks, outerCallbacks))
                    for (int i = 0; i < callbacks.Count; i++) callbacks[i]();
            }

            Tensor?[]? result = null;
            if (wanted is not null)
            {
                result = new Tensor?[wanted.Length];
                for (int i = 0; i < wanted.Length; i++)
                {
                    Tensor x = wanted[i];
                    if (x.GradFn is Node xn) result[i] = xn.VisitStamp == stamp ? xn.PendingGrad : null;
                    else result[i] = leaves.Sum(x, createGraph);
                }
            }
            completed = true;
            return result;
        }
        finally
        {
            t_callbacks = outerCallbacks;
            if (!completed || !accumulateIntoLeaves)
                for (int n = 0; n < count; n++) order[n].PendingGrad = null; // hold on to no gradient after the pass
            Array.Clear(order, 0, count);
            t_order = order;
            leaves.Clear();
            t_leaves = leaves;
        }
    }

    /// <summary>Adds the pass's gradient in slot <paramref name="i"/> to its leaf's <see cref="Tensor.Grad"/>.</summary>
    private static void WriteLeafGrad(LeafGradients leaves, int i, bool createGraph)
    {
        Tensor tensor = leaves.Leaves[i], g = leaves.Grads[i]!;
        // A gradient is detached unless it is already outside every graph (the usual case: a fresh result).
        var leafGrad = createGraph || leaves.Owned[i] || (g.GradFn is null && !g.RequiresGrad) ? g : g.Detach();
        var previous = tensor.Grad;
        // A replay would add to the gradient array of the step captured, not to whatever .Grad holds by then.
        if (previous is not null && Capture.Active is { } capture && !capture.IsCreated(previous.Storage))
            capture.Fail("Backward adds to a .Grad left by an earlier step (call ZeroGrad inside the step)");
        tensor.Grad = previous is null ? leafGrad : (createGraph ? previous + leafGrad : AddDetached(previous, leafGrad));
        TensorScope.Adopt(previous);
        TensorScope.EscapeGradient(tensor.Grad);
    }

    /// <summary>
    /// <c>slot += g</c>. Without createGraph a sum the engine made itself is added to in place; a gradient handed over by
    /// a closure may be shared (e.g. Add passes its gradient on to both inputs), so the first sum is a new tensor.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate(ref Tensor? slot, ref bool owned, Tensor g, bool createGraph)
    {
        if (slot is null) { slot = g; owned = false; return; }
        if (createGraph) { slot = slot + g; owned = false; return; }
        if (owned && !ReferenceEquals(slot.Storage, g.Storage)) { AddInPlace(slot, g); return; }
        slot = Tensor.MapBinary<Kernels.Broadcasting<AddFunction>>(slot, g, "Backward");
        owned = true;
    }

    private static void AddInPlace(Tensor target, Tensor g)
    {
        if (target.DType == DType.Float32) Kernels.Map.Binary<float, AddFunction>(target.Span<float>(), g.Span<float>(), target.Span<float>());
        else Kernels.Map.Binary<double, AddFunction>(target.Span<double>(), g.Span<double>(), target.Span<double>());
        Capture.Active?.SameShape<AddFunction>(target, g, target, "Backward");
    }

    private static Tensor AddDetached(Tensor a, Tensor b)
    {
        if (a.DType == b.DType && a.DType.IsFloatingPoint() && Shapes.Equal(a.ShapeRef, b.ShapeRef))
            return Tensor.MapBinary<Kernels.Broadcasting<AddFunction>>(a, b, "Backward");
        using var _ = NoGrad();
        return a + b;
    }

    /// <summary>
    /// Depth-first post-order over the nodes reachable from the root, with an explicit stack (no recursion); a node is
    /// marked visited by writing the pass's stamp into it (and its pending gradient is reset then). Returns the count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int TopologicalOrder(Node root, int stamp, ref Node[] order)
    {
        int count = 0;
        var stack = t_stack ?? new (Node, int)[16];
        t_stack = null;
        int top = 0, deepest = 1;
        root.VisitStamp = stamp;
        root.PendingGrad = null;
        stack[top++] = (root, 0);
        try
        {
            while (top > 0)
            {
                var (node, next) = stack[--top];
                var inputs = node.Inputs;
                if (next < inputs.Length)
                {
                    stack[top++] = (node, next + 1);
                    if (inputs[next].GradFn is Node child && child.VisitStamp != stamp)
                    {
                        child.VisitStamp = stamp;
                        child.PendingGrad = null;
                        if (top == stack.Length) Array.Resize(ref stack, stack.Length * 2);
                        stack[top++] = (child, 0);
                        if (top > deepest) deepest = top;
                    }
                }
                else
                {
                    if (count == order.Length) Array.Resize(ref order, order.Length * 2);
                    order[count++] = node;
                }
            }
        }
        finally
        {
            Array.Clear(stack, 0, Math.Min(stack.Length, deepest)); // popped entries still hold nodes
            t_stack = stack;
        }
        return count;
    }

    /// <summary>
    /// The gradients of the leaves reached by one pass. A leaf remembers its slot in <see cref="Tensor.EngineTag"/>
    /// together with the pass's stamp; should two threads' passes share a leaf and overwrite each other's tag, the leaf
    /// just gets a second slot, and every reader adds all of its slots, so the result is still right.
    /// </summary>
    private sealed class LeafGradients
    {
        public Tensor[] Leaves = new Tensor[8];
        public Tensor?[] Grads = new Tensor?[8];
        public bool[] Owned = new bool[8];
        public int Count;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Accumulate(Tensor leaf, Tensor g, int stamp, bool createGraph)
        {
            long tag = leaf.EngineTag;
            int slot = (int)(tag & 0xFFFFFFFF);
            if ((int)(tag >> 32) == stamp && (uint)slot < (uint)Count && ReferenceEquals(Leaves[slot], leaf))
            {
                Autograd.Accumulate(ref Grads[slot], ref Owned[slot], g, createGraph);
                return;
            }
            if (Count == Leaves.Length)
            {
                Array.Resize(ref Leaves, Count * 2);
                Array.Resize(ref Grads, Count * 2);
                Array.Resize(ref Owned, Count * 2);
            }
            Leaves[Count] = leaf;
            Grads[Count] = g;
            Owned[Count] = false;
            leaf.EngineTag = ((long)stamp << 32) | (uint)Count;
            Count++;
        }

        /// <summary>The gradient of <paramref name="leaf"/> (the sum of its slots), or null if none arrived.</summary>
        public Tensor? Sum(Tensor leaf, bool createGraph)
        {
            Tensor? sum = null;
            bool owned = false;
            for (int i = 0; i < Count; i++)
                if (ReferenceEquals(Leaves[i], leaf)) Autograd.Accumulate(ref sum, ref owned, Grads[i]!, createGraph);
            return sum;
        }

        public void Clear()
        {
            Array.Clear(Leaves, 0, Count);
            Array.Clear(Grads, 0, Count);
            Count = 0;
        }
    }

    /// <summary>
    /// Sums a gradient of a broadcast shape back to <paramref name="shape"/>: over the leading dimensions broadcasting
    /// added and over every dimension that was 1. The one place where broadcasting is undone. When the sum need not be
    /// recorded (a first-order pass, or a gradient outside the graph) it is one kernel call; otherwise it is built from
    /// recorded <see cref="Tensor.Sum(int, bool)"/> calls so that it can be differentiated again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor SumTo(Tensor g, int[] shape)
    {
        int[] gShape = g.ShapeRef;
        if (ReferenceEquals(gShape, shape) || Shapes.Equal(gShape, shape)) return g;
        return SumToBroadcast(g, shape);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Tensor SumToBroadcast(Tensor g, int[] shape)
    {
        int[] gShape = g.ShapeRef;
        int lead = gShape.Length - shape.Length;
        bool valid = lead >= 0;
        for (int i = 0; valid && i < shape.Length; i++) valid = shape[i] == 1 || shape[i] == gShape[lead + i];
        if (!valid) ThrowSumTo(gShape, shape);
        if (!g.DType.IsFloatingPoint() || (g.RequiresGrad && IsGradEnabled)) return SumToRecorded(g, shape);
        var r = Tensor.Empty(shape, g.DType);
        if (g.DType == DType.Float32) Kernels.Reduce.SumTo<float>(g.Span<float>(), gShape, r.Span<float>(), shape);
        else Kernels.Reduce.SumTo<double>(g.Span<double>(), gShape, r.Span<double>(), shape);
        Capture.Active?.SumTo(g, r, "Backward");
        return r;
    }

    /// <summary>SumTo from recorded <see cref="Tensor.Sum(int, bool)"/> calls, for a gradient that is itself differentiated.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor SumToRecorded(Tensor g, int[] shape)
    {
        int lead = g.Rank - shape.Length;
        Tensor t = g;
        for (int i = 0; i < lead; i++) t = t.Sum(0);
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] == 1 && t.ShapeRef[i] != 1) t = t.Sum(i, keepDim: true);
        return t;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowSumTo(int[] gShape, int[] shape)
    {
        if (gShape.Length < shape.Length)
            throw new InvalidOperationException($"SumTo: gradient shape {Shapes.Format(gShape)} has fewer dimensions than {Shapes.Format(shape)}.");
        throw new InvalidOperationException($"SumTo: gradient shape {Shapes.Format(gShape)} does not broadcast to {Shapes.Format(shape)}.");
    }
}
