namespace SharpGrad.Theory;

/// <summary>The kinds of layer whose shape arithmetic <see cref="ConvArithmetic"/> traces.</summary>
public enum LayerKind
{
    /// <summary>A 2-D convolution (PyTorch: <c>nn.Conv2d</c>): changes the channel count and has weights and biases.</summary>
    Conv,

    /// <summary>2-D max pooling (PyTorch: <c>nn.MaxPool2d</c>): keeps the channel count, no parameters.</summary>
    MaxPool,

    /// <summary>2-D average pooling (PyTorch: <c>nn.AvgPool2d</c>, which has no dilation): keeps the channel count, no parameters.</summary>
    AvgPool,
}
