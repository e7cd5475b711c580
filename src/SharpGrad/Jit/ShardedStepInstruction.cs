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

    public override void Run()
    {
        if (Stores is not { } stores)
        {
            optimizer.ReplayShardedStep(gradients, ranges, Window);
            return;
        }
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        optimizer.ReplayShardedStep(gradients, ranges, Window, stores.Stream);
        stores.Observe(System.Diagnostics.Stopwatch.GetTimestamp() - t0);
    }
}

/// <summary>Chooses the kind of store a replayed sharded step writes the window with (<see cref="ShardedStepInstruction.Stores"/>).</summary>
internal interface IWindowStoreChooser
{
    /// <summary>Whether to write with non-temporal stores now.</summary>
    bool Stream { get; }

    /// <summary>The time the update just took with the stores <see cref="Stream"/> gave (Stopwatch ticks).</summary>
    void Observe(long ticks);
}
