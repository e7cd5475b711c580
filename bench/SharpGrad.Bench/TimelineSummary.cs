using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpGrad;
using SharpGrad.Distributed;

/// <summary>
/// <c>ddp-epoch --timeline 1</c>: every process's <see cref="WaitTimeline"/> gathered to every process and summarized
/// over the steps that have the epoch's usual sequence of rendezvous (the replays): per rendezvous, the time each rank
/// waited (median, p90, mean), when rank 1 arrived against rank 0 (median, p10, p90 of the difference, and the share of
/// steps in which rank 1 came later), and per rank the time between rendezvous (its work: the segment before the first
/// wait is the step's forward and backward pass with the hooks, the next ones what runs between waits, the last what
/// follows the last wait until the next step starts: the loading of the next batch) and the whole step, the waits of a
/// step together, and (<c>calm</c>) the means of the step, its waits and its segments over the steps that no descheduling
/// stretched; all in microseconds.
/// </summary>
internal static class TimelineSummary
{
    private static readonly string[] Kinds = [WaitTimeline.Step, "the gradient all-reduce (shared memory)", "a gather through shared memory", "the gradient all-reduce"];
    private static readonly string[] Short = ["step", "reduce", "gather", "ring"];

    public static string Gather(ProcessGroup group)
    {
        int n = WaitTimeline.Count;
        // Every process sends the same length: its count, then (kind, arrival, departure) per entry, times relative to rank 0's first.
        int cap = group.AllGather(Tensor.FromArray(new double[] { n }, 1)).ToArray<double>().Max() is var m ? (int)m : 0;
        long first = n > 0 ? WaitTimeline.Entry(0).Arrive : 0;
        long origin = (long)group.AllGather(Tensor.FromArray(new double[] { first }, 1)).ToArray<double>()[0];
        var mine = new double[1 + 3 * cap];
        mine[0] = n;
        for (int i = 0; i < n; i++)
        {
            var (what, a, l) = WaitTimeline.Entry(i);
            int k = Array.IndexOf(Kinds, what);
            (mine[1 + 3 * i], mine[2 + 3 * i], mine[3 + 3 * i]) = (k < 0 ? Kinds.Length : k, a - origin, l - origin);
        }
        var all = group.AllGather(Tensor.FromArray(mine, mine.Length)).ToArray<double>();
        int ranks = group.WorldSize;
        double us = 1e6 / Stopwatch.Frequency;
        // Per rank: steps as (start, waits[(kind, arrive, leave)]).
        var steps = new List<(double Start, List<(int Kind, double A, double L)> Waits)>[ranks];
        for (int r = 0; r < ranks; r++)
        {
            steps[r] = [];
            int off = r * mine.Length, count = (int)all[off];
            for (int i = 0; i < count; i++)
            {
                int k = (int)all[off + 1 + 3 * i];
                double a = all[off + 2 + 3 * i] * us, l = all[off + 3 + 3 * i] * us;
                if (k == 0) steps[r].Add((a, []));
                else if (steps[r].Count > 0) steps[r][^1].Waits.Add((k, a, l));
            }
        }
        int total = steps.Min(s => s.Count) - 1; // the last step has no next start
        if (total <= 0) return ",\"timeline\":null";
        // The usual pattern: rank 0's most frequent sequence of wait kinds.
        string Pattern(List<(int Kind, double A, double L)> w) => string.Join(',', w.Select(x => x.Kind));
        string pattern = steps[0].Take(total).GroupBy(s => Pattern(s.Waits)).OrderByDescending(g => g.Count()).First().Key;
        var used = Enumerable.Range(0, total).Where(i => Enumerable.Range(0, ranks).All(r => Pattern(steps[r][i].Waits) == pattern)).ToArray();
        int sites = pattern.Length == 0 ? 0 : pattern.Split(',').Length;
        var names = pattern.Length == 0 ? [] : pattern.Split(',').Select((k, j) => $"{j}:{(int.Parse(k, CultureInfo.InvariantCulture) < Short.Length ? Short[int.Parse(k, CultureInfo.InvariantCulture)] : "other")}").ToArray();
        var sb = new StringBuilder();
        string F(double x) => x.ToString("F1", CultureInfo.InvariantCulture);
        string Stats(IEnumerable<double> values)
        {
            var v = values.Order().ToArray();
            if (v.Length == 0) return "null";
            double Q(double q) => v[Math.Min(v.Length - 1, (int)(q * v.Length))];
            return $"{{\"median\":{F(Q(0.5))},\"p10\":{F(Q(0.1))},\"p90\":{F(Q(0.9))},\"mean\":{F(v.Average())}}}";
        }
        sb.Append(",\"timeline\":{\"steps\":").Append(used.Length).Append(",\"sites\":[").Append(string.Join(',', names.Select(x => $"\"{x}\""))).Append(']');
        sb.Append(",\"wait_us\":[");
        for (int j = 0; j < sites; j++)
            sb.Append(j > 0 ? "," : "").Append('[').Append(string.Join(',', Enumerable.Range(0, ranks).Select(r => Stats(used.Select(i => steps[r][i].Waits[j].L - steps[r][i].Waits[j].A))))).Append(']');
        sb.Append("],\"segment_us\":[");
        for (int j = 0; j <= sites; j++)
            sb.Append(j > 0 ? "," : "").Append('[').Append(string.Join(',', Enumerable.Range(0, ranks).Select(r => Stats(used.Select(i =>
            {
                var w = steps[r][i].Waits;
                double from = j == 0 ? steps[r][i].Start : w[j - 1].L, to = j == sites ? steps[r][i + 1].Start : w[j].A;
                return to - from;
            }))))).Append(']');
        sb.Append("],\"step_us\":[").Append(string.Join(',', Enumerable.Range(0, ranks).Select(r => Stats(used.Select(i => steps[r][i + 1].Start - steps[r][i].Start))))).Append(']');
        // Per rank, the waits of a step together; and the means over the steps that no descheduling stretched (both ranks'
        // step at most 1.5 times its median): wait, segments and step, which add up.
        sb.Append(",\"wait_total_us\":[").Append(string.Join(',', Enumerable.Range(0, ranks).Select(r => Stats(used.Select(i => steps[r][i].Waits.Sum(w => w.L - w.A)))))).Append(']');
        var stepMedian = Enumerable.Range(0, ranks).Select(r => used.Select(i => steps[r][i + 1].Start - steps[r][i].Start).Order().ElementAt(used.Length / 2)).ToArray();
        var calm = used.Where(i => Enumerable.Range(0, ranks).All(r => steps[r][i + 1].Start - steps[r][i].Start <= 1.5 * stepMedian[r])).ToArray();
        string Mean(Func<int, int, double> f) => "[" + string.Join(',', Enumerable.Range(0, ranks).Select(r => F(calm.Length == 0 ? 0 : calm.Average(i => f(r, i))))) + "]";
        sb.Append(",\"calm\":{\"steps\":").Append(calm.Length).Append(",\"step_us\":").Append(Mean((r, i) => steps[r][i + 1].Start - steps[r][i].Start));
        sb.Append(",\"wait_us\":[").Append(string.Join(',', Enumerable.Range(0, sites).Select(j => Mean((r, i) => steps[r][i].Waits[j].L - steps[r][i].Waits[j].A)))).Append(']');
        sb.Append(",\"segment_us\":[").Append(string.Join(',', Enumerable.Range(0, sites + 1).Select(j => Mean((r, i) =>
        {
            var w = steps[r][i].Waits;
            return (j == sites ? steps[r][i + 1].Start : w[j].A) - (j == 0 ? steps[r][i].Start : w[j - 1].L);
        })))).Append("]}");
        if (ranks == 2)
        {
            sb.Append(",\"arrive_skew_us\":[");
            for (int j = 0; j < sites; j++)
                sb.Append(j > 0 ? "," : "").Append(Stats(used.Select(i => steps[1][i].Waits[j].A - steps[0][i].Waits[j].A)));
            sb.Append("],\"rank1_later\":[").Append(string.Join(',', Enumerable.Range(0, sites).Select(j =>
                ((double)used.Count(i => steps[1][i].Waits[j].A > steps[0][i].Waits[j].A) / used.Length).ToString("F3", CultureInfo.InvariantCulture)))).Append(']');
            sb.Append(",\"start_skew_us\":").Append(Stats(used.Select(i => steps[1][i].Start - steps[0][i].Start)));
        }
        return sb.Append('}').ToString();
    }
}
