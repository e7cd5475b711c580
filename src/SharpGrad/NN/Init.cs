namespace SharpGrad.NN;

/// <summary>
/// Weight initialisers that fill a tensor in place (PyTorch: <c>torch.nn.init</c>). Fan-in and fan-out follow PyTorch:
/// for a weight of shape [out, in, k...], fan_in = in·Πk and fan_out = out·Πk.
/// </summary>
public static class Init
{
    /// <summary>(fan_in, fan_out) of a weight tensor with at least two dimensions.</summary>
    public static (int FanIn, int FanOut) Fans(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var s = weight.ShapeRef;
        if (s.Length < 2) throw new ArgumentException($"Fan in and fan out need at least 2 dimensions; got shape {Shapes.Format(s)}.");
        int receptive = 1;
        for (int i = 2; i < s.Length; i++) receptive *= s[i];
        return (s[1] * receptive, s[0] * receptive);
    }

    /// <summary>Recommended gain for a nonlinearity: 1 for linear/sigmoid, 5/3 for tanh, √2 for relu, √(2/(1+a²)) for leaky relu.</summary>
    public static double Gain(string nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        "linear" or "identity" or "sigmoid" or "conv" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        _ => throw new ArgumentException($"Unknown nonlinearity '{nonlinearity}'.", nameof(nonlinearity)),
    };

    /// <summary>Fills with U(low, high).</summary>
    public static void Uniform(Tensor t, double low, double high, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(t);
        var g = generator ?? Generator.Default;
        for (int i = 0; i < t.Numel; i++) t.SetDouble(i, low + (high - low) * g.NextDouble());
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static void Normal(Tensor t, double mean = 0, double std = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(t);
        var g = generator ?? Generator.Default;
        for (int i = 0; i < t.Numel; i++) t.SetDouble(i, mean + std * g.NextNormal());
    }

    /// <summary>Glorot/Xavier uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)).</summary>
    public static void XavierUniform(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fi, fo) = Fans(t);
        double a = gain * Math.Sqrt(6.0 / (fi + fo));
        Uniform(t, -a, a, generator);
    }

    /// <summary>Glorot/Xavier normal: N(0, gain²·2 / (fan_in + fan_out)).</summary>
    public static void XavierNormal(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fi, fo) = Fans(t);
        Normal(t, 0, gain * Math.Sqrt(2.0 / (fi + fo)), generator);
    }

    /// <summary>He/Kaiming uniform over fan_in: U(−b, b) with b = gain·√(3 / fan_in), gain from <see cref="Gain"/>.</summary>
    public static void KaimingUniform(Tensor t, double a = 0, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        var (fi, _) = Fans(t);
        double bound = Gain(nonlinearity, a) * Math.Sqrt(3.0 / fi);
        Uniform(t, -bound, bound, generator);
    }

    /// <summary>He/Kaiming normal over fan_in: N(0, gain² / fan_in).</summary>
    public static void KaimingNormal(Tensor t, double a = 0, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        var (fi, _) = Fans(t);
        Normal(t, 0, Gain(nonlinearity, a) / Math.Sqrt(fi), generator);
    }

    /// <summary>
    /// PyTorch's default for Linear and Conv layers: the weight from KaimingUniform with a = √5, which is U(−1/√fan_in,
    /// 1/√fan_in), and the bias from the same range.
    /// </summary>
    public static void DefaultLayer(Tensor weight, Tensor? bias, Generator? generator = null)
    {
        KaimingUniform(weight, Math.Sqrt(5), "leaky_relu", generator);
        if (bias is null) return;
        var (fi, _) = Fans(weight);
        double bound = fi > 0 ? 1 / Math.Sqrt(fi) : 0;
        Uniform(bias, -bound, bound, generator);
    }
}
