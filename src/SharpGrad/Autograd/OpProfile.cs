using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SharpGrad;

/// <summary>
/// A coarse wall-clock profile of eager steps, compiled in only with <c>-p:SharpGradProfile=true</c> (symbol
/// SHARPGRAD_PROFILE; without it every <see cref="Mark(string)"/> call in the library is removed by the compiler). Each mark
/// charges the time since the previous mark on the thread to its label: a forward op's label is charged when it records
/// its node (so the time of unrecorded work just before it, views and copies, is charged to it too), a backward node's
/// label when its closure and the accumulation of its gradients are done. For the bench runner's
/// <c>--workload transformer-step --profile</c>; not thread-safe (marks come from the thread running the step).
/// </summary>
internal static class OpProfile
{
    private static readonly Dictionary<string, (long Ticks, long Count)> s_entries = [];
    private static long s_last = Stopwatch.GetTimestamp();
    private static bool s_on;

    /// <summary>
    /// The clock marks read (default <see cref="Stopwatch.GetTimestamp"/>) and its ticks per second: the bench runner sets
    /// a thread-CPU clock in nanoseconds for single-thread profiles on a shared machine.
    /// </summary>
    internal static (Func<long> Now, long Frequency) Clock { get; set; } = (Stopwatch.GetTimestamp, Stopwatch.Frequency);

    /// <summary>Whether the library was built with the profile compiled in.</summary>
    internal static bool CompiledIn =>
#if SHARPGRAD_PROFILE
        true;
#else
        false;
#endif

    /// <summary>Starts (or restarts) charging marks; clears nothing.</summary>
    internal static void Start()
    {
        s_on = true;
        s_last = Clock.Now();
    }

    /// <summary>Stops charging marks.</summary>
    internal static void Stop() => s_on = false;

    /// <summary>Forgets every entry.</summary>
    internal static void Clear() => s_entries.Clear();

    /// <summary>Charges the time since the last mark to <paramref name="label"/> (library call sites: removed unless SHARPGRAD_PROFILE).</summary>
    [Conditional("SHARPGRAD_PROFILE")]
    internal static void Mark(string label) => Charge(label);

    /// <summary>As <see cref="Mark(string)"/>, with a prefix (no string is built unless the profile is on).</summary>
    [Conditional("SHARPGRAD_PROFILE")]
    internal static void Mark(string prefix, string label)
    {
        if (s_on) Charge(prefix + label);
    }

    /// <summary>Charges the time since the last mark to <paramref name="label"/> (for the caller's own phases).</summary>
    internal static void Charge(string label)
    {
        if (!s_on) return;
        long now = Clock.Now();
        var (ticks, count) = s_entries.GetValueOrDefault(label);
        s_entries[label] = (ticks + now - s_last, count + 1);
        s_last = Clock.Now();
    }

    /// <summary>The label prefix of <see cref="Within"/>'s entries (left out of the total).</summary>
    internal const string WithinPrefix = "  in ";

    /// <summary>
    /// Adds <paramref name="ticks"/> of <see cref="Clock"/> time to a breakdown entry of an op, labelled
    /// <see cref="WithinPrefix"/> + <paramref name="label"/>: a kernel's parts, whose time the op's own entry already
    /// holds, so these entries are left out of the report's total. Called from the thread running the step.
    /// </summary>
    [Conditional("SHARPGRAD_PROFILE")]
    internal static void Within(string label, long ticks)
    {
        if (!s_on) return;
        var key = WithinPrefix + label;
        var (sum, count) = s_entries.GetValueOrDefault(key);
        s_entries[key] = (sum + ticks, count + 1);
    }

    /// <summary>Whether <see cref="Clock"/> is wall time (the default), not a thread's CPU time.</summary>
    internal static bool WallClock => Clock.Frequency == Stopwatch.Frequency && Clock.Now == (Func<long>)Stopwatch.GetTimestamp;

    /// <summary>Entries as JSON lines, largest first: label, milliseconds per <paramref name="steps"/>, calls per step.</summary>
    internal static string Report(int steps)
    {
        var sb = new StringBuilder();
        double total = s_entries.Where(e => !e.Key.StartsWith(WithinPrefix, StringComparison.Ordinal)).Sum(e => e.Value.Ticks) * 1e3 / Clock.Frequency / steps;
        sb.Append(CultureInfo.InvariantCulture, $"{{\"total_ms\":{total:F2},\"entries\":[");
        bool first = true;
        foreach (var (label, (ticks, count)) in s_entries.OrderByDescending(e => e.Value.Ticks))
        {
            double ms = ticks * 1e3 / Clock.Frequency / steps;
            sb.Append(CultureInfo.InvariantCulture, $"{(first ? "" : ",")}\n  {{\"label\":\"{label}\",\"ms\":{ms:F3},\"calls\":{(double)count / steps:F1}}}");
            first = false;
        }
        sb.Append("]}");
        return sb.ToString();
    }
}
