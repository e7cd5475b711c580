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

    public override void Run() => optimizer.ReplayShardedStep(gradients, ranges);
}
