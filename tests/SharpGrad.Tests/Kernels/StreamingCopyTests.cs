using System.Runtime.InteropServices;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

public unsafe class StreamingCopyTests
{
    /// <summary>
    /// The non-temporal copy writes exactly the source's bits (NaN payloads, negative zeros and subnormals included) at
    /// every alignment of the destination and every length around the vector width, and nothing outside the range.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(1000)]
    public void CopiesTheSourceBitsAtEveryAlignment(int length)
    {
        var rng = new Random(length + 1);
        var floats = new float[length];
        for (int i = 0; i < length; i++) floats[i] = BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
        if (length > 2) (floats[0], floats[1], floats[2]) = (-0f, BitConverter.Int32BitsToSingle(0x7FC01234), float.Epsilon);
        var doubles = new double[length];
        for (int i = 0; i < length; i++) doubles[i] = BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue));
        const int Guard = 32;
        nint memory = (nint)NativeMemory.AlignedAlloc((nuint)((length + 2 * Guard) * sizeof(double)), 64);
        try
        {
            for (int shift = 0; shift < 16; shift++)
            {
                Check(floats, (float*)memory, shift, -1f);
                Check(doubles, (double*)memory, shift, -1d);
            }
        }
        finally { NativeMemory.AlignedFree((void*)memory); }

        void Check<T>(T[] source, T* buffer, int shift, T fill) where T : unmanaged
        {
            var all = new Span<T>(buffer, length + 2 * Guard);
            all.Fill(fill);
            StreamingCopy.Copy<T>(source, buffer + shift);
            StreamingCopy.Fence();
            var bytes = MemoryMarshal.AsBytes(all.Slice(shift, length)).ToArray();
            Assert.Equal(MemoryMarshal.AsBytes(source.AsSpan()).ToArray(), bytes);
            for (int i = 0; i < all.Length; i++)
                if (i < shift || i >= shift + length) Assert.Equal(fill, all[i]);
        }
    }
}
