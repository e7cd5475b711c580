namespace SharpGrad;

/// <summary>
/// An instruction that adapts to the plan it ends up in: <see cref="Fusion.Lower"/> calls it once with the final plan,
/// e.g. so that it can see which of the arrays it writes are read by no other instruction.
/// </summary>
internal interface IPlanObserver
{
    /// <summary>Called once, after fusion, with the plan's instructions and the array of the step's result.</summary>
    void PlanLowered(Instruction[] plan, Array? result);
}
