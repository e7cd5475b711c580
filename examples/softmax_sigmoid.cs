#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Seed 000 Q1, seed 001 Q2-Q3, seed 004 Q1: softmax and sigmoid, their identities, Jacobian and saturation.
// Also: sharpgrad calc softmax --x 1,2,3 --jacobian; sharpgrad calc sigmoid --x -100,-10,0,10,100
// Run: dotnet run examples/softmax_sigmoid.cs
using SharpGrad;

var z = Tensor.FromArray(new double[] { 1, 2, 3 });
string Show(Tensor t) => string.Join(", ", t.ToArray<double>().Select(v => v.ToString("G6")));

// Softmax is shift invariant: exp(z_i + m) / Σ exp(z_j + m) = exp(z_i) / Σ exp(z_j). SharpGrad uses it to be
// stable (it subtracts max z), so even z + 1000, whose exponentials overflow, gives the same answer.
Console.WriteLine($"softmax(z)        = {Show(z.Softmax(0))}");
Console.WriteLine($"softmax(z + 1000) = {Show((z + 1000.0).Softmax(0))}");

// Temperature c: softmax(z / c) tends to one-hot at the maximum as c -> 0 and to uniform as c -> infinity.
foreach (double c in new[] { 0.01, 1, 100 }) Console.WriteLine($"temperature {c,6}: {Show(z.Softmax(0, c))}");

// The Jacobian dS_i/dz_j through autograd (one backward pass per row) against diag(S) - S Sᵀ.
var s = z.Softmax(0);
var jac = Jacobian.Compute(t => t.Softmax(0), z);
var expected = Tensor.FromArray(new double[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, 3, 3) * s.Unsqueeze(0) - s.Unsqueeze(1).MatMul(s.Unsqueeze(0));
Console.WriteLine($"Jacobian = [{Show(jac)}]");
Console.WriteLine($"max |J - (diag(S) - S Sᵀ)| = {(jac - expected).Abs().Max().Item():G2}");

// With two classes, softmax(z1, z2)_1 = 1 / (1 + exp(-(z1 - z2))) = sigmoid(z1 - z2).
var two = Tensor.FromArray(new double[] { 0.7, -1.2 });
Console.WriteLine($"softmax(0.7, -1.2)_1 = {two.Softmax(0).ToArray<double>()[0]:G10}, sigmoid(1.9) = {Tensor.Scalar(1.9, DType.Float64).Sigmoid().Item():G10}");

// Seed 004 Q1: saturation. S(±100) rounds to 1 and 0, and S' is 0.00 to two decimals everywhere but at 0 (0.25).
// The derivative comes from the backward pass, which uses S'(x) = S(x) S(-x): no NaN or overflow even at ±1e4.
var x = Tensor.FromArray(new double[] { -10000, -100, -10, 0, 10, 100, 10000 });
x.RequiresGrad = true;
var y = x.Sigmoid();
y.Sum().Backward();
var xs = x.ToArray<double>(); var ys = y.ToArray<double>(); var ds = x.Grad!.ToArray<double>();
for (int i = 0; i < xs.Length; i++) Console.WriteLine($"x = {xs[i],6}: S = {ys[i]:F2} ({ys[i]:G4}), S' = {ds[i]:F2} ({ds[i]:G4})");

// An alternative squashing function onto [0, 1] (seed 000 Q1.3): (tanh(x) + 1) / 2, which equals sigmoid(2x).
Console.WriteLine($"(tanh(0.8) + 1) / 2 = {(Math.Tanh(0.8) + 1) / 2:G10}, sigmoid(1.6) = {1 / (1 + Math.Exp(-1.6)):G10}");
