#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 001, Q5: a network with one hidden layer of N - 1 units passes exactly through any N points.
//   ReLU: sort the points; f(x) = y_1 + sum_j c_j ReLU(x - x_j), c_j the change of slope at x_j. The sheet's matrix
//   M_ij = ReLU(x_i - x_j) is triangular, so the output weights follow by substitution.
//   Sigmoid-like: f(x) = y_1 + sum_j (y_{j+1} - y_j) sigma(k (x - midpoint_j)); each sigma tends to a step as k grows,
//   so the error at the points falls like exp(-k gap / 2).
// Run: dotnet run examples/interpolation.cs    (the same as: sharpgrad construct interpolate --x 0,1,2,3 --y 1,3,2,5)
using SharpGrad.Theory;

double[] x = [0, 1, 2, 3], y = [1, 3, 2, 5];

var relu = Interpolation.Relu(x, y);
Console.WriteLine($"ReLU net, {relu.Network.HiddenSize} hidden units: max |net(x_i) - y_i| = {relu.MaxAbsError:E1}");
Console.WriteLine($"  hinges at {string.Join(", ", relu.Network.B1.ToArray<double>().Select(b => -b))}, " +
                  $"slope changes {string.Join(", ", relu.Network.W2.ToArray<double>())}, offset {relu.Network.B2.Item()}");
Console.WriteLine($"  between the points it is the piecewise-linear interpolant: net(1.5) = {relu.Evaluate(1.5)}");

// The sigmoid construction only reaches the points in the limit: watch the error fall as k grows.
foreach (double k in new[] { 1.0, 5, 10, 20, 40 })
{
    var s = Interpolation.SigmoidSteps(x, y, k);
    Console.WriteLine($"sigmoid net, k = {k,2}: max error {s.MaxAbsError:E2} (proven bound {s.ErrorBound:E2})");
}
