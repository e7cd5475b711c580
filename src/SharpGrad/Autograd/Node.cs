namespace SharpGrad;

/// <summary>
/// One recorded op on the tape: the inputs it read and the closure that maps the gradient of its output to the
/// gradients of its inputs. The closure is written beside the forward computation in each op and may return a
/// gradient with the broadcast shape; the engine sums it back to the input's shape (<see cref="Autograd.SumTo"/>).
/// </summary>
internal sealed class Node(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, bool differentiableBackward = true, Action? onRelease = null,
    object? attributes = null)
{
    private Action? _onRelease = onRelease;

    /// <summary>
    /// False when the closure computes with kernels directly rather than with recorded ops (convolution, pooling), so
    /// its result cannot be differentiated again; a createGraph pass through such a node is refused, not silently wrong.
    /// </summary>
    public bool DifferentiableBackward { get; } = differentiableBackward;

    public string Name { get; } = name;

    public Tensor[] Inputs { get; } = inputs;

    /// <summary>
    /// The op's non-tensor arguments (an immutable record from OpAttributes.cs: strides, a dim, a scalar), for tools that
    /// rebuild the op from the tape such as the ONNX exporter; null when the inputs and the output's shape say everything.
    /// </summary>
    public object? Attributes { get; } = attributes;

    /// <summary>Null once the graph has been freed by a backward pass without retainGraph.</summary>
    public Func<Tensor, Tensor?[]>? Backward { get; private set; } = backward;

    /// <summary>
    /// Engine state of the backward pass in progress: the pass that last reached this node (a unique stamp per pass,
    /// so no visited set is needed) ...
    /// </summary>
    internal int VisitStamp;

    /// <summary>... the gradient of this node's output accumulated so far in that pass (null: none yet) ...</summary>
    internal Tensor? PendingGrad;

    /// <summary>... and whether <see cref="PendingGrad"/> is a sum the engine made itself, so it may add into it in place.</summary>
    internal bool PendingGradOwned;

    /// <summary>
    /// Drops the closure and with it every tensor it saved for the backward pass, and hands pooled scratch the op kept
    /// for its backward (e.g. a convolution's column matrix) back to its pool. Runs at most once.
    /// </summary>
    public void Release()
    {
        Backward = null;
        var release = _onRelease;
        _onRelease = null;
        release?.Invoke();
    }
}
