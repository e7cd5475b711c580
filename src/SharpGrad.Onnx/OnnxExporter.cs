using Google.Protobuf;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>
/// Writes a <see cref="Module"/> as an ONNX model by tracing one forward pass on the autograd tape (PyTorch:
/// <c>torch.onnx.export</c>). The module runs in evaluation mode (its mode is restored afterwards); every op from the
/// inputs to the output is recorded because the inputs are made to require gradients; parameters and buffers become
/// initializers under their <see cref="Module.NamedParameters"/> names. An op with no ONNX mapping is an
/// <see cref="OnnxNotSupportedException"/> naming it, never a silently different graph.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The oldest and newest default-domain opsets written (Softmax on one axis and ReduceSum's axes input need 13).</summary>
    public const int MinOpset = 13, MaxOpset = 17;

    /// <summary>
    /// Traces <paramref name="module"/> on <paramref name="sampleInputs"/> and writes the ONNX model to <paramref name="path"/>
    /// (atomically). With <paramref name="dynamicBatch"/> (the default) the first dimension of the inputs and output is
    /// the symbolic <c>batch</c>, so the model runs on any batch size.
    /// </summary>
    public static void Export(Module module, Tensor[] sampleInputs, string path, int opset = 17, bool dynamicBatch = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        var model = ToModel(module, sampleInputs, opset, dynamicBatch);
        AtomicFile.Write(path, s => model.WriteTo(s));
    }

    /// <summary>As <see cref="Export"/>, returning the serialized model instead of writing a file.</summary>
    public static byte[] ExportToBytes(Module module, Tensor[] sampleInputs, int opset = 17, bool dynamicBatch = true) =>
        ToModel(module, sampleInputs, opset, dynamicBatch).ToByteArray();

    internal static ModelProto ToModel(Module module, Tensor[] sampleInputs, int opset, bool dynamicBatch)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(sampleInputs);
        if (sampleInputs.Length != 1)
            throw new ArgumentException($"OnnxExporter: a Module's Forward takes one input; got {sampleInputs.Length} sample inputs.", nameof(sampleInputs));
        if (opset is < MinOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"OnnxExporter: opset must be {MinOpset} to {MaxOpset}.");
        var sample = sampleInputs[0];
        if (!sample.DType.IsFloatingPoint())
            throw new ArgumentException($"OnnxExporter: the sample input must be float32 or float64 so the trace records every op; got {sample.DType}.", nameof(sampleInputs));
        if (dynamicBatch && sample.Rank == 0)
            throw new ArgumentException("OnnxExporter: a dynamic batch axis needs an input of rank 1 or more.", nameof(sampleInputs));

        bool wasTraining = module.Training;
        module.Eval();
        try
        {
            var input = sample.Detach().Clone();
            input.RequiresGrad = true;
            Tensor output;
            using (Autograd.EnableGrad()) output = module.Forward(input);
            var graph = new GraphBuilder(module, input, dynamicBatch, opset).Build(output);
            graph.Name = module.GetType().Name;
            var model = new ModelProto
            {
                IrVersion = 8,
                ProducerName = "SharpGrad",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
                Graph = graph,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
            return model;
        }
        finally
        {
            module.Train(wasTraining);
        }
    }
}
