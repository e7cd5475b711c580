namespace SharpGrad.Kernels;

/// <summary>
/// A switch for A/B measurements of the transformer step's non-product kernels in one binary (bench's
/// <c>--old-nonproduct 1</c>): with <see cref="Old"/> set, attention's small-tile path transposes through memory and
/// accumulates four rows at a time into cleared buffers, and LayerNorm runs its TensorPrimitives row loops, as before
/// the register transpose, the eight-row products and the one-pass LayerNorm rows. Process-wide; set it before any work.
/// </summary>
internal static class StepPaths
{
    /// <summary>Run the former kernels (see the class summary).</summary>
    internal static bool Old;
}
