using Google.Protobuf;
using SharpGrad.NN;
using SharpGrad.Onnx;
using SharpGrad.Onnx.Proto;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Onnx;

public class OnnxImportTests
{
    /// <summary>y = x·Wᵀ + b through Gemm, with the initializers named like a PyTorch export (<c>fc1.weight</c>).</summary>
    private static ModelProto Linear(TensorProto weight, TensorProto bias, string opType = "Gemm")
    {
        var graph = new GraphProto { Name = "g" };
        graph.Initializer.Add(weight);
        graph.Initializer.Add(bias);
        graph.Input.Add(Value("x", 2));
        graph.Output.Add(Value("y", 2));
        var node = new NodeProto { OpType = opType, Name = "fc1" };
        node.Input.AddRange(["x", weight.Name, bias.Name]);
        node.Output.Add("y");
        node.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static ValueInfoProto Value(string name, int rank)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < rank; i++) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = $"d{i}" });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static TensorProto Floats(string name, float[] values, params long[] dims)
    {
        var p = new TensorProto { Name = name, DataType = 1 };
        p.Dims.AddRange(dims);
        p.FloatData.AddRange(values);
        return p;
    }

    [Fact]
    public void Runs_gemm_with_initializers_as_named_parameters()
    {
        var model = OnnxModel.Load(Linear(Floats("fc1.weight", [1, 2, 3, 4, 5, 6], 2, 3), Floats("fc1.bias", [10, 20], 2)).ToByteArray());
        Assert.Equal(["fc1.weight", "fc1.bias"], model.NamedParameters().Select(p => p.Key));
        var y = model.Forward(Tensor.FromArray(new float[] { 1, 0, -1 }, 1, 3));
        // [1, 0, -1]·[[1, 2, 3], [4, 5, 6]]ᵀ + [10, 20] = [1 − 3 + 10, 4 − 6 + 20]
        Assert.Equal([8f, 18f], y.ToArray<float>());
    }

    [Fact]
    public void A_truncated_file_is_an_error_naming_it()
    {
        byte[] bytes = Linear(Floats("w", [1, 2, 3, 4, 5, 6], 2, 3), Floats("b", [10, 20], 2)).ToByteArray();
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(bytes[..(bytes.Length - 7)], "cut.onnx"));
        Assert.Contains("cut.onnx", e.Message);
    }

    [Fact]
    public void A_shape_the_data_does_not_fill_is_refused_before_allocating()
    {
        // dims claim 2^31 − 1 × 1000 floats (8 TB); the raw data has 8 bytes. The check must come before any allocation.
        var huge = new TensorProto { Name = "w", DataType = 1, RawData = ByteString.CopyFrom(new byte[8]) };
        huge.Dims.AddRange([int.MaxValue, 1000]);
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(Linear(huge, Floats("b", [0], 1)).ToByteArray(), "huge.onnx"));
        Assert.Contains("initializer 'w'", e.Message);

        var small = new TensorProto { Name = "w", DataType = 1, RawData = ByteString.CopyFrom(new byte[8]) };
        small.Dims.AddRange([2, 3]);
        e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(Linear(small, Floats("b", [0, 0], 2)).ToByteArray(), "short.onnx"));
        Assert.Contains("raw_data holds 8 bytes", e.Message);
        Assert.Contains("needs 24", e.Message);

        var negative = Floats("w", [1, 2], 2, 1);
        negative.Dims[1] = -1;
        e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(Linear(negative, Floats("b", [0, 0], 2)).ToByteArray(), "neg.onnx"));
        Assert.Contains("dimension 1 is -1", e.Message);
    }

    [Fact]
    public void An_unsupported_operator_is_named_with_its_node()
    {
        var e = Assert.Throws<OnnxNotSupportedException>(() =>
            OnnxModel.Load(Linear(Floats("w", [1, 2], 1, 2), Floats("b", [0], 1), opType: "FancyOp").ToByteArray(), "fancy.onnx"));
        Assert.Equal("FancyOp", e.OpType);
        Assert.Contains("node 'fc1' (FancyOp)", e.Message);
    }

    [Fact]
    public void A_value_used_before_it_is_computed_is_an_error_naming_the_node()
    {
        var model = Linear(Floats("w", [1, 2], 1, 2), Floats("b", [0], 1));
        model.Graph.Node[0].Input[0] = "nowhere";
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(model.ToByteArray(), "order.onnx"));
        Assert.Contains("node 'fc1' (Gemm) reads 'nowhere'", e.Message);
    }

    [Fact]
    public void A_bad_input_shape_at_run_time_names_the_node()
    {
        var model = OnnxModel.Load(Linear(Floats("w", [1, 2, 3, 4, 5, 6], 2, 3), Floats("b", [0, 0], 2)).ToByteArray(), "m.onnx");
        var e = Assert.Throws<InvalidOperationException>(() => model.Forward(Tensor.Zeros(1, 4)));
        Assert.Contains("node 'fc1' (Gemm) failed", e.Message);
    }

    [Fact]
    public void An_imported_export_fine_tunes()
    {
        var g = new Generator(5);
        var source = Models.Mlp(6, [16], 3, generator: g);
        var imported = OnnxModel.Load(OnnxExporter.ExportToBytes(source, [Tensor.Randn([2, 6], g)]));
        Assert.Equal(source.NamedParameters().Select(p => p.Key), imported.NamedParameters().Select(p => p.Key));
        var x = Tensor.Randn([32, 6], g);
        var target = x.Narrow(1, 0, 3).ArgMax(1);
        var optimizer = new Sgd(imported.Parameters(), lr: 0.5);
        double first = 0, last = 0;
        for (int step = 0; step < 50; step++)
        {
            var loss = F.CrossEntropy(imported.Forward(x), target);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < 0.5 * first, $"loss {first} → {last} after 50 steps");
    }
}
