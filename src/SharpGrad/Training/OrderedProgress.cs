namespace SharpGrad.Training;

/// <summary>
/// Hands the fit loop's reports to the caller's <see cref="IProgress{T}"/> in order, and lets the fit's task finish only
/// after the last one has been handled.
/// </summary>
/// <remarks>
/// <see cref="Progress{T}"/> posts each report to the synchronization context it was made on, or to the thread pool when
/// there is none (a console app, a test): there two reports can run at the same time, the later first, and the last
/// can run after the awaited fit has returned (an "epoch 80" line after "done"). So a <see cref="Progress{T}"/> gets a
/// report only once its handler has finished the previous one (its <see cref="Progress{T}.ProgressChanged"/> event is
/// raised after the handler), the rest wait in a queue, and <see cref="DrainAsync"/> completes when the queue is empty.
/// Any other <see cref="IProgress{T}"/> is called directly on the training thread, which is already in order.
/// </remarks>
internal sealed class OrderedProgress<T> : IProgress<T>
{
    private readonly IProgress<T> _inner;
    private readonly Progress<T>? _posting;
    private readonly Queue<T> _waiting = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _inFlight, _finishing;

    private OrderedProgress(IProgress<T> inner)
    {
        _inner = inner;
        if (inner is Progress<T> posting)
        {
            _posting = posting;
            posting.ProgressChanged += Delivered;
        }
    }

    /// <summary>Wraps <paramref name="progress"/> (null stays null).</summary>
    public static OrderedProgress<T>? Wrap(IProgress<T>? progress) => progress is null ? null : new OrderedProgress<T>(progress);

    public void Report(T value)
    {
        if (_posting is null) { _inner.Report(value); return; }
        lock (_waiting)
        {
            if (_inFlight) { _waiting.Enqueue(value); return; }
            _inFlight = true;
        }
        _inner.Report(value);
    }

    private void Delivered(object? sender, T value)
    {
        T next;
        lock (_waiting)
        {
            if (!_waiting.TryDequeue(out next!))
            {
                _inFlight = false;
                if (_finishing) _drained.TrySetResult();
                return;
            }
        }
        _inner.Report(next);
    }

    /// <summary>Completes once every report made so far has been handled; no more reports may follow.</summary>
    public Task DrainAsync()
    {
        if (_posting is null) return Task.CompletedTask;
        lock (_waiting)
        {
            _finishing = true;
            if (!_inFlight) _drained.TrySetResult();
        }
        return _drained.Task.ContinueWith(_ => _posting.ProgressChanged -= Delivered, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
