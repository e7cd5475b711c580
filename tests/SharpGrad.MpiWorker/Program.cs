using SharpGrad;
using SharpGrad.Distributed;
using SharpGrad.MpiWorker;

// mpirun -np N dotnet SharpGrad.MpiWorker.dll MODEL float32|float64 GLOBAL_BATCH STEPS MODE OUT_DIR
// MODE: "mpi" (DDP's defaults), or flags joined by '+': deterministic (ProcessGroup.DeterministicReduction), ring or shm
// (GradientReduction.Ring / SharedMemory), shard (the sharded optimizer step), adam (Adam instead of SGD), compile (the step
// compiled with Jit.Compile; prints the replayed steps and the bytes allocated in them), readgrad (reads every gradient
// every seventh step during the run and prints the sum of the values read), nostream (DistributedDataParallel.WindowStores
// Ordinary: every gradient product that can write into the slot does), stream (WindowStores.Streaming; default: Adaptive), oldsum (DistributedDataParallel.SumInStep off: the end of the pass
// writes the means a compiled sharded step reads), rmsprop (RMSprop instead of SGD), images / noimages (DistributedDataParallel.ParameterImages on / off; default: its default). After the run each process prints how many gradients its compiled plans'
// products write straight into the shared window, and how many of its plans' sharded steps form the means themselves.
// Each process writes its final state dict (parameters and buffers) to OUT_DIR/rank<R>.bin and its optimizer's state
// dict to OUT_DIR/optimizer<R>.bin and its parameters' last gradients to OUT_DIR/grad<R>.bin (float64, in order).
string[] known = ["mpi", "deterministic", "ring", "shm", "shard", "adam", "compile", "readgrad", "nostream", "stream", "oldsum", "rmsprop", "images", "noimages"];
var flags = args.Length == 6 ? args[4].Split('+') : [];
if (args.Length != 6 || flags.Any(f => !known.Contains(f)))
{
    Console.Error.WriteLine("usage: SharpGrad.MpiWorker MODEL float32|float64 GLOBAL_BATCH STEPS MODE OUT_DIR (MODE: mpi, or deterministic, ring, shm, shard, adam, compile, readgrad, nostream, stream, oldsum, rmsprop, images, noimages joined by '+')");
    return 2;
}
using var group = ProcessGroup.InitMpi();
group.DeterministicReduction = flags.Contains("deterministic");
var settings = new EquivalenceRun.Settings(
    flags.Contains("ring") ? GradientReduction.Ring : flags.Contains("shm") ? GradientReduction.SharedMemory : GradientReduction.Auto,
    Shard: flags.Contains("shard"), Adam: flags.Contains("adam"),
    Report: ddp => Console.WriteLine($"rank {group.Rank}: gradient reduction {ddp.Reduction}, sharded step {ddp.OptimizerStepSharded}"),
    Compile: flags.Contains("compile"),
    Replays: (count, bytes) => Console.WriteLine($"rank {group.Rank}: replayed {count} steps, {bytes} bytes allocated in those after the tenth"),
    GradientSum: flags.Contains("readgrad") ? sum => Console.WriteLine($"rank {group.Rank}: gradients read during the run sum to {sum:R}") : null,
    AfterRun: ddp => Console.WriteLine($"rank {group.Rank}: gradient products in slots {ddp.GradientProductsInSlots}, step sum plans {ddp.StepSumPlans}, imaged parameters {ddp.ImagedParameters}"),
    Stores: flags.Contains("nostream") ? WindowStores.Ordinary : flags.Contains("stream") ? WindowStores.Streaming : WindowStores.Adaptive,
    SumInStep: !flags.Contains("oldsum"), RmsProp: flags.Contains("rmsprop"), ParameterImages: flags.Contains("images") ? true : flags.Contains("noimages") ? false : null);
var dtype = args[1] == "float64" ? DType.Float64 : DType.Float32;
var model = EquivalenceRun.Train(group, args[0], dtype, int.Parse(args[2]), int.Parse(args[3]), settings, out var optimizer);
Directory.CreateDirectory(args[5]);
using (var w = new BinaryWriter(File.Create(Path.Combine(args[5], $"rank{group.Rank}.bin"))))
    foreach (var (_, t) in model.StateDict()) // parameters and buffers (BatchNorm's running statistics)
        foreach (var v in t.ToArray<double>()) w.Write(v);
using (var w = new BinaryWriter(File.Create(Path.Combine(args[5], $"optimizer{group.Rank}.bin"))))
    foreach (var (_, t) in optimizer.StateDict())
        foreach (var v in t.ToArray<double>()) w.Write(v);
using (var w = new BinaryWriter(File.Create(Path.Combine(args[5], $"grad{group.Rank}.bin"))))
    foreach (var p in model.Parameters())
        foreach (var v in p.Grad!.ToArray<double>()) w.Write(v);
Console.WriteLine($"rank {group.Rank} of {group.WorldSize}: done");
return 0;
