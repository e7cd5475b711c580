namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Computes the gradient of this one-element tensor with respect to every leaf that requires one and adds it to
    /// the leaf's <see cref="Grad"/> (PyTorch: <c>backward()</c>). The graph is freed afterwards.
    /// </summary>
    public void Backward() => Autograd.Run(this, null, retainGraph: false, createGraph: false, accumulateIntoLeaves: true);

    /// <summary>
    /// Backpropagates <paramref name="gradient"/> (the vector of the vector-Jacobian product, shaped like this tensor)
    /// into the leaves' <see cref="Grad"/>.
    /// </summary>
    /// <param name="gradient">dL/d(this); null only for a one-element tensor, meaning 1.</param>
    /// <param name="retainGraph">Keep the saved tensors so that the graph can be traversed again.</param>
    /// <param name="createGraph">Record the backward pass itself, for higher-order derivatives.</param>
    public void Backward(Tensor? gradient, bool retainGraph = false, bool createGraph = false) =>
        Autograd.Run(this, gradient, retainGraph || createGraph, createGraph, accumulateIntoLeaves: true);
}
