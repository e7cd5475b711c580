#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 001, Q6: true 1-D convolution (the kernel is flipped) of [1, 2, 3, 4] with [1, 0, 2] in the full, valid and
// same modes, with numpy.convolve's semantics; and the cross-correlation that convolution layers compute instead.
// Also: sharpgrad calc conv1d --signal 1,2,3,4 --kernel 1,0,2
// Run: dotnet run examples/convolve1d.cs
using SharpGrad.Theory;

double[] a = [1, 2, 3, 4], k = [1, 0, 2];
string Show(double[] v) => "[" + string.Join(", ", v) + "]";

// (a * k)[t] = Σ_q a[t - q] k[q]: slide the flipped kernel [2, 0, 1] along a padded with zeros.
//   full  (pad 2 each side, length n + m - 1 = 6): [1, 2, 5, 8, 6, 8]
//   valid (no padding, length n - m + 1 = 2):      [5, 8]      e.g. 5 = 1·2 + 2·0 + 3·1
//   same  (length n = 4, centred on full):         [2, 5, 8, 6]
foreach (var mode in new[] { ConvMode.Full, ConvMode.Valid, ConvMode.Same })
    Console.WriteLine($"{mode,-5}: {Show(Signal.Convolve(a, k, mode))}");

// A Conv1d layer does not flip: cross-correlating with k equals convolving with k reversed, and differs here
// because [1, 0, 2] is not a palindrome.
Console.WriteLine($"cross-correlation, valid: {Show(Signal.CrossCorrelate(a, k, ConvMode.Valid))}  (= convolution with [2, 0, 1])");
