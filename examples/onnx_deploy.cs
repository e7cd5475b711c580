#:project ../src/SharpGrad.Onnx/SharpGrad.Onnx.csproj
#:package Microsoft.ML.OnnxRuntime
#:property PublishAot=false
// Train in SharpGrad, export to ONNX, run the file with ONNX Runtime: the deployment path of a .NET app.
// Run: dotnet run examples/onnx_deploy.cs
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using SharpGrad;
using Tensor = SharpGrad.Tensor;
using SharpGrad.NN;
using SharpGrad.Onnx;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

// 1. Train: a small MLP learns which of 4 Gaussian blobs a 2-D point comes from.
var g = new Generator(seed: 0);
var centers = Tensor.FromArray(new float[] { 2, 2, -2, 2, -2, -2, 2, -2 }, 4, 2);
var labels = Tensor.FromArray(Enumerable.Range(0, 512).Select(i => (long)(i % 4)).ToArray(), 512);
var points = centers.IndexSelect(0, labels) + Tensor.Randn([512, 2], g) * 0.8;
var model = Models.Mlp(2, [16], 4, generator: g);
var optimizer = new Adam(model.Parameters(), lr: 0.05);
for (int step = 0; step < 100; step++)
{
    var loss = F.CrossEntropy(model.Forward(points), labels);
    optimizer.ZeroGrad();
    loss.Backward();
    optimizer.Step();
    if (step % 25 == 0 || step == 99) Console.WriteLine($"step {step,3}: loss {loss.Item():F4}");
}

// 2. Export: one traced forward pass; the batch axis stays dynamic.
string path = Path.Combine(Path.GetTempPath(), "sharpgrad_blobs.onnx");
OnnxExporter.Export(model, [Tensor.Zeros(1, 2)], path);
Console.WriteLine($"exported {path} ({new FileInfo(path).Length:N0} bytes)");

// 3. Deploy: ONNX Runtime runs the file on a batch of another size, with no SharpGrad in the loop.
float[] queries = [2.1f, 1.9f, -1.8f, 2.2f, -2.0f, -2.1f, 1.7f, -2.3f, 0.1f, 3.0f];
using var session = new InferenceSession(path);
var input = new DenseTensor(queries, [5, 2]);
using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
float[] scores = [.. results.Single().AsEnumerable<float>()];

model.Eval();
float[] reference;
using (Autograd.NoGrad()) reference = model.Forward(Tensor.FromArray(queries, 5, 2)).ToArray<float>();
double worst = scores.Zip(reference, (a, b) => Math.Abs((double)a - b)).Max();
for (int i = 0; i < 5; i++)
{
    int best = Enumerable.Range(0, 4).MaxBy(c => scores[i * 4 + c]);
    Console.WriteLine($"({queries[2 * i],5:F1}, {queries[2 * i + 1],5:F1}) -> blob {best}");
}
Console.WriteLine($"max |ONNX Runtime - SharpGrad| = {worst:E2}");
if (worst > 1e-5) throw new InvalidOperationException("ONNX Runtime and SharpGrad disagree");
File.Delete(path);
