namespace SharpGrad.Tests.Autograd;

public class GradCheckTests
{
    public static TheoryData<int, string> SuiteCases()
    {
        var data = new TheoryData<int, string>();
        var cases = GradCheckSuite.Cases();
        for (int i = 0; i < cases.Count; i++) data.Add(i, cases[i].ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(SuiteCases))]
    public void EveryOpPassesTheFloat64GradientCheck(int index, string name)
    {
        var c = GradCheckSuite.Cases()[index];
        Assert.Equal(name, c.ToString());
        var r = c.Run();
        Assert.True(r.Passed, $"{name}: {r}");
    }

    [Fact]
    public void TheSuiteCoversEveryDifferentiableOp()
    {
        var ops = GradCheckSuite.Cases().Select(c => c.Op).ToList();
        string[] required = ["Add", "Sub", "Mul", "Div", "Neg", "Exp", "Log", "Sqrt", "Pow", "Abs", "Clamp", "Relu", "LeakyRelu",
            "Sigmoid", "Tanh", "Heaviside", "Softmax", "LogSoftmax", "LogSumExp", "Sum", "Mean", "Max", "Min", "MatMul",
            "Transpose", "Permute", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Stack", "Narrow", "IndexSelect",
            "Gather", "Expand", "Maximum", "Minimum"];
        foreach (var op in required) Assert.Contains(ops, o => o == op || o.StartsWith(op + "("));
    }

    [Fact]
    public void AWrongGradientIsCaughtAndTheWorstElementNamed()
    {
        // x ↦ x² computed correctly forward but with the gradient of x³ smuggled in: y = x² + (x³ - x³.detach()) ... the
        // tape then reports d/dx = 2x + 3x², which the finite differences (2x) must reject.
        var x = Tensor.FromArray(new[] { 0.5, -1.0, 2.0 });
        var r = GradCheck.Check(t => t[0] * t[0] + (t[0].Pow(3) - t[0].Pow(3).Detach()), x);
        Assert.False(r.Passed);
        Assert.Equal(0, r.WorstInput);
        Assert.Equal(2, r.WorstIndex);           // 3x² is largest at x = 2
        Assert.Equal(4.0 + 12.0, r.Analytic, 9);
        Assert.Equal(4.0, r.Numeric, 5);
        Assert.Contains("FAILED", r.ToString());
    }

    [Fact]
    public void Float32InputsAreCheckedInFloat64()
    {
        var x = Tensor.FromArray(new float[] { 0.3f, -0.7f });
        var r = GradCheck.Check(t => t[0].Tanh(), x);
        Assert.True(r.Passed, r.ToString());
        Assert.True(r.MaxRelError < 1e-8);
    }
}
