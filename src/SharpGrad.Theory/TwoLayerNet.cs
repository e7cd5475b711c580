namespace SharpGrad.Theory;

/// <summary>
/// A network with one hidden layer, <c>y = W2 φ(W1 x + b1) + b2</c>, in PyTorch's layout (weights are [out, in], as in
/// <c>nn.Linear</c>): the object the constructions of seed 001 Q4 and Q5 build and convert.
/// </summary>
/// <remarks>
/// Shapes: <see cref="W1"/> [M, D], <see cref="B1"/> [M], <see cref="W2"/> [K, M], <see cref="B2"/> [K], for D inputs,
/// M hidden units and K outputs. M may be 0 (a constant network). All four tensors share one floating-point dtype.
/// </remarks>
public sealed record TwoLayerNet
{
    /// <summary>Builds the network after checking that the shapes chain and the dtypes agree.</summary>
    /// <param name="w1">First-layer weights [M, D].</param>
    /// <param name="b1">First-layer biases [M].</param>
    /// <param name="w2">Second-layer weights [K, M].</param>
    /// <param name="b2">Second-layer biases [K].</param>
    /// <param name="activation">The hidden nonlinearity φ.</param>
    /// <exception cref="ArgumentException">A shape or dtype does not fit; the message names all four shapes.</exception>
    public TwoLayerNet(Tensor w1, Tensor b1, Tensor w2, Tensor b2, Activation activation)
    {
        ArgumentNullException.ThrowIfNull(w1);
        ArgumentNullException.ThrowIfNull(b1);
        ArgumentNullException.ThrowIfNull(w2);
        ArgumentNullException.ThrowIfNull(b2);
        string shapes = $"W1 {Shapes.Format(w1.ShapeRef)}, b1 {Shapes.Format(b1.ShapeRef)}, W2 {Shapes.Format(w2.ShapeRef)}, b2 {Shapes.Format(b2.ShapeRef)}";
        if (w1.Rank != 2 || b1.Rank != 1 || w2.Rank != 2 || b2.Rank != 1
            || b1.ShapeRef[0] != w1.ShapeRef[0] || w2.ShapeRef[1] != w1.ShapeRef[0] || b2.ShapeRef[0] != w2.ShapeRef[0])
            throw new ArgumentException($"TwoLayerNet: the shapes must be W1 [M, D], b1 [M], W2 [K, M], b2 [K]; got {shapes}.");
        if (!w1.DType.IsFloatingPoint() || b1.DType != w1.DType || w2.DType != w1.DType || b2.DType != w1.DType)
            throw new ArgumentException($"TwoLayerNet: all four tensors need the same floating-point dtype; got {w1.DType.ToTorchName()}, {b1.DType.ToTorchName()}, {w2.DType.ToTorchName()}, {b2.DType.ToTorchName()} ({shapes}).");
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        W1 = w1;
        B1 = b1;
        W2 = w2;
        B2 = b2;
        Activation = activation;
    }

    /// <summary>First-layer weights [M, D].</summary>
    public Tensor W1 { get; }

    /// <summary>First-layer biases [M].</summary>
    public Tensor B1 { get; }

    /// <summary>Second-layer weights [K, M].</summary>
    public Tensor W2 { get; }

    /// <summary>Second-layer biases [K].</summary>
    public Tensor B2 { get; }

    /// <summary>The hidden nonlinearity φ.</summary>
    public Activation Activation { get; }

    /// <summary>Number of inputs D.</summary>
    public int InputSize => W1.ShapeRef[1];

    /// <summary>Number of hidden units M.</summary>
    public int HiddenSize => W1.ShapeRef[0];

    /// <summary>Number of outputs K.</summary>
    public int OutputSize => W2.ShapeRef[0];

    /// <summary>The element type of the parameters.</summary>
    public DType DType => W1.DType;

    /// <summary>
    /// <c>y = φ(x W1ᵀ + b1) W2ᵀ + b2</c> for a batch x of shape [B, D] (giving [B, K]) or a single input [D] (giving [K]).
    /// Recorded for autograd like any composition of tensor ops.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    /// <exception cref="ArgumentException">x is not [B, D] or [D].</exception>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        bool single = x.Rank == 1;
        if ((x.Rank != 1 && x.Rank != 2) || x.ShapeRef[^1] != InputSize)
            throw new ArgumentException($"TwoLayerNet.Forward: the input must be [B, {InputSize}] or [{InputSize}]; got {Shapes.Format(x.ShapeRef)}.", nameof(x));
        Tensor batch = single ? x.Unsqueeze(0) : x;
        Tensor hidden = Apply(Activation, batch.MatMul(W1.Transpose(0, 1)) + B1);
        Tensor y = hidden.MatMul(W2.Transpose(0, 1)) + B2;
        return single ? y.Squeeze(0) : y;
    }

    /// <summary>Splits the network into its parts.</summary>
    /// <param name="w1">First-layer weights.</param>
    /// <param name="b1">First-layer biases.</param>
    /// <param name="w2">Second-layer weights.</param>
    /// <param name="b2">Second-layer biases.</param>
    /// <param name="activation">The nonlinearity.</param>
    public void Deconstruct(out Tensor w1, out Tensor b1, out Tensor w2, out Tensor b2, out Activation activation)
    {
        w1 = W1;
        b1 = B1;
        w2 = W2;
        b2 = B2;
        activation = Activation;
    }

    /// <summary>The activation applied elementwise.</summary>
    /// <param name="activation">Which one.</param>
    /// <param name="z">Pre-activations.</param>
    /// <returns>φ(z).</returns>
    public static Tensor Apply(Activation activation, Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        return activation switch
        {
            Activation.Relu => z.Relu(),
            Activation.Sigmoid => z.Sigmoid(),
            Activation.Tanh => z.Tanh(),
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
        };
    }
}
