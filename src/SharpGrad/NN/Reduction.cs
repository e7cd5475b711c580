namespace SharpGrad.NN;

/// <summary>How a loss combines its per-element values (PyTorch: the <c>reduction</c> argument).</summary>
public enum Reduction
{
    /// <summary>The mean over elements (over samples for the classification losses); PyTorch's default.</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: one value per element or sample.</summary>
    None,
    /// <summary>KlDiv only: the sum divided by the batch size (the mathematically right KL for a batch).</summary>
    BatchMean,
}
