using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SharpGrad.Distributed;

/// <summary>
/// The mean over the processes of one pinned buffer, in place, by a ring all-reduce built on point-to-point messages:
/// the buffer is cut in N chunks; in N − 1 reduce-scatter steps each process sends one chunk to its right neighbour and
/// adds the chunk it receives from its left one, so that it ends owning one chunk summed over all processes, which it
/// divides by N; in N − 1 all-gather steps the owned chunks go round the ring into every process's buffer.
/// </summary>
/// <remarks>
/// <para>Why not MPI_Iallreduce: Open MPI's non-blocking all-reduce (coll/libnbc) picks, for fewer than 4 processes or
/// an in-place call, a binomial tree: with 2 processes rank 1 sends the whole buffer to rank 0, which adds it into a
/// temporary buffer it mallocs on every call and sends the whole result back, while rank 1 waits. The ring moves
/// (N − 1)/N of the buffer each way per process, splits the additions evenly, and its buffers are allocated once.</para>
/// <para>Each process sends 2 (N − 1)/N of the buffer and adds (N − 1)/N of it. The schedule is fixed, so the result is
/// the same on every process (each chunk is summed once, by its owner, and copied) and from run to run; with 2 processes
/// it is (g₀ + g₁) / 2 exactly. It progresses only when <see cref="Progress"/> is called (Open MPI moves data only inside
/// MPI calls).</para>
/// </remarks>
internal sealed unsafe class RingAllReduce<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ProcessGroup _group;
    private readonly T[] _buffer, _scratch;
    private readonly int[] _chunkStart;
    private readonly nint _datatype;
    private readonly int _tag;
    private int _step = -1;
    private nint _send, _receive;

    /// <param name="group">The processes.</param>
    /// <param name="buffer">The values, pinned (MPI reads and writes it while the reduction runs).</param>
    /// <param name="datatype">MPI's handle for <typeparamref name="T"/>.</param>
    /// <param name="tag">A message tag no other ring in flight at the same time uses.</param>
    public RingAllReduce(ProcessGroup group, T[] buffer, nint datatype, int tag)
    {
        (_group, _buffer, _datatype, _tag) = (group, buffer, datatype, tag);
        int n = group.WorldSize;
        _chunkStart = new int[n + 1];
        for (int c = 0; c <= n; c++) _chunkStart[c] = (int)((long)buffer.Length * c / n);
        int largest = 0;
        for (int c = 0; c < n; c++) largest = Math.Max(largest, _chunkStart[c + 1] - _chunkStart[c]);
        _scratch = GC.AllocateArray<T>(Math.Max(largest, 1), pinned: true);
    }

    /// <summary>Whether no reduction is in flight.</summary>
    public bool Done => _step < 0;

    private int Steps => 2 * (_group.WorldSize - 1);

    /// <summary>Starts the reduction; the buffer must not be touched until <see cref="Progress"/> returns true.</summary>
    public void Start()
    {
        if (!Done) throw new InvalidOperationException("RingAllReduce: a reduction is already in flight on this buffer.");
        if (_group.WorldSize == 1) return;
        _step = 0;
        Post();
    }

    /// <summary>Lets the messages move; when a step's send and receive are both done, does its addition and starts the next. True once the mean is in the buffer.</summary>
    public bool Progress()
    {
        while (!Done)
        {
            if (!_group.Test(ref _receive) || !_group.Test(ref _send)) return false;
            int n = _group.WorldSize;
            if (_step < n - 1)
            {
                var own = Chunk(Mod(_group.Rank - _step - 1));
                var incoming = _scratch.AsSpan(0, own.Length);
                TensorPrimitives.Add<T>(own, incoming, own);
                if (_step == n - 2) TensorPrimitives.Divide<T>(own, T.CreateTruncating(n), own);
            }
            if (++_step == Steps) { _step = -1; return true; }
            Post();
        }
        return true;
    }

    /// <summary>Posts step <see cref="_step"/>'s receive (from the left neighbour) and send (to the right one).</summary>
    private void Post()
    {
        int n = _group.WorldSize, rank = _group.Rank, left = Mod(rank - 1), right = Mod(rank + 1);
        int sendChunk, receiveChunk;
        bool reduceScatter = _step < n - 1;
        if (reduceScatter) (sendChunk, receiveChunk) = (Mod(rank - _step), Mod(rank - _step - 1));
        else
        {
            int a = _step - (n - 1);
            (sendChunk, receiveChunk) = (Mod(rank + 1 - a), Mod(rank - a));
        }
        int receiveLength = _chunkStart[receiveChunk + 1] - _chunkStart[receiveChunk];
        int sendLength = _chunkStart[sendChunk + 1] - _chunkStart[sendChunk];
        void* target = reduceScatter ? Address(_scratch, 0) : Address(_buffer, _chunkStart[receiveChunk]);
        _receive = _group.StartReceive(target, receiveLength, _datatype, left, _tag);
        _send = _group.StartSend(Address(_buffer, _chunkStart[sendChunk]), sendLength, _datatype, right, _tag);
    }

    private Span<T> Chunk(int c) => _buffer.AsSpan(_chunkStart[c], _chunkStart[c + 1] - _chunkStart[c]);

    private int Mod(int r)
    {
        int n = _group.WorldSize;
        return ((r % n) + n) % n;
    }

    private static void* Address(T[] array, int index) => (void*)Marshal.UnsafeAddrOfPinnedArrayElement(array, index);
}
