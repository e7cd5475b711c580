using System.CommandLine;
using SharpGrad.Distributed;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad train --distributed</c> (or any train started by mpirun): joins the MPI job, runs the training in it,
/// and makes sure that one process's failure ends the whole job instead of leaving the others waiting for it.
/// </summary>
internal static class DistributedTrain
{
    public static async Task<int> RunAsync(ParseResult parse, CancellationToken ct, Func<ProcessGroup, Task<int>> train)
    {
        ProcessGroup group;
        try { group = ProcessGroup.InitMpi(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MpiException)
        {
            Console.Error.WriteLine($"sharpgrad: --distributed: {e.Message}");
            return 1;
        }
        int code;
        try { code = await train(group); }
        catch (Exception e) when (group.WorldSize > 1)
        {
            // Every process meets a user error (bad option, file) alike, so rank 0 alone reports those; any other failure
            // may be this process's alone, and it is reported by whichever process has it. Then the whole job ends
            // (MPI_Abort): the others may be waiting for this one in a collective.
            if (group.Rank == 0 || e is not (ArgumentException or InvalidDataException))
                Console.Error.WriteLine($"sharpgrad: rank {group.Rank} of {group.WorldSize}: {e.Message}");
            await Console.Error.FlushAsync(ct);
            group.Abort(1);
            return 1;
        }
        group.Dispose();
        return code;
    }
}
