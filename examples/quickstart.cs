#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// The README example: a two-layer network fitted by plain gradient descent with the tape doing the calculus.
// Run: dotnet run examples/quickstart.cs
using SharpGrad;

var g = new Generator(seed: 0);
var x = Tensor.Randn([64, 3], g);                          // a batch of inputs
var y = (x.Narrow(1, 0, 1) * 2.0 - x.Narrow(1, 2, 1)).Tanh(); // a target to learn
var w1 = Tensor.Randn([3, 16], g, requiresGrad: true);
var w2 = Tensor.Randn([16, 1], g, requiresGrad: true);

for (int step = 0; step < 200; step++)
{
    var loss = (x.MatMul(w1).Relu().MatMul(w2) - y).Pow(2).Mean();
    w1.Grad = null; w2.Grad = null;
    loss.Backward();                                       // reverse sweep: w1.Grad, w2.Grad
    using (Autograd.NoGrad())                              // update outside the tape
    {
        w1 = (w1 - w1.Grad! * 0.05).Detach(); w1.RequiresGrad = true;
        w2 = (w2 - w2.Grad! * 0.05).Detach(); w2.RequiresGrad = true;
    }
    if (step % 50 == 0) Console.WriteLine($"step {step}: loss {loss.Item():F4}");
}
