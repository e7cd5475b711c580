using SharpGrad.NN;

namespace SharpGrad;

// Float64 gradient checks of the sequence layers, with the weights among the checked inputs (the layers' own Forward
// is checked against PyTorch's gradients by the golden tests).
internal static partial class GradChecks
{
    internal static readonly int LstmStep = Register("LSTM step", static c =>
        c.Add(x => Stack2(RecurrentCells.LstmStep(NN.Functional.Linear(x[0], x[1], x[2]), x[3], x[4], x[5], x[6], 3)),
            c.Normal(2, 4), c.Normal(12, 4), c.Normal(12), c.Normal(2, 3), c.Normal(2, 3), c.Normal(12, 3), c.Normal(12)));

    internal static readonly int GruStep = Register("GRU step", static c =>
        c.Add(x => RecurrentCells.GruStep(NN.Functional.Linear(x[0], x[1], x[2]), x[3], x[4], x[5], 3),
            c.Normal(2, 4), c.Normal(9, 4), c.Normal(9), c.Normal(2, 3), c.Normal(9, 3), c.Normal(9)));

    internal static readonly int RnnStep = Register("RNN step", static c =>
    {
        c.Add("tanh", x => RecurrentCells.RnnStep(NN.Functional.Linear(x[0], x[1], null), x[2], x[3], null, RnnNonlinearity.Tanh),
            c.Normal(2, 4), c.Normal(3, 4), c.Normal(2, 3), c.Normal(3, 3));
    });

    internal static readonly int Recurrent = Register("Recurrent layers", static c =>
    {
        // Whole networks over a sequence (input and initial state gradients), several layers and both directions.
        var lstm = new LSTM(3, 2, numLayers: 2, bidirectional: true, generator: c.Generator, dtype: DType.Float64);
        c.Add("LSTM 2-layer bidirectional", x => lstm.Forward(x[0], (x[1], x[2])).Output, c.Normal(4, 2, 3), c.Normal(4, 2, 2), c.Normal(4, 2, 2));
        var gru = new GRU(3, 2, numLayers: 2, batchFirst: true, generator: c.Generator, dtype: DType.Float64);
        c.Add("GRU 2-layer batchFirst", x => gru.Forward(x[0], x[1]).HiddenState, c.Normal(2, 4, 3), c.Normal(2, 2, 2));
        var mha = new MultiheadAttention(6, 2, generator: c.Generator, dtype: DType.Float64);
        var padding = Tensor.FromArray(new[] { false, false, true, false, false, false, false, true }, 2, 4);
        c.Add("MultiheadAttention (padding mask, weights)", x => mha.Forward(x[0], x[1], x[1], padding).Weights!, c.Normal(3, 2, 6), c.Normal(4, 2, 6));
        c.Add("MultiheadAttention (fused)", x => mha.Forward(x[0], x[1], x[1], padding, needWeights: false).Output, c.Normal(3, 2, 6), c.Normal(4, 2, 6));
        var encoder = new TransformerEncoderLayer(6, 3, 8, 0, TransformerActivation.Gelu, normFirst: true, generator: c.Generator, dtype: DType.Float64);
        c.Add("TransformerEncoderLayer (pre-norm, causal)", x => encoder.Forward(x[0], null, null, isCausal: true), c.Normal(4, 2, 6));
        var decoder = new TransformerDecoderLayer(6, 2, 8, 0, generator: c.Generator, dtype: DType.Float64);
        c.Add("TransformerDecoderLayer", x => decoder.Forward(x[0], x[1], tgtIsCausal: true), c.Normal(3, 2, 6), c.Normal(5, 2, 6));
        // Without a padding row: the padding row's gradient is zero by definition, not the derivative (golden-tested).
        var idx = Tensor.FromArray(new long[] { 1, 0, 4, 4 }, 2, 2);
        c.Add("Embedding", x => NN.Functional.Embedding(idx, x[0]), c.Normal(5, 3));
    });

    private static Tensor Stack2((Tensor H, Tensor C) hc) => Tensor.Concat([hc.H, hc.C], 1);
}
