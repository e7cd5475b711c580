namespace SharpGrad.Theory;

/// <summary>
/// The largest padding <see cref="ConvSolver"/> tries for a kernel size k and dilation d when the padding is not fixed.
/// PyTorch accepts any padding for a convolution, so some bound has to say which configurations are sane.
/// </summary>
public enum PaddingRule
{
    /// <summary>
    /// p ≤ d·(k − 1), the effective kernel minus one (the default for convolutions): the first window still reaches
    /// the input. For d = 1 this is p ≤ k − 1 ("full" padding); it admits the usual dilated "same" padding p = d·(k − 1)/2.
    /// </summary>
    EffectiveKernel,

    /// <summary>p ≤ k − 1, ignoring dilation.</summary>
    Kernel,

    /// <summary>p ≤ ⌊k / 2⌋: PyTorch's hard rule for pooling (the default, and always enforced, for pooling).</summary>
    HalfKernel,
}
