using SharpGrad.Reports;

namespace SharpGrad.Cli.Report;

/// <summary>Sections for the exercises implemented in <c>SharpGrad.Cli.Exercises</c> (XOR, regression, losses, convolution, constructions).</summary>
internal static class ExerciseSections
{
    public static IEnumerable<ReportSection> All(bool quick, IProgress<string>? status)
    {
        _ = quick;
        _ = status;
        yield break;
    }
}
