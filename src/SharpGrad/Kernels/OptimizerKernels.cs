using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpGrad.Kernels;

/// <summary>Where an update kernel takes its gradient from (a struct type argument: the JIT compiles each form on its own).</summary>
internal interface IGradientSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The gradient's vector at element <paramref name="o"/> of the span starting at <paramref name="rg"/>.</summary>
    TV Vector<TV>(ref T rg, nuint o) where TV : struct, IVec<TV, T>;

    /// <summary>The gradient's element <paramref name="i"/> of the span starting at <paramref name="rg"/>.</summary>
    T Scalar(ref T rg, int i);
}

/// <summary>The gradient as stored: loaded from the gradient span.</summary>
internal readonly struct StoredGradient<T> : IGradientSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Vector<TV>(ref T rg, nuint o) where TV : struct, IVec<TV, T> => TV.Load(ref rg, o);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(ref T rg, int i) => Unsafe.Add(ref rg, i);
}

/// <summary>
/// One row of an outer-product gradient, <c>g[j] = a · x[j]</c> (a Linear's weight gradient at batch 1: a is the row's
/// output gradient, x the layer's input), computed where the update needs it and written to the gradient span on the
/// way, so the update is one pass that never reads the gradient back. Each element is the fused multiply-add
/// <c>a · x[j] + 0</c>, exactly what the GEMM's direct loops compute for a product with an inner dimension of 1 (see
/// <see cref="SmallGemm"/>), so the values are those of the GEMM. Without <paramref name="store"/> the gradient span is
/// not written (the replay defers that write to a read of the parameter's <see cref="Tensor.Grad"/>).
/// </summary>
internal readonly struct OuterProductRow<T>(T a, T[] x, bool store = true) : IGradientSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Vector<TV>(ref T rg, nuint o) where TV : struct, IVec<TV, T>
    {
        var g = TV.FusedMultiplyAdd(TV.Create(a), TV.Load(ref MemoryMarshal.GetArrayDataReference(x), o), TV.Zero);
        if (store) g.Store(ref rg, o);
        return g;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(ref T rg, int i)
    {
        T g = T.FusedMultiplyAdd(a, x[i], T.Zero);
        if (store) Unsafe.Add(ref rg, i) = g;
        return g;
    }

    /// <summary>Writes the row's gradient <c>g[j] = a · x[j]</c>, j &lt; g.Length, with the same operations as the update's pass.</summary>
    public static void Write(T a, ReadOnlySpan<T> x, Span<T> g)
    {
        for (int j = 0; j < g.Length; j++) g[j] = T.FusedMultiplyAdd(a, x[j], T.Zero);
    }
}

/// <summary>
/// The mean of two processes' values, <c>(x0[j] + x1[j]) · scale</c> (scale ½), formed where the update needs it and
/// written to the gradient span on the way (the mean stays readable there after the update): exactly the operations of
/// <c>TensorPrimitives.AddMultiply(x0, x1, scale, mean)</c>, element by element, so the same bits as that pass followed
/// by the update reading its result. <paramref name="x0"/> and <paramref name="x1"/> point at the update's element 0
/// (rank 0's values first) and stay fixed while the update runs.
/// </summary>
internal readonly unsafe struct MeanOfTwo<T>(T* x0, T* x1, T scale) : IGradientSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Vector<TV>(ref T rg, nuint o) where TV : struct, IVec<TV, T>
    {
        var g = (TV.Load(ref Unsafe.AsRef<T>(x0), o) + TV.Load(ref Unsafe.AsRef<T>(x1), o)) * TV.Create(scale);
        g.Store(ref rg, o);
        return g;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(ref T rg, int i)
    {
        T g = (x0[i] + x1[i]) * scale;
        Unsafe.Add(ref rg, i) = g;
        return g;
    }
}

/// <summary>
/// The optimizers' per-parameter updates as single fused passes over (parameter, gradient, state) spans: vectorised
/// with the widest vector the machine has (<see cref="IVec{TSelf, T}"/>), no allocation. Every lane performs exactly the
/// same IEEE operations in the same order as the scalar tail (no fused multiply-add), so the result is bit-identical
/// to the element-by-element formula whatever the vector width.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>The constants of one Adam step, already converted to the parameter's type.</summary>
    public readonly struct AdamConstants<T>(T beta1, T beta2, T oneMinusBeta1, T oneMinusBeta2, T eps, T weightDecay, T decay, T stepSize, T bc2Sqrt)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly T Beta1 = beta1, Beta2 = beta2, OneMinusBeta1 = oneMinusBeta1, OneMinusBeta2 = oneMinusBeta2;
        public readonly T Eps = eps, WeightDecay = weightDecay, Decay = decay, StepSize = stepSize, Bc2Sqrt = bc2Sqrt;
    }

    /// <summary>
    /// Adam / AdamW: g ← g + λθ (coupled) or θ ← θ·decay (decoupled); m ← m β₁ + (1 − β₁) g; v ← v β₂ + (1 − β₂) g g;
    /// v̂max ← max(v̂max, v) (amsgrad); θ ← θ − stepSize (m / (√v / √bc₂ + ε)). <paramref name="vMax"/> is empty unless amsgrad.
    /// With <paramref name="flush"/>, a moment that falls below the smallest normal number is stored as 0 (see
    /// <see cref="FlushSubnormal{T}(T, bool)"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, Span<T> vMax, in AdamConstants<T> c,
        bool coupledDecay, bool decoupledDecay, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.Length < p.Length) throw new ArgumentException("Adam: the gradient is shorter than the parameter.");
        Adam(p, ref MemoryMarshal.GetReference(g), default(StoredGradient<T>), m, v, vMax, c, coupledDecay, decoupledDecay, flush);
    }

    /// <summary>
    /// <see cref="Adam{T}(Span{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T}, in AdamConstants{T}, bool, bool, bool)"/>
    /// with the gradient taken from <paramref name="source"/> at <paramref name="rg"/> (p.Length elements there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Adam<T, TG>(Span<T> p, ref T rg, TG source, Span<T> m, Span<T> v, Span<T> vMax, in AdamConstants<T> c,
        bool coupledDecay, bool decoupledDecay, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T> where TG : struct, IGradientSource<T>
    {
        int n = p.Length;
        if (m.Length < n || v.Length < n) throw new ArgumentException("Adam: the state spans are shorter than the parameter.");
        bool ams = !vMax.IsEmpty;
        if (ams && vMax.Length < n) throw new ArgumentException("Adam: the amsgrad state is shorter than the parameter.");
        ref T rp = ref MemoryMarshal.GetReference(p);
        ref T rm = ref MemoryMarshal.GetReference(m);
        ref T rv = ref MemoryMarshal.GetReference(v);
        ref T rx = ref MemoryMarshal.GetReference(vMax);
        int i = Vec512<T>.IsAccelerated ? AdamVectors<T, Vec512<T>, TG>(ref rp, ref rg, source, ref rm, ref rv, ref rx, n, c, coupledDecay, decoupledDecay, ams, flush)
            : Vec256<T>.IsAccelerated ? AdamVectors<T, Vec256<T>, TG>(ref rp, ref rg, source, ref rm, ref rv, ref rx, n, c, coupledDecay, decoupledDecay, ams, flush)
            : Vec128<T>.IsAccelerated ? AdamVectors<T, Vec128<T>, TG>(ref rp, ref rg, source, ref rm, ref rv, ref rx, n, c, coupledDecay, decoupledDecay, ams, flush) : 0;
        for (; i < n; i++)
        {
            T pi = Unsafe.Add(ref rp, i), gi = source.Scalar(ref rg, i);
            if (decoupledDecay) pi *= c.Decay;
            else if (coupledDecay) gi += c.WeightDecay * pi;
            T mi = FlushSubnormal(Unsafe.Add(ref rm, i) * c.Beta1 + c.OneMinusBeta1 * gi, flush);
            T vi = FlushSubnormal(Unsafe.Add(ref rv, i) * c.Beta2 + c.OneMinusBeta2 * gi * gi, flush);
            Unsafe.Add(ref rm, i) = mi;
            Unsafe.Add(ref rv, i) = vi;
            T second = vi;
            if (ams) { second = T.Max(Unsafe.Add(ref rx, i), vi); Unsafe.Add(ref rx, i) = second; }
            T denom = T.Sqrt(second) / c.Bc2Sqrt + c.Eps;
            Unsafe.Add(ref rp, i) = pi - c.StepSize * (mi / denom);
        }
    }

    /// <summary>Plain SGD: θ ← θ − η (g + λθ) (the λθ term only when <paramref name="decay"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sgd<T>(Span<T> p, ReadOnlySpan<T> g, T lr, T wd, bool decay)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.Length < p.Length) throw new ArgumentException("Sgd: the gradient is shorter than the parameter.");
        Sgd(p, ref MemoryMarshal.GetReference(g), default(StoredGradient<T>), lr, wd, decay);
    }

    /// <summary><see cref="Sgd{T}(Span{T}, ReadOnlySpan{T}, T, T, bool)"/> with the gradient taken from <paramref name="source"/> at <paramref name="rg"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Sgd<T, TG>(Span<T> p, ref T rg, TG source, T lr, T wd, bool decay)
        where T : unmanaged, IFloatingPointIeee754<T> where TG : struct, IGradientSource<T>
    {
        int n = p.Length;
        ref T rp = ref MemoryMarshal.GetReference(p);
        int i = Vec512<T>.IsAccelerated ? SgdVectors<T, Vec512<T>, TG>(ref rp, ref rg, source, n, lr, wd, decay)
            : Vec256<T>.IsAccelerated ? SgdVectors<T, Vec256<T>, TG>(ref rp, ref rg, source, n, lr, wd, decay)
            : Vec128<T>.IsAccelerated ? SgdVectors<T, Vec128<T>, TG>(ref rp, ref rg, source, n, lr, wd, decay) : 0;
        for (; i < n; i++)
        {
            T pi = Unsafe.Add(ref rp, i), gi = source.Scalar(ref rg, i);
            if (decay) gi += wd * pi;
            Unsafe.Add(ref rp, i) = pi - lr * gi;
        }
    }

    /// <summary>
    /// <see cref="Sgd{T}(Span{T}, ReadOnlySpan{T}, T, T, bool)"/> of <c>a.Length</c> rows of <paramref name="columns"/>
    /// elements whose gradient is the outer product <c>g[r, j] = a[r] · x[j]</c>, computed as
    /// <see cref="OuterProductRow{T}"/> computes it (written to <paramref name="g"/> when <paramref name="store"/>), so
    /// every element gets the operations of that row-by-row pass. Two rows at a time share the loads of x and one loop,
    /// so a batch-1 Linear's update pays one call and one loop setup per pair of rows, not per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SgdOuter<T>(Span<T> p, Span<T> g, int columns, ReadOnlySpan<T> a, ReadOnlySpan<T> x, T lr, T wd, bool decay, bool store)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = a.Length;
        if (x.Length < columns || p.Length < rows * columns || (store && g.Length < rows * columns))
            throw new ArgumentException("Sgd: the parameter, gradient or input is shorter than the outer product.");
        ref T rp = ref MemoryMarshal.GetReference(p);
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rx = ref MemoryMarshal.GetReference(x);
        for (int r = 0; r < rows; r += 2)
        {
            // An odd last row is paired with itself, computed twice but stored once.
            bool pair = r + 1 < rows;
            nuint o0 = (nuint)(r * columns), o1 = pair ? o0 + (nuint)columns : o0;
            T a0 = a[r], a1 = pair ? a[r + 1] : a0;
            int j = Vec512<T>.IsAccelerated ? SgdOuterVectors<T, Vec512<T>>(ref Unsafe.Add(ref rp, o0), ref Unsafe.Add(ref rp, o1), ref Unsafe.Add(ref rg, o0), ref Unsafe.Add(ref rg, o1), ref rx, columns, a0, a1, pair, lr, wd, decay, store)
                : Vec256<T>.IsAccelerated ? SgdOuterVectors<T, Vec256<T>>(ref Unsafe.Add(ref rp, o0), ref Unsafe.Add(ref rp, o1), ref Unsafe.Add(ref rg, o0), ref Unsafe.Add(ref rg, o1), ref rx, columns, a0, a1, pair, lr, wd, decay, store)
                : Vec128<T>.IsAccelerated ? SgdOuterVectors<T, Vec128<T>>(ref Unsafe.Add(ref rp, o0), ref Unsafe.Add(ref rp, o1), ref Unsafe.Add(ref rg, o0), ref Unsafe.Add(ref rg, o1), ref rx, columns, a0, a1, pair, lr, wd, decay, store) : 0;
            for (int q = 0; q < (pair ? 2 : 1); q++)
            {
                T aq = q == 0 ? a0 : a1;
                ref T pq = ref Unsafe.Add(ref rp, q == 0 ? o0 : o1);
                ref T gq = ref Unsafe.Add(ref rg, q == 0 ? o0 : o1);
                for (int i = j; i < columns; i++)
                {
                    T gi = T.FusedMultiplyAdd(aq, Unsafe.Add(ref rx, i), T.Zero), pi = Unsafe.Add(ref pq, i);
                    if (store) Unsafe.Add(ref gq, i) = gi;
                    if (decay) gi += wd * pi;
                    Unsafe.Add(ref pq, i) = pi - lr * gi;
                }
            }
        }
    }

    /// <summary>
    /// SGD with momentum: d = g + λθ (when <paramref name="decay"/>); b ← d on the first step, else μb + (1 − τ)d;
    /// θ ← θ − η (d + μb) for Nesterov, else θ ← θ − η b. With <paramref name="flush"/>, a subnormal b is stored as 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SgdMomentum<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, T lr, T wd, T mu, T damp, bool decay, bool first, bool nesterov, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.Length < p.Length) throw new ArgumentException("Sgd: the gradient or momentum buffer is shorter than the parameter.");
        SgdMomentum(p, ref MemoryMarshal.GetReference(g), default(StoredGradient<T>), buf, lr, wd, mu, damp, decay, first, nesterov, flush);
    }

    /// <summary>
    /// <see cref="SgdMomentum{T}(Span{T}, ReadOnlySpan{T}, Span{T}, T, T, T, T, bool, bool, bool, bool)"/> with the
    /// gradient taken from <paramref name="source"/> at <paramref name="rg"/> (p.Length elements there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SgdMomentum<T, TG>(Span<T> p, ref T rg, TG source, Span<T> buf, T lr, T wd, T mu, T damp, bool decay, bool first, bool nesterov, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T> where TG : struct, IGradientSource<T>
    {
        int n = p.Length;
        if (buf.Length < n) throw new ArgumentException("Sgd: the momentum buffer is shorter than the parameter.");
        ref T rp = ref MemoryMarshal.GetReference(p);
        ref T rb = ref MemoryMarshal.GetReference(buf);
        int i = Vec512<T>.IsAccelerated ? SgdMomentumVectors<T, Vec512<T>, TG>(ref rp, ref rg, source, ref rb, n, lr, wd, mu, damp, decay, first, nesterov, flush)
            : Vec256<T>.IsAccelerated ? SgdMomentumVectors<T, Vec256<T>, TG>(ref rp, ref rg, source, ref rb, n, lr, wd, mu, damp, decay, first, nesterov, flush)
            : Vec128<T>.IsAccelerated ? SgdMomentumVectors<T, Vec128<T>, TG>(ref rp, ref rg, source, ref rb, n, lr, wd, mu, damp, decay, first, nesterov, flush) : 0;
        for (; i < n; i++)
        {
            T pi = Unsafe.Add(ref rp, i), d = source.Scalar(ref rg, i);
            if (decay) d += wd * pi;
            T b = first ? d : FlushSubnormal(mu * Unsafe.Add(ref rb, i) + damp * d, flush);
            Unsafe.Add(ref rb, i) = b;
            T step = nesterov ? d + mu * b : b;
            Unsafe.Add(ref rp, i) = pi - lr * step;
        }
    }

    /// <summary>
    /// RMSprop: g ← g + λθ (when <paramref name="decay"/>); s ← s α + (1 − α) g g; centered: a ← a α + (1 − α) g and
    /// denom = √(s − a a) + ε, else √s + ε; momentum: b ← b μ + g / denom, θ ← θ − η b, else θ ← θ − η (g / denom).
    /// <paramref name="avg"/> is empty unless centered, <paramref name="buf"/> empty unless momentum. With
    /// <paramref name="flush"/>, subnormal state is stored as 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsProp<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> sq, Span<T> avg, Span<T> buf, T lr, T alpha, T oneMinusAlpha, T eps, T wd, T mu, bool decay, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = p.Length;
        bool centered = !avg.IsEmpty, momentum = !buf.IsEmpty;
        if (g.Length < n || sq.Length < n || (centered && avg.Length < n) || (momentum && buf.Length < n))
            throw new ArgumentException("RmsProp: the gradient or a state span is shorter than the parameter.");
        ref T rp = ref MemoryMarshal.GetReference(p);
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rs = ref MemoryMarshal.GetReference(sq);
        ref T ra = ref MemoryMarshal.GetReference(avg);
        ref T rb = ref MemoryMarshal.GetReference(buf);
        int i = Vec512<T>.IsAccelerated ? RmsPropVectors<T, Vec512<T>>(ref rp, ref rg, ref rs, ref ra, ref rb, n, lr, alpha, oneMinusAlpha, eps, wd, mu, decay, centered, momentum, flush)
            : Vec256<T>.IsAccelerated ? RmsPropVectors<T, Vec256<T>>(ref rp, ref rg, ref rs, ref ra, ref rb, n, lr, alpha, oneMinusAlpha, eps, wd, mu, decay, centered, momentum, flush)
            : Vec128<T>.IsAccelerated ? RmsPropVectors<T, Vec128<T>>(ref rp, ref rg, ref rs, ref ra, ref rb, n, lr, alpha, oneMinusAlpha, eps, wd, mu, decay, centered, momentum, flush) : 0;
        for (; i < n; i++)
        {
            T pi = Unsafe.Add(ref rp, i), gi = Unsafe.Add(ref rg, i);
            if (decay) gi += wd * pi;
            T s = FlushSubnormal(Unsafe.Add(ref rs, i) * alpha + oneMinusAlpha * gi * gi, flush);
            Unsafe.Add(ref rs, i) = s;
            T denom;
            if (centered)
            {
                T a = FlushSubnormal(Unsafe.Add(ref ra, i) * alpha + oneMinusAlpha * gi, flush);
                Unsafe.Add(ref ra, i) = a;
                denom = T.Sqrt(s - a * a) + eps;
            }
            else denom = T.Sqrt(s) + eps;
            if (momentum)
            {
                T b = FlushSubnormal(Unsafe.Add(ref rb, i) * mu + gi / denom, flush);
                Unsafe.Add(ref rb, i) = b;
                Unsafe.Add(ref rp, i) = pi - lr * b;
            }
            else Unsafe.Add(ref rp, i) = pi - lr * (gi / denom);
        }
    }
    /// <summary>The smallest positive normal value of T (2⁻¹²⁶ for float, 2⁻¹⁰²² for double).</summary>
    private static double MinNormal<T>() => typeof(T) == typeof(float) ? Math.ScaleB(1.0, -126) : Math.ScaleB(1.0, -1022);

    /// <summary>
    /// x, or 0 when |x| is subnormal. A moment that decays geometrically towards 0 (a weight whose gradient stays 0,
    /// e.g. for an always-black pixel) becomes subnormal after some hundred steps, and arithmetic on subnormals is one to
    /// two orders of magnitude slower on x86 (microcode assists). The value flushed contributes less than 2⁻¹²⁶/ε to an
    /// update, far below the resolution of any parameter that is not itself almost 0. NaN is kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FlushSubnormal<T>(T x, bool flush) where T : unmanaged, IFloatingPointIeee754<T> =>
        flush && T.IsSubnormal(x) ? T.Zero : x;

    /// <summary>x with every lane whose magnitude is below <paramref name="tiny"/> (the smallest normal, or 0 for no flush) set to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV FlushSubnormal<T, TV>(TV x, TV tiny) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T> =>
        x & ~TV.LessThan(TV.Abs(x), tiny);

    /// <summary>The whole vectors of <see cref="Adam{T}"/>; returns where the scalar tail starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AdamVectors<T, TV, TG>(ref T rp, ref T rg, TG source, ref T rm, ref T rv, ref T rx, int n, in AdamConstants<T> c,
        bool coupledDecay, bool decoupledDecay, bool ams, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T> where TG : struct, IGradientSource<T>
    {
        var b1 = TV.Create(c.Beta1); var b2 = TV.Create(c.Beta2);
        var omb1 = TV.Create(c.OneMinusBeta1); var omb2 = TV.Create(c.OneMinusBeta2);
        var eps = TV.Create(c.Eps); var wd = TV.Create(c.WeightDecay); var decay = TV.Create(c.Decay);
        var stepSize = TV.Create(c.StepSize); var bc2 = TV.Create(c.Bc2Sqrt);
        var tiny = TV.Create(flush ? T.CreateTruncating(MinNormal<T>()) : T.Zero);
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            nuint o = (nuint)i;
            var pi = TV.Load(ref rp, o);
            var gi = source.Vector<TV>(ref rg, o);
            if (decoupledDecay) pi *= decay;
            else if (coupledDecay) gi += wd * pi;
            var mi = FlushSubnormal<T, TV>(TV.Load(ref rm, o) * b1 + omb1 * gi, tiny);
            var vi = FlushSubnormal<T, TV>(TV.Load(ref rv, o) * b2 + omb2 * gi * gi, tiny);
            mi.Store(ref rm, o);
            vi.Store(ref rv, o);
            var second = vi;
            if (ams)
            {
                second = TV.Max(TV.Load(ref rx, o), vi);
                second.Store(ref rx, o);
            }
            var denom = TV.Sqrt(second) / bc2 + eps;
            (pi - stepSize * (mi / denom)).Store(ref rp, o);
        }
        return i;
    }

    /// <summary>The whole vectors of <see cref="Sgd{T}"/>; returns where the scalar tail starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SgdVectors<T, TV, TG>(ref T rp, ref T rg, TG source, int n, T lr, T wd, bool decay)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T> where TG : struct, IGradientSource<T>
    {
        var vlr = TV.Create(lr); var vwd = TV.Create(wd);
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            nuint o = (nuint)i;
            var pi = TV.Load(ref rp, o);
            var gi = source.Vector<TV>(ref rg, o);
            if (decay) gi += vwd * pi;
            (pi - vlr * gi).Store(ref rp, o);
        }
        return i;
    }

    /// <summary>
    /// The vectors of one pair of rows of <see cref="SgdOuter{T}"/> (rows 0 and 1 at rp0/rg0 and rp1/rg1, the same row
    /// when not <paramref name="pair"/>: its second result is then dropped); returns where the scalar tails start. A row of
    /// at least two vectors is updated with its stores aligned to the vector's size (in row 0; a store that straddles two
    /// cache lines costs about twice one that does not): the vectors from the first aligned element, plus one vector at
    /// each unaligned end, overlapping its neighbour. Those two are computed from the values as they were before the
    /// pass and stored after it, so the overlapped elements get the same values twice, and every element is updated once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int SgdOuterVectors<T, TV>(ref T rp0, ref T rp1, ref T rg0, ref T rg1, ref T rx, int n, T a0, T a1, bool pair, T lr, T wd, bool decay, bool store)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        TV va0 = TV.Create(a0), va1 = TV.Create(a1), vlr = TV.Create(lr), vwd = TV.Create(wd), r0, r1;
        int w = TV.Count, i = 0;
        if (n < 2 * w)
        {
            for (; i <= n - w; i += w)
            {
                SgdOuterStep(ref rp0, ref rp1, ref rg0, ref rg1, ref rx, (nuint)i, va0, va1, vlr, vwd, decay, store, pair, out r0, out r1);
                r0.Store(ref rp0, (nuint)i);
                if (pair) r1.Store(ref rp1, (nuint)i);
            }
            return i;
        }
        // Elements before row 0's first vector-aligned one (the row starts at an element boundary: a whole count).
        int bytes = w * sizeof(T);
        int head = (int)((nuint)(-(nint)Unsafe.AsPointer(ref rp0)) & (nuint)(bytes - 1)) / sizeof(T);
        int end = head + (n - head) / w * w;
        nuint last = (nuint)(n - w);
        TV h0 = default, h1 = default, t0 = default, t1 = default;
        if (head != 0) SgdOuterStep(ref rp0, ref rp1, ref rg0, ref rg1, ref rx, 0, va0, va1, vlr, vwd, decay, store, pair, out h0, out h1);
        if (end != n) SgdOuterStep(ref rp0, ref rp1, ref rg0, ref rg1, ref rx, last, va0, va1, vlr, vwd, decay, store, pair, out t0, out t1);
        for (i = head; i < end; i += w)
        {
            SgdOuterStep(ref rp0, ref rp1, ref rg0, ref rg1, ref rx, (nuint)i, va0, va1, vlr, vwd, decay, store, pair, out r0, out r1);
            r0.Store(ref rp0, (nuint)i);
            if (pair) r1.Store(ref rp1, (nuint)i);
        }
        if (head != 0)
        {
            h0.Store(ref rp0, 0);
            if (pair) h1.Store(ref rp1, 0);
        }
        if (end != n)
        {
            t0.Store(ref rp0, last);
            if (pair) t1.Store(ref rp1, last);
        }
        return n;
    }

    /// <summary>
    /// One vector of <see cref="SgdOuterVectors{T, TV}"/>'s two rows at element o: their updated parameters, not stored
    /// (their gradient stored on the way when asked).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SgdOuterStep<T, TV>(ref T rp0, ref T rp1, ref T rg0, ref T rg1, ref T rx, nuint o, TV a0, TV a1, TV lr, TV wd,
        bool decay, bool store, bool pair, out TV r0, out TV r1)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        var xi = TV.Load(ref rx, o);
        var g0 = TV.FusedMultiplyAdd(a0, xi, TV.Zero);
        var g1 = TV.FusedMultiplyAdd(a1, xi, TV.Zero);
        var p0 = TV.Load(ref rp0, o);
        var p1 = TV.Load(ref rp1, o);
        if (store)
        {
            g0.Store(ref rg0, o);
            if (pair) g1.Store(ref rg1, o);
        }
        if (decay)
        {
            g0 += wd * p0;
            g1 += wd * p1;
        }
        r0 = p0 - lr * g0;
        r1 = p1 - lr * g1;
    }

    /// <summary>The whole vectors of <see cref="SgdMomentum{T}"/>; returns where the scalar tail starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SgdMomentumVectors<T, TV, TG>(ref T rp, ref T rg, TG source, ref T rb, int n, T lr, T wd, T mu, T damp, bool decay, bool first, bool nesterov, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T> where TG : struct, IGradientSource<T>
    {
        var vlr = TV.Create(lr); var vwd = TV.Create(wd); var vmu = TV.Create(mu); var vdamp = TV.Create(damp);
        var tiny = TV.Create(flush ? T.CreateTruncating(MinNormal<T>()) : T.Zero);
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            nuint o = (nuint)i;
            var pi = TV.Load(ref rp, o);
            var d = source.Vector<TV>(ref rg, o);
            if (decay) d += vwd * pi;
            var b = first ? d : FlushSubnormal<T, TV>(vmu * TV.Load(ref rb, o) + vdamp * d, tiny);
            b.Store(ref rb, o);
            var step = nesterov ? d + vmu * b : b;
            (pi - vlr * step).Store(ref rp, o);
        }
        return i;
    }

    /// <summary>The whole vectors of <see cref="RmsProp{T}"/>; returns where the scalar tail starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RmsPropVectors<T, TV>(ref T rp, ref T rg, ref T rs, ref T ra, ref T rb, int n, T lr, T alpha, T oneMinusAlpha, T eps, T wd, T mu,
        bool decay, bool centered, bool momentum, bool flush)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        var vlr = TV.Create(lr); var va = TV.Create(alpha); var voma = TV.Create(oneMinusAlpha);
        var veps = TV.Create(eps); var vwd = TV.Create(wd); var vmu = TV.Create(mu);
        var tiny = TV.Create(flush ? T.CreateTruncating(MinNormal<T>()) : T.Zero);
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            nuint o = (nuint)i;
            var pi = TV.Load(ref rp, o);
            var gi = TV.Load(ref rg, o);
            if (decay) gi += vwd * pi;
            var s = FlushSubnormal<T, TV>(TV.Load(ref rs, o) * va + voma * gi * gi, tiny);
            s.Store(ref rs, o);
            TV denom;
            if (centered)
            {
                var a = FlushSubnormal<T, TV>(TV.Load(ref ra, o) * va + voma * gi, tiny);
                a.Store(ref ra, o);
                denom = TV.Sqrt(s - a * a) + veps;
            }
            else denom = TV.Sqrt(s) + veps;
            if (momentum)
            {
                var b = FlushSubnormal<T, TV>(TV.Load(ref rb, o) * vmu + gi / denom, tiny);
                b.Store(ref rb, o);
                (pi - vlr * b).Store(ref rp, o);
            }
            else (pi - vlr * (gi / denom)).Store(ref rp, o);
        }
        return i;
    }
}
