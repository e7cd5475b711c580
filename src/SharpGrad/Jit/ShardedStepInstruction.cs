namespace SharpGrad;

/// <summary>
/// An optimizer step sharded over data-parallel processes (<see cref="Optim.Optimizer.Shard"/>, ZeRO-1), recorded: this
/// process's element range of each parameter, from the gradient arrays seen at capture, with the settings and step count
/// of now. The fusion pass leaves it alone (its gradients are whole means, written by the data-parallel reduction).
/// </summary>
internal sealed class ShardedStepInstruction(Optim.Optimizer optimizer, Array?[] gradients, (int Start, int Count)[] ranges) : Instruction
{
    /// <summary>The optimizer whose step this is (it reads only its ranges of the gradients).</summary>
    public Optim.Optimizer Optimizer => optimizer;

    /// <summary>Per optimizer parameter, the gradient array seen at capture (null: no gradient then).</summary>
    public Array?[] Gradients => gradients;

    /// <summary>Per optimizer parameter, the element range this process updates.</summary>
    public (int Start, int Count)[] Ranges => ranges;

    /// <summary>
    /// Set by the data-parallel wrapper once the plan is final (null: none): per optimizer parameter, the address of its
    /// element 0 in memory the wrapper owns, where the step reads its range of the gradient instead of from
    /// <see cref="Gradients"/> (the mean where the reduction left it), and where it copies its updated range of the
    /// parameter to (where the other processes gather it); 0 where the arrays are used as captured.
    /// </summary>
    public (nint[] Means, nint[] Updated)? Window { get; set; }

    /// <summary>
    /// Set with <see cref="Window"/> (null: ordinary stores): whether the updated ranges are copied there with
    /// non-temporal stores (<see cref="Kernels.StreamingCopy"/>: the memory is what another process reads next), asked
    /// before each replay; told how long the update took (Stopwatch ticks).
    /// </summary>
    public IWindowStoreChooser? Stores { get; set; }

    /// <summary>
    /// Set with <see cref="Window"/> (null: none) when the step forms the means itself: for the parameters it gives
    /// operands for, the step reads the two processes' values and writes their mean at the window's mean address as it
    /// updates, instead of reading a mean the end of the pass wrote there.
    /// </summary>
    public WindowSums? Sums { get; set; }

    /// <summary>
    /// Set with <see cref="Window"/> (null: none): per optimizer parameter, the address of its element 0 in its image
    /// (<see cref="ParameterImage"/>), where the step updates its range instead of in the parameter's array; 0: the array.
    /// </summary>
    public nint[]? Images { get; set; }

    public override void Run()
    {
        if (Stores is not { } stores)
        {
            optimizer.ReplayShardedStep(gradients, ranges, Window, sums: Sums, images: Images);
            return;
        }
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        optimizer.ReplayShardedStep(gradients, ranges, Window, stores.Stream, Sums, Images);
        stores.Observe(System.Diagnostics.Stopwatch.GetTimestamp() - t0);
    }
}

/// <summary>
/// The operands of the means a replayed sharded step forms itself (<see cref="ShardedStepInstruction.Sums"/>, two
/// processes): per optimizer parameter, where the two processes' values of its element 0 are, the mean being
/// <c>(rank 0's + rank 1's) · ½</c>, the operations of the reduction's own sum.
/// </summary>
/// <param name="mine">Per optimizer parameter, the address of this process's value of element 0 in its slot of the window (0: the step reads the mean as it is).</param>
/// <param name="other">Per optimizer parameter, the address of the other process's value of element 0 in its slot (0: as for <paramref name="mine"/>).</param>
/// <param name="mineFirst">Whether this process is rank 0 (its values are the sum's first operand).</param>
internal sealed class WindowSums(nint[] mine, nint[] other, bool mineFirst)
{
    /// <summary>Per optimizer parameter, the address of this process's value of element 0 in its slot (0: none).</summary>
    public nint[] Mine => mine;

    /// <summary>Per optimizer parameter, the address of the other process's value of element 0 in its slot (0: none).</summary>
    public nint[] Other => other;

    /// <summary>
    /// Per optimizer parameter, set by the data-parallel wrapper before each step: the array that holds this process's
    /// values this pass instead of its slot (its gradient as the backward pass wrote it, element 0 first), or null.
    /// </summary>
    public Array?[] MineArrays { get; } = new Array?[mine.Length];

    /// <summary>Whether this process's values are the sum's first operand (rank 0).</summary>
    public bool MineFirst => mineFirst;
}

/// <summary>Chooses the kind of store a replayed sharded step writes the window with (<see cref="ShardedStepInstruction.Stores"/>).</summary>
internal interface IWindowStoreChooser
{
    /// <summary>Whether to write with non-temporal stores now.</summary>
    bool Stream { get; }

    /// <summary>The time the update just took with the stores <see cref="Stream"/> gave (Stopwatch ticks).</summary>
    void Observe(long ticks);
}
