using System.Runtime.CompilerServices;

namespace SharpGrad.NN;

/// <summary>Applies modules in order; children are named "0", "1", ... (PyTorch: <c>nn.Sequential</c>).</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates the container from its layers.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>Appends a layer (PyTorch: <c>append</c>).</summary>
    public Sequential Add(Module layer)
    {
        _layers.Add(RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer));
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <inheritdoc/>
    /// <remarks>
    /// A <see cref="Linear"/> layer followed by a <see cref="ReLU"/> layer runs as one op, the ReLU applied in the
    /// matrix product's epilogue: same values and gradients as the two layers one after the other (tested), one pass
    /// over the activations fewer. A <see cref="ReLU"/> followed by a <see cref="MaxPool2d"/> runs as the pool then the
    /// ReLU, which is the same function with the same gradient (the ReLU is monotone and zero where it is flat) on the
    /// pool's smaller output.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        var layers = _layers;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is Linear linear && i + 1 < layers.Count && layers[i + 1] is ReLU)
            {
                x = linear.ForwardRelu(x);
                i++;
            }
            else if (layers[i] is ReLU && i + 1 < layers.Count && layers[i + 1] is MaxPool2d pool)
            {
                // Max pooling commutes with the (monotone) ReLU, values and gradients alike: ReLU after the pool
                // touches a quarter of the elements (2x2), forward and backward.
                x = pool.Forward(x).Relu();
                i++;
            }
            else x = layers[i].Forward(x);
        }
        return x;
    }
}
