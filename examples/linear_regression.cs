#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 003, Q2: linear regression in closed form (least squares by QR) against gradient descent on the mean
// squared error, the distance between the two per epoch, train/test loss, and an MLP on the same data.
// The full version with plots and CSV input is `sharpgrad linreg --out DIR [--data FILE.csv --target COLUMN]`.
// Run: dotnet run examples/linear_regression.cs
using SharpGrad;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Theory;

// Synthetic data y = X w* + 1 + noise, 400 training and 100 test rows, 5 features (already standardised).
const int nTrain = 400, nTest = 100, d = 5;
var g = new Generator(0);
var wStar = Tensor.Randn([d, 1], g, DType.Float64);
Tensor MakeX(int n) => Tensor.Randn([n, d], g, DType.Float64);
Tensor MakeY(Tensor features) => features.MatMul(wStar) + 1.0 + Tensor.Randn([features.Shape[0], 1], g, DType.Float64) * 0.5;
var xTrain = MakeX(nTrain); var yTrain = MakeY(xTrain);
var xTest = MakeX(nTest); var yTest = MakeY(xTest);

// Closed form: minimise ||A θ - y|| with A = [X, 1]. QR (A P = Q R, then R z = Qᵀ y) is backward stable; the normal
// equations (AᵀA)⁻¹ Aᵀy square the condition number, and an explicit inverse is never needed.
var a = Tensor.Concat([xTrain, Tensor.Ones([nTrain, 1], DType.Float64)], dim: 1);
var qr = ColumnPivotedQr.Factor(a);
double[,] q = qr.ThinQ(), r = qr.R();
double[] yv = yTrain.ToArray<double>(), z = new double[d + 1], theta = new double[d + 1];
for (int i = d; i >= 0; i--)
{
    double s = 0;
    for (int k = 0; k < nTrain; k++) s += q[k, i] * yv[k];         // (Qᵀ y)_i
    for (int j = i + 1; j <= d; j++) s -= r[i, j] * z[j];           // back substitution
    z[i] = s / r[i, i];
}
for (int j = 0; j <= d; j++) theta[qr.Permutation[j]] = z[j];      // undo the column pivoting
var wCf = Tensor.FromArray(theta[..d], d, 1);
double bCf = theta[d];
double Mse(Tensor w, double b, Tensor xs, Tensor ys) { using (Autograd.NoGrad()) return Functional.MseLoss(xs.MatMul(w) + b, ys).Item(); }
Console.WriteLine($"closed form: train MSE {Mse(wCf, bCf, xTrain, yTrain):F4}, test MSE {Mse(wCf, bCf, xTest, yTest):F4}");

// Gradient descent from θ = 0 on the same loss, through autograd; watch ||θ_GD - θ*|| shrink geometrically.
var wGd = Tensor.Zeros([d, 1], DType.Float64, requiresGrad: true);
var bGd = Tensor.Zeros([1], DType.Float64, requiresGrad: true);
var sgd = new Sgd([wGd, bGd], lr: 0.1);
for (int epoch = 1; epoch <= 100; epoch++)
{
    sgd.ZeroGrad();
    Functional.MseLoss(xTrain.MatMul(wGd) + bGd, yTrain).Backward();
    sgd.Step();
    if (epoch is 1 or 10 or 25 or 50 or 100)
    {
        double dist = Math.Sqrt(wGd.ToArray<double>().Append(bGd.Item()).Zip(theta).Sum(p => (p.First - p.Second) * (p.First - p.Second)));
        Console.WriteLine($"epoch {epoch,3}: distance {dist:0.00e+0}, train MSE {Mse(wGd, bGd.Item(), xTrain, yTrain):F4}, test MSE {Mse(wGd, bGd.Item(), xTest, yTest):F4}");
    }
}

// An MLP regressor (5 -> 32 -> 1, ReLU) on the same split, full-batch Adam.
var mlp = new Sequential(new Linear(d, 32, generator: g, dtype: DType.Float64), new ReLU(), new Linear(32, 1, generator: g, dtype: DType.Float64));
var adam = new Adam(mlp.Parameters(), lr: 0.01);
for (int epoch = 0; epoch < 300; epoch++)
{
    adam.ZeroGrad();
    Functional.MseLoss(mlp.Forward(xTrain), yTrain).Backward();
    adam.Step();
}
using (Autograd.NoGrad())
    Console.WriteLine($"MLP: train MSE {Functional.MseLoss(mlp.Forward(xTrain), yTrain).Item():F4}, test MSE {Functional.MseLoss(mlp.Forward(xTest), yTest).Item():F4}" +
        " (the data are linear: the extra capacity of the MLP can only fit the noise)");
