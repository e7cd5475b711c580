namespace SharpGrad.Kernels;

/// <summary>
/// Work split into a fixed number of independent parts. <see cref="Execute"/> is called once for every part index in
/// [0, count), by whichever pool thread claims it; parts may run at the same time or one after another, so they must
/// not wait for each other. The split is decided by the caller, never by timing, so results do not depend on
/// scheduling.
/// </summary>
internal abstract class ParallelWork
{
    /// <summary>Runs part <paramref name="index"/> of <paramref name="count"/>.</summary>
    public abstract void Execute(int index, int count);
}

/// <summary>
/// A persistent pool of background threads, one per extra core, for the kernels' fixed partitions. <see cref="Run"/>
/// publishes a job; the calling thread and the workers claim its parts one at a time until none is left, and the
/// caller returns when every part is done. A worker that is slow to wake (asleep, or descheduled on a busy machine)
/// simply finds the parts already taken, so the call degrades to one thread instead of waiting for it.
/// Workers spin for a short while after each job (the next GEMM of a training step usually follows within
/// microseconds) and then sleep on an event, so an idle process costs no CPU. Not Parallel.For: no per-call
/// allocation and no delegates.
/// </summary>
internal static class WorkerPool
{
    private const long SpinMicroseconds = 200;

    private sealed class Worker
    {
        public readonly ManualResetEventSlim Wake = new(false);
        public int Index; // the worker's place in s_workers: only the first s_helpers take parts of a job
        public int Sleeping;
        // Written by the worker's own thread only (diagnostics, read without synchronisation).
        public long Parts, Sleeps;
    }

    private static long s_published;

    /// <summary>
    /// Diagnostics for the bench runner: the parts published to the pool so far (<see cref="Run"/> calls that went
    /// parallel), how many of them the background workers ran, and how often a worker went to sleep. A worker that
    /// takes few parts while the caller takes the rest means the split ran on one core.
    /// </summary>
    internal static (long Published, long ByWorkers, long WorkerSleeps) Counts
    {
        get
        {
            long byWorkers = 0, sleeps = 0;
            foreach (var w in Volatile.Read(ref s_workers)) { byWorkers += Volatile.Read(ref w.Parts); sleeps += Volatile.Read(ref w.Sleeps); }
            return (Volatile.Read(ref s_published), byWorkers, sleeps);
        }
    }

    private static readonly object Gate = new();
    private static Worker[] s_workers = [];
    private static ParallelWork? s_work;
    private static int s_count;
    private static int s_helpers;
    private static int s_generation;
    // (generation << 32) | next unclaimed part: a claim made for an old job can never take a part of a newer one.
    private static long s_ticket;
    private static int s_done;
    private static Exception? s_error;
    [ThreadStatic] private static bool t_insidePart;

    /// <summary>How many parts can run at once: the calling thread plus one background worker per other core.</summary>
    public static int MaxParallelism => Environment.ProcessorCount;

    /// <summary>
    /// Runs <c>work.Execute(i, count)</c> for every i in [0, count), in parallel when the pool is free, on at most
    /// <paramref name="maxThreads"/> threads (the caller included; more parts than threads are claimed one at a time by
    /// whichever thread is free). When another thread is using the pool, or when called from inside a part, the calling
    /// thread runs every part itself.
    /// </summary>
    public static void Run(ParallelWork work, int count, int maxThreads = int.MaxValue)
    {
        if (count <= 1 || maxThreads <= 1 || MaxParallelism == 1 || t_insidePart || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < count; i++) work.Execute(i, count);
            return;
        }
        t_insidePart = true;
        try
        {
            s_published += count; // under the gate
            int helpers = Math.Min(Math.Min(count, maxThreads), MaxParallelism) - 1;
            EnsureWorkers(helpers);
            int generation = s_generation + 1;
            s_work = work;
            s_count = count;
            s_helpers = helpers;
            s_error = null;
            s_done = 0;
            Volatile.Write(ref s_ticket, (long)generation << 32);
            // Full fences on both sides (here and in Loop): a worker going to sleep either sees the new generation or
            // is seen sleeping and woken.
            Interlocked.Exchange(ref s_generation, generation);
            for (int i = 0; i < helpers; i++)
            {
                Worker w = s_workers[i];
                if (Volatile.Read(ref w.Sleeping) != 0) w.Wake.Set();
            }
            ClaimParts(work, count, generation);
            int spins = 0;
            while (Volatile.Read(ref s_done) != count) Pause(ref spins);
            s_work = null;
            if (s_error is { } error) throw new AggregateException("A parallel kernel part failed.", error);
        }
        finally
        {
            t_insidePart = false;
            Monitor.Exit(Gate);
        }
    }

    /// <summary>Takes and runs parts of the job of <paramref name="generation"/> until none is left; returns how many it ran.</summary>
    private static int ClaimParts(ParallelWork work, int count, int generation)
    {
        int ran = 0;
        while (true)
        {
            long ticket = Volatile.Read(ref s_ticket);
            int part = (int)(ticket & 0xFFFF_FFFF);
            if ((int)(ticket >> 32) != generation || part >= count) return ran;
            if (Interlocked.CompareExchange(ref s_ticket, ticket + 1, ticket) != ticket) continue;
            ran++;
            try { work.Execute(part, count); }
            catch (Exception e) { s_error ??= e; }
            finally { Interlocked.Increment(ref s_done); }
        }
    }

    /// <summary>
    /// One step of a wait that is expected to be short (the other part is running on another core): pause
    /// instructions, no system call, for the first couple of hundred microseconds; then yield the core, in case the
    /// thread we wait for is not running (more runnable threads than cores).
    /// </summary>
    internal static void Pause(ref int spins)
    {
        if (++spins < 2048) Thread.SpinWait(1); // about 0.1 us each on the machines measured
        else Thread.Yield();
    }

    private static void EnsureWorkers(int needed)
    {
        if (s_workers.Length >= needed) return;
        var workers = new Worker[needed];
        Array.Copy(s_workers, workers, s_workers.Length);
        for (int i = s_workers.Length; i < needed; i++)
        {
            var w = new Worker { Index = i };
            workers[i] = w;
            // The generation seen is fixed here, not read by the new thread: a job published before the thread first
            // runs must still count as new for it.
            int seen = s_generation;
            var thread = new Thread(() => Loop(w, seen)) { IsBackground = true, Name = $"SharpGrad kernel worker {i + 1}" };
            thread.Start();
        }
        s_workers = workers;
    }

    private static void Loop(Worker self, int seen)
    {
        t_insidePart = true; // a part that calls a kernel runs it alone, never re-entering the pool
        while (true)
        {
            // Pure spinning first, no yield: a yielding worker on a busy machine loses its core for a whole time slice.
            long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinMicroseconds * System.Diagnostics.Stopwatch.Frequency / 1_000_000;
            while (Volatile.Read(ref s_generation) == seen && System.Diagnostics.Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(1);
            if (Volatile.Read(ref s_generation) == seen)
            {
                self.Wake.Reset();
                Interlocked.Exchange(ref self.Sleeping, 1);
                if (Volatile.Read(ref s_generation) == seen) { self.Sleeps++; self.Wake.Wait(); }
                Volatile.Write(ref self.Sleeping, 0);
                continue;
            }
            seen = Volatile.Read(ref s_generation);
            ParallelWork? work = s_work;
            int count = s_count;
            if (work is not null && self.Index < s_helpers) self.Parts += ClaimParts(work, count, seen);
        }
    }
}
