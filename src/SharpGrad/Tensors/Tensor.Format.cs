using System.Globalization;
using System.Text;

namespace SharpGrad;

public sealed partial class Tensor
{
    private const int SummariseAbove = 1000, EdgeItems = 3;

    /// <summary>
    /// A readable rendering in PyTorch's layout, e.g. <c>tensor([[1., 2.], [3., 4.]], dtype=float64, requires_grad=True)</c>;
    /// tensors of more than 1000 elements show the first and last three entries of each dimension.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder("tensor(");
        bool summarise = Numel > SummariseAbove;
        if (Rank == 0) sb.Append(FormatElement(0));
        else AppendDim(sb, 0, 0, summarise, indent: 7);
        if (DType != DType.Float32) sb.Append(", dtype=").Append(DType.ToTorchName());
        if (Numel == 0 && Rank != 1) sb.Append(", size=(").Append(string.Join(", ", _shape)).Append(Rank == 1 ? ",)" : ")");
        if (GradFn is not null) sb.Append(", grad_fn=<").Append(GradFn.Name).Append('>');
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private void AppendDim(StringBuilder sb, int dim, int offset, bool summarise, int indent)
    {
        int size = _shape[dim];
        int stride = 1;
        for (int i = dim + 1; i < Rank; i++) stride *= _shape[i];
        sb.Append('[');
        for (int i = 0; i < size; i++)
        {
            if (summarise && size > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append(dim == Rank - 1 ? "..., " : "...,\n" + new string(' ', indent + dim + 1));
                i = size - EdgeItems;
            }
            if (dim == Rank - 1) sb.Append(FormatElement(offset + i));
            else AppendDim(sb, dim + 1, offset + i * stride, summarise, indent);
            if (i < size - 1) sb.Append(dim == Rank - 1 ? ", " : ",\n" + new string(' ', indent + dim + 1));
        }
        sb.Append(']');
    }

    private string FormatElement(int i) => Storage switch
    {
        long[] l => l[i].ToString(CultureInfo.InvariantCulture),
        bool[] b => b[i] ? "True" : "False",
        float[] f => FormatFloat(f[i]),
        double[] d => FormatFloat(d[i]),
        _ => "?",
    };

    private static string FormatFloat(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsPositiveInfinity(v)) return "inf";
        if (double.IsNegativeInfinity(v)) return "-inf";
        if (v == Math.Floor(v) && Math.Abs(v) < 1e8) return v.ToString("0", CultureInfo.InvariantCulture) + ".";
        double a = Math.Abs(v);
        return a is >= 1e-4 and < 1e8 ? v.ToString("0.0000", CultureInfo.InvariantCulture) : v.ToString("0.0000e+00", CultureInfo.InvariantCulture);
    }
}
