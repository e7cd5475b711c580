namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Hooks run when this leaf's gradient of a backward pass is final (see <see cref="RegisterPostAccumulateGradHook"/>).</summary>
    internal Action<Tensor>[]? PostAccumulateGradHooks;

    /// <summary>
    /// Registers <paramref name="hook"/> to run, with this leaf, as soon as a <see cref="Backward()"/> pass has added
    /// this leaf's whole gradient of the pass to <see cref="Grad"/> — before the rest of the pass has finished, once no
    /// node still to run can send it more (PyTorch: <c>register_post_accumulate_grad_hook</c>). A pass that sends the
    /// leaf no gradient does not run it. Data-parallel training uses it to start reducing a gradient while the backward
    /// pass goes on; <see cref="Autograd.QueueCallback"/> gives a hook a way to act once the pass is over.
    /// </summary>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
    /// <exception cref="InvalidOperationException">The tensor is not a leaf.</exception>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (GradFn is not null) throw new InvalidOperationException("RegisterPostAccumulateGradHook: only a leaf tensor (a parameter) has an accumulated gradient; this one is the result of " + GradFn.Name + ".");
        lock (this)
        {
            var hooks = PostAccumulateGradHooks ?? [];
            PostAccumulateGradHooks = [.. hooks, hook];
        }
        Interlocked.Increment(ref Autograd.s_hookCount);
        return new HookHandle(this, hook);
    }

    private sealed class HookHandle(Tensor tensor, Action<Tensor> hook) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (tensor)
            {
                var hooks = tensor.PostAccumulateGradHooks!;
                int i = System.Array.IndexOf(hooks, hook);
                tensor.PostAccumulateGradHooks = hooks.Length == 1 ? null : [.. hooks[..i], .. hooks[(i + 1)..]];
            }
            Interlocked.Decrement(ref Autograd.s_hookCount);
        }
    }
}

public static partial class Autograd
{
    /// <summary>Number of hooks registered on any tensor: while it is 0 a pass does no hook bookkeeping at all.</summary>
    internal static int s_hookCount;

    /// <summary>The callbacks queued during the pass in progress on this thread (null outside a pass).</summary>
    [ThreadStatic] private static List<Action>? t_callbacks;

    /// <summary>
    /// Queues <paramref name="callback"/> to run when the backward pass in progress on this thread is over, after every
    /// leaf's gradient has been written (PyTorch: <c>Variable._execution_engine.queue_callback</c>). Call it from a
    /// hook (<see cref="Tensor.RegisterPostAccumulateGradHook"/>); callbacks run in the order queued.
    /// </summary>
    /// <exception cref="InvalidOperationException">No backward pass is in progress on this thread.</exception>
    public static void QueueCallback(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        (t_callbacks ?? throw new InvalidOperationException("QueueCallback: no backward pass is in progress on this thread; call it from a gradient hook."))
            .Add(callback);
    }

    /// <summary>
    /// For each leaf with hooks that the pass reaches, the position in <paramref name="order"/> of the last node to run
    /// that reads it (the smallest index: the sweep runs from the end), as (index, leaf) pairs in ascending index order.
    /// </summary>
    private static List<(int Index, Tensor Leaf)>? HookSchedule(Node[] order, int count)
    {
        if (Volatile.Read(ref s_hookCount) == 0) return null;
        List<(int, Tensor)>? schedule = null;
        HashSet<Tensor>? seen = null;
        for (int n = 0; n < count; n++)
            foreach (var input in order[n].Inputs)
                if (input.GradFn is null && input.RequiresGrad && input.PostAccumulateGradHooks is not null
                    && (seen ??= new(ReferenceEqualityComparer.Instance)).Add(input))
                    (schedule ??= []).Add((n, input));
        return schedule;
    }

    private static void RunHooks(Tensor leaf)
    {
        var hooks = leaf.PostAccumulateGradHooks;
        if (hooks is null) return;
        foreach (var hook in hooks) hook(leaf);
    }
}
