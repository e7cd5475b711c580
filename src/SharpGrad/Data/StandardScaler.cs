using SharpGrad.NN;

namespace SharpGrad.Data;

/// <summary>
/// Standardises features: (x − mean) / scale per feature (the last dimension), with mean and scale fitted on training
/// data (scikit-learn's <c>StandardScaler</c>: the population standard deviation, and scale 1 for a constant feature).
/// It is a <see cref="Module"/> with buffers <c>mean</c> and <c>scale</c>, so placed first in a model
/// (<c>new Sequential(scaler, net)</c>) it is saved and loaded with the model's state dict; alone,
/// <c>StateDictIO.Save(path, scaler)</c> writes it as a small file. Fit it on the training split only, so nothing of
/// the validation or test data leaks into training.
/// </summary>
public sealed class StandardScaler : Module
{
    /// <summary>An unfitted scaler (mean 0, scale 1) for <paramref name="numFeatures"/> features.</summary>
    public StandardScaler(int numFeatures, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numFeatures);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"StandardScaler: dtype must be floating point; got {dtype.ToTorchName()}.", nameof(dtype));
        Mean = RegisterBuffer("mean", Tensor.Zeros([numFeatures], dtype));
        Scale = RegisterBuffer("scale", Tensor.Ones([numFeatures], dtype));
    }

    /// <summary>The per-feature mean subtracted.</summary>
    public Tensor Mean { get; }

    /// <summary>The per-feature divisor: the standard deviation, or 1 where it is 0.</summary>
    public Tensor Scale { get; }

    /// <summary>Number of features.</summary>
    public int NumFeatures => Mean.ShapeRef[0];

    /// <summary>A scaler fitted on <paramref name="features"/> [N, F] (or [N, …, F]), in the features' dtype.</summary>
    public static StandardScaler FitNew(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank < 2) throw new ArgumentException($"StandardScaler: expected features [N, F]; got shape {Shapes.Format(features.ShapeRef)}.", nameof(features));
        var s = new StandardScaler(features.ShapeRef[^1], features.DType.IsFloatingPoint() ? features.DType : DType.Float64);
        return s.Fit(features);
    }

    /// <summary>Fits mean and scale on <paramref name="features"/> [N, F] (or [N, …, F]); returns this scaler.</summary>
    public StandardScaler Fit(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank < 2 || features.ShapeRef[^1] != NumFeatures)
            throw new ArgumentException($"StandardScaler: expected features [N, {NumFeatures}]; got shape {Shapes.Format(features.ShapeRef)}.", nameof(features));
        if (features.Numel == 0) throw new ArgumentException("StandardScaler: cannot fit on zero examples.", nameof(features));
        using var _ = Autograd.NoGrad();
        var x = features.Reshape(-1, NumFeatures).To(DType.Float64);
        var mean = x.Mean(0);
        var std = (x - mean).Pow(2).Mean(0).Sqrt().ToArray<double>();
        for (int i = 0; i < std.Length; i++)
        {
            if (!double.IsFinite(std[i])) throw new ArgumentException($"StandardScaler: feature {i} has non-finite values; cannot fit.", nameof(features));
            if (std[i] == 0) std[i] = 1; // a constant feature is centred, not divided by 0
        }
        Mean.CopyFrom(mean.To(Mean.DType));
        Scale.CopyFrom(Tensor.FromArray(std).To(Scale.DType));
        return this;
    }

    /// <summary>Fits on the inputs of every example of <paramref name="dataset"/> (e.g. the training subset of a split).</summary>
    public StandardScaler Fit(IDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var all = Enumerable.Range(0, dataset.Count).ToArray();
        return Fit(dataset.GetBatch(all).Input);
    }

    /// <summary>(x − mean) / scale, differentiable; the input's last dimension must be the number of features.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank == 0 || input.ShapeRef[^1] != NumFeatures)
            throw new ArgumentException($"StandardScaler: expected inputs with {NumFeatures} features in the last dimension; got shape {Shapes.Format(input.ShapeRef)}.", nameof(input));
        return (input - Mean) / Scale;
    }

    /// <summary>Standardises <paramref name="features"/> (the same as <see cref="Forward"/>).</summary>
    public Tensor Transform(Tensor features) => Forward(features);

    /// <summary>Undoes the standardisation: y · scale + mean.</summary>
    public Tensor InverseTransform(Tensor standardized)
    {
        ArgumentNullException.ThrowIfNull(standardized);
        return standardized * Scale + Mean;
    }

    /// <summary>A data set that hands out <paramref name="dataset"/>'s examples with standardised inputs.</summary>
    public IDataset Wrap(IDataset dataset) => new ScaledDataset(dataset ?? throw new ArgumentNullException(nameof(dataset)), this);

    private sealed class ScaledDataset(IDataset inner, StandardScaler scaler) : IDataset
    {
        public int Count => inner.Count;

        public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
        {
            var (x, y) = inner.GetBatch(indices);
            using var _ = Autograd.NoGrad();
            return (scaler.Forward(x), y);
        }
    }
}
