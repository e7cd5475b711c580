namespace SharpGrad.Theory;

/// <summary>The hidden-layer nonlinearity of a <see cref="TwoLayerNet"/>.</summary>
public enum Activation
{
    /// <summary>max(0, z) (PyTorch: <c>relu</c>).</summary>
    Relu,

    /// <summary>The logistic sigmoid σ(z) = 1 / (1 + e^−z).</summary>
    Sigmoid,

    /// <summary>tanh z = 2σ(2z) − 1.</summary>
    Tanh,
}
