using System.Globalization;

namespace SharpGrad.Training;

/// <summary>
/// Thrown when training has diverged although the loss is still a finite number: a parameter became NaN or infinite
/// after an optimizer step, or the loss grew past <see cref="TrainingRunOptions.DivergenceFactor"/> times the first
/// loss of the run. Training stops at once, so diverged weights are never saved. (A loss that is itself NaN or infinite
/// throws <see cref="NonFiniteLossException"/>.) It is an <see cref="InvalidOperationException"/>, so callers that
/// treat those as user errors report it in one line.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="epoch">1-based epoch in which it happened.</param>
    /// <param name="step">Global optimizer step (1-based).</param>
    /// <param name="loss">The loss of that step.</param>
    /// <param name="firstLoss">The first loss of the run.</param>
    /// <param name="parameter">The parameter that became non-finite, or null when the loss grew too large.</param>
    /// <param name="message">The message.</param>
    private TrainingDivergedException(int epoch, long step, double loss, double firstLoss, string? parameter, string message) : base(message)
    {
        (Epoch, Step, Loss, FirstLoss, Parameter) = (epoch, step, loss, firstLoss, parameter);
    }

    internal static TrainingDivergedException LossGrew(int epoch, long step, double loss, double firstLoss, double factor) =>
        new(epoch, step, loss, firstLoss, null, string.Create(CultureInfo.InvariantCulture,
            $"The loss became {loss:G4} at epoch {epoch}, step {step}, more than {factor:G3} times the first loss ({firstLoss:G4}): training diverged and was stopped (try a lower learning rate)."));

    internal static TrainingDivergedException ParameterNotFinite(int epoch, long step, double loss, double firstLoss, string parameter, double value) =>
        new(epoch, step, loss, firstLoss, parameter, string.Create(CultureInfo.InvariantCulture,
            $"Parameter {parameter} became {value} at epoch {epoch}, step {step} (the loss was {loss:G4}): training diverged and was stopped (try a lower learning rate)."));

    /// <summary>1-based epoch in which it happened.</summary>
    public int Epoch { get; }
    /// <summary>Global optimizer step (1-based).</summary>
    public long Step { get; }
    /// <summary>The loss of that step.</summary>
    public double Loss { get; }
    /// <summary>The first loss of the run.</summary>
    public double FirstLoss { get; }
    /// <summary>The parameter that became NaN or infinite (its index in the optimizer), or null when the loss grew too large.</summary>
    public string? Parameter { get; }
}
