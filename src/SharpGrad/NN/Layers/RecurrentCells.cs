using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// The single-step recurrences, shared by the cells and the multi-layer networks. Each takes the input's projection
/// <c>x W_ih^T + b_ih</c> ([batch, gates·hidden]) and adds the hidden state's.
/// </summary>
internal static class RecurrentCells
{
    public static Tensor RnnStep(Tensor xProj, Tensor h, Tensor wHh, Tensor? bHh, RnnNonlinearity nonlinearity)
    {
        var pre = xProj + Functional.Linear(h, wHh, bHh);
        return nonlinearity == RnnNonlinearity.Tanh ? pre.Tanh() : pre.Relu();
    }

    public static (Tensor H, Tensor C) LstmStep(Tensor xProj, Tensor h, Tensor c, Tensor wHh, Tensor? bHh, int hidden)
    {
        var gates = xProj + Functional.Linear(h, wHh, bHh);
        var i = gates.Narrow(1, 0, hidden).Sigmoid();
        var f = gates.Narrow(1, hidden, hidden).Sigmoid();
        var g = gates.Narrow(1, 2 * hidden, hidden).Tanh();
        var o = gates.Narrow(1, 3 * hidden, hidden).Sigmoid();
        var cNext = f * c + i * g;
        return (o * cNext.Tanh(), cNext);
    }

    public static Tensor GruStep(Tensor xProj, Tensor h, Tensor wHh, Tensor? bHh, int hidden)
    {
        var hProj = Functional.Linear(h, wHh, bHh);
        var r = (xProj.Narrow(1, 0, hidden) + hProj.Narrow(1, 0, hidden)).Sigmoid();
        var z = (xProj.Narrow(1, hidden, hidden) + hProj.Narrow(1, hidden, hidden)).Sigmoid();
        var n = (xProj.Narrow(1, 2 * hidden, hidden) + r * hProj.Narrow(1, 2 * hidden, hidden)).Tanh();
        return n + z * (h - n);
    }
}

/// <summary>What the three cells share: PyTorch's parameter names (<c>weight_ih</c>, <c>weight_hh</c>, <c>bias_ih</c>, <c>bias_hh</c>) and initialisation.</summary>
public abstract class RecurrentCellBase : Module
{
    private protected RecurrentCellBase(string kind, int gates, int inputSize, int hiddenSize, bool bias, Generator? generator, DType dtype)
    {
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"{kind}: inputSize must be positive.");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, $"{kind}: hiddenSize must be positive.");
        Kind = kind;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        WeightIh = RegisterParameter("weight_ih", Tensor.Zeros([gates * hiddenSize, inputSize], dtype));
        WeightHh = RegisterParameter("weight_hh", Tensor.Zeros([gates * hiddenSize, hiddenSize], dtype));
        if (bias)
        {
            BiasIh = RegisterParameter("bias_ih", Tensor.Zeros([gates * hiddenSize], dtype));
            BiasHh = RegisterParameter("bias_hh", Tensor.Zeros([gates * hiddenSize], dtype));
        }
        double bound = 1 / Math.Sqrt(hiddenSize);
        foreach (var p in Parameters()) Init.Uniform(p, -bound, bound, generator);
    }

    private protected string Kind { get; }
    /// <summary>Input features.</summary>
    public int InputSize { get; }
    /// <summary>Hidden features.</summary>
    public int HiddenSize { get; }
    /// <summary>[gates·hidden, input].</summary>
    public Tensor WeightIh { get; }
    /// <summary>[gates·hidden, hidden].</summary>
    public Tensor WeightHh { get; }
    /// <summary>[gates·hidden] or null.</summary>
    public Tensor? BiasIh { get; }
    /// <summary>[gates·hidden] or null.</summary>
    public Tensor? BiasHh { get; }

    /// <summary>The input's projection, after checking its shape: [batch, input] or unbatched [input].</summary>
    private protected Tensor Project(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank is not (1 or 2) || input.Size(-1) != InputSize)
            throw new ArgumentException($"{Kind}: input must be [batch, {InputSize}] or [{InputSize}]; got {Shapes.Format(input.ShapeRef)}.", nameof(input));
        DTypeRule.CheckInput(Kind, input, WeightIh);
        return Functional.Linear(input.Rank == 1 ? input.Unsqueeze(0) : input, WeightIh, BiasIh);
    }

    /// <summary>The given state as [batch, hidden] (zeros when null), after checking its shape.</summary>
    private protected Tensor State(Tensor? state, Tensor input, string name)
    {
        int batch = input.Rank == 1 ? 1 : input.Size(0);
        if (state is null) return Tensor.Zeros([batch, HiddenSize], input.DType);
        var s = state.Rank == 1 ? state.Unsqueeze(0) : state;
        if (s.Rank != 2 || s.Size(0) != batch || s.Size(1) != HiddenSize)
            throw new ArgumentException($"{Kind}: {name} must be [{batch}, {HiddenSize}]; got {Shapes.Format(state.ShapeRef)}.", name);
        return s;
    }

    private protected static Tensor Unbatch(Tensor t, Tensor input) => input.Rank == 1 ? t.Squeeze(0) : t;

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Kind}({InputSize}, {HiddenSize}{(BiasIh is null ? ", bias=False" : "")})");
}

/// <summary>One step of an Elman RNN (PyTorch: <c>nn.RNNCell</c>).</summary>
public sealed class RNNCell(int inputSize, int hiddenSize, bool bias = true, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh, Generator? generator = null, DType dtype = DType.Float32)
    : RecurrentCellBase("RNNCell", 1, inputSize, hiddenSize, bias, generator, dtype)
{
    /// <summary>tanh or ReLU.</summary>
    public RnnNonlinearity Nonlinearity { get; } = nonlinearity;

    /// <summary>The next hidden state from zeros.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The next hidden state, [batch, hidden].</summary>
    public Tensor Forward(Tensor input, Tensor? h) =>
        Unbatch(RecurrentCells.RnnStep(Project(input), State(h, input, "h"), WeightHh, BiasHh, Nonlinearity), input);
}

/// <summary>One step of an LSTM (PyTorch: <c>nn.LSTMCell</c>).</summary>
public sealed class LSTMCell(int inputSize, int hiddenSize, bool bias = true, Generator? generator = null, DType dtype = DType.Float32)
    : RecurrentCellBase("LSTMCell", 4, inputSize, hiddenSize, bias, generator, dtype)
{
    /// <summary>The next hidden state from zeros.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null).H;

    /// <summary>The next (h, c), each [batch, hidden].</summary>
    public (Tensor H, Tensor C) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (h, c) = RecurrentCells.LstmStep(Project(input), State(state?.H, input, "h"), State(state?.C, input, "c"), WeightHh, BiasHh, HiddenSize);
        return (Unbatch(h, input), Unbatch(c, input));
    }
}

/// <summary>One step of a GRU (PyTorch: <c>nn.GRUCell</c>).</summary>
public sealed class GRUCell(int inputSize, int hiddenSize, bool bias = true, Generator? generator = null, DType dtype = DType.Float32)
    : RecurrentCellBase("GRUCell", 3, inputSize, hiddenSize, bias, generator, dtype)
{
    /// <summary>The next hidden state from zeros.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The next hidden state, [batch, hidden].</summary>
    public Tensor Forward(Tensor input, Tensor? h) =>
        Unbatch(RecurrentCells.GruStep(Project(input), State(h, input, "h"), WeightHh, BiasHh, HiddenSize), input);
}
