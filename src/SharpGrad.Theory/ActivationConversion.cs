namespace SharpGrad.Theory;

/// <summary>
/// Exact conversion between sigmoid and tanh networks with one hidden layer (seed 001 Q4, seed 002 Q4): the two
/// activations are the same curve up to an affine change of input and output, which the neighbouring layers absorb.
/// </summary>
/// <remarks>
/// <para>
/// σ(z) = (tanh(z/2) + 1) / 2, so <c>W2 σ(W1 x + b1) + b2 = (W2/2) tanh((W1/2) x + b1/2) + (b2 + (W2/2)·1)</c>:
/// W1' = W1/2, b1' = b1/2, W2' = W2/2, b2' = b2 + ½ Σ_j W2[:, j].
/// </para>
/// <para>
/// tanh(z) = 2σ(2z) − 1, so the way back is W1' = 2W1, b1' = 2b1, W2' = 2W2, b2' = b2 − Σ_j W2[:, j].
/// </para>
/// <para>
/// Halving and doubling are exact in binary floating point, so only b2' is rounded (once); on any input the two
/// networks agree to a few ulps. The new parameters are fresh leaves, not recorded on the tape.
/// </para>
/// </remarks>
public static class ActivationConversion
{
    /// <summary>The tanh network computing the same function as a sigmoid network.</summary>
    /// <param name="net">A network with <see cref="Activation.Sigmoid"/>.</param>
    /// <returns>The equivalent network with <see cref="Activation.Tanh"/>.</returns>
    /// <exception cref="ArgumentException">The network does not use the sigmoid.</exception>
    public static TwoLayerNet SigmoidToTanh(TwoLayerNet net)
    {
        Require(net, Activation.Sigmoid, nameof(SigmoidToTanh));
        using var _ = Autograd.NoGrad();
        return new TwoLayerNet((net.W1 * 0.5).Detach(), (net.B1 * 0.5).Detach(), (net.W2 * 0.5).Detach(),
            (net.B2 + net.W2.Sum(1) * 0.5).Detach(), Activation.Tanh);
    }

    /// <summary>The sigmoid network computing the same function as a tanh network.</summary>
    /// <param name="net">A network with <see cref="Activation.Tanh"/>.</param>
    /// <returns>The equivalent network with <see cref="Activation.Sigmoid"/>.</returns>
    /// <exception cref="ArgumentException">The network does not use tanh.</exception>
    public static TwoLayerNet TanhToSigmoid(TwoLayerNet net)
    {
        Require(net, Activation.Tanh, nameof(TanhToSigmoid));
        using var _ = Autograd.NoGrad();
        return new TwoLayerNet((net.W1 * 2.0).Detach(), (net.B1 * 2.0).Detach(), (net.W2 * 2.0).Detach(),
            (net.B2 - net.W2.Sum(1)).Detach(), Activation.Sigmoid);
    }

    /// <summary>The equivalent network with activation <paramref name="target"/> (the network itself if it already has it).</summary>
    /// <param name="net">A sigmoid or tanh network.</param>
    /// <param name="target"><see cref="Activation.Sigmoid"/> or <see cref="Activation.Tanh"/>.</param>
    /// <returns>The converted network.</returns>
    /// <exception cref="ArgumentException">ReLU is involved: it is not an affine image of sigmoid or tanh, so no exact conversion exists.</exception>
    public static TwoLayerNet Convert(TwoLayerNet net, Activation target)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (net.Activation == target) return net;
        return target switch
        {
            Activation.Tanh => SigmoidToTanh(net),
            Activation.Sigmoid => TanhToSigmoid(net),
            _ => throw new ArgumentException($"Convert: there is no exact conversion from {net.Activation} to {target}; only sigmoid and tanh are affine images of each other.", nameof(target)),
        };
    }

    private static void Require(TwoLayerNet net, Activation expected, string op)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (net.Activation != expected)
            throw new ArgumentException($"{op}: the network uses {net.Activation}, not {expected}.", nameof(net));
    }
}
