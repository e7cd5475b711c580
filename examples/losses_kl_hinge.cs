#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Seed 004, Q2-Q4: softmax (cross-entropy) loss and its gradient, KL divergence both ways with gradients, and the
// hinge and softmax losses of one sample for the sheet's W, b, x.
// Also: sharpgrad calc loss ... ; sharpgrad calc kl
// Run: dotnet run examples/losses_kl_hinge.cs
using SharpGrad;
using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

// Q4: scores s = W x + b of a linear classifier; W and b are leaves so autograd gives dL/dW too.
var w = Tensor.FromArray(new double[] { 0.01, -0.05, 0.1, 0.05, 0.7, 0.2, 0.05, 0.16, 0.0, -0.45, -0.2, 0.03 }, 3, 4);
var b = Tensor.FromArray(new double[] { 0.0, 0.2, -0.3 });
var x = Tensor.FromArray(new double[] { -15, 22, -44, 56 });
w.RequiresGrad = true;
var s = w.MatMul(x) + b;
Console.WriteLine($"s = W x + b = [{string.Join(", ", s.ToArray<double>().Select(v => v.ToString("F2")))}]");

// The sheet's y = [0, 0, 0, 1] has 4 entries for 3 classes; SharpGrad refuses to guess which class it means.
try { F.CrossEntropy(s, Tensor.FromArray(new double[] { 0, 0, 0, 1 })); }
catch (ArgumentException e) { Console.WriteLine($"label [0,0,0,1]: {e.Message}"); }

// Its answers, 1.58 and 1.04, are those of class 2 (0-based), i.e. y = [0, 0, 1].
var label = Tensor.FromArray(new long[] { 2 });
var hinge = F.MulticlassSvmLoss(s, label, reduction: Reduction.Sum); // Σ_{j≠y} max(0, s_j - s_y + 1)
var ce = F.CrossEntropy(s, label, Reduction.Sum);                    // -log softmax(s)_y, natural log
Console.WriteLine($"hinge = {hinge.Item():F4}, cross-entropy = {ce.Item():F4}");

// Q2: dL/dW = (softmax(s) - onehot(y)) xᵀ. Autograd against that closed form:
ce.Backward();
using (Autograd.NoGrad())
{
    var delta = s.Softmax(0) - Tensor.FromArray(new double[] { 0, 0, 1 });
    var closed = delta.Unsqueeze(1).MatMul(x.Unsqueeze(0));
    Console.WriteLine($"max |autograd dL/dW - (softmax(s) - y) xᵀ| = {(w.Grad! - closed).Abs().Max().Item():G2}");
}

// Q3: KL divergence from counts; natural log. KL is not symmetric.
var p = Tensor.FromArray(new double[] { 1, 6, 12, 5, 2, 8, 12, 4 }) / 50.0;
var q = Tensor.FromArray(new double[] { 1, 3, 6, 8, 15, 10, 5, 2 }) / 50.0;
q = q.Detach(); q.RequiresGrad = true;
var klPq = F.KlDiv(q.Log(), p, Reduction.Sum);   // KL(p||q): F.kl_div takes log q as the input
klPq.Backward();
Console.WriteLine($"KL(p||q) = {klPq.Item():F4}; dKL(p||q)/dq = -p/q = [{string.Join(", ", q.Grad!.ToArray<double>().Select(v => v.ToString("F3")))}]");
var q2 = q.Detach(); q2.RequiresGrad = true;
var klQp = F.KlDiv(p.Log(), q2, Reduction.Sum);  // KL(q||p): q is now the target
klQp.Backward();
Console.WriteLine($"KL(q||p) = {klQp.Item():F4}; dKL(q||p)/dq = log(q/p) + 1 = [{string.Join(", ", q2.Grad!.ToArray<double>().Select(v => v.ToString("F3")))}]");
// KL(p||q_W) is the easier objective: Σ p log p is a constant, leaving the cross-entropy -Σ p log q_W.
