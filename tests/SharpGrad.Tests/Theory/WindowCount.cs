namespace SharpGrad.Tests.Theory;

/// <summary>
/// An independent reference for conv/pool output sizes: slide the window along a padded axis and count, without the
/// closed-form formula.
/// </summary>
internal static class WindowCount
{
    /// <summary>
    /// Windows of k taps spaced d apart, starting at -p, -p + s, ... over an axis of n elements padded by p on both
    /// sides. Floor mode keeps the windows that fit entirely inside the padded axis. Ceil mode keeps adding windows
    /// while the previous one had not reached the last padded element, but never one that starts in the right padding
    /// (PyTorch's ceil_mode, quirks included).
    /// </summary>
    public static int Count(int n, int k, int s, int p, int d, bool ceilMode = false)
    {
        int lastPadded = n + p - 1, extent = d * (k - 1);
        int count = 0;
        for (int start = -p; ; start += s)
        {
            int end = start + extent;
            if (!ceilMode)
            {
                if (end > lastPadded) break;
            }
            else
            {
                if (start >= n) break;                                  // starts in the right padding
                // Stop once the previous window (for the first one, the virtual window one stride before it) already
                // reached the last padded element: so a first window may overhang the padded end by less than a stride.
                if (start - s + extent >= lastPadded) break;
            }
            count++;
        }
        return count;
    }
}
