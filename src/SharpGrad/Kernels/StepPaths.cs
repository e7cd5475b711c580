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
    /// Whether <see cref="Tensor.Narrow"/>'s backward (PadInto) clears its whole output before placing the slice, and Narrow
    /// and PadInto copy with their former loops, as before (bench's <c>--old-pad-into 1</c>); otherwise both are one
    /// <see cref="Layout.Shift{T}"/>, which writes each element of the output once (PadInto's zeros only around the
    /// slice). The same bits either way.
    /// </summary>
    internal static bool OldPadInto;

    /// <summary>
    /// Whether the rows of the fused cross-entropy (forward and backward), Narrow's and PadInto's copies and Permute's runs
    /// are shared with the worker pool when large (on by default: lstm-step 2.4% faster on the idle host, 19 of 20 paired
    /// rounds; bench's <c>--shared-rows 0</c> keeps them on the calling thread). The cross-entropy's forward keeps every
    /// row's terms and adds them over the rows in order afterwards: the same bits either way.
    /// </summary>
    internal static bool SharedRows = true;
}
