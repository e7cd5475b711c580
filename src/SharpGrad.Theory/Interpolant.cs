namespace SharpGrad.Theory;

/// <summary>How an <see cref="Interpolant"/> was built.</summary>
public enum InterpolationConstruction
{
    /// <summary>ReLU hinges at the data points: exact (up to rounding) for any data.</summary>
    ReluHinges,

    /// <summary>Sigmoid steps at the midpoints: exact only in the limit of infinite steepness.</summary>
    SigmoidSteps,
}

/// <summary>
/// A one-hidden-layer network built by <see cref="Interpolation"/> to pass through given points (x_i, y_i), with the
/// evidence of the fit.
/// </summary>
public sealed record Interpolant
{
    internal Interpolant(TwoLayerNet network, InterpolationConstruction construction, double[] x, double[] y,
        double steepness, double errorBound, double maxAbsError)
    {
        Network = network;
        Construction = construction;
        X = x;
        Y = y;
        Steepness = steepness;
        ErrorBound = errorBound;
        MaxAbsError = maxAbsError;
    }

    /// <summary>The network: 1 input, one hidden unit fewer than there are distinct points, 1 output, Float64.</summary>
    public TwoLayerNet Network { get; }

    /// <summary>Which construction built it.</summary>
    public InterpolationConstruction Construction { get; }

    /// <summary>The distinct abscissae in increasing order.</summary>
    public IReadOnlyList<double> X { get; }

    /// <summary>The values at <see cref="X"/>.</summary>
    public IReadOnlyList<double> Y { get; }

    /// <summary>The steepness k of the sigmoid steps; 0 for the ReLU construction.</summary>
    public double Steepness { get; }

    /// <summary>
    /// A proven bound on the error at the data points in exact arithmetic: 0 for ReLU hinges,
    /// Σ_j |y_{j+1} − y_j| σ(−k (x_{j+1} − x_j) / 2) for sigmoid steps.
    /// </summary>
    public double ErrorBound { get; }

    /// <summary>max_i |net(x_i) − y_i| over the given points, measured by running the network in float64.</summary>
    public double MaxAbsError { get; }

    /// <summary>The network's output at one point.</summary>
    /// <param name="x">The input.</param>
    /// <returns>net(x).</returns>
    public double Evaluate(double x) => Evaluate([x])[0];

    /// <summary>The network's outputs at several points, computed in one batch of SharpGrad tensors.</summary>
    /// <param name="x">The inputs.</param>
    /// <returns>net(x_i) for each i.</returns>
    public double[] Evaluate(double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Length == 0) return [];
        using var _ = Autograd.NoGrad();
        return Network.Forward(Tensor.FromArray((double[])x.Clone(), x.Length, 1)).ToArray<double>();
    }
}
