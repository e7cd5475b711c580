#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 001, Q8: find (kernel k, stride s, padding p, dilation d) giving a wanted output shape, with
//   o = floor((n + 2p - d(k - 1) - 1) / s) + 1. The solver lists every configuration; here each part of the question
//   is solved and the sheet's worked answer is checked. Parts 3(b) and 3(c) of the sheet are wrong:
//   k1 s1 p2 d2 gives 12x12 and k3 s1 p1 d1 keeps 8x8, where 4x4 is wanted.
// Run: dotnet run examples/conv_solver.cs      (the same as: sharpgrad conv solve --input 3x64x64 --output 64x32x32 --kernel 8 --dilation 1)
using SharpGrad.Theory;

FeatureShape data = (3, 64, 64), first = (64, 32, 32), second = (64, 8, 8), last = (128, 4, 4);
Check("1(a) k = 8, no dilation", data, first, new() { Kernel = 8, Dilation = 1 }, new(8, 2, 3, 1));
// 1(b) is under-determined: with padding allowed up to d(k - 1) every kernel size 1..64 has one answer; limited to
// p <= k - 1 (PaddingRule.Kernel) only the sheet's 1x1 kernel is left.
Check("1(b) d = 7, s = 2, p <= k - 1", data, first, new() { Dilation = 7, Stride = 2, PaddingRule = PaddingRule.Kernel }, new(1, 2, 0, 7));
Check("2(a) non-overlapping pooling", first, second, new() { Pool = true, Padding = 0, Dilation = 1, NonOverlapping = true }, new(4, 4, 0, 1));
Check("3(a) no padding or dilation", second, last, new() { Padding = 0, Dilation = 1 }, new(2, 2, 0, 1));
Check("3(b) d = 2, p = 2", second, last, new() { Dilation = 2, Padding = 2 }, new(1, 1, 2, 2));
Check("3(c) p = 1, d = 1", second, last, new() { Padding = 1, Dilation = 1 }, new(3, 1, 1, 1));

// 2(b) asks for a shape: pooling 8x8 with stride 4 on 64x32x32.
Console.WriteLine($"2(b) k = 8, s = 4: {ConvArithmetic.Trace(first, [LayerSpec.MaxPool(8, 4)]).Output}   (the sheet: 64x7x7)");

static void Check(string part, FeatureShape input, FeatureShape target, ConvConstraints c, ConvConfig sheet)
{
    var all = ConvSolver.Solve(input, target, c);
    var layer = c.Pool ? sheet.ToMaxPool() : sheet.ToConv(target.Channels);
    var got = ConvArithmetic.Trace(input, [layer]).Output;     // what the sheet's answer really produces
    string verdict = got == target ? "right" : $"WRONG: it gives {got}";
    Console.WriteLine($"{part}: {all.Count} solution(s), e.g. {string.Join("; ", all.Take(4))}");
    Console.WriteLine($"    the sheet's {sheet} is {verdict}");
}
