using System.Globalization;
using System.Text;

namespace SharpGrad.NN;

public static partial class Utils
{
    /// <summary>
    /// A table of <paramref name="module"/>'s layers for an input of <paramref name="inputShape"/> (batch dimension
    /// included): each layer's output shape, parameter count and memory (in the manner of torchinfo's <c>summary</c>). The
    /// shapes come from one forward pass of zeros, run without the tape and in evaluation mode (so BatchNorm's running
    /// statistics and the module's mode are left as they were).
    /// </summary>
    /// <remarks>
    /// A <see cref="Sequential"/> is run layer by layer, so every layer in it, nested ones included, gets its output
    /// shape. Any other module with children is run as a whole: its row has the output shape and its children are
    /// listed below it with their parameters only (their outputs are not visible from outside).
    /// </remarks>
    /// <param name="module">The model.</param>
    /// <param name="inputShape">Shape of the input, e.g. <c>[1, 1, 28, 28]</c>.</param>
    /// <param name="inputDType">The input's dtype; null uses the dtype of the first parameter (Float32 without one). Token models take <see cref="DType.Int64"/>.</param>
    /// <exception cref="ArgumentException">The module cannot take an input of that shape; the message is the layer's own, prefixed with its name.</exception>
    public static ModelSummary Summary(Module module, int[] inputShape, DType? inputDType = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(inputShape);
        foreach (int d in inputShape)
            if (d < 1) throw new ArgumentException($"Summary: the input shape {Shapes.Format(inputShape)} has a dimension below 1.", nameof(inputShape));
        var dtype = inputDType ?? module.Parameters().FirstOrDefault()?.DType ?? DType.Float32;
        var rows = new List<LayerSummary>();
        bool wasTraining = module.Training;
        module.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            using var scope = new TensorScope(); // nothing of the trial pass is kept but shapes
            var x = Tensor.Zeros(inputShape, dtype);
            Visit(module, "", 0, x, rows);
        }
        finally
        {
            module.Train(wasTraining);
        }
        var parameters = module.Parameters().ToList();
        return new ModelSummary(rows, [.. inputShape], dtype,
            parameters.Sum(p => (long)p.Numel), parameters.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel),
            parameters.Sum(p => (long)p.Numel * p.DType.ElementSize()),
            module.NamedBuffers().Sum(b => (long)b.Value.Numel * b.Value.DType.ElementSize()),
            rows.Where(r => r.IsLeaf && r.OutputShape is not null).Sum(r => r.OutputBytes),
            Shapes.Numel(inputShape) * (long)dtype.ElementSize());
    }

    /// <summary>Adds the rows of <paramref name="m"/> (named <paramref name="name"/>) run on <paramref name="x"/>; returns its output.</summary>
    private static Tensor Visit(Module m, string name, int depth, Tensor x, List<LayerSummary> rows)
    {
        int at = rows.Count;
        rows.Add(null!); // this module's row, filled in once its output is known
        Tensor y;
        var children = m.NamedChildren().ToList();
        if (m is Sequential)
        {
            y = x;
            foreach (var (childName, child) in children) y = Visit(child, Join(name, childName), depth + 1, y, rows);
        }
        else
        {
            try { y = m.Forward(x); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
            {
                throw new ArgumentException($"Summary: {(name.Length == 0 ? m.GetType().Name : $"layer '{name}' ({m.GetType().Name})")} cannot take an input of shape {Shapes.Format(x.ShapeRef)}: {e.Message}", e);
            }
            foreach (var (childName, child) in children) ListOnly(child, Join(name, childName), depth + 1, rows);
        }
        var own = m.Parameters().ToList();
        rows[at] = new LayerSummary(name.Length == 0 ? "(model)" : name, m.GetType().Name, depth, [.. y.ShapeRef],
            own.Sum(p => (long)p.Numel), own.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel),
            own.Sum(p => (long)p.Numel * p.DType.ElementSize()), (long)y.Numel * y.DType.ElementSize(), IsLeaf: children.Count == 0);
        return y;
    }

    /// <summary>Rows for a module whose input is not visible (inside a non-sequential parent): parameters, no shape.</summary>
    private static void ListOnly(Module m, string name, int depth, List<LayerSummary> rows)
    {
        var own = m.Parameters().ToList();
        var children = m.NamedChildren().ToList();
        rows.Add(new LayerSummary(name, m.GetType().Name, depth, null, own.Sum(p => (long)p.Numel), own.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel),
            own.Sum(p => (long)p.Numel * p.DType.ElementSize()), 0, IsLeaf: children.Count == 0));
        foreach (var (childName, child) in children) ListOnly(child, Join(name, childName), depth + 1, rows);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>One row of a <see cref="ModelSummary"/>: a module of the model.</summary>
/// <param name="Name">Dotted path of the module in the model, as in state-dict keys (<c>(model)</c> for the model itself).</param>
/// <param name="Type">The module's class, e.g. <c>Linear</c>.</param>
/// <param name="Depth">Nesting depth (0 for the model).</param>
/// <param name="OutputShape">Output shape for the summary's input, or null when the module runs inside a parent that is not a <see cref="Sequential"/>.</param>
/// <param name="Parameters">Parameters of the module and its descendants.</param>
/// <param name="TrainableParameters">Those of them that require gradients.</param>
/// <param name="ParameterBytes">Memory of those parameters.</param>
/// <param name="OutputBytes">Memory of the output (0 when its shape is not known).</param>
/// <param name="IsLeaf">Whether the module has no children (leaf outputs make up the activation memory).</param>
public sealed record LayerSummary(string Name, string Type, int Depth, int[]? OutputShape, long Parameters, long TrainableParameters,
    long ParameterBytes, long OutputBytes, bool IsLeaf);

/// <summary>What <see cref="Utils.Summary"/> found: one row per module and the totals.</summary>
/// <param name="Layers">The modules in registration order, each parent before its children.</param>
/// <param name="InputShape">The input shape the shapes are for.</param>
/// <param name="InputDType">The input's dtype.</param>
/// <param name="TotalParameters">Parameters of the model (shared ones counted once).</param>
/// <param name="TrainableParameters">Those that require gradients.</param>
/// <param name="ParameterBytes">Memory of the parameters.</param>
/// <param name="BufferBytes">Memory of the buffers (BatchNorm's running statistics, ...).</param>
/// <param name="ActivationBytes">Memory of every leaf layer's output for this input: what a forward pass with the tape keeps, roughly.</param>
/// <param name="InputBytes">Memory of the input.</param>
public sealed record ModelSummary(IReadOnlyList<LayerSummary> Layers, int[] InputShape, DType InputDType, long TotalParameters,
    long TrainableParameters, long ParameterBytes, long BufferBytes, long ActivationBytes, long InputBytes)
{
    /// <summary>Parameters, buffers, input and activations together: an estimate of a forward pass's memory.</summary>
    public long TotalBytes => ParameterBytes + BufferBytes + ActivationBytes + InputBytes;

    /// <summary>Bytes as B, KB, MB or GB (powers of 1,024), e.g. "1.21 MB".</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("F2", CultureInfo.InvariantCulture) + " KB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("F2", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("F2", CultureInfo.InvariantCulture) + " GB",
    };

    /// <summary>The table as plain text: layer (indented by depth), type, output shape, parameters, then the totals.</summary>
    public override string ToString()
    {
        var table = Layers.Select(l => new[]
        {
            new string(' ', 2 * l.Depth) + l.Name, l.Type, l.OutputShape is null ? "-" : Shapes.Format(l.OutputShape),
            l.Parameters.ToString("N0", CultureInfo.InvariantCulture),
        }).Prepend(["Layer", "Type", "Output shape", "Params"]).ToList();
        var widths = Enumerable.Range(0, 4).Select(c => table.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in table)
            sb.Append(r[0].PadRight(widths[0])).Append("  ").Append(r[1].PadRight(widths[1])).Append("  ")
              .Append(r[2].PadRight(widths[2])).Append("  ").Append(r[3].PadLeft(widths[3])).Append('\n');
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"Input {Shapes.Format(InputShape)} {InputDType}\n");
        sb.Append(inv, $"Parameters: {TotalParameters:N0} ({TrainableParameters:N0} trainable), {FormatBytes(ParameterBytes)}\n");
        sb.Append(inv, $"Buffers: {FormatBytes(BufferBytes)}; activations: {FormatBytes(ActivationBytes)}; input: {FormatBytes(InputBytes)}; total: {FormatBytes(TotalBytes)}\n");
        return sb.ToString();
    }
}
