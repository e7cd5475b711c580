using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Words for a character-level language model: a vocabulary whose index 0 is the boundary token '.', a seeded
/// train/validation split, and the fixed-context windows (previous K characters → next character) of a word list.
/// </summary>
public sealed class CharLmData
{
    /// <summary>The token framing every word at both ends (and padding contexts at a word's start).</summary>
    public const char Boundary = '.';

    private readonly Dictionary<char, int> _index;

    private CharLmData(string alphabet, IReadOnlyList<string> train, IReadOnlyList<string> validation, int dropped)
    {
        Alphabet = alphabet;
        Train = train;
        Validation = validation;
        Dropped = dropped;
        _index = new Dictionary<char, int>(alphabet.Length);
        for (int i = 0; i < alphabet.Length; i++) _index[alphabet[i]] = i;
    }

    /// <summary>The vocabulary: the boundary token, then every character of the kept words in ordinal order.</summary>
    public string Alphabet { get; }
    /// <summary>Number of tokens (alphabet length).</summary>
    public int VocabSize => Alphabet.Length;
    /// <summary>Training words.</summary>
    public IReadOnlyList<string> Train { get; }
    /// <summary>Validation words.</summary>
    public IReadOnlyList<string> Validation { get; }
    /// <summary>Words dropped because they hold a character outside ASCII letters and the apostrophe.</summary>
    public int Dropped { get; }

    /// <summary>Whether a word is kept: non-empty, only ASCII letters and apostrophes (so no boundary token inside).</summary>
    public static bool IsKept(string word) => word.Length > 0 && word.All(c => char.IsAsciiLetter(c) || c == '\'');

    /// <summary>
    /// Reads one word per line (surrounding whitespace trimmed, blank lines skipped, case kept), drops words failing
    /// <see cref="IsKept"/>, shuffles the rest with <paramref name="seed"/> and puts the last
    /// ⌈<paramref name="validationFraction"/>·n⌉ into validation.
    /// </summary>
    public static CharLmData Load(string path, ulong seed, double validationFraction = 0.1)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Word file '{path}' does not exist.", path);
        return FromWords(File.ReadLines(path), seed, validationFraction, path);
    }

    /// <summary>As <see cref="Load"/>, from words in memory.</summary>
    public static CharLmData FromWords(IEnumerable<string> lines, ulong seed, double validationFraction = 0.1, string source = "the word list")
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in (0, 1).");
        var words = new List<string>();
        int dropped = 0;
        foreach (var line in lines)
        {
            var w = line.Trim();
            if (w.Length == 0) continue;
            if (IsKept(w)) words.Add(w); else dropped++;
        }
        if (words.Count < 2) throw new InvalidDataException($"{source} has {words.Count} usable word(s); at least 2 are needed (one for training, one for validation).");
        var perm = new Generator(seed).Permutation(words.Count);
        int nVal = Math.Max(1, (int)Math.Ceiling(validationFraction * words.Count));
        if (nVal >= words.Count) nVal = words.Count - 1;
        int nTrain = words.Count - nVal;
        var train = new string[nTrain];
        var val = new string[nVal];
        for (int i = 0; i < words.Count; i++)
        {
            if (i < nTrain) train[i] = words[perm[i]]; else val[i - nTrain] = words[perm[i]];
        }
        var chars = new SortedSet<char>(words.SelectMany(w => w), Comparer<char>.Create((a, b) => a.CompareTo(b)));
        return new CharLmData(Boundary + new string([.. chars]), train, val, dropped);
    }

    /// <summary>The token index of a character.</summary>
    public int Encode(char c) => _index.TryGetValue(c, out int i) ? i
        : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Character '{c}' is not in the vocabulary."), nameof(c));

    /// <summary>The character of a token index.</summary>
    public char Decode(int token) => Alphabet[token];

    /// <summary>Next-character predictions in the words: |word| + 1 per word (every character, then the closing boundary).</summary>
    public static long CountPredictions(IReadOnlyList<string> words) => words.Sum(w => (long)w.Length + 1);

    /// <summary>
    /// Every next-character prediction of <paramref name="words"/>: contexts [n·K] (row-major, the K tokens before the
    /// target, left-padded with the boundary token) and targets [n]. Word "ab", K = 3 gives (...→a), (..a→b), (.ab→.).
    /// </summary>
    public (long[] Contexts, long[] Targets) Windows(IReadOnlyList<string> words, int context)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(context);
        long n = CountPredictions(words);
        var xs = new long[n * context];
        var ys = new long[n];
        long row = 0;
        var seq = new List<int>();
        foreach (var w in words)
        {
            seq.Clear();
            seq.Add(0);
            foreach (char c in w) seq.Add(Encode(c));
            seq.Add(0);
            for (int t = 1; t < seq.Count; t++, row++)
            {
                ys[row] = seq[t];
                for (int j = 0; j < context; j++)
                {
                    int src = t - context + j; // position in seq; before the word start means padding
                    xs[row * context + j] = src >= 0 ? seq[src] : 0;
                }
            }
        }
        return (xs, ys);
    }
    /// <summary>The target value of a position that is not a prediction (padding after a word's end, or a position another chunk scores).</summary>
    public const long Ignore = -1;

    /// <summary>Chunks of <paramref name="words"/> for <see cref="Sequences"/>: 1 per word, plus one per prediction beyond the first K.</summary>
    public static long CountChunks(IReadOnlyList<string> words, int context) => words.Sum(w => 1L + Math.Max(0, w.Length + 1 - context));

    /// <summary>
    /// Every next-character prediction of <paramref name="words"/> as chunks of K positions, each prediction scored in
    /// exactly one chunk. A word framed as ".w₁…wₙ." gives first the chunk of its first K tokens (".w₁…", right-padded
    /// with the boundary token), whose position j predicts token j + 1 for every j ≤ n (later positions are
    /// <see cref="Ignore"/>); then, if n + 1 &gt; K, for each prediction t = K + 1 … n + 1 the chunk of the K tokens
    /// before it, of which only the last position is scored. Inputs and targets are both [chunks·K], row-major.
    /// Word "ab", K = 2 gives inputs (. a), (a b) and targets (a b), (− .).
    /// </summary>
    /// <remarks>
    /// A model whose position j sees only positions ≤ j (causal) scores a prediction with the word's own characters
    /// before it — up to K of them — and never the characters after it, so the right padding changes nothing.
    /// </remarks>
    public (long[] Inputs, long[] Targets) Sequences(IReadOnlyList<string> words, int context)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(context);
        long chunks = CountChunks(words, context);
        var xs = new long[chunks * context];
        var ys = new long[chunks * context];
        Array.Fill(ys, Ignore);
        long row = 0;
        var seq = new List<int>();
        foreach (var w in words)
        {
            seq.Clear();
            seq.Add(0);
            foreach (char c in w) seq.Add(Encode(c));
            seq.Add(0);
            int last = seq.Count - 1; // predictions are of seq[1..last]
            long o = row * context;
            for (int j = 0; j < context && j < last; j++)
            {
                xs[o + j] = seq[j];
                ys[o + j] = seq[j + 1];
            }
            row++;
            for (int t = context + 1; t <= last; t++, row++)
            {
                o = row * context;
                for (int j = 0; j < context; j++) xs[o + j] = seq[t - context + j];
                ys[o + context - 1] = seq[t];
            }
        }
        return (xs, ys);
    }
}


/// <summary>
/// A next-character model over K tokens (Int64 [batch, K]): <see cref="ForwardSequence"/> gives the logits of every
/// position, [batch, K, vocab], position j predicting the token after input j from inputs 0…j only (causal);
/// <see cref="Module.Forward(Tensor)"/> gives the last position's, [batch, vocab], the next token after all K.
/// </summary>
public abstract class CharLanguageModel : Module
{
    /// <summary>Sets the shared sizes.</summary>
    protected CharLanguageModel(int vocabSize, int context)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(context);
        VocabSize = vocabSize;
        Context = context;
    }

    /// <summary>Number of tokens.</summary>
    public int VocabSize { get; }
    /// <summary>Context length K.</summary>
    public int Context { get; }

    /// <summary>Logits [batch, K, vocab] of every position of token sequences [batch, K]; position j depends on inputs 0…j only.</summary>
    public abstract Tensor ForwardSequence(Tensor input);

    /// <summary>Checks a context batch's shape and returns the batch size.</summary>
    protected int CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2 || input.Size(1) != Context)
            throw new ArgumentException($"{GetType().Name}: input must be token indices [batch, {Context}]; got shape {Shapes.Format(input.ShapeRef)}.", nameof(input));
        return input.Size(0);
    }
}

/// <summary>
/// The fixed-context embedding model (Bengio et al. 2003): the K characters' embeddings concatenated → Linear → tanh →
/// Linear to logits.
/// </summary>
public sealed class CharMlp : CharLanguageModel
{
    /// <summary>Creates the model.</summary>
    public CharMlp(int vocabSize, int context, int embeddingDim = 24, int hidden = 512, Generator? generator = null) : base(vocabSize, context)
    {
        Embedding = RegisterModule("embedding", new Embedding(vocabSize, embeddingDim, generator: generator));
        Hidden = RegisterModule("hidden", new Linear(context * embeddingDim, hidden, generator: generator));
        Head = RegisterModule("head", new Linear(hidden, vocabSize, generator: generator));
    }

    /// <summary>Token embedding.</summary>
    public Embedding Embedding { get; }
    /// <summary>Hidden layer on the concatenated embeddings.</summary>
    public Linear Hidden { get; }
    /// <summary>Output layer.</summary>
    public Linear Head { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        int b = CheckInput(input);
        var e = Embedding.Forward(input).Reshape(b, Context * Embedding.EmbeddingDim);
        return Head.Forward(Hidden.Forward(e).Tanh());
    }

    /// <summary>
    /// Position j is scored from the K tokens ending at input j, left-padded with the boundary token where the sequence
    /// has fewer (the same window <see cref="CharLmData.Windows"/> gives for that prediction).
    /// </summary>
    public override Tensor ForwardSequence(Tensor input)
    {
        int b = CheckInput(input);
        int k = Context;
        var tokens = input.To(DType.Int64).ToArray<long>();
        var windows = new long[(long)b * k * k];
        for (int r = 0; r < b; r++)
            for (int j = 0; j < k; j++)
            {
                long o = ((long)r * k + j) * k;
                for (int i = 0; i < k; i++)
                {
                    int src = j - k + 1 + i; // window of position j: inputs j-K+1 … j
                    windows[o + i] = src >= 0 ? tokens[(long)r * k + src] : 0;
                }
            }
        var e = Embedding.Forward(Tensor.FromArray(windows, b, k, k)).Reshape(b, k, k * Embedding.EmbeddingDim);
        return Head.Forward(Hidden.Forward(e).Tanh());
    }
}

/// <summary>Recurrent family for <see cref="CharRnn"/>.</summary>
public enum CharRnnKind
{
    /// <summary>Long short-term memory.</summary>
    Lstm,
    /// <summary>Gated recurrent unit.</summary>
    Gru,
}

/// <summary>Embedding → multi-layer LSTM or GRU (batch first) run over the K context characters → Linear on each state.</summary>
public sealed class CharRnn : CharLanguageModel
{
    /// <summary>Creates the model.</summary>
    public CharRnn(CharRnnKind kind, int vocabSize, int context, int embeddingDim = 64, int hidden = 256, int layers = 2, Generator? generator = null)
        : base(vocabSize, context)
    {
        Kind = kind;
        Embedding = RegisterModule("embedding", new Embedding(vocabSize, embeddingDim, generator: generator));
        Rnn = RegisterModule("rnn", kind == CharRnnKind.Lstm
            ? (Module)new LSTM(embeddingDim, hidden, layers, batchFirst: true, generator: generator)
            : new GRU(embeddingDim, hidden, layers, batchFirst: true, generator: generator));
        Head = RegisterModule("head", new Linear(hidden, vocabSize, generator: generator));
        HiddenSize = hidden;
    }

    /// <summary>LSTM or GRU.</summary>
    public CharRnnKind Kind { get; }
    /// <summary>Hidden size.</summary>
    public int HiddenSize { get; }
    /// <summary>Token embedding.</summary>
    public Embedding Embedding { get; }
    /// <summary>The recurrent stack.</summary>
    public Module Rnn { get; }
    /// <summary>Output layer.</summary>
    public Linear Head { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        int b = CheckInput(input);
        var h = RunRnn(input); // [b, K, hidden]
        return Head.Forward(h.Narrow(1, Context - 1, 1).Reshape(b, HiddenSize));
    }

    /// <inheritdoc/>
    public override Tensor ForwardSequence(Tensor input)
    {
        CheckInput(input);
        return Head.Forward(RunRnn(input));
    }

    /// <summary>
    /// The recurrent stack over the embedded tokens (told they are the embedding's rows: see
    /// <see cref="RecurrentBase.ForwardEmbedded"/>; and, without a padding row, that their gradient is the table's rows'
    /// as well: the embedded tokens are read by the stack alone).
    /// </summary>
    private Tensor RunRnn(Tensor input) => ((RecurrentBase)Rnn).ForwardEmbedded(Embedding.Forward(input), input, Embedding.Weight, tableGrad: Embedding.PaddingIdx is null);
}

/// <summary>
/// A causal pre-norm transformer: token + learned position embeddings → TransformerEncoder (norm first, GELU) → LayerNorm
/// → logits through the token embedding matrix itself (weight tying: one Tensor, so it is one parameter) plus a bias.
/// </summary>
public sealed class CharTransformer : CharLanguageModel
{
    /// <summary>Creates the model.</summary>
    public CharTransformer(int vocabSize, int context, int dModel = 128, int heads = 4, int layers = 4, double dropout = 0, Generator? generator = null)
        : base(vocabSize, context)
    {
        DModel = dModel;
        TokenEmbedding = RegisterModule("tok_emb", new Embedding(vocabSize, dModel, generator: generator));
        PositionEmbedding = RegisterModule("pos_emb", new Embedding(context, dModel, generator: generator));
        // Small embeddings (as GPT-2) so the tied output layer starts near uniform logits.
        Init.Normal(TokenEmbedding.Weight, 0, 0.02, generator);
        Init.Normal(PositionEmbedding.Weight, 0, 0.02, generator);
        var layer = new TransformerEncoderLayer(dModel, heads, 4 * dModel, dropout, TransformerActivation.Gelu, batchFirst: true, normFirst: true, generator: generator);
        Encoder = RegisterModule("encoder", new TransformerEncoder(layer, layers));
        Norm = RegisterModule("norm", new LayerNorm(dModel));
        HeadBias = RegisterParameter("head_bias", Tensor.Zeros([vocabSize]));
        _positions = Tensor.FromArray(Enumerable.Range(0, context).Select(i => (long)i).ToArray(), context);
    }

    private readonly Tensor _positions;

    /// <summary>Model width.</summary>
    public int DModel { get; }
    /// <summary>Token embedding; its weight is also the output projection.</summary>
    public Embedding TokenEmbedding { get; }
    /// <summary>Learned position embedding, one row per context position.</summary>
    public Embedding PositionEmbedding { get; }
    /// <summary>The pre-norm causal encoder stack.</summary>
    public TransformerEncoder Encoder { get; }
    /// <summary>Final LayerNorm.</summary>
    public LayerNorm Norm { get; }
    /// <summary>Output bias (the output weight is <see cref="TokenEmbedding"/>'s).</summary>
    public Tensor HeadBias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        int b = CheckInput(input);
        var x = TokenEmbedding.Forward(input) + PositionEmbedding.Forward(_positions); // [b, K, d]
        x = Encoder.Forward(x, null, null, isCausal: true);
        var last = Norm.Forward(x.Narrow(1, Context - 1, 1).Reshape(b, DModel));
        return Functional.Linear(last, TokenEmbedding.Weight, HeadBias);
    }

    /// <inheritdoc/>
    public override Tensor ForwardSequence(Tensor input)
    {
        CheckInput(input);
        var x = TokenEmbedding.Forward(input) + PositionEmbedding.Forward(_positions);
        x = Encoder.Forward(x, null, null, isCausal: true);
        return Functional.Linear(Norm.Forward(x), TokenEmbedding.Weight, HeadBias);
    }
}

/// <summary>Settings of <see cref="CharLm.Train"/>.</summary>
public sealed record CharLmOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Chunks per step (<see cref="CharLmData.Sequences"/>), drawn uniformly with replacement from the training chunks.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak learning rate of AdamW, annealed to 0 by a cosine schedule over <see cref="Steps"/>.</summary>
    public double LearningRate { get; init; } = 3e-3;
    /// <summary>AdamW's decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Global gradient-norm clip (≤ 0: none).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Seed of the batch sampler.</summary>
    public ulong Seed { get; init; }
    /// <summary>Validation words scored (0: all).</summary>
    public int ValidationWords { get; init; }
}

/// <summary>What <see cref="CharLm.Train"/> measured.</summary>
/// <param name="TrainLoss">Mean training cross-entropy (nats per character) over the last min(Steps, 50) steps.</param>
/// <param name="ValidationLoss">Mean cross-entropy over every next-character prediction of the validation words.</param>
/// <param name="TokensPerSecond">Scored predictions (every non-ignored position of the batches) per second of training (evaluation excluded).</param>
/// <param name="TrainSeconds">Wall time of the training steps.</param>
/// <param name="Losses">Training loss of every step.</param>
public sealed record CharLmResult(double TrainLoss, double ValidationLoss, double TokensPerSecond, double TrainSeconds, IReadOnlyList<double> Losses);

/// <summary>Building, training, scoring and sampling the character-level language models.</summary>
public static class CharLm
{
    /// <summary>The model family names accepted by <see cref="Create"/>.</summary>
    public static readonly IReadOnlyList<string> ModelNames = ["transformer", "lstm", "gru", "mlp"];

    /// <summary>
    /// The default peak AdamW learning rate of <paramref name="name"/>: 1e-3 for the transformer, 3e-3 for the LSTM, GRU
    /// and MLP. Measured on the word list at 3,000 steps (RESULTS.md): at 3e-3 the transformer ends at about 2.03-2.05
    /// nats, above the MLP; at 1e-3 it ends below it, in PyTorch 1.13 as in SharpGrad.
    /// </summary>
    public static double DefaultLearningRate(string name) => name?.ToLowerInvariant() switch
    {
        "transformer" => 1e-3,
        "lstm" or "gru" or "mlp" => 3e-3,
        _ => throw new ArgumentException($"Unknown model '{name}' (expected {string.Join(", ", ModelNames)}).", nameof(name)),
    };

    /// <summary>A model with the default sizes: transformer 4 layers × 4 heads, d = 128; LSTM/GRU 2 × 256; MLP 24-d embeddings, 512 hidden.</summary>
    public static CharLanguageModel Create(string name, int vocabSize, int context, Generator? generator = null) => name?.ToLowerInvariant() switch
    {
        "transformer" => new CharTransformer(vocabSize, context, generator: generator),
        "lstm" => new CharRnn(CharRnnKind.Lstm, vocabSize, context, generator: generator),
        "gru" => new CharRnn(CharRnnKind.Gru, vocabSize, context, generator: generator),
        "mlp" => new CharMlp(vocabSize, context, generator: generator),
        _ => throw new ArgumentException($"Unknown model '{name}' (expected {string.Join(", ", ModelNames)}).", nameof(name)),
    };

    /// <summary>
    /// Trains with AdamW, a cosine schedule and gradient clipping on the training words' chunks
    /// (<see cref="CharLmData.Sequences"/>), every scored position of every chunk in the loss, then scores the
    /// validation words.
    /// </summary>
    public static CharLmResult Train(CharLanguageModel model, CharLmData data, CharLmOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Steps <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Steps, "Steps must be positive.");
        if (options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "The batch size must be positive.");
        int k = model.Context, b = options.BatchSize;
        var (xs, ys) = data.Sequences(data.Train, k);
        int chunks = checked((int)(ys.LongLength / k));
        var parameters = model.Parameters().ToArray();
        var optimizer = new Optim.AdamW(parameters, options.LearningRate, weightDecay: options.WeightDecay);
        var schedule = new Optim.CosineAnnealingLR(optimizer, options.Steps);
        var rng = new Generator(options.Seed);
        var bx = new long[b * k];
        var by = new long[b * k];
        var losses = new double[options.Steps];
        long scored = 0;
        model.Train();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int step = 0; step < options.Steps; step++)
        {
            for (int i = 0; i < b; i++)
            {
                int row = rng.NextInt(chunks);
                Array.Copy(xs, (long)row * k, bx, (long)i * k, k);
                Array.Copy(ys, (long)row * k, by, (long)i * k, k);
            }
            // One scope per step: the step's activations and gradients go back to the pool for the next step to reuse.
            using var scope = new TensorScope();
            optimizer.ZeroGrad();
            var (loss, count) = SequenceLoss(model, bx, by, b, Reduction.Mean);
            loss.Backward();
            if (options.ClipNorm > 0) Utils.ClipGradNorm(parameters, options.ClipNorm);
            optimizer.Step();
            schedule.Step();
            losses[step] = loss.Item();
            scored += count;
        }
        clock.Stop();
        int tail = Math.Min(options.Steps, 50);
        double trainLoss = losses.Skip(options.Steps - tail).Average();
        var val = options.ValidationWords > 0 ? data.Validation.Take(options.ValidationWords).ToArray() : data.Validation;
        double valLoss = Evaluate(model, data, val);
        double seconds = clock.Elapsed.TotalSeconds;
        return new CharLmResult(trainLoss, valLoss, scored / Math.Max(seconds, 1e-9), seconds, losses);
    }

    /// <summary>
    /// Cross-entropy of <paramref name="model"/>'s <see cref="CharLanguageModel.ForwardSequence"/> over the positions of
    /// <paramref name="inputs"/> [n·K] whose <paramref name="targets"/> [n·K] are not <see cref="CharLmData.Ignore"/>
    /// (mean or sum over those positions), and how many there are.
    /// </summary>
    public static (Tensor Loss, int Count) SequenceLoss(CharLanguageModel model, long[] inputs, long[] targets, int n, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        int k = model.Context;
        if (inputs.LongLength != (long)n * k || targets.LongLength != (long)n * k)
            throw new ArgumentException($"SequenceLoss: inputs and targets must both hold {n}·{k} tokens; got {inputs.LongLength} and {targets.LongLength}.");
        var keep = new List<long>(n * k);
        var kept = new List<long>(n * k);
        for (int i = 0; i < targets.Length; i++)
        {
            if (targets[i] == CharLmData.Ignore) continue;
            keep.Add(i);
            kept.Add(targets[i]);
        }
        if (keep.Count == 0) throw new ArgumentException("SequenceLoss: every target is ignored; nothing to score.", nameof(targets));
        var logits = model.ForwardSequence(Tensor.FromArray(inputs, n, k)).Reshape(n * k, model.VocabSize);
        if (keep.Count < n * k) logits = logits.IndexSelect(0, Tensor.FromArray(keep.ToArray(), keep.Count));
        return (Functional.CrossEntropy(logits, Tensor.FromArray(kept.ToArray(), kept.Count), reduction), keep.Count);
    }

    /// <summary>
    /// Mean cross-entropy (nats per character) over every next-character prediction of <paramref name="words"/> (each
    /// scored once, in the chunks of <see cref="CharLmData.Sequences"/>), in eval mode.
    /// </summary>
    public static double Evaluate(CharLanguageModel model, CharLmData data, IReadOnlyList<string> words, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var (xs, ys) = data.Sequences(words, model.Context);
        int k = model.Context;
        int chunks = checked((int)(ys.LongLength / k));
        bool wasTraining = model.Training;
        model.Eval();
        double sum = 0;
        long count = 0;
        using (Autograd.NoGrad())
        {
            for (int start = 0; start < chunks; start += batchSize)
            {
                int n = Math.Min(batchSize, chunks - start);
                var (loss, c) = SequenceLoss(model, xs.AsSpan(start * k, n * k).ToArray(), ys.AsSpan(start * k, n * k).ToArray(), n, Reduction.Sum);
                sum += loss.Item();
                count += c;
            }
        }
        model.Train(wasTraining);
        return sum / count;
    }

    /// <summary>
    /// One word drawn character by character from the model's softmax at <paramref name="temperature"/> (1: the model's
    /// own distribution) with <paramref name="generator"/>: it starts after the boundary token, as every word does in
    /// training, and stops when the model emits the boundary token (end of word) or after <paramref name="maxLength"/>
    /// characters.
    /// </summary>
    public static string Sample(CharLanguageModel model, CharLmData data, Generator generator, int maxLength = 30, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The sampling temperature must be a positive number.");
        int k = model.Context;
        var seq = new List<long> { 0 }; // the boundary token opens every word
        var window = new long[k];
        bool wasTraining = model.Training;
        model.Eval();
        using (Autograd.NoGrad())
        {
            while (seq.Count - 1 < maxLength)
            {
                // The last min(K, |seq|) tokens at the start of the chunk, as in training; the right padding is never seen.
                int len = Math.Min(k, seq.Count);
                Array.Clear(window);
                for (int j = 0; j < len; j++) window[j] = seq[seq.Count - len + j];
                var all = model.ForwardSequence(Tensor.FromArray((long[])window.Clone(), 1, k));
                var logits = all.Narrow(1, len - 1, 1).Reshape(model.VocabSize).To(DType.Float64).ToArray<double>();
                double max = logits.Max(), total = 0;
                for (int i = 0; i < logits.Length; i++) total += logits[i] = Math.Exp((logits[i] - max) / temperature);
                double u = generator.NextDouble() * total;
                int token = logits.Length - 1;
                for (int i = 0; i < logits.Length; i++)
                {
                    u -= logits[i];
                    if (u < 0) { token = i; break; }
                }
                if (token == 0) break;
                seq.Add(token);
            }
        }
        model.Train(wasTraining);
        return new string([.. seq.Skip(1).Select(t => data.Decode((int)t))]);
    }
}
