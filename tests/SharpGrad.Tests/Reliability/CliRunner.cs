using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Reliability;

/// <summary>What a finished <c>sharpgrad</c> child process did.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;
}

/// <summary>
/// Runs the real <c>sharpgrad</c> command (SharpGrad.Cli.dll under <c>dotnet</c>) as a child process, so that resume is
/// tested in a new process and a process can be killed. The dll is the one <c>dotnet test</c> built with the solution;
/// if it is missing or older than the library under test (only when this project is built alone) it is built once.
/// Every child is killed when its test ends, and at exit as a last resort.
/// </summary>
internal static partial class CliRunner
{
    private static readonly Lazy<string> s_dll = new(LocateOrBuild, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly ConcurrentDictionary<int, Process> s_live = new();

    static CliRunner() => AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();

    public static string Dll => s_dll.Value;

    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";

    private static string LocateOrBuild()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "SharpGrad.Cli.dll");
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json"))) return beside;
        string root = IOTestUtil.RepoRoot;
        string config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(root, "src", "SharpGrad.Cli", "bin", config, "net10.0", "SharpGrad.Cli.dll");
        if (File.Exists(dll) && !IsStale(dll, root)) return dll;
        var psi = new ProcessStartInfo(Host, ["build", Path.Combine(root, "src", "SharpGrad.Cli", "SharpGrad.Cli.csproj"), "-c", config, "--nologo", "-v", "q"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(entireProcessTree: true); throw new TimeoutException("Building SharpGrad.Cli took more than 10 minutes."); }
        if (p.ExitCode != 0 || !File.Exists(dll)) throw new InvalidOperationException($"Building SharpGrad.Cli failed:\n{stdout.Result}\n{stderr.Result}");
        return dll;
    }

    /// <summary>Stale when its copy of the library differs from the one under test, or a CLI source is newer.</summary>
    private static bool IsStale(string dll, string root)
    {
        string lib = Path.Combine(Path.GetDirectoryName(dll)!, "SharpGrad.dll");
        if (!File.Exists(lib) || !File.ReadAllBytes(lib).AsSpan().SequenceEqual(File.ReadAllBytes(typeof(Tensor).Assembly.Location))) return true;
        var built = File.GetLastWriteTimeUtc(dll);
        return Directory.EnumerateFiles(Path.Combine(root, "src", "SharpGrad.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Any(f => File.GetLastWriteTimeUtc(f) > built);
    }

    /// <summary>
    /// A shell runs a background job (`cmd &amp;`, as a CI script may run the tests) with SIGINT ignored, and an ignored
    /// signal stays ignored in every child: a `sharpgrad` started from such a test host would never see the SIGINT the
    /// signal tests send. Setting this process's SIGINT back to the default before starting children gives them the
    /// disposition a foreground run has (the test host itself then stops on SIGINT, as it would in the foreground).
    /// </summary>
    internal static partial class SigintDefault
    {
        private static int s_done;

        public static void Ensure()
        {
            if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref s_done, 1) == 1) return;
            bool ignored = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) is string line
                && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (2 - 1))) != 0;
            if (ignored) Signal(2, IntPtr.Zero); // SIGINT, SIG_DFL
        }

        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "signal")]
        private static partial IntPtr Signal(int signum, IntPtr handler);
    }

    /// <summary>A started child whose output is collected in the background.</summary>
    internal sealed class Child : IDisposable
    {
        private readonly StringBuilder _out = new(), _err = new();

        /// <param name="workDir">The child's working directory.</param>
        /// <param name="args">The arguments after <c>sharpgrad</c>.</param>
        /// <param name="threads">When set, the child sees this many processors (DOTNET_PROCESSOR_COUNT), which bounds the kernels' threads.</param>
        public Child(string workDir, IEnumerable<string> args, int? threads = null)
        {
            SigintDefault.Ensure();
            var psi = new ProcessStartInfo(Host) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
            if (threads is int n) psi.Environment["DOTNET_PROCESSOR_COUNT"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            psi.ArgumentList.Add(Dll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            Process = new Process { StartInfo = psi };
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
            Process.Start();
            s_live[Process.Id] = Process;
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        /// <summary>SIGKILL on Unix: no handler runs, nothing is flushed.</summary>
        public void Kill()
        {
            try { Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            Process.WaitForExit();
        }

        public CliResult Wait(TimeSpan timeout)
        {
            if (!Process.WaitForExit(timeout))
            {
                Kill();
                throw new TimeoutException($"sharpgrad {string.Join(' ', Process.StartInfo.ArgumentList.Skip(1))} did not finish in {timeout.TotalSeconds} s; it was killed.\n{_err}");
            }
            Process.WaitForExit(); // drains the asynchronous output readers
            lock (_out) lock (_err) return new CliResult(Process.ExitCode, _out.ToString(), _err.ToString());
        }

        public void Dispose()
        {
            if (!Process.HasExited) Kill();
            s_live.TryRemove(Process.Id, out _);
            Process.Dispose();
        }
    }

    /// <summary>Runs <c>sharpgrad ARGS</c> in <paramref name="workDir"/> to the end (at most <paramref name="timeoutSeconds"/>).</summary>
    public static CliResult Run(string workDir, IEnumerable<string> args, int timeoutSeconds = 120, int? threads = null)
    {
        using var child = new Child(workDir, args, threads);
        return child.Wait(TimeSpan.FromSeconds(timeoutSeconds));
    }

    private static void KillAll()
    {
        foreach (var p in s_live.Values)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
    }
}
