namespace SharpGrad.Kernels;

/// <summary>
/// Switches for A/B measurements of the transformer step's non-product kernels in one binary. With <see cref="Old"/>
/// set (bench's <c>--old-nonproduct 1</c>), attention's small-tile path transposes through memory and accumulates four
/// rows at a time into cleared buffers, and LayerNorm runs its TensorPrimitives row loops, as before the register
/// transpose, the eight-row products and the one-pass LayerNorm rows. With <see cref="OldAttention"/> set (bench's
/// <c>--old-attention 1</c>), or with <see cref="Old"/>, attention's small-tile path runs as before its inline row
/// statistics and causal trimming; <see cref="OldCausalBlocks"/> and <see cref="AttentionPrefetch"/> turn off one later
/// step each. Every setting gives the same bits. Process-wide; set them before any work.
/// </summary>
internal static class StepPaths
{
    /// <summary>Run the former kernels (see the class summary).</summary>
    internal static bool Old;

    /// <summary>
    /// Attention's small-tile path with a TensorPrimitives call per row (Max and Sum of the scores, the division by the
    /// normaliser, the backward's dO·O) rather than inline over the row's vector, and with every product over the whole
    /// causal square rather than stopped where the causal mask zeroes the rest: the same bits either way (for finite inputs).
    /// </summary>
    internal static bool OldAttention;

    /// <summary>
    /// Attention's causal small-tile products trimmed per block of eight rows only (bench's <c>--old-causal-blocks 1</c>),
    /// not also skipping, inside a block, each row's terms the mask zeroes (<see cref="FlashAttention.Triangle"/>): the
    /// same bits either way (for finite inputs).
    /// </summary>
    internal static bool OldCausalBlocks;

    /// <summary>
    /// Whether attention's small-tile path prefetches the next slice's operands while it computes one (bench's
    /// <c>--attention-prefetch 0|1</c>; on by default). A hint: the same bits either way.
    /// </summary>
    internal static bool AttentionPrefetch = true;

    /// <summary>
    /// Whether a training step's elementwise tails run on the calling thread alone, as before they were shared with the
    /// worker pool (bench's <c>--serial-tails 1</c>): an eager optimizer step of Adam, AdamW or RMSprop (one job over every
    /// parameter's element ranges), <see cref="NN.Utils.ClipGradNorm"/>'s sums of squares and scaling, and a reduction
    /// over one dimension of a large block (a Linear layer's bias gradient) cut into column blocks. The same bits either way.
    /// </summary>
    internal static bool SerialTails;

    /// <summary>
    /// Whether the fused cross-entropy's forward and backward run over the rows on the calling thread alone, as before they
    /// were shared with the worker pool (bench's <c>--old-cross-entropy 1</c>). The shared forward keeps every row's terms
    /// and adds them over the rows in order afterwards: the same bits either way.
    /// </summary>
    internal static bool OldCrossEntropy;

    /// <summary>
    /// Whether <see cref="Tensor.Narrow"/> and its backward (PadInto) copy on the calling thread alone and PadInto clears its
    /// whole output before placing the slice, as before (bench's <c>--old-narrow 1</c>); otherwise large copies are shared
    /// with the worker pool and PadInto writes zeros only outside the slice. The same bits either way.
    /// </summary>
    internal static bool OldNarrow;

    /// <summary>
    /// Whether <see cref="Tensor.Permute"/> copies on the calling thread alone, as before (bench's <c>--old-permute 1</c>);
    /// otherwise a large permute's output rows are shared with the worker pool. The same bits either way.
    /// </summary>
    internal static bool OldPermute;
}
