#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Seed 002, Q1: gradients of L = (w1 + w2) * w3 by hand and by autograd, then one gradient-descent step.
//   dL/dw1 = dL/dw2 = w3 and dL/dw3 = w1 + w2; at w = (1, 2.3, 5.7) that is 5.7, 5.7 and 3.3.
// Run: dotnet run examples/seed002_q1_autograd.cs
using SharpGrad;

var w1 = Tensor.Scalar(1.0, DType.Float64, requiresGrad: true);
var w2 = Tensor.Scalar(2.3, DType.Float64, requiresGrad: true);
var w3 = Tensor.Scalar(5.7, DType.Float64, requiresGrad: true);

var loss = (w1 + w2) * w3;          // the tape records the two ops
loss.Backward();                    // one reverse sweep fills w.Grad
Console.WriteLine($"L = {loss.Item():F3}");
Console.WriteLine($"dL/dw1 = {w1.Grad!.Item():F3}, dL/dw2 = {w2.Grad!.Item():F3}, dL/dw3 = {w3.Grad!.Item():F3}");

// One step of gradient descent with learning rate 0.01, outside the tape.
const double lr = 0.01;
using (Autograd.NoGrad())
{
    var n1 = w1 - w1.Grad * lr; var n2 = w2 - w2.Grad * lr; var n3 = w3 - w3.Grad * lr;
    double after = ((n1 + n2) * n3).Item();
    Console.WriteLine($"after one step: w = ({n1.Item():F3}, {n2.Item():F3}, {n3.Item():F3}), L = {after:F3} (was {loss.Item():F3})");
}
