namespace SharpGrad.NN;

/// <summary>
/// PyTorch's rule for layers: a layer computes in the dtype of its parameters and never converts its input, so a
/// Float64 batch given to a Float32 model is an error rather than a silent switch of the whole model's arithmetic to
/// Float64 (which doubles its memory and time, and gives Float64 gradients to Float32 weights). Arithmetic between
/// plain tensors still promotes, as PyTorch's does.
/// </summary>
internal static class DTypeRule
{
    /// <summary>Throws unless <paramref name="input"/> has the dtype of <paramref name="parameter"/> (nothing to check without a parameter).</summary>
    /// <exception cref="ArgumentException">The dtypes differ; the message names both and the conversion that fixes it.</exception>
    internal static void CheckInput(string layer, Tensor input, Tensor? parameter)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (parameter is null || input.DType == parameter.DType) return;
        throw new ArgumentException(
            $"{layer}: the input is {input.DType} but the layer's parameters are {parameter.DType}; a layer does not convert its input. " +
            $"Convert the input with .To(DType.{parameter.DType}) (or build the model with dtype: DType.{input.DType}).", nameof(input));
    }
}
