using System.Globalization;
using System.Text;

namespace SharpGrad.Tests.Golden;

/// <summary>Element-wise comparison with PyTorch's golden arrays, shared by the op and NN golden tests.</summary>
internal static class GoldenCompare
{
    /// <summary>
    /// Checks |a − e| ≤ atol + rtol |e| element by element; null when every element passes, else the number of failures
    /// and the worst element.
    /// </summary>
    public static string? Compare(string what, double[] a, double[] e, int[] shape, double rtol, double atol)
    {
        if (e.Length != a.Length) return $"{what}: {a.Length} elements, PyTorch has {e.Length}.";
        int worst = 0, failures = 0;
        double worstExcess = double.NegativeInfinity;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs(a[i] - e[i]);
            double allowed = atol + rtol * Math.Abs(e[i]);
            bool ok = err <= allowed || a[i] == e[i]; // a[i] == e[i] covers equal infinities
            if (!ok) failures++;
            double excess = a[i] == e[i] ? 0 : double.IsNaN(err) ? double.PositiveInfinity : err / allowed;
            if (excess > worstExcess) { worst = i; worstExcess = excess; }
        }
        if (failures > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{what}: {failures} of {e.Length} elements differ from PyTorch beyond |a - e| <= {atol:g} + {rtol:g}|e|. ");
            sb.Append(CultureInfo.InvariantCulture, $"Worst at {Fmt(Unravel(worst, shape))} (flat {worst}): SharpGrad {a[worst]:R}, PyTorch {e[worst]:R}, |diff| {Math.Abs(a[worst] - e[worst]):g3} ({worstExcess:g3} x the tolerance).");
            return sb.ToString();
        }
        return null;
    }

    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }

    public static string Fmt(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
