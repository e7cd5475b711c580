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
}

/// <summary>A next-character model: token contexts [batch, K] (Int64) → logits [batch, vocab] for the next token.</summary>
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
}

/// <summary>Recurrent family for <see cref="CharRnn"/>.</summary>
public enum CharRnnKind
{
    /// <summary>Long short-term memory.</summary>
    Lstm,
    /// <summary>Gated recurrent unit.</summary>
    Gru,
}

/// <summary>Embedding → multi-layer LSTM or GRU (batch first) run over the K context characters → Linear on the last state.</summary>
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
        var h = Rnn.Forward(Embedding.Forward(input)); // [b, K, hidden]
        return Head.Forward(h.Narrow(1, Context - 1, 1).Reshape(b, HiddenSize));
    }
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
}

/// <summary>Settings of <see cref="CharLm.Train"/>.</summary>
public sealed record CharLmOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Windows per step, drawn uniformly with replacement from the training windows.</summary>
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
/// <param name="TokensPerSecond">Predictions trained on per second of training (evaluation excluded).</param>
/// <param name="TrainSeconds">Wall time of the training steps.</param>
/// <param name="Losses">Training loss of every step.</param>
public sealed record CharLmResult(double TrainLoss, double ValidationLoss, double TokensPerSecond, double TrainSeconds, IReadOnlyList<double> Losses);

/// <summary>Building, training, scoring and sampling the character-level language models.</summary>
public static class CharLm
{
    /// <summary>The model family names accepted by <see cref="Create"/>.</summary>
    public static readonly IReadOnlyList<string> ModelNames = ["transformer", "lstm", "gru", "mlp"];

    /// <summary>A model with the default sizes: transformer 4 layers × 4 heads, d = 128; LSTM/GRU 2 × 256; MLP 24-d embeddings, 512 hidden.</summary>
    public static CharLanguageModel Create(string name, int vocabSize, int context, Generator? generator = null) => name?.ToLowerInvariant() switch
    {
        "transformer" => new CharTransformer(vocabSize, context, generator: generator),
        "lstm" => new CharRnn(CharRnnKind.Lstm, vocabSize, context, generator: generator),
        "gru" => new CharRnn(CharRnnKind.Gru, vocabSize, context, generator: generator),
        "mlp" => new CharMlp(vocabSize, context, generator: generator),
        _ => throw new ArgumentException($"Unknown model '{name}' (expected {string.Join(", ", ModelNames)}).", nameof(name)),
    };

    /// <summary>Trains with AdamW, a cosine schedule and gradient clipping, then scores the validation words.</summary>
    public static CharLmResult Train(CharLanguageModel model, CharLmData data, CharLmOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Steps <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Steps, "Steps must be positive.");
        if (options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "The batch size must be positive.");
        int k = model.Context, b = options.BatchSize;
        var (xs, ys) = data.Windows(data.Train, k);
        var parameters = model.Parameters().ToArray();
        var optimizer = new Optim.AdamW(parameters, options.LearningRate, weightDecay: options.WeightDecay);
        var schedule = new Optim.CosineAnnealingLR(optimizer, options.Steps);
        var rng = new Generator(options.Seed);
        var bx = new long[b * k];
        var by = new long[b];
        var losses = new double[options.Steps];
        model.Train();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int step = 0; step < options.Steps; step++)
        {
            for (int i = 0; i < b; i++)
            {
                int row = rng.NextInt(ys.Length);
                by[i] = ys[row];
                Array.Copy(xs, (long)row * k, bx, (long)i * k, k);
            }
            optimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(Tensor.FromArray(bx, b, k)), Tensor.FromArray(by, b));
            loss.Backward();
            if (options.ClipNorm > 0) Utils.ClipGradNorm(parameters, options.ClipNorm);
            optimizer.Step();
            schedule.Step();
            losses[step] = loss.Item();
        }
        clock.Stop();
        int tail = Math.Min(options.Steps, 50);
        double trainLoss = losses.Skip(options.Steps - tail).Average();
        var val = options.ValidationWords > 0 ? data.Validation.Take(options.ValidationWords).ToArray() : data.Validation;
        double valLoss = Evaluate(model, data, val);
        double seconds = clock.Elapsed.TotalSeconds;
        return new CharLmResult(trainLoss, valLoss, (double)options.Steps * b / Math.Max(seconds, 1e-9), seconds, losses);
    }

    /// <summary>Mean cross-entropy (nats per character) over every next-character prediction of <paramref name="words"/>, in eval mode.</summary>
    public static double Evaluate(CharLanguageModel model, CharLmData data, IReadOnlyList<string> words, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var (xs, ys) = data.Windows(words, model.Context);
        int k = model.Context;
        bool wasTraining = model.Training;
        model.Eval();
        double sum = 0;
        using (Autograd.NoGrad())
        {
            for (int start = 0; start < ys.Length; start += batchSize)
            {
                int n = Math.Min(batchSize, ys.Length - start);
                var x = Tensor.FromArray(xs.AsSpan(start * k, n * k).ToArray(), n, k);
                var y = Tensor.FromArray(ys.AsSpan(start, n).ToArray(), n);
                sum += Functional.CrossEntropy(model.Forward(x), y, Reduction.Sum).Item();
            }
        }
        model.Train(wasTraining);
        return sum / ys.Length;
    }

    /// <summary>
    /// One word drawn character by character from the model's softmax with <paramref name="generator"/>, stopping at the
    /// boundary token or after <paramref name="maxLength"/> characters.
    /// </summary>
    public static string Sample(CharLanguageModel model, CharLmData data, Generator generator, int maxLength = 30)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(generator);
        int k = model.Context;
        var ctx = new long[k]; // all boundary tokens: the start of a word
        var word = new System.Text.StringBuilder();
        bool wasTraining = model.Training;
        model.Eval();
        using (Autograd.NoGrad())
        {
            while (word.Length < maxLength)
            {
                var logits = model.Forward(Tensor.FromArray((long[])ctx.Clone(), 1, k)).To(DType.Float64).ToArray<double>();
                double max = logits.Max(), total = 0;
                for (int i = 0; i < logits.Length; i++) total += logits[i] = Math.Exp(logits[i] - max);
                double u = generator.NextDouble() * total;
                int token = logits.Length - 1;
                for (int i = 0; i < logits.Length; i++)
                {
                    u -= logits[i];
                    if (u < 0) { token = i; break; }
                }
                if (token == 0) break;
                word.Append(data.Decode(token));
                Array.Copy(ctx, 1, ctx, 0, k - 1);
                ctx[k - 1] = token;
            }
        }
        model.Train(wasTraining);
        return word.ToString();
    }
}
