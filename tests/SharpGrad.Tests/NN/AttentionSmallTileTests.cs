using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The attention kernel's small-tile path (a slice whose keys fit one vector and whose queries fit one block: a short
/// context's attention) must give the bits of the blocked path, forward (output and log-sum-exp) and backward (the
/// three gradients), in float32 and float64, for every kind of problem it accepts: causal, unmasked with more keys than
/// queries, causal with fewer queries than keys, a Bool mask with a fully masked row, an additive mask, dropout, and
/// heads read in place from a packed projection.
/// </summary>
public class AttentionSmallTileTests
{
    public static TheoryData<string, int, int, int, int> Cases() => new()
    {
        { "causal", 16, 16, 32, 32 },  // the LM's per-head shape
        { "none", 5, 7, 4, 3 },
        { "causal", 4, 9, 6, 6 },
        { "bool", 6, 6, 4, 4 },
        { "additive", 3, 8, 5, 2 },
        { "dropout", 7, 7, 4, 4 },
        { "packed", 9, 9, 8, 8 },
        { "causal", 32, 16, 4, 4 },    // the most queries the path takes
        { "causal", 12, 12, 16, 32 },  // in-register transposes of 12 keys (the blocked path's are scalar at 12)
        { "none", 16, 10, 20, 17 },    // a 16-feature transpose plus a scalar tail
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SmallTilesGiveTheBlockedPathsBits(string kind, int lq, int lk, int d, int dv)
    {
        Check<float>(kind, lq, lk, d, dv);
        Check<double>(kind, lq, Math.Min(lk, 8), d, dv); // 8 doubles fill one AVX-512 vector
    }

    private static void Check<T>(string kind, int lq, int lk, int d, int dv) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int batch = 3, heads = 2, slices = batch * heads;
        var rng = new Random(lq * 1000 + lk * 10 + d);
        T[] Random(int n) => Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() * 4 - 2)).ToArray();
        bool packed = kind == "packed";
        if (packed) { lk = lq; dv = d; }
        int[]? offsets = null;
        T[] mask = [];
        if (kind is "bool" or "additive")
        {
            offsets = Enumerable.Range(0, slices).Select(n => n * lq * lk).ToArray();
            mask = Random(slices * lq * lk);
            if (kind == "bool")
            {
                for (int i = 0; i < mask.Length; i++) mask[i] = mask[i] > T.CreateTruncating(-1) ? T.One : T.Zero;
                for (int c = 0; c < lk; c++) mask[2 * lq * lk + 3 * lk + c] = T.Zero; // slice 2, query 3 attends nothing
            }
        }
        var problem = new FlashAttention.Problem(slices, lq, lk, d, dv, 1 / Math.Sqrt(d), kind == "causal", kind == "dropout" ? 0.3 : 0, 77,
            offsets, lk, 1, kind == "bool", packed ? heads : 0);
        T[] q, k, v;
        int oLength = slices * lq * dv;
        if (packed)
        {
            q = k = v = Random(batch * lq * 3 * heads * d);
        }
        else
        {
            q = Random(slices * lq * d);
            k = Random(slices * lk * d);
            v = Random(slices * lk * dv);
        }
        var go = Random(oLength);

        (T[] O, T[] Lse, T[] Gq, T[] Gk, T[] Gv) Run(bool blocked)
        {
            var pr = problem with { Blocked = blocked };
            var o = new T[oLength];
            var lse = new T[slices * lq];
            FlashAttention.Forward<T>(pr, q, k, v, mask, o, lse, 0, slices);
            var gq = new T[q.Length];
            var gk = packed ? gq : new T[k.Length];
            var gv = packed ? gq : new T[v.Length];
            FlashAttention.Backward<T>(pr, q, k, v, mask, o, lse, go, gq, gk, gv, 0, slices);
            return (o, lse, gq, gk, gv);
        }

        if (lk <= Vector256<T>.Count && Vector256.IsHardwareAccelerated) Assert.True(FlashAttention.SmallTileWidth<T>(problem) > 0);
        Assert.Equal(0, FlashAttention.SmallTileWidth<T>(problem with { Blocked = true }));
        var blocked = Run(true);
        var small = Run(false);
        SameBits(blocked.O, small.O);
        SameBits(blocked.Lse, small.Lse);
        SameBits(blocked.Gq, small.Gq);
        SameBits(blocked.Gk, small.Gk);
        SameBits(blocked.Gv, small.Gv);
        if (kind == "bool")
        {
            Assert.True(T.IsNaN(small.O[(2 * lq + 3) * dv]), "a fully masked query's output is NaN");
            Assert.True(T.IsNegativeInfinity(small.Lse[2 * lq + 3]));
        }
        Assert.Contains(small.Gq, x => x != T.Zero); // the gradients are not trivially equal
    }

    private static void SameBits<T>(T[] expected, T[] actual) where T : unmanaged
    {
        Assert.Equal(expected, actual);
        Assert.True(MemoryMarshal.AsBytes(expected.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(actual.AsSpan())), "same values but different bits (a zero's sign)");
    }
}
