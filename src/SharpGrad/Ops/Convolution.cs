using System.Numerics;
using System.Numerics.Tensors;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>The blocked 2-d pooling kernels behind MaxPool2d and AvgPool2d (Ops/Pooling) for the cases they cover.</summary>
internal static class ConvOps
{
    private static ConvGeometry Geometry(string op, int[] xShape, int kh, int kw, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        if (xShape.Length != 4)
            throw new ArgumentException($"{op}: expected input of shape [N, C, H, W], got {Shapes.Format(xShape)}.");
        if (stride.H < 1 || stride.W < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be at least 1, got ({stride.H}, {stride.W}).");
        if (dilation.H < 1 || dilation.W < 1) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be at least 1, got ({dilation.H}, {dilation.W}).");
        if (padding.H < 0 || padding.W < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be non-negative, got ({padding.H}, {padding.W}).");
        var g = new ConvGeometry(xShape[1], xShape[2], xShape[3], kh, kw, stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W);
        int effH = dilation.H * (kh - 1) + 1, effW = dilation.W * (kw - 1) + 1;
        if (xShape[2] + 2 * padding.H < effH || xShape[3] + 2 * padding.W < effW)
            throw new ArgumentException(
                $"{op}: the input {xShape[2]}x{xShape[3]} padded by ({padding.H}, {padding.W}) is smaller than the dilated kernel {effH}x{effW} " +
                $"(kernel {kh}x{kw}, dilation ({dilation.H}, {dilation.W})); the output would be empty.");
        return g;
    }

    /// <summary>2-D max pooling; padding acts as -inf. The backward routes each gradient to the input that won.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        x.EnsureFloatingPoint(nameof(MaxPool2d));
        CheckPoolPadding(nameof(MaxPool2d), kernel, padding);
        var g = Geometry(nameof(MaxPool2d), x.ShapeRef, kernel.H, kernel.W, stride, padding, dilation);
        int planes = x.ShapeRef[0] * g.Channels;
        var y = Tensor.Uninitialized([x.ShapeRef[0], g.Channels, g.OutHeight, g.OutWidth], x.DType);
        int outputs = y.Numel;
        // Which input won each window, kept for the backward pass in pooled scratch (returned when the graph is freed).
        int[] argmax = ScratchPool<int>.Rent(Math.Max(outputs, 1));
        if (x.DType == DType.Float32) MaxForward<float>(x, planes, g, y, argmax);
        else MaxForward<double>(x, planes, g, y, argmax);
        if (!Autograd.IsGradEnabled || !x.RequiresGrad)
        {
            ScratchPool<int>.Return(argmax);
            return y;
        }
        int[] shape = x.ShapeRef;
        return Autograd.Record(y, "MaxPool2dBackward", [x], gy =>
        {
            var gx = Tensor.Uninitialized(shape, gy.DType);   // every plane is cleared by the kernel
            if (gy.DType == DType.Float32) MaxBackward<float>(gy, argmax, planes, g, gx);
            else MaxBackward<double>(gy, argmax, planes, g, gx);
            return [gx];
        }, differentiableBackward: false, onRelease: () => ScratchPool<int>.Return(argmax), attributes: new Pool2dAttributes(kernel, stride, padding, dilation));
    }

    // Pooling runs plane by plane, so the planes are split over the cores; argmax holds indices within a plane.
    private static void MaxForward<T>(Tensor x, int planes, ConvGeometry g, Tensor y, int[] argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] xs = x.Array<T>(), ys = y.Array<T>();
        int hw = g.Height * g.Width, o = g.OutHeight * g.OutWidth;
        RangeWork.Run(planes, (long)planes * hw, (first, last) => Pooling.MaxForward<T>(
            xs.AsSpan(first * hw, (last - first) * hw), last - first, g, ys.AsSpan(first * o, (last - first) * o), argmax.AsSpan(first * o, (last - first) * o)));
    }

    private static void MaxBackward<T>(Tensor gy, int[] argmax, int planes, ConvGeometry g, Tensor gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] gys = gy.Array<T>(), gxs = gx.Array<T>();
        int hw = g.Height * g.Width, o = g.OutHeight * g.OutWidth;
        RangeWork.Run(planes, (long)planes * hw, (first, last) => Pooling.MaxBackward<T>(
            gys.AsSpan(first * o, (last - first) * o), argmax.AsSpan(first * o, (last - first) * o), last - first, g, gxs.AsSpan(first * hw, (last - first) * hw)));
    }

    /// <summary>2-D average pooling with zero padding counted in the divisor (PyTorch's count_include_pad=True).</summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        x.EnsureFloatingPoint(nameof(AvgPool2d));
        CheckPoolPadding(nameof(AvgPool2d), kernel, padding);
        var g = Geometry(nameof(AvgPool2d), x.ShapeRef, kernel.H, kernel.W, stride, padding, (1, 1));
        int planes = x.ShapeRef[0] * g.Channels;
        var y = Tensor.Empty([x.ShapeRef[0], g.Channels, g.OutHeight, g.OutWidth], x.DType);
        if (x.DType == DType.Float32) Pooling.Average<float>(x.Span<float>(), planes, g, y.Span<float>(), backward: false);
        else Pooling.Average<double>(x.Span<double>(), planes, g, y.Span<double>(), backward: false);
        int[] shape = x.ShapeRef;
        return Autograd.Record(y, "AvgPool2dBackward", [x], gy =>
        {
            var gx = Tensor.Empty(shape, gy.DType);
            if (gy.DType == DType.Float32) Pooling.Average<float>(gy.Span<float>(), planes, g, gx.Span<float>(), backward: true);
            else Pooling.Average<double>(gy.Span<double>(), planes, g, gx.Span<double>(), backward: true);
            return [gx];
        }, differentiableBackward: false, attributes: new Pool2dAttributes(kernel, stride, padding, (1, 1)));
    }

    private static void CheckPoolPadding(string op, (int H, int W) kernel, (int H, int W) padding)
    {
        if (kernel.H < 1 || kernel.W < 1) throw new ArgumentOutOfRangeException(nameof(kernel), $"{op}: kernel size must be at least 1, got ({kernel.H}, {kernel.W}).");
        if (padding.H * 2 > kernel.H || padding.W * 2 > kernel.W)
            throw new ArgumentException($"{op}: padding ({padding.H}, {padding.W}) must be at most half the kernel ({kernel.H}, {kernel.W}), as in PyTorch.");
    }
}
