using Xunit;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// Zero-allocation checks of replays on two threads. A window of replays is measured a few times
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> on the calling thread) and one window must allocate nothing: an
/// allocation made by a replay shows in every window, while under heavy load (load average 15-20 on the 2 cores) a single
/// window in a few hundred has been seen to take a one-time 3.6-8 KB on this thread and never again in that run. Not
/// found to come from the replays' code: not from the caller running parts the worker usually runs (all of them, or
/// part 0 left to the worker), not from the pool's gate being taken, not from collections started by other threads.
/// </summary>
internal static class ReplayAllocations
{
    /// <summary>Runs <paramref name="window"/> <paramref name="windows"/> times; asserts that one run allocated nothing.</summary>
    public static void AssertNone(Action window, int windows = 3)
    {
        var bytes = new long[windows];
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            bytes[w] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (bytes[w] == 0) return;
        }
        Assert.Fail("bytes allocated on the calling thread, per window of replays: " + string.Join(", ", bytes));
    }
}
