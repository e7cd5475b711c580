namespace SharpGrad;

/// <summary>
/// A seeded pseudo-random number generator (PyTorch: <c>torch.Generator</c>), the only source of randomness in
/// SharpGrad, so that a seed fixes every result.
/// </summary>
/// <remarks>
/// The algorithm is fixed and documented so that streams are reproducible across versions and platforms:
/// the 64-bit seed is expanded by SplitMix64 into the 256-bit state of xoshiro256** (Blackman and Vigna, 2018);
/// uniform doubles are the top 53 bits of one output times 2^-53, in [0, 1); standard normals come in pairs from the
/// Box–Muller transform of two uniforms, sqrt(-2 ln(1 - u1)) (cos 2πu2, sin 2πu2). Float32 tensors are filled with
/// these doubles rounded to float. The streams differ from PyTorch's (which uses Mersenne Twister), by design.
/// </remarks>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareNormal;
    private bool _hasSpare;

    /// <summary>Creates a generator from a seed; equal seeds give equal streams.</summary>
    public Generator(ulong seed = 0) => ManualSeed(seed);

    /// <summary>Creates a generator from a (possibly negative) integer seed.</summary>
    public Generator(int seed) : this(unchecked((ulong)seed)) { }

    /// <summary>The seed this generator was last seeded with.</summary>
    public ulong Seed { get; private set; }

    /// <summary>Re-seeds the generator (PyTorch: <c>manual_seed</c>).</summary>
    public Generator ManualSeed(ulong seed)
    {
        Seed = seed;
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        _hasSpare = false;
        return this;
    }

    /// <summary>The full state (for checkpoints): the four xoshiro words, the cached normal and whether it is set.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, BitConverter.DoubleToUInt64Bits(_spareNormal), _hasSpare ? 1UL : 0UL, Seed];

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    public void SetState(ulong[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != 7) throw new ArgumentException($"A generator state has 7 words; got {state.Length}.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _spareNormal = BitConverter.UInt64BitsToDouble(state[4]);
        _hasSpare = state[5] != 0;
        Seed = state[6];
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        if (Capture.AnyActive) Capture.Active?.DataRead("drawing random numbers (a plan would replay the same ones)");
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        ulong range = (ulong)maxExclusive;
        while (true)
        {
            UInt128 product = (UInt128)NextUInt64() * range;
            ulong low = (ulong)product;
            if (low >= range || low >= (0UL - range) % range) return (int)(product >> 64);
        }
    }

    /// <summary>A standard normal double (Box–Muller).</summary>
    public double NextNormal()
    {
        if (_hasSpare) { _hasSpare = false; return _spareNormal; }
        double u1 = NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(1.0 - u1)); // 1 - u1 is in (0, 1], so the log is finite
        double theta = 2.0 * Math.PI * u2;
        _spareNormal = r * Math.Sin(theta);
        _hasSpare = true;
        return r * Math.Cos(theta);
    }

    /// <summary>A uniformly random permutation of 0..n-1 (Fisher–Yates), e.g. for shuffling a data set.</summary>
    public int[] Permutation(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>The generator used when none is passed: seeded with 0 at start-up.</summary>
    public static Generator Default { get; } = new(0UL);
}
