namespace SharpGrad.Distributed;

/// <summary>
/// How a process writes the values another process reads next into the shared-memory window (the other processes' part
/// of its gradients, its updated chunk of the parameters in a replayed sharded step): <see cref="DistributedDataParallel.WindowStores"/>.
/// The values are the same either way; only the time differs, and which is faster depends on where the two processes'
/// cores are: an ordinary store to a line the other core read the step before waits for that core to give it up, cheap
/// when the line has gone to a cache both cores share, expensive across caches; a non-temporal store never waits for
/// it but sends the line to memory, where the reader then fetches it from.
/// </summary>
public enum WindowStores
{
    /// <summary>
    /// Measures, in compiled sharded steps, how long the update that writes the window takes with each kind of store (a
    /// few steps of each every few hundred steps) and uses the faster; non-temporal until measured.
    /// </summary>
    Adaptive,

    /// <summary>Ordinary stores, and every gradient product that can writes straight into the slot.</summary>
    Ordinary,

    /// <summary>Non-temporal stores (<c>MOVNTPS</c>-style), fenced before each publication.</summary>
    Streaming,
}
