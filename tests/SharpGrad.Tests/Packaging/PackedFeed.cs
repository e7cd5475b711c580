using System.Diagnostics;
using System.Text;
using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Packaging;

/// <summary>
/// The packages of every shipped project, made once per test run by <c>dotnet pack --no-build</c> from the binaries that
/// <c>dotnet test</c> has just built (same configuration), into a scratch folder that serves as a local NuGet feed.
/// </summary>
internal static class PackedFeed
{
    /// <summary>The shipped projects, by package id; each directory under src/ holds one.</summary>
    public static readonly string[] Libraries = ["SharpGrad", "SharpGrad.Reports", "SharpGrad.Theory", "SharpGrad.Onnx", "SharpGrad.Distributed"];

    public const string Tool = "SharpGrad.Cli";

    private static readonly Lazy<string> s_feed = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder holding every .nupkg and .snupkg.</summary>
    public static string Feed => s_feed.Value;

    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";

    /// <summary>The version every package carries, read from src/Directory.Build.props (prefix-suffix).</summary>
    public static string Version { get; } = ReadVersion();

    private static string ReadVersion()
    {
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(IOTestUtil.RepoRoot, "src", "Directory.Build.props"));
        string Prop(string name) => props.Descendants(name).Single().Value;
        return $"{Prop("VersionPrefix")}-{Prop("VersionSuffix")}";
    }

    private static string Pack()
    {
        string feed = Path.Combine(Path.GetTempPath(), $"sharpgrad-feed-{Guid.NewGuid():N}");
        Directory.CreateDirectory(feed);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(feed, true); } catch (IOException) { } };
        foreach (string project in Libraries.Append(Tool))
        {
            string csproj = Path.Combine(IOTestUtil.RepoRoot, "src", project, project + ".csproj");
            Run(IOTestUtil.RepoRoot, ["pack", csproj, "--no-build", "-c", Configuration, "-o", feed, "--nologo", "-v", "q", "--disable-build-servers"], TimeSpan.FromMinutes(5));
        }
        return feed;
    }

    /// <summary>Runs <c>dotnet ARGS</c> in <paramref name="dir"/>; throws with its output unless it exits 0 in time.</summary>
    public static string Run(string dir, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null) =>
        RunProgram(Host, dir, args, timeout, env);

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/>; throws with its output unless it exits 0 in time.</summary>
    public static string RunProgram(string program, string dir, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null)
    {
        var list = args.ToList();
        var psi = new ProcessStartInfo(program, list) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = new Process { StartInfo = psi };
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{program} {string.Join(' ', list)} did not finish in {timeout.TotalSeconds} s:\n{output}");
        }
        p.WaitForExit();
        lock (output)
        {
            if (p.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', list)} exited with {p.ExitCode} in {dir}:\n{output}");
            return output.ToString();
        }
    }
}
