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

    /// <summary>
    /// Whether the parts may be claimed in any order (no part waits for another) and each thread should take its home
    /// parts first (<see cref="WorkerPool.HomeParts"/>): the contiguous share <c>[t·count/threads, (t+1)·count/threads)</c>
    /// of thread t, the caller being thread 0. Kernels that split a parameter the same way in every product and update
    /// (rows in order) then keep each half on one core from step to step.
    /// </summary>
    public virtual bool HasHomes => false;
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
    // Home-part jobs (HomeParts): part p's claim word at s_claims[p * ClaimStride], 2g (unclaimed in job g) or 2g + 1
    // (claimed), g the job's generation as unsigned; s_homeThreads threads share the home ranges.
    private const int ClaimStride = 8; // one cache line per part: a thread claiming its own parts touches no line of the other's
    private static long[] s_claims = [];
    private static bool s_homes;
    private static int s_homeThreads;
    [ThreadStatic] private static bool t_insidePart;

    /// <summary>
    /// Whether jobs whose parts have homes (<see cref="ParallelWork.HasHomes"/>) are claimed home range first: each thread
    /// takes its own contiguous share of the parts in order, then the parts the other threads have not claimed yet, from
    /// the far end of their shares; the other jobs, and all jobs when false, are claimed in part order by whichever
    /// thread is free. Only who runs a part changes, never what it computes: the same results either way. The bench
    /// runner's <c>--home-parts 0|1</c>.
    /// </summary>
    internal static bool HomeParts = true;

    /// <summary>Whether this thread is running a part of a pool job (a pool run it starts then runs every part itself).</summary>
    internal static bool InsidePart => t_insidePart;

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
            // The previous job closed the ticket before this write (see below); a release write keeps that order on
            // every memory model.
            Volatile.Write(ref s_work, work);
            s_count = count;
            s_helpers = helpers;
            s_error = null;
            s_done = 0;
            s_homes = HomeParts && work.HasHomes;
            if (s_homes)
            {
                s_homeThreads = helpers + 1;
                if (s_claims.Length < count * ClaimStride) s_claims = new long[count * ClaimStride];
                long open = (long)(uint)generation << 1;
                for (int p = 0; p < count; p++) s_claims[p * ClaimStride] = open;
            }
            // A home-part job is claimed through s_claims alone: its ticket starts past every part. Otherwise a worker
            // that read this job's generation and work, then (descheduled) the home flag of the next job, would take part
            // 0 of this finished job through the ticket, run it again and count it in the next job's s_done (which could
            // then pass its count while the caller polls: a caller waiting for ever, or returning before a part ended).
            Volatile.Write(ref s_ticket, ((long)generation << 32) | (s_homes ? int.MaxValue : 0L));
            // Full fences on both sides (here and in Loop): a worker going to sleep either sees the new generation or
            // is seen sleeping and woken.
            Interlocked.Exchange(ref s_generation, generation);
            for (int i = 0; i < helpers; i++)
            {
                Worker w = s_workers[i];
                if (Volatile.Read(ref w.Sleeping) != 0) w.Wake.Set();
            }
            if (s_homes) ClaimHomeParts(work, count, generation, 0);
            else ClaimParts(work, count, generation);
            int spins = 0;
            while (Volatile.Read(ref s_done) != count) Pause(ref spins);
            // Close the ticket before anything of the next job is written. A worker that read this job's generation and
            // then (descheduled) the next job's work and count would otherwise claim parts of the next job through this
            // job's exhausted ticket (its counter is this job's count, below a larger next count): a part run twice and
            // an s_done past the next count, which the caller's wait above never sees equal (a hang, seen under load).
            Volatile.Write(ref s_ticket, ((long)generation << 32) | int.MaxValue);
            s_work = null;
            if (s_error is { } error) throw new AggregateException("A parallel kernel part failed.", error);
        }
        finally
        {
            t_insidePart = false;
            Monitor.Exit(Gate);
        }
    }

    /// <summary>
    /// What a worker that read the current job's generation but not its home flag would run through the ticket
    /// (<see cref="ClaimParts"/>): for the tests, which check that a finished home-part job leaves it nothing.
    /// </summary>
    internal static int ClaimByTicketForTests(ParallelWork work, int count) => ClaimParts(work, count, Volatile.Read(ref s_generation));

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
    /// <see cref="ClaimParts"/> for a home-part job: thread <paramref name="thread"/>'s home share in order, then, from
    /// the last part backwards, every other part still unclaimed (a thread that is slow to come leaves its share to the
    /// others, which meet it in the middle). Returns how many it ran; stops at once when the job is no longer
    /// <paramref name="generation"/>.
    /// </summary>
    private static int ClaimHomeParts(ParallelWork work, int count, int generation, int thread)
    {
        long[] claims = Volatile.Read(ref s_claims);
        int threads = s_homeThreads;
        if (claims.Length < count * ClaimStride || thread >= threads) return 0;
        long open = (long)(uint)generation << 1;
        int first = (int)((long)count * thread / threads), end = (int)((long)count * (thread + 1) / threads);
        int ran = 0;
        for (int part = first; part < end; part++)
            if (!TryRun(work, count, claims, part, open, ref ran)) return ran;
        for (int part = count - 1; part >= 0; part--)
            if ((part < first || part >= end) && !TryRun(work, count, claims, part, open, ref ran)) return ran;
        return ran;
    }

    /// <summary>Claims and runs <paramref name="part"/> if it is still open; false when its word belongs to another job.</summary>
    private static bool TryRun(ParallelWork work, int count, long[] claims, int part, long open, ref int ran)
    {
        ref long claim = ref claims[part * ClaimStride];
        long seen = Volatile.Read(ref claim);
        if (seen == open + 1) return true; // taken
        if (seen != open) return false; // a newer job's word: this one is over
        if (Interlocked.CompareExchange(ref claim, open + 1, open) != open) return true;
        ran++;
        try { work.Execute(part, count); }
        catch (Exception e) { s_error ??= e; }
        finally { Interlocked.Increment(ref s_done); }
        return true;
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
            ParallelWork? work = Volatile.Read(ref s_work);
            int count = s_count;
            if (work is null || self.Index >= s_helpers) continue;
            self.Parts += Volatile.Read(ref s_homes) ? ClaimHomeParts(work, count, seen, self.Index + 1) : ClaimParts(work, count, seen);
        }
    }
}
