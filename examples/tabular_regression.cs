#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Tabular regression, the everyday case: a CSV of house sales -> a seeded random train/validation/test split ->
// StandardScaler fitted on the training split -> an MLP trained by the Trainer with early stopping on validation loss and
// ReduceLROnPlateau -> weights and scalers saved as safetensors -> predictions for new rows from a fresh process that
// loads only those files.
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

// 2. Read it back with the columns named, split 70/15/15 at random (seeded, so the split is reproducible), and
//    standardise features and target with statistics of the training split only (nothing leaks from validation/test).
var data = Csv.ReadDataset(dataPath, new CsvOptions { Features = features, Targets = ["price"] });
var parts = Dataset.RandomSplit(data.ToDataset(), [0.70, 0.15, 0.15], new Generator(seed: 3));
var xScaler = new StandardScaler(features.Length).Fit(parts[0]);
var yScaler = StandardScaler.FitNew(All(parts[0]).Target.Reshape(-1, 1));
TensorDataset Prepare(IDataset split)
{
    var (xs, ys) = All(split);
    return new TensorDataset(xScaler.Transform(xs), yScaler.Transform(ys.Reshape(-1, 1)));
}
var (train, validation, test) = (Prepare(parts[0]), Prepare(parts[1]), Prepare(parts[2]));

// 3. Train with early stopping on validation loss (Monitor "val_loss", lower is better): keep the best epoch's weights,
//    stop after 15 epochs without improvement, and halve the learning rate whenever the validation loss stalls for 5.
var model = NewModel();
var optimizer = new Adam(model.Parameters(), lr: 3e-3);
var loader = new DataLoader(train, batchSize: 32, shuffle: true, generator: new Generator(seed: 2));
var options = new FitOptions
{
    Epochs = 300, Monitor = "val_loss", EarlyStoppingPatience = 15, RestoreBest = true, Metrics = [Metric.R2Score],
    OnEpochEnd = r =>
    {
        if (r.Epoch % 10 == 0)
            Console.WriteLine($"epoch {r.Epoch,3}: train MSE {r.TrainLoss:F4}, validation MSE {r.ValidationLoss:F4}, R² {r.Metrics["r2"]:F3}, lr {r.LearningRate:G3}");
    },
};
var run = await Trainer.RunAsync(model, (p, t) => F.MseLoss(p, t), optimizer, loader, validation, options,
    new TrainingRunOptions { Scheduler = new ReduceLROnPlateau(optimizer, factor: 0.5, patience: 5) });
var fit = run.Fit;
Console.WriteLine($"best validation MSE {fit.BestMonitorValue:F4} at epoch {fit.BestEpoch}; " +
    (fit.StoppedEarly ? $"stopped early after epoch {fit.History.Count}" : "ran every epoch") + $"; final lr {optimizer.LearningRate:G3}");

double Rmse(TensorDataset d)
{
    using var _ = Autograd.NoGrad();
    return Math.Sqrt(F.MseLoss(model.Forward(d.Inputs), d.Targets).Item()) * yScaler.Scale.Item();
}
double testRmse = Rmse(test);
Console.WriteLine($"test RMSE {testRmse:F2} (thousands; the noise alone is 10)");

// 4. Save: the weights (PyTorch's names, readable by safetensors in Python) and the scaler beside them.
string modelDir = Path.Combine(work, "model");
Directory.CreateDirectory(modelDir);
StateDictIO.Save(Path.Combine(modelDir, "model.safetensors"), model);
// The scalers are modules with buffers (mean, scale): saved and loaded like any state dict.
StateDictIO.Save(Path.Combine(modelDir, "x_scaler.safetensors"), xScaler);
StateDictIO.Save(Path.Combine(modelDir, "y_scaler.safetensors"), yScaler);

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
    var newRows = Tensor.FromArray(fresh.SelectMany(r => r).Select(v => (float)v).ToArray(), fresh.Length, 4);
    var here = yScaler.InverseTransform(model.Forward(xScaler.Transform(newRows))).Reshape(-1).To(DType.Float64).ToArray<double>();
    for (int i = 0; i < fresh.Length; i++)
    {
        double truth = Price(fresh[i][0], fresh[i][1], fresh[i][2], fresh[i][3]);
        Console.WriteLine($"house [{string.Join(", ", fresh[i])}]: predicted {predicted[i]:F1} (in-process {here[i]:F1}), rule {truth:F1}");
        if (Math.Abs(predicted[i] - here[i]) > 1e-3 * Math.Max(1, Math.Abs(here[i]))) { Console.Error.WriteLine("the fresh process disagrees with the trained model"); return 1; }
    }
}
if (testRmse > 20) { Console.Error.WriteLine($"test RMSE {testRmse:F1} is far above the noise level 10: training failed"); return 1; }
return 0;

// Every example of a data set as one batch.
static (Tensor Input, Tensor Target) All(IDataset d) => d.GetBatch(Enumerable.Range(0, d.Count).ToArray());

// Prediction mode: everything it knows comes from the files.
static int Predict(string dir, string csvPath)
{
    var model = NewModel();
    model.LoadStateDict(StateDictIO.Load(Path.Combine(dir, "model.safetensors")));
    model.Eval();
    var xScaler = new StandardScaler(4);
    xScaler.LoadStateDict(StateDictIO.Load(Path.Combine(dir, "x_scaler.safetensors")));
    var yScaler = new StandardScaler(1);
    yScaler.LoadStateDict(StateDictIO.Load(Path.Combine(dir, "y_scaler.safetensors")));
    var rows = Csv.Read(csvPath).Values.To(DType.Float32);
    using var _ = Autograd.NoGrad();
    var price = yScaler.InverseTransform(model.Forward(xScaler.Transform(rows))).Reshape(-1).To(DType.Float64);
    foreach (double p in price.ToArray<double>()) Console.WriteLine(p.ToString("R", CultureInfo.InvariantCulture));
    return 0;
}
