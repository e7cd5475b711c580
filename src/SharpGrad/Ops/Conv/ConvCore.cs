using System.Globalization;
using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>
/// What the convolution ops (Conv1d/2d/3d, ConvTranspose1d/2d; one file each in this folder) share: argument expansion
/// and checks, and the forward and backward over the kernels of <see cref="ConvNd"/>. A transposed convolution is the
/// adjoint of a convolution in its input, so its forward is the convolution's input gradient and its backward the
/// convolution's forward (input gradient) and weight gradient: one set of kernels serves both.
/// </summary>
internal static class ConvCore
{
    /// <summary>One value for every spatial dimension, or one per dimension.</summary>
    public static int[] Expand(string op, string name, int[]? values, int dims, int fallback)
    {
        if (values is null || values.Length == 0 || values.Length == 1)
        {
            var all = new int[dims];
            Array.Fill(all, values is { Length: 1 } ? values[0] : fallback);
            return all;
        }
        if (values.Length != dims)
            throw new ArgumentException($"{op}: {name} must have 1 or {dims} values, got {Shapes.Format(values)}.", name);
        return (int[])values.Clone();
    }

    private static void CheckGeometry(string op, int[] stride, int[] padding, int[] dilation, int groups)
    {
        if (Array.Exists(stride, v => v < 1)) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be at least 1, got {Shapes.Format(stride)}.");
        if (Array.Exists(dilation, v => v < 1)) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be at least 1, got {Shapes.Format(dilation)}.");
        if (Array.Exists(padding, v => v < 0)) throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be non-negative, got {Shapes.Format(padding)}.");
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), $"{op}: groups must be at least 1, got {groups}.");
    }

    /// <summary>Input and weight checked and promoted to one float dtype; an unbatched input gets a batch of one.</summary>
    private static (Tensor X, Tensor W, Tensor? B, bool Unbatched) Prepare(string op, int dims, Tensor input, Tensor weight, Tensor? bias, string inputLayout)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        input.EnsureFloatingPoint(op);
        weight.EnsureFloatingPoint(op);
        if (input.Rank != dims + 1 && input.Rank != dims + 2)
            throw new ArgumentException($"{op}: expected input of shape {inputLayout} (or without the batch dimension), got {Shapes.Format(input.ShapeRef)}.", nameof(input));
        if (weight.Rank != dims + 2)
            throw new ArgumentException($"{op}: expected a weight of rank {dims + 2}, got shape {Shapes.Format(weight.ShapeRef)}.", nameof(weight));
        bool unbatched = input.Rank == dims + 1;
        var (x, w) = Tensor.Promote(unbatched ? input.Unsqueeze(0) : input, weight, op);
        var b = bias?.To(x.DType);
        return (x, w, b, unbatched);
    }

    /// <summary>The kernel geometry; spatial sizes, kernels and the rest given per dimension (1 to 3), lifted to 3-d.</summary>
    private static ConvSpec Spec(int batch, int inC, int outC, int groups, int[] size, int[] kernel, int[] stride, int[] padding, int[] dilation)
    {
        int lift = 3 - size.Length;
        int At(int[] a, int i, int unit) => i < lift ? unit : a[i - lift];
        return new ConvSpec(batch, inC, outC, groups,
            At(size, 0, 1), At(size, 1, 1), At(size, 2, 1), At(kernel, 0, 1), At(kernel, 1, 1), At(kernel, 2, 1),
            At(stride, 0, 1), At(stride, 1, 1), At(stride, 2, 1), At(padding, 0, 0), At(padding, 1, 0), At(padding, 2, 0),
            At(dilation, 0, 1), At(dilation, 1, 1), At(dilation, 2, 1));
    }

    /// <summary>
    /// A convolution (cross-correlation, as PyTorch's): input [N, C, *size], weight [O, C / groups, *kernel], bias [O];
    /// output size ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1 per spatial dimension. Records one fused backward rule.
    /// </summary>
    public static Tensor Convolution(string op, int dims, Tensor input, Tensor weight, Tensor? bias, int[]? stride, int[]? padding, int[]? dilation, int groups)
    {
        var (x, w, b, unbatched) = Prepare(op, dims, input, weight, bias, dims switch { 1 => "[N, C, L]", 2 => "[N, C, H, W]", _ => "[N, C, D, H, W]" });
        int[] s = Expand(op, nameof(stride), stride, dims, 1), p = Expand(op, nameof(padding), padding, dims, 0), d = Expand(op, nameof(dilation), dilation, dims, 1);
        CheckGeometry(op, s, p, d, groups);
        int n = x.ShapeRef[0], inC = x.ShapeRef[1], outC = w.ShapeRef[0];
        int[] size = x.ShapeRef[2..], kernel = w.ShapeRef[2..];
        if (inC % groups != 0 || outC % groups != 0)
            throw new ArgumentException($"{op}: groups = {groups} must divide both the input channels ({inC}) and the output channels ({outC}, weight {Shapes.Format(w.ShapeRef)}).", nameof(groups));
        if (w.ShapeRef[1] * groups != inC)
            throw new ArgumentException($"{op}: the input has {inC} channels (shape {Shapes.Format(x.ShapeRef)}) but the weight {Shapes.Format(w.ShapeRef)} with groups = {groups} expects {w.ShapeRef[1] * groups}.", nameof(weight));
        if (b is not null && (b.Rank != 1 || b.ShapeRef[0] != outC))
            throw new ArgumentException($"{op}: the bias must have shape [{outC}], got {Shapes.Format(b.ShapeRef)}.", nameof(bias));
        var outSize = new int[dims];
        for (int i = 0; i < dims; i++)
        {
            long span = (long)size[i] + 2 * p[i] - (long)d[i] * (kernel[i] - 1) - 1;
            if (kernel[i] < 1 || span < 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{op}: spatial dimension {i} of the input {Shapes.Format(x.ShapeRef)}, padded by {p[i]}, is smaller than the dilated kernel {(long)d[i] * (kernel[i] - 1) + 1} (kernel {Shapes.Format(kernel)}, dilation {Shapes.Format(d)}); the output would be empty."));
            outSize[i] = checked((int)(span / s[i] + 1));
        }
        var spec = Spec(n, inC, outC, groups, size, kernel, s, p, d);
        var y = Tensor.Uninitialized([n, outC, .. outSize], x.DType);
        DTypeDispatch.Float(x.DType, new ForwardKernel(spec, x, w, b, y), op);
        Tensor result = y;
        Tensor[] inputs = b is null ? [x, w] : [x, w, b];
        if (Autograd.IsGradEnabled && (x.RequiresGrad || w.RequiresGrad || b is { RequiresGrad: true }))
        {
            bool hasBias = b is not null;
            result = Autograd.Record(y, op + "Backward", inputs, gy =>
            {
                var k = new BackwardKernel(spec, x, w, gy, hasBias, Transposed: false);
                DTypeDispatch.Float(gy.DType, k, op);
                return hasBias ? [k.Gx, k.Gw, k.Gb] : [k.Gx, k.Gw];
            }, differentiableBackward: false, attributes: new ConvAttributes(s, p, d, groups, new int[dims], Transposed: false));
        }
        return unbatched ? result.Squeeze(0) : result;
    }

    /// <summary>
    /// A transposed convolution (PyTorch's conv_transposeNd): input [N, Cin, *size], weight [Cin, Cout / groups, *kernel],
    /// bias [Cout]; output size (in − 1)·s − 2p + d(k − 1) + outputPadding + 1. It is the adjoint of the convolution with
    /// the same weight and geometry (output-padding rows and columns are never read by that convolution, so they hold
    /// only the bias). Records one fused backward rule.
    /// </summary>
    public static Tensor Transposed(string op, int dims, Tensor input, Tensor weight, Tensor? bias, int[]? stride, int[]? padding, int[]? outputPadding, int groups, int[]? dilation)
    {
        var (x, w, b, unbatched) = Prepare(op, dims, input, weight, bias, dims switch { 1 => "[N, C, L]", 2 => "[N, C, H, W]", _ => "[N, C, D, H, W]" });
        int[] s = Expand(op, nameof(stride), stride, dims, 1), p = Expand(op, nameof(padding), padding, dims, 0), d = Expand(op, nameof(dilation), dilation, dims, 1);
        int[] op_ = Expand(op, nameof(outputPadding), outputPadding, dims, 0);
        CheckGeometry(op, s, p, d, groups);
        int n = x.ShapeRef[0], inC = x.ShapeRef[1], outC = w.ShapeRef[1] * groups;
        int[] size = x.ShapeRef[2..], kernel = w.ShapeRef[2..];
        if (w.ShapeRef[0] != inC)
            throw new ArgumentException($"{op}: the input has {inC} channels (shape {Shapes.Format(x.ShapeRef)}) but the weight {Shapes.Format(w.ShapeRef)} expects {w.ShapeRef[0]} (weight layout [in, out / groups, *kernel]).", nameof(weight));
        if (inC % groups != 0)
            throw new ArgumentException($"{op}: groups = {groups} must divide the input channels ({inC}).", nameof(groups));
        if (b is not null && (b.Rank != 1 || b.ShapeRef[0] != outC))
            throw new ArgumentException($"{op}: the bias must have shape [{outC}], got {Shapes.Format(b.ShapeRef)}.", nameof(bias));
        var full = new int[dims];
        var reach = new int[dims];
        for (int i = 0; i < dims; i++)
        {
            if (op_[i] < 0 || op_[i] >= Math.Max(s[i], d[i]))
                throw new ArgumentOutOfRangeException(nameof(outputPadding), $"{op}: outputPadding {Shapes.Format(op_)} must be non-negative and smaller than the stride {Shapes.Format(s)} or the dilation {Shapes.Format(d)}, as in PyTorch.");
            long f = ((long)size[i] - 1) * s[i] - 2L * p[i] + (long)d[i] * (kernel[i] - 1) + op_[i] + 1;
            if (kernel[i] < 1 || f < 1)
                throw new ArgumentException($"{op}: the output size of dimension {i} would be {f} (input {Shapes.Format(x.ShapeRef)}, kernel {Shapes.Format(kernel)}, stride {Shapes.Format(s)}, padding {Shapes.Format(p)}, dilation {Shapes.Format(d)}, outputPadding {Shapes.Format(op_)}).");
            full[i] = checked((int)f);
            // The adjoint convolution over the full output makes size + ⌊outputPadding / stride⌋ outputs; the ones past
            // this op's input stand for zero inputs (they add nothing), so the input is zero-extended to that size.
            reach[i] = size[i] + op_[i] / s[i];
        }
        // The adjoint convolution: its input is this op's output, its output this op's (zero-extended) input.
        var spec = Spec(n, outC, inC, groups, full, kernel, s, p, d);
        var y = Tensor.Uninitialized([n, outC, .. full], x.DType);
        DTypeDispatch.Float(x.DType, new TransposedForwardKernel(spec, x, w, b, y, size, reach), op);
        Tensor result = y;
        Tensor[] inputs = b is null ? [x, w] : [x, w, b];
        if (Autograd.IsGradEnabled && (x.RequiresGrad || w.RequiresGrad || b is { RequiresGrad: true }))
        {
            bool hasBias = b is not null;
            result = Autograd.Record(y, op + "Backward", inputs, gy =>
            {
                var k = new BackwardKernel(spec, x, w, gy, hasBias, Transposed: true, size, reach);
                DTypeDispatch.Float(gy.DType, k, op);
                return hasBias ? [k.Gx, k.Gw, k.Gb] : [k.Gx, k.Gw];
            }, differentiableBackward: false, attributes: new ConvAttributes(s, p, d, groups, op_, Transposed: true));
        }
        return unbatched ? result.Squeeze(0) : result;
    }

    /// <summary>
    /// Copies [N, C, *core] into the leading corner of [N, C, *full] (zeros elsewhere), or back when
    /// <paramref name="toFull"/> is false (cropping). Sizes are per spatial dimension, 1 to 3.
    /// </summary>
    private static void Embed<T>(ReadOnlySpan<T> src, Span<T> dst, int planes, int[] core, int[] full, bool toFull) where T : unmanaged
    {
        int dims = core.Length;
        int cd = dims == 3 ? core[0] : 1, ch = dims >= 2 ? core[dims - 2] : 1, cw = core[dims - 1];
        int fd = dims == 3 ? full[0] : 1, fh = dims >= 2 ? full[dims - 2] : 1, fw = full[dims - 1];
        int coreSize = cd * ch * cw, fullSize = fd * fh * fw;
        if (toFull) dst[..(planes * fullSize)].Clear();
        for (int pl = 0; pl < planes; pl++)
            for (int z = 0; z < cd; z++)
                for (int yy = 0; yy < ch; yy++)
                {
                    int c = pl * coreSize + (z * ch + yy) * cw, f = pl * fullSize + (z * fh + yy) * fw;
                    if (toFull) src.Slice(c, cw).CopyTo(dst.Slice(f, cw));
                    else src.Slice(f, cw).CopyTo(dst.Slice(c, cw));
                }
    }

    private static bool Same(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);

    private readonly record struct ForwardKernel(ConvSpec Spec, Tensor X, Tensor W, Tensor? B, Tensor Y) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture) => Capture.Buffers(capture, [X, W, B], [Y]);

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            ConvNd.Forward(Spec, X.Array<T>(), W.Array<T>(), B?.Array<T>(), Y.Array<T>());
    }

    /// <summary>A transposed convolution's forward: the adjoint's input gradient of x (zero-extended to <c>Reach</c> when it is larger), plus the bias.</summary>
    private readonly record struct TransposedForwardKernel(ConvSpec Spec, Tensor X, Tensor W, Tensor? B, Tensor Y, int[] Size, int[] Reach) : IFloatKernel
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            int planes = Spec.Batch * Spec.InC;
            if (Same(Size, Reach)) ConvNd.InputGradient(Spec, X.Array<T>(), W.Array<T>(), Y.Array<T>());
            else
            {
                int inPlanes = Spec.Batch * Spec.OutC;
                T[] extended = ScratchPool<T>.Rent(inPlanes * Spec.OD * Spec.OH * Spec.OW);
                try
                {
                    Embed<T>(X.Span<T>(), extended, inPlanes, Size, Reach, toFull: true);
                    ConvNd.InputGradient(Spec, extended, W.Array<T>(), Y.Array<T>());
                }
                finally { ScratchPool<T>.Return(extended); }
            }
            if (B is not null) ConvNd.AddBias(Y.Span<T>(), Spec.Batch, Spec.InC, Y.Numel / planes, B.Span<T>());
        }
    }

    /// <summary>
    /// The gradients of a convolution (<paramref name="Transposed"/> false: gx = convᵀ(gy), gw = gy ⋆ x) or of a
    /// transposed one (gx = conv(gy), gw = x ⋆ gy, over x zero-extended to the adjoint's output size when that is larger), null where not required.
    /// </summary>
    private sealed record BackwardKernel(ConvSpec Spec, Tensor X, Tensor W, Tensor Gy, bool HasBias, bool Transposed, int[]? Core = null, int[]? Full = null)
        : IFloatKernel, ICapturedKernel, IRedirectableOutput
    {
        // Outputs are made by the first run and overwritten by later ones (a compiled step replays this object).
        public void Declare(Capture capture) => Capture.Buffers(capture, [X, W, Gy], [Gx, Gw, Gb]);

        public Tensor? Gx { get; private set; }
        public Tensor? Gw { get; private set; }
        public Tensor? Gb { get; private set; }

        // Where a compiled step writes the weight and bias gradients instead of their arrays (0: into the arrays).
        private nint _gwAt, _gbAt;

        /// <summary>The weight or the bias gradient written at <paramref name="address"/> from now on (a data-parallel bucket's slot).</summary>
        public bool RedirectOutput(Array array, nint address)
        {
            if (address == 0) return false;
            if (Gw is not null && ReferenceEquals(array, Gw.Storage) && _gwAt == 0) _gwAt = address;
            else if (Gb is not null && ReferenceEquals(array, Gb.Storage) && _gbAt == 0) _gbAt = address;
            else return false;
            return true;
        }

        private static unsafe Span<T> Output<T>(Tensor t, nint at) where T : unmanaged => at == 0 ? t.Array<T>() : new Span<T>((void*)at, t.Numel);

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] gy = Gy.Array<T>();
            // Channels and positions of the gradient arriving at this op's output (for the bias).
            int outChannels = Transposed ? Spec.InC : Spec.OutC;
            if (HasBias)
            {
                Gb ??= Tensor.Uninitialized([outChannels], Gy.DType);
                ConvNd.BiasGradient<T>(gy, Spec.Batch, outChannels, Gy.Numel / Math.Max(1, Spec.Batch * outChannels), Output<T>(Gb, _gbAt));
            }
            if (!X.RequiresGrad && !W.RequiresGrad) return;
            if (!Transposed)
            {
                if (W.RequiresGrad)
                {
                    Gw ??= Tensor.Uninitialized(W.ShapeRef, W.DType);
                    ConvNd.WeightGradient(Spec, X.Array<T>(), gy, Output<T>(Gw, _gwAt));
                }
                if (X.RequiresGrad)
                {
                    Gx ??= Tensor.Uninitialized(X.ShapeRef, X.DType);
                    ConvNd.InputGradient(Spec, gy, W.Array<T>(), Gx.Array<T>());
                }
                return;
            }
            // Core = this op's input size, Full = the adjoint's output size (the zero-extended input).
            bool extend = !Same(Core!, Full!);
            int inPlanes = Spec.Batch * Spec.OutC, reach = inPlanes * Spec.OD * Spec.OH * Spec.OW;
            T[]? extended = extend ? ScratchPool<T>.Rent(reach) : null;
            try
            {
                if (W.RequiresGrad)
                {
                    T[] xs = X.Array<T>();
                    if (extended is not null) { Embed<T>(xs, extended, inPlanes, Core!, Full!, toFull: true); xs = extended; }
                    Gw ??= Tensor.Uninitialized(W.ShapeRef, W.DType);
                    ConvNd.WeightGradient(Spec, gy, xs, Output<T>(Gw, _gwAt));
                }
                if (X.RequiresGrad)
                {
                    Gx ??= Tensor.Uninitialized(X.ShapeRef, X.DType);
                    if (extended is null) ConvNd.Forward(Spec, gy, W.Array<T>(), null, Gx.Array<T>());
                    else
                    {
                        ConvNd.Forward(Spec, gy, W.Array<T>(), null, extended);
                        Embed<T>(extended, Gx.Span<T>(), inPlanes, Core!, Full!, toFull: false);
                    }
                }
            }
            finally
            {
                if (extended is not null) ScratchPool<T>.Return(extended);
            }
        }
    }
}
