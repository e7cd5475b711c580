#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 001 Q4 and seed 002 Q4: tanh(z) = 2 sigma(2z) - 1, so sigma(z) = (tanh(z/2) + 1) / 2, and a sigmoid network
//   y = W2 sigma(W1 x + b1) + b2 equals the tanh network with W1' = W1/2, b1' = b1/2, W2' = W2/2, b2' = b2 + W2 1 / 2.
//   Halving is exact in floating point, so the two agree to rounding on every input.
// Run: dotnet run examples/sigmoid_tanh_conversion.cs    (the same as: sharpgrad construct convert --to tanh)
using SharpGrad;
using SharpGrad.Theory;

var g = new Generator(seed: 0);
var net = new TwoLayerNet(Tensor.Randn([5, 3], g, DType.Float64) * 2, Tensor.Randn([5], g, DType.Float64),
                          Tensor.Randn([2, 5], g, DType.Float64) * 3, Tensor.Randn([2], g, DType.Float64), Activation.Sigmoid);
var tanhNet = ActivationConversion.SigmoidToTanh(net);
var back = ActivationConversion.TanhToSigmoid(tanhNet);        // and the way back: doubled weights, b2 - W2 1

var x = Tensor.Randn([1000, 3], g, DType.Float64) * 3;         // inputs well into saturation
double MaxDiff(Tensor a, Tensor b) => (a - b).Abs().Max().Item();
Console.WriteLine($"max |sigmoid net - tanh net| over 1000 inputs: {MaxDiff(net.Forward(x), tanhNet.Forward(x)):E2}");
Console.WriteLine($"max |sigmoid net - round trip|:               {MaxDiff(net.Forward(x), back.Forward(x)):E2}");
Console.WriteLine($"b2  = [{string.Join(", ", net.B2.ToArray<double>().Select(v => v.ToString("F4")))}]");
Console.WriteLine($"b2' = [{string.Join(", ", tanhNet.B2.ToArray<double>().Select(v => v.ToString("F4")))}]  (b2 + half the row sums of W2)");
