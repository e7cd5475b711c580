using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>The differentiable constructions of SharpGrad.Theory pass the float64 gradient check (and so <c>sharpgrad gradcheck</c>).</summary>
public class TheoryGradCheckTests
{
    public static TheoryData<int, string> SuiteCases()
    {
        var data = new TheoryData<int, string>();
        var cases = TheoryGradCheckSuite.Cases();
        for (int i = 0; i < cases.Count; i++) data.Add(i, cases[i].ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(SuiteCases))]
    public void PassesTheFloat64GradientCheck(int index, string name)
    {
        var c = TheoryGradCheckSuite.Cases()[index];
        Assert.Equal(name, c.ToString());
        var r = c.Run();
        Assert.True(r.Passed, $"{name}: {r}");
    }

    [Fact]
    public void TheCoreLibraryDoesNotReferenceTheory()
    {
        var core = typeof(Tensor).Assembly;
        Assert.DoesNotContain(core.GetReferencedAssemblies(), a => a.Name == "SharpGrad.Theory");
        Assert.Equal("SharpGrad.Theory", typeof(ConvSolver).Assembly.GetName().Name);
        Assert.Equal("SharpGrad.Theory", typeof(Perceptron).Assembly.GetName().Name);
        Assert.Equal("SharpGrad.Theory", typeof(KlDivergence).Assembly.GetName().Name);
        Assert.Null(core.GetType("SharpGrad.Theory.Signal"));
    }
}
