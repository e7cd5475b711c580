namespace SharpGrad;

/// <summary>
/// Reverse-mode automatic differentiation: the tape, gradient mode, and the engine behind
/// <see cref="Tensor.Backward()"/> and <see cref="Grad"/> (PyTorch: <c>torch.autograd</c>).
/// </summary>
public static class Autograd
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
    /// Records <paramref name="output"/> as produced from <paramref name="inputs"/> when gradient mode is on and any input
    /// requires a gradient; <paramref name="backward"/> maps the output's gradient to one gradient (or null) per input.
    /// <paramref name="onRelease"/> (optional) runs when the graph is freed after a backward pass; an op that keeps pooled
    /// scratch for its backward returns it there. It does not run when nothing was recorded (the caller checks
    /// <see cref="Tensor.RequiresGrad"/> of the result), nor when the graph is simply dropped (the GC takes the scratch).
    /// </summary>
    internal static Tensor Record(Tensor output, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, bool differentiableBackward = true,
        Action? onRelease = null)
    {
        if (t_gradDisabled || !output.DType.IsFloatingPoint()) return output;
        foreach (var input in inputs)
        {
            if (input.RequiresGrad)
            {
                output.GradFn = new Node(name, inputs, backward, differentiableBackward, onRelease);
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
        var grads = Run(output, gradOutput, retainGraph ?? createGraph, createGraph, accumulateIntoLeaves: false);
        var result = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (grads.TryGetValue(inputs[i], out var g)) result[i] = g;
            else if (allowUnused) result[i] = Tensor.ZerosLike(inputs[i]);
            else throw new InvalidOperationException(
                $"Grad: input {i} (shape {Shapes.Format(inputs[i].ShapeRef)}) is not used to compute the output; pass allowUnused: true to get zeros.");
        }
        return result;
    }

    /// <summary>The engine: one reverse sweep over the graph in topological order, accumulating gradients with +=.</summary>
    internal static Dictionary<Tensor, Tensor> Run(Tensor root, Tensor? rootGrad, bool retainGraph, bool createGraph, bool accumulateIntoLeaves)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward: the tensor does not require a gradient and has no grad function; set RequiresGrad on a leaf it depends on.");
        if (rootGrad is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException($"Backward: a gradient can be created implicitly only for a one-element output; this one has shape {Shapes.Format(root.ShapeRef)}. Pass a gradient of that shape.");
            rootGrad = Tensor.OnesLike(root);
        }
        else if (!Shapes.Equal(rootGrad.ShapeRef, root.ShapeRef))
            throw new ArgumentException($"Backward: the gradient has shape {Shapes.Format(rootGrad.ShapeRef)} but the output has shape {Shapes.Format(root.ShapeRef)}.");

        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = rootGrad.DType == root.DType ? rootGrad : rootGrad.To(root.DType) };
        using var mode = new GradModeScope(enabled: createGraph);
        var order = TopologicalOrder(root);
        for (int n = order.Count - 1; n >= 0; n--)
        {
            Tensor t = order[n];
            Node node = t.GradFn!;
            var backward = node.Backward ?? throw new InvalidOperationException(
                $"Backward: trying to go through the graph a second time ({node.Name}), but its saved tensors were freed by the first pass. " +
                "Pass retainGraph: true to the first Backward call if you need a second one.");
            if (!grads.TryGetValue(t, out var g)) { if (!retainGraph) node.Release(); continue; }
            if (createGraph && !node.DifferentiableBackward)
                throw new NotSupportedException($"Backward with createGraph: {node.Name} has a first-order backward only, so higher derivatives through it are not available.");
            if (accumulateIntoLeaves) grads.Remove(t); // Backward keeps only leaves' gradients: free the intermediates' early
            var inputGrads = backward(g);
            if (!retainGraph) node.Release();
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                Tensor input = node.Inputs[i];
                Tensor? gi = inputGrads[i];
                if (gi is null || !input.RequiresGrad) continue;
                gi = SumTo(gi, input.ShapeRef);
                if (gi.DType != input.DType) gi = gi.To(input.DType);
                grads[input] = grads.TryGetValue(input, out var existing) ? existing + gi : gi;
            }
        }

        if (accumulateIntoLeaves)
        {
            foreach (var (tensor, g) in grads)
            {
                if (!tensor.IsLeaf) continue;
                var leafGrad = createGraph ? g : g.Detach();
                tensor.Grad = tensor.Grad is null ? leafGrad : (createGraph ? tensor.Grad + leafGrad : AddDetached(tensor.Grad, leafGrad));
            }
        }
        return grads;
    }

    private static Tensor AddDetached(Tensor a, Tensor b)
    {
        using var _ = NoGrad();
        return a + b;
    }

    /// <summary>Depth-first post-order over the nodes reachable from the root, with an explicit stack (no recursion).</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        if (root.GradFn is null) return order;
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Tensor Tensor, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.GradFn is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }
        return order;
    }

    /// <summary>
    /// Sums a gradient of a broadcast shape back to <paramref name="shape"/>: over the leading dimensions broadcasting
    /// added and over every dimension that was 1. The one place where broadcasting is undone.
    /// </summary>
    internal static Tensor SumTo(Tensor g, int[] shape)
    {
        if (Shapes.Equal(g.ShapeRef, shape)) return g;
        int lead = g.Rank - shape.Length;
        if (lead < 0) throw new InvalidOperationException($"SumTo: gradient shape {Shapes.Format(g.ShapeRef)} has fewer dimensions than {Shapes.Format(shape)}.");
        Tensor r = g;
        for (int i = 0; i < lead; i++) r = r.Sum(0);
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] == 1 && r.ShapeRef[i] != 1) r = r.Sum(i, keepDim: true);
        if (!Shapes.Equal(r.ShapeRef, shape))
            throw new InvalidOperationException($"SumTo: gradient shape {Shapes.Format(g.ShapeRef)} does not broadcast to {Shapes.Format(shape)}.");
        return r;
    }
}
