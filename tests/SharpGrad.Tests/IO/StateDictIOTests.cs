using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.NN;

namespace SharpGrad.Tests.IO;

public sealed class StateDictIOTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-sd");

    public void Dispose() => _dir.Dispose();

    /// <summary>A model whose names are PyTorch's: fc1.weight, fc1.bias, bn.running_mean, ... as in an nn.Module with those attributes.</summary>
    private sealed class Net : Module
    {
        public Net(ulong seed)
        {
            var g = new Generator(seed);
            RegisterModule("fc1", new Linear(4, 5, generator: g));
            RegisterModule("bn", new BatchNorm1d(5));
            RegisterModule("fc2", new Linear(5, 2, generator: g));
        }

        public override Tensor Forward(Tensor input) => input;
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("model.npz")]
    public void SaveAndLoadInto_RestoresEveryParameterAndBufferWithPyTorchNames(string file)
    {
        var a = new Net(1);
        string path = _dir.File(file);
        StateDictIO.Save(path, a);
        var state = StateDictIO.Load(path);
        Assert.Equal(["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"], state.Keys);
        Assert.Equal([5, 4], state["fc1.weight"].Shape); // [out, in], as torch.nn.Linear
        var b = new Net(2);
        Assert.NotEqual(StateDictIO.Sha256(a), StateDictIO.Sha256(b));
        StateDictIO.LoadInto(b, path);
        Assert.Equal(StateDictIO.Sha256(a), StateDictIO.Sha256(b));
    }

    [Fact]
    public void LoadInto_AMismatchedModelNamesTheFile()
    {
        string path = _dir.File("m.safetensors");
        StateDictIO.Save(path, new Net(1));
        var e = Assert.Throws<ArgumentException>(() => StateDictIO.LoadInto(new Sequential(new Linear(4, 5)), path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("missing keys [0.weight, 0.bias]", e.Message);
    }

    [Fact]
    public void TheHashSeesOneBit()
    {
        var state = new Net(1).StateDict();
        string before = StateDictIO.Sha256(state);
        var w = state["fc2.bias"];
        var values = w.ToArray<float>();
        values[1] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(values[1]) ^ 1);
        state["fc2.bias"] = Tensor.FromArray(values, w.Shape);
        Assert.NotEqual(before, StateDictIO.Sha256(state));
    }

    [Fact]
    public void UnknownExtensionIsRefused() =>
        Assert.Throws<ArgumentException>(() => StateDictIO.Save(_dir.File("model.pt"), new Net(1)));

    [Fact]
    public void NpzWrittenByUsIsWhatNpyReads()
    {
        string path = _dir.File("m.npz");
        StateDictIO.Save(path, new Net(3));
        var arrays = Npy.ReadNpz(path);
        Assert.Equal("<f4", arrays["fc1.weight"].Descr);
        Assert.Equal("<i8", arrays["bn.num_batches_tracked"].Descr);
    }
}
