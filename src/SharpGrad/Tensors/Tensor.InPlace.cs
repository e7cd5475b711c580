namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Overwrites this tensor's elements with <paramref name="source"/>'s (same shape; converted if the dtype differs),
    /// outside the tape (PyTorch: <c>with torch.no_grad(): t.copy_(source)</c>). Used to load weights and by optimizers.
    /// </summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!Shapes.Equal(source._shape, _shape))
            throw new ArgumentException($"CopyFrom: source shape {Shapes.Format(source._shape)} does not match destination shape {Shapes.Format(_shape)}.");
        var s = source.DType == DType ? source : source.To(DType);
        System.Array.Copy(s.Storage, Storage, Numel);
        Capture.Active?.Copy(s, this);
    }

    /// <summary>Fills every element with <paramref name="value"/> in place, outside the tape.</summary>
    public void Fill(double value)
    {
        switch (Storage)
        {
            case float[] f: f.AsSpan().Fill((float)value); break;
            case double[] d: d.AsSpan().Fill(value); break;
            case long[] l: l.AsSpan().Fill((long)value); break;
            case bool[] b: b.AsSpan().Fill(value != 0); break;
        }
        Capture.Active?.Fill(this, value);
    }
}
