using System.Numerics;

namespace SharpGrad;

/// <summary>
/// A computation written once for both floating-point element types: a struct whose fields hold its tensors and
/// arguments, and whose <see cref="Run{T}"/> reads and writes their spans as <c>T</c>. <see cref="DTypeDispatch"/>
/// picks <c>T</c> from a <see cref="DType"/>, so no op carries its own <c>if Float32 … else</c> branches.
/// </summary>
internal interface IFloatKernel
{
    void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A computation written once for every element type (shape and indexing ops that only move elements).</summary>
internal interface IAnyKernel
{
    void Run<T>() where T : unmanaged;
}

/// <summary>The one place where a dtype becomes a type argument.</summary>
internal static class DTypeDispatch
{
    /// <summary>Runs <paramref name="kernel"/> with <c>T</c> = float or double; other dtypes are refused naming the op.</summary>
    public static void Float<TKernel>(DType dtype, TKernel kernel, string op) where TKernel : IFloatKernel
    {
        if (Capture.Active is { } capture) capture.Float(dtype, kernel, op);
        else RunFloat(dtype, kernel, op);
    }

    /// <summary>Runs <paramref name="kernel"/> for <paramref name="dtype"/> without looking for a capture (the replay of a recorded launch).</summary>
    internal static void RunFloat<TKernel>(DType dtype, TKernel kernel, string op) where TKernel : IFloatKernel
    {
        switch (dtype)
        {
            case DType.Float32: kernel.Run<float>(); break;
            case DType.Float64: kernel.Run<double>(); break;
            default: throw new NotSupportedException($"{op} needs a floating-point tensor; got {dtype.ToTorchName()}. Convert with To(DType.Float32) first.");
        }
    }

    /// <summary>Runs <paramref name="kernel"/> with <c>T</c> the storage type of <paramref name="dtype"/> (float, double, long or bool).</summary>
    public static void Any<TKernel>(DType dtype, TKernel kernel) where TKernel : IAnyKernel
    {
        if (Capture.Active is { } capture) capture.Any(dtype, kernel);
        else RunAny(dtype, kernel);
    }

    /// <summary>Runs <paramref name="kernel"/> for <paramref name="dtype"/> without looking for a capture.</summary>
    internal static void RunAny<TKernel>(DType dtype, TKernel kernel) where TKernel : IAnyKernel
    {
        switch (dtype)
        {
            case DType.Float32: kernel.Run<float>(); break;
            case DType.Float64: kernel.Run<double>(); break;
            case DType.Int64: kernel.Run<long>(); break;
            case DType.Bool: kernel.Run<bool>(); break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype.");
        }
    }
}
