using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.Tests.IO;
using SharpGrad.Training;
using Xunit.Abstractions;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// The mutation test: for each format, valid files are mutated (see <see cref="Mutator"/>) at least 2,000 times and
/// loaded. Every case must either load or throw <see cref="InvalidDataException"/> whose message names the file (or,
/// when a re-signed checkpoint passes every check and is resumed, stop training with <see cref="NonFiniteLossException"/>
/// or <see cref="TrainingDivergedException"/>); none
/// may throw anything else, take more than <see cref="CaseSeconds"/> seconds, or allocate more than
/// <see cref="AllocationLimit"/>. Cases are seeded by their index, so a failure names a case that can be replayed.
/// SHARPGRAD_MUTATIONS=N raises the count per format (the long run of RELIABILITY.md).
/// </summary>
public sealed class MutationTests(ITestOutputHelper output)
{
    private const double CaseSeconds = 10;

    private static int Count => int.TryParse(Environment.GetEnvironmentVariable("SHARPGRAD_MUTATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 2000;

    /// <summary>Loaders may start a buffer of up to 1 MB for data of unknown length; beyond that, allocation follows the file's size.</summary>
    private static long AllocationLimit(int fileBytes) => 8L * 1024 * 1024 + 64L * fileBytes;

    private sealed record Format(string Name, string CaseName, byte[][] Seeds, Mutator.Edit Edit, Action<byte[], string> Load);

    private void Fuzz(Format f)
    {
        int count = Count, loaded = 0, rejected = 0;
        var failures = new List<string>();
        long worstAllocation = 0;
        double worstSeconds = 0;
        var clock = Stopwatch.StartNew();
        long caseStart = 0;
        int current = -1;
        string currentWhat = "";
        // The loop runs on its own thread so that a case that hangs fails the test instead of hanging it.
        var worker = new Thread(() =>
        {
            for (int i = 0; i < count; i++)
            {
                var r = new Random(unchecked(i * 7919 + f.Name.Length));
                byte[] seed = f.Seeds[i % f.Seeds.Length];
                byte[] data;
                string what;
                try { (data, what) = Mutator.Mutate(r, seed, f.Edit); }
                catch (Exception e) { failures.Add($"case {i}: the mutator itself failed: {e}"); continue; }
                currentWhat = what;
                Volatile.Write(ref current, i);
                Volatile.Write(ref caseStart, clock.ElapsedTicks);
                long before = GC.GetAllocatedBytesForCurrentThread();
                var t0 = Stopwatch.GetTimestamp();
                Exception? error = null;
                try { f.Load(data, f.CaseName); }
                catch (Exception e) { error = e; }
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                worstAllocation = Math.Max(worstAllocation, allocated);
                worstSeconds = Math.Max(worstSeconds, seconds);
                string id = $"case {i} (seed {i % f.Seeds.Length}, {data.Length} bytes, {what})";
                if (error is null) loaded++;
                else if (error is InvalidDataException or NonFiniteLossException or TrainingDivergedException)
                {
                    rejected++;
                    if (error is InvalidDataException && !error.Message.Contains(f.CaseName, StringComparison.Ordinal))
                        failures.Add($"{id}: the message does not name the file: {error.Message}");
                }
                else failures.Add($"{id}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
                if (allocated > AllocationLimit(data.Length)) failures.Add($"{id}: allocated {allocated:N0} bytes");
                if (seconds > CaseSeconds) failures.Add($"{id}: took {seconds:F1} s");
            }
            Volatile.Write(ref current, count);
        }) { IsBackground = true, Name = "mutations " + f.Name };
        worker.Start();
        while (!worker.Join(100))
        {
            double running = (clock.ElapsedTicks - Volatile.Read(ref caseStart)) / (double)Stopwatch.Frequency;
            Assert.True(running < CaseSeconds * 3, $"{f.Name}: case {Volatile.Read(ref current)} ({currentWhat}) has run for {running:F0} s: it hangs");
        }
        output.WriteLine($"{f.Name}: {count} mutations in {clock.Elapsed.TotalSeconds:F1} s: {loaded} loaded, {rejected} rejected with a documented exception, " +
            $"{failures.Count} failures; slowest case {worstSeconds * 1000:F1} ms, most allocated {worstAllocation:N0} bytes");
        Assert.True(failures.Count == 0, $"{f.Name}: {failures.Count} of {count} cases failed:\n" + string.Join("\n", failures.Take(10)));
    }

    private static byte[] Bytes(Action<Stream> write)
    {
        var ms = new MemoryStream();
        write(ms);
        return ms.ToArray();
    }

    private static byte[] Golden(string dir, string file) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "golden", dir, file));

    [Fact]
    public void Safetensors_MutatedFilesLoadOrThrowDocumentedExceptions() => Fuzz(new Format("safetensors", "case.safetensors",
        [
            Bytes(s => Safetensors.Write(s, [new("fc1.weight", Tensor.Ones(3, 4)), new("fc1.bias", Tensor.FromArray(new double[] { 1, 2, 3, 4, 5 })),
                new("step", Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 2, 2)), new("s", Tensor.Scalar(3)), new("e", Tensor.Zeros([0, 3], DType.Float32))], [new("format", "pt")])),
            Golden("io", "golden.safetensors"),
        ],
        Mutator.SafetensorsHeader, (d, n) => Safetensors.Read(new MemoryStream(d), n)));

    [Fact]
    public async Task Checkpoint_MutatedFilesLoadOrThrowDocumentedExceptions()
    {
        using var dir = new TempDir("sharpgrad-mut-ckpt");
        var task = TinyTask.Create();
        var ckdir = new CheckpointDirectory(dir.Path, keep: 10);
        await task.RunAsync(4, task.Options(ckdir, every: 7, maxSteps: 30));
        var seeds = ckdir.List().Take(2).Select(File.ReadAllBytes).ToArray();
        var probe = TinyTask.Create();
        Fuzz(new Format("checkpoint", "case.ckpt", seeds, Mutator.CheckpointHeader, (d, n) =>
        {
            var ck = Checkpoint.Load(new MemoryStream(d), n);
            Trainer.CheckResumable(ck, probe.Model, probe.Optimizer, probe.Loader, probe.Options());
            // It fits: then resuming from it must work (or stop with the NaN message), one step.
            var t = TinyTask.Create();
            t.RunAsync(4, t.Options(resume: ck, maxSteps: ck.Step + 1)).GetAwaiter().GetResult();
        }));
    }

    [Fact]
    public void Npy_MutatedFilesLoadOrThrowDocumentedExceptions() => Fuzz(new Format("npy", "case.npy",
        [
            Bytes(s => Npy.Write(s, Tensor.Ones(3, 4))), Bytes(s => Npy.Write(s, new NpyArray(new byte[] { 1, 2, 3, 4, 5, 6 }, 2, 3))),
            Golden("npy", "fortran_f8_3x4.npy"), Golden("npy", "v2_f4.npy"), Golden("npy", "v3_f8.npy"), Golden("npy", "b1_5.npy"), Golden("npy", "f8_scalar.npy"),
        ],
        Mutator.NpyHeader, (d, n) => Npy.ReadArray(new MemoryStream(d), n)));

    [Fact]
    public void Npz_MutatedFilesLoadOrThrowDocumentedExceptions() => Fuzz(new Format("npz", "case.npz",
        [
            Golden("npy", "arrays.npz"), Golden("npy", "arrays_compressed.npz"),
            Bytes(s => Npy.WriteNpz(s, [new("w", Tensor.Ones(2, 3)), new("i", Tensor.FromArray(new long[] { 7, 8 }))], compress: true)),
        ],
        Mutator.Npz, (d, n) => Npy.ReadNpz(new MemoryStream(d), n)));

    [Fact]
    public void Idx_MutatedFilesLoadOrThrowDocumentedExceptions()
    {
        byte[] u8 = [0, 0, 0x08, 3, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 3, .. Enumerable.Range(0, 36).Select(i => (byte)(i * 7))];
        byte[] f64 = [0, 0, 0x0E, 2, 0, 0, 0, 2, 0, 0, 0, 3, .. Enumerable.Range(0, 6).SelectMany(i => BitConverter.GetBytes((double)i).Reverse())];
        byte[] i16 = [0, 0, 0x0B, 1, 0, 0, 0, 5, .. Enumerable.Range(0, 10).Select(i => (byte)i)];
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(u8);
        Fuzz(new Format("idx", "case.idx", [u8, f64, i16, gz.ToArray()], Mutator.Idx, (d, n) => Idx.Read(new MemoryStream(d), n)));
    }

    [Fact]
    public void Csv_MutatedFilesLoadOrThrowDocumentedExceptions() => Fuzz(new Format("csv", "case.csv",
        [
            "a,b,c\n1,2,3\n4.5,-6e3,7\n-0,1e-5,\"8\"\n"u8.ToArray(), "1,2\n3,4\n"u8.ToArray(), "\"x, y\",z\n1,2\n"u8.ToArray(),
        ],
        Mutator.Csv, (d, n) => Csv.Read(new StreamReader(new MemoryStream(d), Encoding.UTF8, detectEncodingFromByteOrderMarks: true), n)));

    /// <summary>The front door: <see cref="TensorFile.Inspect"/> on mutated files on disk, whatever format it takes them for.</summary>
    [Fact]
    public void Inspect_MutatedFilesOfAnyFormatLoadOrThrowDocumentedExceptions()
    {
        using var dir = new TempDir("sharpgrad-mut-inspect");
        var seeds = new (string Ext, byte[] Bytes, Mutator.Edit Edit)[]
        {
            (".safetensors", Golden("io", "golden.safetensors"), Mutator.SafetensorsHeader),
            (".npy", Golden("npy", "f4_2x3.npy"), Mutator.NpyHeader),
            (".npz", Golden("npy", "arrays.npz"), Mutator.Npz),
            (".csv", "a,b\n1,2\n"u8.ToArray(), Mutator.Csv),
        };
        int files = Math.Max(200, Count / 10);
        var failures = new List<string>();
        for (int i = 0; i < files; i++)
        {
            var r = new Random(i);
            var (ext, seed, edit) = seeds[i % seeds.Length];
            var (data, what) = Mutator.Mutate(r, seed, edit);
            string path = dir.File($"case{i}{ext}");
            File.WriteAllBytes(path, data);
            try { TensorFile.Inspect(path); }
            catch (InvalidDataException e) when (e.Message.Contains(path, StringComparison.Ordinal)) { }
            catch (Exception e) { failures.Add($"case {i} ({what}): {e.GetType().Name}: {e.Message}"); }
            File.Delete(path);
        }
        output.WriteLine($"inspect: {files} mutated files, {failures.Count} failures");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }
}
