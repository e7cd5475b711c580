using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace SharpGrad.Tests.IO;

/// <summary>A scratch directory deleted at the end of the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "sharpgrad-io") => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"));

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class IOTestUtil
{
    /// <summary>The repository root (the directory holding SharpGrad.sln), found upwards from the test binaries.</summary>
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SharpGrad.sln"))) return d.FullName;
        throw new InvalidOperationException($"No SharpGrad.sln above {AppContext.BaseDirectory}.");
    }

    public static string Golden(string file) => Path.Combine(AppContext.BaseDirectory, "golden", "io", file);

    /// <summary>Whether /usr/bin/python3 with numpy is here (CI does not promise it).</summary>
    public static bool HasNumPy { get; } = Probe();

    private static bool Probe()
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import numpy"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            if (!p.WaitForExit(30_000)) { p.Kill(); return false; }
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// <summary>A Python repr of a float ('nan', 'inf', '-0.0', '1e-05') as a double.</summary>
    public static double ParsePython(string s) => s switch
    {
        "nan" => double.NaN,
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>Asserts a tensor equals a listing of tools/read_safetensors.py bit for bit (NaN equals NaN).</summary>
    public static void AssertMatches(JsonElement expected, string name, Tensor actual)
    {
        var shape = expected.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.True(shape.SequenceEqual(actual.Shape), $"{name}: shape [{string.Join(", ", actual.Shape)}], Python read [{string.Join(", ", shape)}]");
        var values = expected.GetProperty("values").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(values.Length, actual.Numel);
        for (int i = 0; i < values.Length; i++)
        {
            if (actual.DType == DType.Int64)
            {
                Assert.Equal(long.Parse(values[i], CultureInfo.InvariantCulture), actual.ToArray<long>()[i]);
                continue;
            }
            double want = ParsePython(values[i]), got = actual.ToArray<double>()[i];
            Assert.True(BitConverter.DoubleToInt64Bits(want) == BitConverter.DoubleToInt64Bits(got) || (double.IsNaN(want) && double.IsNaN(got)),
                $"{name} element {i}: Python read {values[i]}, SharpGrad {got:R}");
        }
    }
}

/// <summary>Runs only where /usr/bin/python3 has numpy; skipped with a message elsewhere.</summary>
public sealed class NumPyFactAttribute : FactAttribute
{
    public NumPyFactAttribute()
    {
        if (!IOTestUtil.HasNumPy) Skip = "/usr/bin/python3 with numpy is not installed; the committed golden file covers this in its absence.";
    }
}
