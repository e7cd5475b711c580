#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Tabular regression, the everyday case: a CSV of house sales -> standardised features -> an MLP trained by the Trainer
// with early stopping on validation loss -> weights and scaler saved as safetensors -> predictions for new rows from a
// fresh process that loads only those files.
// Run: dotnet run examples/tabular_regression.cs            (writes its files under the system temp directory)
using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

string[] features = ["area_m2", "rooms", "age_years", "distance_km"];

// The architecture lives in one place: the training run and the predicting process both build it, then load weights.
static Module NewModel() => Models.Mlp(4, [32, 16], 1, generator: new Generator(seed: 1));

if (args is ["predict", var dir, var csv]) return Predict(dir, csv);

string work = Path.Combine(Path.GetTempPath(), "sharpgrad-tabular");
Directory.CreateDirectory(work);

// 1. The data: a CSV as a user would have it. Synthetic here so the example is self-contained, with a known rule
//    price = 50 + 1.2 area + 8 rooms - 0.6 age - 2.5 distance (thousands) plus noise of standard deviation 10.
var g = new Generator(seed: 0);
static double Price(double area, double rooms, double age, double km) => 50 + 1.2 * area + 8 * rooms - 0.6 * age - 2.5 * km;
const int Rows = 800;
var u = Tensor.Rand([Rows, 4], g, DType.Float64).ToArray<double>();
var noise = Tensor.Randn([Rows], g, DType.Float64).ToArray<double>();
var table = new double[Rows * 5];
for (int i = 0; i < Rows; i++)
{
    double area = 40 + 210 * u[4 * i], rooms = Math.Floor(1 + 6 * u[4 * i + 1]), age = 80 * u[4 * i + 2], km = 0.5 + 30 * u[4 * i + 3];
    double[] row = [area, rooms, age, km, Price(area, rooms, age, km) + 10 * noise[i]];
    row.CopyTo(table, 5 * i);
}
string dataPath = Path.Combine(work, "houses.csv");
Csv.Write(dataPath, [.. features, "price"], Tensor.FromArray(table, Rows, 5));

// 2. Read it back, split 70/15/15 (rows are in random order already), standardise with the training split's statistics.
var (x, y) = Csv.Read(dataPath).Split("price");
int nTrain = Rows * 70 / 100, nVal = Rows * 15 / 100, nTest = Rows - nTrain - nVal;
var xTrain = x.Narrow(0, 0, nTrain);
var mean = xTrain.Mean(0);
var std = xTrain.Std(0);
var yMean = y.Narrow(0, 0, nTrain).Mean();
var yStd = y.Narrow(0, 0, nTrain).Std();
// Float32 for the model (as PyTorch: the layers are float32; Csv reads float64).
Tensor Scale(Tensor features) => ((features - mean) / std).To(DType.Float32);
Tensor ScaleY(Tensor target) => ((target - yMean) / yStd).Reshape(-1, 1).To(DType.Float32);
TensorDataset Split(int start, int count) => new(Scale(x.Narrow(0, start, count)), ScaleY(y.Narrow(0, start, count)));
var train = Split(0, nTrain);
var validation = Split(nTrain, nVal);
var test = Split(nTrain + nVal, nTest);

// 3. Train with early stopping on validation loss: keep the best epoch's weights, stop after `patience` epochs
//    without improvement. (One Trainer epoch at a time, so the loop sees each validation loss.)
var model = NewModel();
var optimizer = new Adam(model.Parameters(), lr: 3e-3);
var loader = new DataLoader(train, batchSize: 32, shuffle: true, generator: new Generator(seed: 2));
const int MaxEpochs = 300, Patience = 15;
double best = double.PositiveInfinity;
int bestEpoch = 0, epoch = 0;
List<KeyValuePair<string, Tensor>> bestState = [];
while (++epoch <= MaxEpochs)
{
    var fit = await Trainer.FitAsync(model, (p, t) => F.MseLoss(p, t), optimizer, loader, validation, new FitOptions { Epochs = 1, RestoreBest = false });
    double v = fit.History[0].ValidationLoss;
    if (epoch % 10 == 0) Console.WriteLine($"epoch {epoch,3}: train MSE {fit.History[0].TrainLoss:F4}, validation MSE {v:F4} (standardised units)");
    if (v < best)
    {
        (best, bestEpoch) = (v, epoch);
        bestState = [.. model.StateDict().Select(kv => KeyValuePair.Create(kv.Key, kv.Value.Clone()))];
    }
    else if (epoch - bestEpoch >= Patience) break;
}
model.LoadStateDict(bestState);
model.Eval();
bool stoppedEarly = epoch <= MaxEpochs;
Console.WriteLine($"best validation MSE {best:F4} at epoch {bestEpoch}; {(stoppedEarly ? $"stopped early at epoch {epoch}" : "ran every epoch")}");

double Rmse(TensorDataset d)
{
    using var _ = Autograd.NoGrad();
    return Math.Sqrt(F.MseLoss(model.Forward(d.Inputs), d.Targets).Item()) * yStd.Item();
}
double testRmse = Rmse(test);
Console.WriteLine($"test RMSE {testRmse:F2} (thousands; the noise alone is 10)");

// 4. Save: the weights (PyTorch's names, readable by safetensors in Python) and the scaler beside them.
string modelDir = Path.Combine(work, "model");
Directory.CreateDirectory(modelDir);
StateDictIO.Save(Path.Combine(modelDir, "model.safetensors"), model);
Safetensors.Save(Path.Combine(modelDir, "scaler.safetensors"), new Dictionary<string, Tensor> { ["mean"] = mean, ["std"] = std, ["y_mean"] = yMean, ["y_std"] = yStd });

// 5. New rows arrive; a fresh process (this program again, in "predict" mode) loads the files and answers.
double[][] fresh = [[120, 3, 10, 5], [60, 1, 70, 25], [220, 6, 2, 1]];
string newPath = Path.Combine(work, "new_houses.csv");
Csv.Write(newPath, features, Tensor.FromArray(fresh.SelectMany(r => r).ToArray(), fresh.Length, 4));
string self = Environment.ProcessPath!;
var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true };
if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(Environment.GetCommandLineArgs()[0]); // run as `dotnet app.dll`
foreach (var a in new[] { "predict", modelDir, newPath }) psi.ArgumentList.Add(a);
using var child = Process.Start(psi)!;
string output = child.StandardOutput.ReadToEnd();
child.WaitForExit();
if (child.ExitCode != 0) { Console.Error.WriteLine($"the predicting process failed with exit code {child.ExitCode}"); return 1; }
var predicted = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();

// The fresh process must agree with the model in memory, and both with the rule the data came from (within the noise).
using (Autograd.NoGrad())
{
    var here = (model.Forward(Scale(Tensor.FromArray(fresh.SelectMany(r => r).ToArray(), fresh.Length, 4))).To(DType.Float64).Reshape(-1) * yStd + yMean).ToArray<double>();
    for (int i = 0; i < fresh.Length; i++)
    {
        double truth = Price(fresh[i][0], fresh[i][1], fresh[i][2], fresh[i][3]);
        Console.WriteLine($"house [{string.Join(", ", fresh[i])}]: predicted {predicted[i]:F1} (in-process {here[i]:F1}), rule {truth:F1}");
        if (Math.Abs(predicted[i] - here[i]) > 1e-3 * Math.Max(1, Math.Abs(here[i]))) { Console.Error.WriteLine("the fresh process disagrees with the trained model"); return 1; }
    }
}
if (testRmse > 20) { Console.Error.WriteLine($"test RMSE {testRmse:F1} is far above the noise level 10: training failed"); return 1; }
return 0;

// Prediction mode: everything it knows comes from the two files.
static int Predict(string dir, string csvPath)
{
    var model = NewModel();
    model.LoadStateDict(StateDictIO.Load(Path.Combine(dir, "model.safetensors")));
    model.Eval();
    var s = Safetensors.Load(Path.Combine(dir, "scaler.safetensors"));
    var rows = Csv.Read(csvPath).Values;
    using var _ = Autograd.NoGrad();
    var price = model.Forward(((rows - s["mean"]) / s["std"]).To(DType.Float32)).To(DType.Float64).Reshape(-1) * s["y_std"] + s["y_mean"];
    foreach (double p in price.ToArray<double>()) Console.WriteLine(p.ToString("R", CultureInfo.InvariantCulture));
    return 0;
}
