using SharpGrad.NN;
using SharpGrad.Optim;

namespace SharpGrad.Training;

// The fit loop's training step as a compiled (captured and replayed) step.
public static partial class Trainer
{
    /// <summary>
    /// Why the fit loop cannot compile its step with these options (the step then runs eagerly), or null: options that
    /// need the gradients of every batch in C# between backward and the optimizer step. (Data-parallel training compiles:
    /// DistributedDataParallel records its gradient hooks, reductions and the sharded step's gather in the plan.)
    /// </summary>
    private static string? EagerReason(FitOptions options, TrainingRunOptions run)
    {
        if (options.AfterBackward is not null) return "FitOptions.AfterBackward is set (it sees every batch's gradients before the optimizer step)";
        if (options.ClipGradNorm is not null) return "FitOptions.ClipGradNorm is set (it reports every batch's gradient norm)";
        return null;
    }

    /// <summary>
    /// Forward, loss, ZeroGrad, backward, value clipping and the optimizer step as one <see cref="CompiledStep"/>; the
    /// loss is read (and checked) after the run, outside the step. Each input shape (the last, partial batch of an epoch
    /// has another) gets its plan after one eager call; the step falls back to eager mode, with the reason, when a
    /// plan cannot replay it.
    /// </summary>
    private sealed class CompiledTrainStep
    {
        private readonly CompiledStep _step;
        private Tensor? _output;
        // The model output of each plan, by its loss buffer (the plan's result), for the accuracy count after a replay.
        private readonly Dictionary<Array, Tensor> _outputs = new(ReferenceEqualityComparer.Instance);

        public CompiledTrainStep(Module model, Func<Tensor, Tensor, Tensor> lossFn, Optimizer optimizer, FitOptions options, double? divergenceFactor)
        {
            double? clipValue = options.ClipGradValue;
            Func<double, bool> proceed = value => !StopsTraining(value, FirstLoss, divergenceFactor);
            _step = Jit.Compile(t =>
            {
                var output = model.Forward(t[0]);
                var loss = lossFn(output, t[1]);
                _output = output;
                // A loss the fit loop will stop on leaves the weights and the optimizer state as they were, as in the
                // eager step, which checks it before the backward pass: the replay ends here for such a batch.
                if (!Jit.Check(loss, proceed)) return loss;
                optimizer.ZeroGrad();
                loss.Backward();
                if (clipValue is double v) Utils.ClipGradValue(optimizer.Parameters, v);
                optimizer.Step();
                return loss;
            });
        }

        /// <summary>The fit's first finite loss (NaN before it), the reference of the divergence rule; the fit loop keeps it current.</summary>
        public double FirstLoss { get; set; } = double.NaN;

        /// <summary>Why the step runs eagerly (set once), or null.</summary>
        public string? FallbackReason => _step.FallbackReason;

        /// <summary>Steps replayed so far.</summary>
        public long Replayed { get; private set; }

        /// <summary>Runs the step on a batch; returns the model output and the loss (tensors a later step overwrites).</summary>
        public (Tensor Output, Tensor Loss) Run(Tensor x, Tensor y)
        {
            int plans = _step.PlanCount;
            var loss = _step.Run(x, y);
            if (_step.LastRunReplayed)
            {
                Replayed++;
                return (_outputs[loss.Storage], loss);
            }
            if (_step.PlanCount > plans) _outputs[loss.Storage] = _output!; // this call captured a plan
            return (_output!, loss);
        }
    }
}
