namespace SharpGrad;

/// <summary>Full Jacobians through reverse mode, one backward pass per output element (PyTorch: <c>torch.autograd.functional.jacobian</c>).</summary>
public static class Jacobian
{
    /// <summary>
    /// J[i..., j...] = ∂f(x)[i...] / ∂x[j...], with shape f(x).Shape followed by x.Shape. Computed in x's dtype; with
    /// <paramref name="createGraph"/> the result is itself differentiable (used by <see cref="Hessian"/>).
    /// </summary>
    public static Tensor Compute(Func<Tensor, Tensor> f, Tensor x, bool createGraph = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        x.EnsureFloatingPoint(nameof(Jacobian));
        Tensor xi = x;
        if (!createGraph || !x.RequiresGrad) { xi = x.View(x.ShapeRef); xi.RequiresGrad = true; }
        Tensor y;
        using (Autograd.EnableGrad()) y = f(xi);
        int outN = y.Numel;
        var rows = new Tensor[outN];
        for (int r = 0; r < outN; r++)
        {
            if (!y.RequiresGrad) { rows[r] = Tensor.ZerosLike(xi); continue; }
            var v = Tensor.Zeros(y.ShapeRef, y.DType);
            v.SetDouble(r, 1.0);
            rows[r] = Autograd.Grad(y, [xi], v, createGraph: createGraph, retainGraph: true, allowUnused: true)[0];
        }
        Tensor stacked = outN == 0 ? Tensor.Zeros([0, .. xi.ShapeRef], xi.DType) : Tensor.Stack(rows);
        return stacked.Reshape([.. y.ShapeRef, .. xi.ShapeRef]);
    }
}

/// <summary>Hessians of scalar functions as the Jacobian of the gradient, i.e. double backward (PyTorch: <c>torch.autograd.functional.hessian</c>).</summary>
public static class Hessian
{
    /// <summary>H[i..., j...] = ∂²f / ∂x[i...] ∂x[j...] for a scalar-valued <paramref name="f"/>; shape x.Shape twice.</summary>
    public static Tensor Compute(Func<Tensor, Tensor> f, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Jacobian.Compute(z =>
        {
            var y = f(z);
            if (y.Numel != 1)
                throw new ArgumentException($"Hessian: the function must return one element; it returned shape {Shapes.Format(y.ShapeRef)}.");
            return y.RequiresGrad ? Autograd.Grad(y, [z], createGraph: true, allowUnused: true)[0] : Tensor.ZerosLike(z);
        }, x, createGraph: false);
    }
}
