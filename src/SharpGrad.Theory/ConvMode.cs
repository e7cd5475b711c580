namespace SharpGrad.Theory;

/// <summary>
/// Which part of the full 1-D convolution or correlation <see cref="Signal"/> returns (NumPy: the <c>mode</c> argument
/// of <c>numpy.convolve</c> and <c>numpy.correlate</c>). With n and m the two input lengths:
/// </summary>
public enum ConvMode
{
    /// <summary>Every overlap of the two sequences, however small: length n + m − 1 (the input is zero-padded by m − 1 on each side).</summary>
    Full,

    /// <summary>
    /// Only the positions where the shorter sequence lies entirely inside the longer: length max(n, m) − min(n, m) + 1
    /// (no padding).
    /// </summary>
    Valid,

    /// <summary>
    /// Length max(n, m), centred on the full result: it starts at index ⌊(min(n, m) − 1) / 2⌋ of the
    /// <see cref="Full"/> output, as in NumPy; for an even shorter length one more element is cut from the right end of
    /// the full result than from the left (length 4: one on the left, two on the right).
    /// </summary>
    Same,
}
