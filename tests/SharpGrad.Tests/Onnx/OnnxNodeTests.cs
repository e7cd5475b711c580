using System.Text;
using SharpGrad.Onnx;
using SharpGrad.Onnx.Proto;
using Xunit.Abstractions;

namespace SharpGrad.Tests.Onnx;

/// <summary>Runs only where Debian's libonnx-testdata is installed; .ci/run installs it.</summary>
public sealed class OnnxNodeDataFactAttribute : FactAttribute
{
    public const string Directory = "/usr/share/libonnx-testdata/data/node";

    public OnnxNodeDataFactAttribute()
    {
        if (!System.IO.Directory.Exists(Directory)) Skip = "libonnx-testdata is not installed (apt-get install libonnx-testdata).";
    }
}

/// <summary>
/// The ONNX project's backend node tests (one small model per operator variant, with inputs and expected outputs
/// written by ONNX, not by us), run through <see cref="OnnxModel.Load(string)"/>. Every test whose operators and
/// element types the importer supports must match (float: |actual − expected| ≤ 1e-5 + 1e-4·|expected|; integers exact);
/// the others are skipped with the reason the importer gives.
/// </summary>
public class OnnxNodeTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-4, Atol = 1e-5;

    internal enum Outcome { Passed, Failed, Skipped }

    internal sealed record Result(string Name, Outcome Outcome, string Detail);

    [OnnxNodeDataFact]
    public void Backend_node_tests_pass_through_the_importer()
    {
        var results = System.IO.Directory.GetDirectories(OnnxNodeDataFactAttribute.Directory).Order(StringComparer.Ordinal)
            .Select(RunOne).ToList();
        int passed = results.Count(r => r.Outcome == Outcome.Passed);
        int failed = results.Count(r => r.Outcome == Outcome.Failed);
        int skipped = results.Count(r => r.Outcome == Outcome.Skipped);
        string summary = $"ONNX backend node tests through OnnxModel.Load: {passed} passed, {failed} failed, {skipped} skipped (of {results.Count})";

        var report = new StringBuilder();
        report.AppendLine(summary);
        foreach (var r in results.Where(r => r.Outcome == Outcome.Failed)) report.AppendLine($"FAILED {r.Name}: {r.Detail}");
        foreach (var g in results.Where(r => r.Outcome == Outcome.Skipped).GroupBy(r => r.Detail).OrderByDescending(g => g.Count()))
            report.AppendLine($"skipped {g.Count(),3}: {g.Key} ({string.Join(", ", g.Select(r => r.Name).Take(6))}{(g.Count() > 6 ? ", …" : "")})");
        foreach (var r in results.Where(r => r.Outcome == Outcome.Passed)) report.AppendLine($"passed {r.Name}");
        output.WriteLine(report.ToString());
        // .ci/run prints this file's first line beside the test summary.
        if (Environment.GetEnvironmentVariable("SHARPGRAD_ONNX_NODE_REPORT") is { Length: > 0 } path) File.WriteAllText(path, report.ToString());

        Assert.True(failed == 0, summary + "\n" + string.Join("\n", results.Where(r => r.Outcome == Outcome.Failed).Select(r => $"{r.Name}: {r.Detail}")));
        Assert.True(passed > 0, summary);
    }

    internal static Result RunOne(string dir)
    {
        string name = Path.GetFileName(dir);
        OnnxModel model;
        try
        {
            model = OnnxModel.Load(Path.Combine(dir, "model.onnx"));
        }
        catch (OnnxNotSupportedException e) { return new(name, Outcome.Skipped, SkipReason(e)); }
        catch (Exception e) { return new(name, Outcome.Failed, "load: " + e.Message); }

        var sets = System.IO.Directory.GetDirectories(dir, "test_data_set_*").Order(StringComparer.Ordinal).ToList();
        if (sets.Count == 0) return new(name, Outcome.Failed, "no test_data_set directory");
        foreach (var set in sets)
        {
            Tensor[] inputs, expected;
            try
            {
                inputs = ReadTensors(set, "input_");
                expected = ReadTensors(set, "output_");
            }
            catch (OnnxNotSupportedException e) { return new(name, Outcome.Skipped, SkipReason(e)); }
            catch (Exception e) { return new(name, Outcome.Failed, $"{Path.GetFileName(set)}: reading the data: {e.Message}"); }

            Tensor[] actual;
            try
            {
                using (SharpGrad.Autograd.NoGrad()) actual = model.Run(inputs);
            }
            catch (OnnxNotSupportedException e) { return new(name, Outcome.Skipped, SkipReason(e)); }
            catch (Exception e) { return new(name, Outcome.Failed, $"{Path.GetFileName(set)}: {e.GetType().Name}: {e.Message}"); }

            if (actual.Length != expected.Length) return new(name, Outcome.Failed, $"{actual.Length} outputs, expected {expected.Length}");
            for (int i = 0; i < expected.Length; i++)
                if (Compare(actual[i], expected[i]) is { } problem)
                    return new(name, Outcome.Failed, $"{Path.GetFileName(set)} output {i}: {problem}");
        }
        return new(name, Outcome.Passed, "");
    }

    /// <summary>The reason without the node and value names, so skips group by cause.</summary>
    private static string SkipReason(OnnxNotSupportedException e) => e.Kind switch
    {
        OnnxUnsupportedKind.Operator => $"operator {e.OpType} not supported",
        OnnxUnsupportedKind.DataType => "dtype not supported: " + StripNames(e.Message),
        _ => $"{e.OpType}: " + StripNames(e.Message),
    };

    private static string StripNames(string message)
    {
        int colon = message.LastIndexOf(": ", StringComparison.Ordinal);
        return colon >= 0 ? message[(colon + 2)..] : message;
    }

    private static Tensor[] ReadTensors(string set, string prefix)
    {
        var files = System.IO.Directory.GetFiles(set, prefix + "*.pb")
            .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return [.. files.Select(f => OnnxTensors.ToTensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(f)), f))];
    }

    /// <summary>Null when <paramref name="actual"/> matches, else what differs.</summary>
    internal static string? Compare(Tensor actual, Tensor expected)
    {
        if (actual.DType != expected.DType) return $"dtype {actual.DType}, expected {expected.DType}";
        if (!actual.Shape.SequenceEqual(expected.Shape))
            return $"shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]";
        if (actual.DType is DType.Int64 or DType.Bool)
        {
            long[] a = actual.To(DType.Int64).ToArray<long>(), e = expected.To(DType.Int64).ToArray<long>();
            for (int i = 0; i < a.Length; i++)
                if (a[i] != e[i]) return $"element {i} is {a[i]}, expected {e[i]}";
            return null;
        }
        double[] x = actual.To(DType.Float64).ToArray<double>(), y = expected.To(DType.Float64).ToArray<double>();
        for (int i = 0; i < x.Length; i++)
        {
            if (double.IsNaN(y[i]) ? double.IsNaN(x[i]) : x[i] == y[i] || Math.Abs(x[i] - y[i]) <= Atol + Rtol * Math.Abs(y[i])) continue;
            return $"element {i} is {x[i]:R}, expected {y[i]:R}";
        }
        return null;
    }
}
