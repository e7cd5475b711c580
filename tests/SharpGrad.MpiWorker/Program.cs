using SharpGrad;
using SharpGrad.Distributed;
using SharpGrad.MpiWorker;

// mpirun -np N dotnet SharpGrad.MpiWorker.dll MODEL float32|float64 GLOBAL_BATCH STEPS deterministic|mpi OUT_DIR
// Each process writes its final state dict (parameters and buffers) to OUT_DIR/rank<R>.bin (float64, in StateDict order).
if (args.Length != 6)
{
    Console.Error.WriteLine("usage: SharpGrad.MpiWorker MODEL float32|float64 GLOBAL_BATCH STEPS deterministic|mpi OUT_DIR");
    return 2;
}
using var group = ProcessGroup.InitMpi();
group.DeterministicReduction = args[4] == "deterministic";
var dtype = args[1] == "float64" ? DType.Float64 : DType.Float32;
var model = EquivalenceRun.Train(group, args[0], dtype, int.Parse(args[2]), int.Parse(args[3]));
Directory.CreateDirectory(args[5]);
using (var w = new BinaryWriter(File.Create(Path.Combine(args[5], $"rank{group.Rank}.bin"))))
    foreach (var (_, t) in model.StateDict()) // parameters and buffers (BatchNorm's running statistics)
        foreach (var v in t.ToArray<double>()) w.Write(v);
Console.WriteLine($"rank {group.Rank} of {group.WorldSize}: done");
return 0;
