namespace SharpGrad;

/// <summary>
/// The plan's fusion pass, run once when a plan is captured: instructions whose work can be merged with the same result
/// are merged. Today: a parameter's gradient written by a GEMM (a Linear's weight gradient) and read by nothing else
/// before the optimizer step is computed inside that step's update of the parameter (<see cref="FusedGradientUpdate{T}"/>).
/// The pass relies on the buffers each instruction declared at capture (<see cref="Instruction.ReadSet"/>,
/// <see cref="Instruction.WriteSet"/>); when in doubt it leaves the instructions as they are.
/// </summary>
internal static class Fusion
{
    /// <summary>The plan's instructions after fusion; <paramref name="result"/> is the array of the step's result.</summary>
    public static Instruction[] Lower(List<Instruction> instructions, Array? result = null)
    {
        var plan = Fuse(instructions);
        DeferUnreadGradients(plan, result);
        ShareGradientRows(plan);
        foreach (var instruction in plan) (instruction as IPlanObserver)?.PlanLowered(plan, result);
        return plan;
    }

    private static Instruction[] Fuse(List<Instruction> instructions)
    {
        var dropped = new bool[instructions.Count];
        int count = 0;
        for (int s = 0; s < instructions.Count; s++)
        {
            if (instructions[s] is not OptimizerStepInstruction step || !step.Optimizer.UpdatesElementwise) continue;
            var gradients = step.Gradients;
            for (int i = 0; i < gradients.Length; i++)
            {
                if (gradients[i] is not { } d || Array.IndexOf(gradients, d) != i || Array.LastIndexOf(gradients, d) != i) continue;
                int g = LastWriter(instructions, dropped, s, d);
                if (g < 0) continue;
                bool fused = instructions[g] switch
                {
                    GemmInstruction<float> f => Movable(instructions, dropped, g, s, d, f.A, f.B) && step.Fuse(i, f),
                    GemmInstruction<double> f => Movable(instructions, dropped, g, s, d, f.A, f.B) && step.Fuse(i, f),
                    _ => false,
                };
                if (fused) { dropped[g] = true; count++; }
            }
        }
        if (count == 0) return [.. instructions];
        var kept = new Instruction[instructions.Count - count];
        for (int k = 0, j = 0; k < instructions.Count; k++) if (!dropped[k]) kept[j++] = instructions[k];
        return kept;
    }

    /// <summary>
    /// A gradient applied by a one-pass update (<see cref="FusedGradientUpdate{T}"/>) that no other instruction of the
    /// plan reads or writes, and that is not the step's result, is left unwritten by the pass and written when the
    /// parameter's <see cref="Tensor.Grad"/> is read: the values are the same, but the step no longer stores the largest
    /// array it makes (a batch-1 weight gradient) only for no one to read it. Not in a plan with a guard: a replay that
    /// stops at it would have overwritten the inputs the deferred write needs before the update runs again.
    /// </summary>
    private static void DeferUnreadGradients(Instruction[] plan, Array? result)
    {
        if (Array.Exists(plan, i => i is GuardInstruction)) return;
        foreach (var instruction in plan)
        {
            if (instruction is not OptimizerStepInstruction step) continue;
            for (int i = 0; i < step.Gradients.Length; i++)
            {
                if (step.Gradients[i] is not { } d || ReferenceEquals(d, result)) continue;
                bool elsewhere = false;
                foreach (var other in plan)
                    if (!ReferenceEquals(other, step) && (Array.IndexOf(other.ReadSet, d) >= 0 || Array.IndexOf(other.WriteSet, d) >= 0))
                    {
                        elsewhere = true;
                        break;
                    }
                if (!elsewhere) step.DeferGradientStore(i);
            }
        }
    }

    /// <summary>
    /// Marks each GEMM that writes a gradient the optimizer step updates in element ranges on several threads
    /// (<see cref="GemmInstruction{T}.RowShares"/>), so that each thread computes the rows of the gradient it then
    /// updates. Only who computes which rows changes.
    /// </summary>
    private static void ShareGradientRows(Instruction[] plan)
    {
        for (int s = 0; s < plan.Length; s++)
        {
            if (plan[s] is not OptimizerStepInstruction step) continue;
            for (int i = 0; i < step.Gradients.Length; i++)
            {
                if (step.Gradients[i] is not { } d || !step.UpdatesInRanges(i)) continue;
                for (int k = s - 1; k >= 0; k--)
                {
                    if (Array.IndexOf(plan[k].WriteSet, d) < 0) continue;
                    if (plan[k] is GemmInstruction<float> f) f.RowShares = true;
                    else if (plan[k] is GemmInstruction<double> g) g.RowShares = true;
                    break;
                }
            }
        }
    }

    /// <summary>The last instruction before <paramref name="before"/> that writes <paramref name="d"/>, or −1.</summary>
    private static int LastWriter(List<Instruction> list, bool[] dropped, int before, Array d)
    {
        for (int k = before - 1; k >= 0; k--)
            if (!dropped[k] && Array.IndexOf(list[k].WriteSet, d) >= 0) return k;
        return -1;
    }

    /// <summary>
    /// Whether instruction <paramref name="g"/> (writing <paramref name="d"/> from <paramref name="a"/> and
    /// <paramref name="b"/>) can run at <paramref name="s"/> instead: nothing in between reads or writes d, nothing in
    /// between or at s (the step updates its parameters) writes a or b, and g writes nothing but d.
    /// </summary>
    private static bool Movable(List<Instruction> list, bool[] dropped, int g, int s, Array d, Array a, Array b)
    {
        if (list[g].WriteSet.Length != 1) return false;
        for (int k = g + 1; k <= s; k++)
        {
            if (dropped[k]) continue;
            var x = list[k];
            if (k < s && (Array.IndexOf(x.ReadSet, d) >= 0 || Array.IndexOf(x.WriteSet, d) >= 0)) return false;
            if (Array.IndexOf(x.WriteSet, a) >= 0 || Array.IndexOf(x.WriteSet, b) >= 0) return false;
        }
        return true;
    }
}
