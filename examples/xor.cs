#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Seed 000, Q2-Q3: XOR with the 2-2-1 network f(x) = wᵀ max(Uᵀx + b1, 0) + b2, labels -1/1, squared loss,
// full-batch gradient descent through autograd, from several random initialisations.
// The rule of the sheet: class 1 iff f(x) >= 0. The full version with plots is `sharpgrad xor --out DIR`.
// Run: dotnet run examples/xor.cs
using SharpGrad;
using SharpGrad.NN;
using SharpGrad.Optim;

// The four points, one per row, and their labels.
var x = Tensor.FromArray(new double[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2);
var y = Tensor.FromArray(new double[] { -1, 1, 1, -1 }, 4, 1);

// Row n of x.MatMul(u) is (Uᵀ x_n)ᵀ: u[i, j] is the weight from input i to hidden unit j.
Tensor F(Tensor u, Tensor b1, Tensor w, Tensor b2) => (x.MatMul(u) + b1).Relu().MatMul(w) + b2;
string Show(Tensor f) => string.Join(", ", f.ToArray<double>().Select(v => v.ToString("F3")));
bool Solves(Tensor f) => f.ToArray<double>().Zip(new[] { -1.0, 1, 1, -1 }).All(p => (p.First >= 0) == (p.Second > 0));

// Q2.1: a hand-set solution. U = [[1, -1], [-1, 1]] makes h = (relu(x1 - x2), relu(x2 - x1)): one unit fires for
// (1,0), the other for (0,1), none for (0,0) and (1,1). Then w = [1, 1], b2 = -0.5 gives f = -0.5, 0.5, 0.5, -0.5.
// It has no hidden bias, so it answers Q2.3 too: ReLU(Uᵀx) without b1 still represents XOR (b2 remains).
var hand = F(Tensor.FromArray(new double[] { 1, -1, -1, 1 }, 2, 2), Tensor.Zeros([2], DType.Float64),
             Tensor.FromArray(new double[] { 1, 1 }, 2, 1), Tensor.FromArray(new double[] { -0.5 }));
Console.WriteLine($"hand-set: f = {Show(hand)} -> solves XOR: {Solves(hand)}");

// Q2.2: with the identity instead of max, f(x) = (U w)ᵀ x + wᵀb1 + b2 is linear, so
// f(0,1) + f(1,0) = f(0,0) + f(1,1). XOR needs the left side >= 0 and the right side < 0: impossible.
// (The least-squares linear fit is f = 0 everywhere; `sharpgrad xor` computes it.)

// Q3: gradient descent from ten random initialisations.
const int epochs = 2000;
int solved = 0;
for (ulong seed = 0; seed < 10; seed++)
{
    var g = new Generator(seed);
    var u = Tensor.Randn([2, 2], g, DType.Float64, requiresGrad: true);
    var b1 = Tensor.Randn([2], g, DType.Float64, requiresGrad: true);
    var w = Tensor.Randn([2, 1], g, DType.Float64, requiresGrad: true);
    var b2 = Tensor.Randn([1], g, DType.Float64, requiresGrad: true);
    var sgd = new Sgd([u, b1, w, b2], lr: 0.1);     // plain gradient descent: p -= lr * grad
    double first = 0, loss = 0;
    for (int e = 0; e < epochs; e++)
    {
        sgd.ZeroGrad();
        var l = Functional.MseLoss(F(u, b1, w, b2), y); // (1/4) Σ (y - f)²
        loss = l.Item();
        if (e == 0) first = loss;
        l.Backward();                                   // autograd fills u.Grad, b1.Grad, ...
        sgd.Step();
    }
    Tensor f;
    using (Autograd.NoGrad()) f = F(u, b1, w, b2);
    bool ok = Solves(f);
    if (ok) solved++;
    // Failures are local minima: a ReLU that is off on all four points gets no gradient again ("dead" unit).
    Console.WriteLine($"seed {seed}: loss {first:F3} -> {loss:0.00e+0}, f = {Show(f)} {(ok ? "solved" : "not solved")}");
}
Console.WriteLine($"{solved}/10 initialisations classify all four points.");
