using System.Diagnostics;

namespace SharpGrad.Distributed;

/// <summary>
/// For measurements (the bench's <c>ddp-epoch --timeline 1</c>): when <see cref="Enabled"/>, every wait of
/// <see cref="ProcessGroup.WaitUntil"/> (each rendezvous with the other processes: the end of the pass's wait for their
/// inputs, a gather's waits), including those that find the others already there, is recorded as its arrival and departure
/// <see cref="Stopwatch"/> timestamps and its name, and the caller marks the start of each step (<see cref="MarkStep"/>).
/// The arrays are allocated once (<see cref="Start"/>); a full timeline stops recording. Stopwatch timestamps are the
/// machine's monotonic clock, so the processes' arrivals at one rendezvous can be compared (their skew).
/// </summary>
internal static class WaitTimeline
{
    private static long[] _arrive = [], _leave = [];
    private static string?[] _what = [];

    /// <summary>Whether waits are recorded.</summary>
    public static bool Enabled { get; private set; }

    /// <summary>Number of entries recorded (steps' marks and waits).</summary>
    public static int Count { get; private set; }

    /// <summary>The name a step's mark is recorded with.</summary>
    public const string Step = "step";

    /// <summary>Allocates room for <paramref name="capacity"/> entries, clears the timeline and starts recording.</summary>
    public static void Start(int capacity)
    {
        (_arrive, _leave, _what) = (new long[capacity], new long[capacity], new string?[capacity]);
        Count = 0;
        Enabled = true;
    }

    /// <summary>Stops recording (the entries stay readable).</summary>
    public static void Stop() => Enabled = false;

    /// <summary>Marks the start of a step.</summary>
    public static void MarkStep()
    {
        long t = Stopwatch.GetTimestamp();
        Record(Step, t, t);
    }

    /// <summary>Records one wait (or mark): its name, arrival and departure timestamps.</summary>
    public static void Record(string what, long arrive, long leave)
    {
        int i = Count;
        if (i >= _arrive.Length) return;
        (_arrive[i], _leave[i], _what[i]) = (arrive, leave, what);
        Count = i + 1;
    }

    /// <summary>Entry <paramref name="index"/>: name, arrival and departure timestamps.</summary>
    public static (string What, long Arrive, long Leave) Entry(int index) => (_what[index]!, _arrive[index], _leave[index]);
}
