using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// Moves between the Winograd jobs' lane-major stages (element k of every tile of a strip in one row of NR lanes) and
/// the tiles in the images, eight tiles at a time through an 8 x 8 transpose in registers, where the scalar code moved
/// one float per load and store. Only data is moved (plus, where stated, the same single additions as the scalar
/// code, in the same order), so results are bit for bit those of the scalar loops, which remain for tiles that
/// overhang the image and for machines without AVX.
/// </summary>
internal static unsafe class WinogradTiles
{
    /// <summary>When set, Winograd calls started on this thread keep the scalar moves (tests: the two must agree bit for bit).</summary>
    [ThreadStatic] internal static bool t_scalar;

    /// <summary>Whether Winograd calls started on this thread use the eight-tile moves (read once per call, on the calling thread).</summary>
    internal static bool Enabled => Avx.IsSupported && !t_scalar;

    /// <summary>
    /// Where eight tiles of the strip (lanes <paramref name="lane0"/> .. + 7) start in <paramref name="data"/>
    /// ([images, channels, h, w]; tile k of <paramref name="size"/> x <paramref name="size"/> at row top − padH, column
    /// left − padW of plane (image, <paramref name="channel"/>)), into <paramref name="at"/>; false when one of them
    /// does not lie wholly inside its plane (those go the scalar way).
    /// </summary>
    internal static bool Locate8(float* data, int channels, int channel, int h, int w, int padH, int padW, int size,
        int* image, int* top, int* left, int lane0, float** at)
    {
        for (int k = 0; k < 8; k++)
        {
            int y0 = top[lane0 + k] - padH, x0 = left[lane0 + k] - padW;
            if (y0 < 0 || x0 < 0 || y0 + size > h || x0 + size > w) return false;
            at[k] = data + ((nint)image[lane0 + k] * channels + channel) * h * w + (nint)y0 * w + x0;
        }
        return true;
    }

    /// <summary>
    /// Eight 8 x 8 windows into the stage: window k (lane <c>lane0 + k</c>) has its top-left float at
    /// <c>windows[k]</c> and rows <paramref name="rowStride"/> apart; element (a, b) goes to
    /// <c>stage[(a·8 + b)·nr + lane0 + k]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void GatherWindows8(float** windows, nint rowStride, float* stage, int nr, int lane0)
    {
        for (int a = 0; a < 8; a++)
        {
            nint off = a * rowStride;
            var r0 = Vector256.Load(windows[0] + off); var r1 = Vector256.Load(windows[1] + off);
            var r2 = Vector256.Load(windows[2] + off); var r3 = Vector256.Load(windows[3] + off);
            var r4 = Vector256.Load(windows[4] + off); var r5 = Vector256.Load(windows[5] + off);
            var r6 = Vector256.Load(windows[6] + off); var r7 = Vector256.Load(windows[7] + off);
            GemmPacking.Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* to = stage + a * 8 * nr + lane0;
            Vector256.Store(r0, to); Vector256.Store(r1, to + nr); Vector256.Store(r2, to + 2 * nr); Vector256.Store(r3, to + 3 * nr);
            Vector256.Store(r4, to + 4 * nr); Vector256.Store(r5, to + 5 * nr); Vector256.Store(r6, to + 6 * nr); Vector256.Store(r7, to + 7 * nr);
        }
    }

    /// <summary>
    /// The adjoint of <see cref="GatherWindows8"/> with addition: window k gets <c>+= stage[(a·8 + b)·nr + lane0 + k]</c>
    /// at (a, b), window after window in lane order (windows of one image overlap, so each position receives its
    /// additions in the scalar code's order). <paramref name="scratch"/> holds 64·8 floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddWindows8(float* stage, int nr, int lane0, float** windows, nint rowStride, float* scratch)
    {
        for (int a = 0; a < 8; a++)
        {
            float* from = stage + a * 8 * nr + lane0;
            var r0 = Vector256.Load(from); var r1 = Vector256.Load(from + nr); var r2 = Vector256.Load(from + 2 * nr); var r3 = Vector256.Load(from + 3 * nr);
            var r4 = Vector256.Load(from + 4 * nr); var r5 = Vector256.Load(from + 5 * nr); var r6 = Vector256.Load(from + 6 * nr); var r7 = Vector256.Load(from + 7 * nr);
            GemmPacking.Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* to = scratch + a * 8;
            Vector256.Store(r0, to); Vector256.Store(r1, to + 64); Vector256.Store(r2, to + 128); Vector256.Store(r3, to + 192);
            Vector256.Store(r4, to + 256); Vector256.Store(r5, to + 320); Vector256.Store(r6, to + 384); Vector256.Store(r7, to + 448);
        }
        for (int k = 0; k < 8; k++)
        {
            float* window = windows[k], rows = scratch + k * 64;
            for (int a = 0; a < 8; a++)
            {
                float* to = window + a * rowStride;
                Vector256.Store(Vector256.Load(to) + Vector256.Load(rows + a * 8), to);
            }
        }
    }

    /// <summary>
    /// Eight 4 x 4 tiles out of the stage: element (a, b) of tile k, <c>stage[(a·4 + b)·nr + lane0 + k]</c> plus
    /// <paramref name="bias"/>, is stored at <c>tiles[k] + a·rowStride + b</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScatterTiles4(float* stage, int nr, int lane0, float** tiles, nint rowStride, float bias)
    {
        var b = Vector256.Create(bias);
        for (int half = 0; half < 2; half++)
        {
            float* from = stage + half * 8 * nr + lane0;
            var r0 = Vector256.Load(from); var r1 = Vector256.Load(from + nr); var r2 = Vector256.Load(from + 2 * nr); var r3 = Vector256.Load(from + 3 * nr);
            var r4 = Vector256.Load(from + 4 * nr); var r5 = Vector256.Load(from + 5 * nr); var r6 = Vector256.Load(from + 6 * nr); var r7 = Vector256.Load(from + 7 * nr);
            GemmPacking.Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            nint off = 2 * half * rowStride;
            StoreRows(r0 + b, tiles[0] + off, rowStride); StoreRows(r1 + b, tiles[1] + off, rowStride);
            StoreRows(r2 + b, tiles[2] + off, rowStride); StoreRows(r3 + b, tiles[3] + off, rowStride);
            StoreRows(r4 + b, tiles[4] + off, rowStride); StoreRows(r5 + b, tiles[5] + off, rowStride);
            StoreRows(r6 + b, tiles[6] + off, rowStride); StoreRows(r7 + b, tiles[7] + off, rowStride);
        }
    }

    /// <summary>The adjoint move of <see cref="ScatterTiles4"/> without bias: eight 4 x 4 tiles into the stage.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void GatherTiles4(float** tiles, nint rowStride, float* stage, int nr, int lane0)
    {
        for (int half = 0; half < 2; half++)
        {
            nint off = 2 * half * rowStride;
            var r0 = LoadRows(tiles[0] + off, rowStride); var r1 = LoadRows(tiles[1] + off, rowStride);
            var r2 = LoadRows(tiles[2] + off, rowStride); var r3 = LoadRows(tiles[3] + off, rowStride);
            var r4 = LoadRows(tiles[4] + off, rowStride); var r5 = LoadRows(tiles[5] + off, rowStride);
            var r6 = LoadRows(tiles[6] + off, rowStride); var r7 = LoadRows(tiles[7] + off, rowStride);
            GemmPacking.Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* to = stage + half * 8 * nr + lane0;
            Vector256.Store(r0, to); Vector256.Store(r1, to + nr); Vector256.Store(r2, to + 2 * nr); Vector256.Store(r3, to + 3 * nr);
            Vector256.Store(r4, to + 4 * nr); Vector256.Store(r5, to + 5 * nr); Vector256.Store(r6, to + 6 * nr); Vector256.Store(r7, to + 7 * nr);
        }
    }

    /// <summary>Two rows of four floats, <paramref name="rowStride"/> apart, as one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LoadRows(float* p, nint rowStride) => Vector256.Create(Vector128.Load(p), Vector128.Load(p + rowStride));

    /// <summary>The two halves of <paramref name="v"/> as two rows of four floats, <paramref name="rowStride"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(Vector256<float> v, float* p, nint rowStride)
    {
        Vector128.Store(v.GetLower(), p);
        Vector128.Store(v.GetUpper(), p + rowStride);
    }
}
