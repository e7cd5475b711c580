#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 001, Q7: a 256x256 RGB image through conv(64, 8x8, stride 2) -> 5x5 max pool -> conv(128, 4x4, stride 1, pad 1).
//   Per axis o = floor((n + 2p - d(k - 1) - 1) / s) + 1: 256 -> 125 -> 25 -> 24, so the output is 24x24x128 = 73,728 values.
//   The last conv has 128 filters of 64x4x4: 131,072 weights (131,200 with its 128 biases).
// Run: dotnet run examples/conv_shapes.cs      (the same as: sharpgrad conv shape)
using SharpGrad.Theory;

var layers = ConvArithmetic.ParseLayers("conv:64:k8:s2, maxpool:k5, conv:128:k4:s1:p1");
var trace = ConvArithmetic.Trace((3, 256, 256), layers);   // input as (C, H, W), PyTorch's order

foreach (var l in trace.Layers)
    Console.WriteLine($"{l.Layer,-16} {l.Input} -> {l.Output}   weights {l.Weights,7:N0} + biases {l.Biases}");

Console.WriteLine($"output {trace.Output.ToHwcString()} (H x W x C): {trace.Output.Numel:N0} values");
Console.WriteLine($"last layer: {trace.Layers[^1].Weights:N0} weights without biases (the sheet: 131,072), {trace.Layers[^1].Parameters:N0} with");

// A window that does not fit is an error that shows the arithmetic, never a silent 0 or negative size.
try { ConvArithmetic.Trace((3, 4, 4), "conv:8:k5"); }
catch (ArgumentException e) { Console.WriteLine($"error, as it should be: {e.Message}"); }
