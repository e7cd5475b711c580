using System.Globalization;
using System.Text.Json;
using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Packaging;

/// <summary>
/// The packages as a user meets them: a fresh console app (<c>dotnet new console</c>, outside this repository) restores
/// SharpGrad from the local feed, builds and runs; <c>dotnet tool install</c> puts the <c>sharpgrad</c> command in a fresh
/// tool path and it runs XOR. Offline and isolated: a private packages folder (so no package cached by an earlier run
/// can stand in for the one just packed), the feed for SharpGrad*, and the machine's NuGet cache for the rest.
/// Slow for a unit test (tens of seconds: two restores and a build); it is the only proof that the packages install.
/// </summary>
public class PackageInstallTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(5);

    /// <summary>The machine's global packages folder, used read-only as a source for third-party dependencies.</summary>
    private static string MachineCache =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The feed for SharpGrad*, the machine's cache for everything else, nothing online.</summary>
    private static void WriteAppNuGetConfig(string path) => File.WriteAllText(path, $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="feed" value="{PackedFeed.Feed}" />
            <add key="cache" value="{MachineCache}" />
          </packageSources>
          <packageSourceMapping>
            <packageSource key="feed"><package pattern="SharpGrad" /><package pattern="SharpGrad.*" /></packageSource>
            <packageSource key="cache"><package pattern="*" /></packageSource>
          </packageSourceMapping>
        </configuration>
        """);

    [Fact]
    public void FreshConsoleApp_RestoresFromTheFeed_BuildsAndRuns()
    {
        using var work = new TempDir("sharpgrad-consumer");
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = work.File("packages") };
        string app = work.File("app");
        PackedFeed.Run(work.Path, ["new", "console", "-o", app, "-n", "Consumer", "--no-restore"], Step, env);
        WriteAppNuGetConfig(Path.Combine(app, "nuget.config"));

        string csproj = Path.Combine(app, "Consumer.csproj");
        string refs = string.Concat(PackedFeed.Libraries.Select(id => $"""<PackageReference Include="{id}" Version="{PackedFeed.Version}" />"""));
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", $"<ItemGroup>{refs}</ItemGroup></Project>", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Globalization;
            using SharpGrad;
            using SharpGrad.NN;
            using SharpGrad.Onnx;
            using SharpGrad.Reports;
            using SharpGrad.Theory;

            var x = Tensor.FromArray(new double[] { 1.5, -2, 3 }, 3);
            x.RequiresGrad = true;
            (x * x).Sum().Backward();
            Console.WriteLine("grad " + string.Join(" ", x.Grad!.ToArray<double>().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            Console.WriteLine("conv " + ConvArithmetic.OutputSize(28, 5, stride: 2, padding: 1));
            Console.WriteLine("svg " + new LineChart("t", "x", "y").Add("a", [0.0, 1], [1.0, 2]).ToSvg()[..4]);
            OnnxExporter.Export(Models.Mlp(2, [4], 3, generator: new Generator(seed: 0)), [Tensor.Zeros(1, 2)], "m.onnx");
            Console.WriteLine("onnx " + new FileInfo("m.onnx").Length);
            Console.WriteLine("distributed " + typeof(SharpGrad.Distributed.DistributedSampler).Assembly.GetName().Name);
            """);

        PackedFeed.Run(app, ["build", "--disable-build-servers", "--nologo", "-v", "q"], Step, env);
        // The package the app restored is the one just packed (the private folder was empty).
        Assert.True(Directory.Exists(Path.Combine(work.File("packages"), "sharpgrad", PackedFeed.Version)));
        string dll = Path.Combine(app, "bin", "Debug", "net10.0", "Consumer.dll");
        var lines = PackedFeed.Run(app, [dll], Step, env).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1]);

        Assert.Equal("3 -4 6", lines["grad"]);                                   // d/dx Σ x² = 2x
        Assert.Equal(((28 + 2 * 1 - 5) / 2 + 1).ToString(CultureInfo.InvariantCulture), lines["conv"]);
        Assert.Equal("<svg", lines["svg"]);
        Assert.True(long.Parse(lines["onnx"], CultureInfo.InvariantCulture) > 0);
        Assert.Equal("SharpGrad.Distributed", lines["distributed"]);
    }

    [Fact]
    public void ToolInstall_FromTheFeed_RunsXor()
    {
        using var work = new TempDir("sharpgrad-tool");
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = work.File("packages") };
        string config = work.File("nuget.config");
        // No source but the feed given with --add-source, as in the README: the tool package carries all it needs.
        File.WriteAllText(config, """<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /></packageSources></configuration>""");
        string tools = work.File("tools");
        PackedFeed.Run(work.Path, ["tool", "install", PackedFeed.Tool, "--tool-path", tools, "--add-source", PackedFeed.Feed,
            "--configfile", config, "--version", PackedFeed.Version], Step, env);

        string sharpgrad = Path.Combine(tools, "sharpgrad");
        Assert.Contains("xor", PackedFeed.RunProgram(sharpgrad, work.Path, ["--help"], Step, env));

        // The sheet's hand-set weights U = [[1, -1], [-1, 1]], b1 = 0, w = (1, 1), b2 = -0.5, checked by hand:
        // f(x) = relu(x1 - x2) + relu(x2 - x1) - 0.5.
        double[] p = [1, -1, -1, 1, 0, 0, 1, 1, -0.5];
        double[][] points = [[0, 0], [0, 1], [1, 0], [1, 1]];
        var expected = points.Select(x => p[6] * Math.Max(p[0] * x[0] + p[2] * x[1] + p[4], 0) + p[7] * Math.Max(p[1] * x[0] + p[3] * x[1] + p[5], 0) + p[8]).ToArray();
        string output = PackedFeed.RunProgram(sharpgrad, work.Path,
            ["xor", "--epochs", "50", "--restarts", "2", "--weights", string.Join(",", p.Select(v => v.ToString(CultureInfo.InvariantCulture))), "--json"], Step, env);
        var hand = JsonDocument.Parse(output).RootElement.GetProperty("hand_set");
        TestUtil.AllClose(expected, hand.GetProperty("outputs").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        Assert.True(hand.GetProperty("all_correct").GetBoolean());
    }
}
