#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 002, Q6.3: the perceptron rule (update only on a mistake: w += eta t x, b += eta t) on AND, OR and XOR.
//   AND and OR are linearly separable (the sheet: w = (1, 1), b = -1.5 or -0.5), so the rule stops making mistakes
//   after a few epochs (Novikoff's theorem). XOR is not: b <= 0, w2 + b > 0, w1 + b > 0 give w1 + w2 + b > -b >= 0,
//   yet (1,1) needs w1 + w2 + b <= 0. So the rule never stops; with integer weights it provably cycles.
// Run: dotnet run examples/perceptron_and_or_xor.cs    (the same as: sharpgrad construct perceptron)
using SharpGrad;
using SharpGrad.Theory;

var inputs = Tensor.FromArray(new double[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2);
foreach (var (gate, labels) in new[] { ("AND", new long[] { 0, 0, 0, 1 }), ("OR", [0, 1, 1, 1]), ("XOR", [0, 1, 1, 0]) })
{
    var p = new Perceptron(features: 2, classes: 2);   // two classes, weights start at zero
    var y = Tensor.FromArray(labels);
    var mistakes = new List<int>();
    for (int epoch = 0; epoch < 12; epoch++) mistakes.Add(p.Epoch(inputs, y));   // one pass in truth-table order

    // The two-class rule as one line: class 1 iff w.x + b > 0 with w = W[1] - W[0], b = b[1] - b[0].
    double[] w = p.Weight.ToArray<double>(), b = p.Bias.ToArray<double>();
    Console.WriteLine($"{gate,-3}: mistakes per epoch {string.Join(" ", mistakes)} -> accuracy {p.Accuracy(inputs, y):P0}, " +
                      $"w = ({w[2] - w[0]}, {w[3] - w[1]}), b = {b[1] - b[0]}");
}

// The least-squares view: the best linear fit of XOR's labels -1, 1, 1, -1 by w1 x1 + w2 x2 + b is the zero function
// (the normal equations 4b + 4w = 0 and 4b + 6w = 0 force w = b = 0), so no threshold on it classifies XOR.
// Exhaustive check on a grid of lines: the best gets 3 of the 4 XOR rows right.
int best = 0;
for (int i = -20; i <= 20; i++) for (int j = -20; j <= 20; j++) for (int k = -20; k <= 20; k++)
{
    double w1 = i / 10.0, w2 = j / 10.0, bias = k / 10.0;
    int right = (bias > 0 ? 0 : 1) + (w2 + bias > 0 ? 1 : 0) + (w1 + bias > 0 ? 1 : 0) + (w1 + w2 + bias > 0 ? 0 : 1);
    best = Math.Max(best, right);
}
Console.WriteLine($"XOR: the best of 41^3 lines classifies {best} of 4 rows");
