using SharpGrad.NN;
using SharpGrad.Tests.Exercises;

namespace SharpGrad.Tests.NN;

public class CharLmDataTests
{
    [Fact]
    public void Split_DropsOddWords_KeepsCase_AndPartitions90To10()
    {
        string[] lines = ["ab", "café", "", "  bc  ", "Cd", "it's", "x-y", "ba", "cab", "dab", "bad", "cad", "add"];
        var d = CharLmData.FromWords(lines, seed: 7);
        Assert.Equal(2, d.Dropped);                       // café, x-y
        // 10 kept words (trimmed, case kept): ⌈0.1·10⌉ = 1 validation, 9 train, together exactly the kept words.
        Assert.Equal(9, d.Train.Count);
        Assert.Single(d.Validation);
        string[] kept = ["ab", "bc", "Cd", "it's", "ba", "cab", "dab", "bad", "cad", "add"];
        Assert.Equal(kept.OrderBy(w => w, StringComparer.Ordinal), d.Train.Concat(d.Validation).OrderBy(w => w, StringComparer.Ordinal));
        // Boundary first, then the characters in ordinal order: ' (39), C (67), a b c d i s t.
        Assert.Equal(".'Cabcdist", d.Alphabet);
        // Same seed, same split; another seed, another order.
        var again = CharLmData.FromWords(lines, seed: 7);
        Assert.Equal(d.Train, again.Train);
        Assert.Equal(d.Validation, again.Validation);
        var other = CharLmData.FromWords(lines, seed: 8);
        Assert.NotEqual(d.Train.Concat(d.Validation), other.Train.Concat(other.Validation));
    }

    [Fact]
    public void Windows_AreLeftPaddedWithTheBoundary()
    {
        var d = CharLmData.FromWords(["ab", "ba"], seed: 1);
        Assert.Equal(".ab", d.Alphabet);
        // ".ab." with K = 3: (. . . → a), (. . a → b), (. a b → .)
        var (x, y) = d.Windows(["ab"], 3);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 1, 0, 1, 2 }, x);
        Assert.Equal(new long[] { 1, 2, 0 }, y);
        // K = 2 over two words: ".ba." → (..→b), (.b→a), (ba→.); ".a." → (..→a), (.a→.)
        (x, y) = d.Windows(["ba", "a"], 2);
        Assert.Equal(new long[] { 0, 0, 0, 2, 2, 1, 0, 0, 0, 1 }, x);
        Assert.Equal(new long[] { 2, 1, 0, 1, 0 }, y);
        Assert.Equal(5, CharLmData.CountPredictions(["ba", "a"]));
    }

    [Fact]
    public void Sequences_ScoreEveryPredictionExactlyOnce()
    {
        var d = CharLmData.FromWords(["ab", "ba", "abba"], seed: 1);
        Assert.Equal(".ab", d.Alphabet);
        const long I = CharLmData.Ignore;
        // ".ab." with K = 4: one chunk (. a b .) predicting a b . and nothing after the word's end.
        var (x, y) = d.Sequences(["ab"], 4);
        Assert.Equal(new long[] { 0, 1, 2, 0 }, x);
        Assert.Equal(new long[] { 1, 2, 0, I }, y);
        // ".abba." with K = 3: (. a b) → a b b; then the 3 tokens before each later prediction, only the last scored:
        // (a b b) → a, (b b a) → .
        (x, y) = d.Sequences(["abba"], 3);
        Assert.Equal(new long[] { 0, 1, 2, 1, 2, 2, 2, 2, 1 }, x);
        Assert.Equal(new long[] { 1, 2, 2, I, I, 1, I, I, 0 }, y);
        Assert.Equal(3, CharLmData.CountChunks(["abba"], 3));
        // Over several words the scored positions are exactly the predictions.
        string[] words = ["ab", "abba", "b", "baba"];
        (_, y) = d.Sequences(words, 2);
        Assert.Equal(CharLmData.CountPredictions(words), y.Count(t => t != I));
        Assert.Equal(CharLmData.CountChunks(words, 2) * 2, y.Length);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => CharLmData.Load("/nonexistent/words.txt", 0));
        Assert.Contains("/nonexistent/words.txt", e.Message);
    }

    [Fact]
    public void TooFewWords_IsAnError() =>
        Assert.Throws<InvalidDataException>(() => CharLmData.FromWords(["ab", "é"], 0));
}

public class CharLmModelTests
{
    private static readonly string[] Words =
        ["cat", "car", "cart", "care", "bat", "bar", "bare", "tar", "tart", "rat", "art", "arc", "tact", "cab", "crab", "brat", "act", "rare", "tear", "bear"];

    private static IEnumerable<CharLanguageModel> SmallModels(int vocab, int context)
    {
        yield return new CharTransformer(vocab, context, dModel: 32, heads: 4, layers: 2, generator: new Generator(1));
        yield return new CharRnn(CharRnnKind.Lstm, vocab, context, embeddingDim: 16, hidden: 32, layers: 2, generator: new Generator(2));
        yield return new CharRnn(CharRnnKind.Gru, vocab, context, embeddingDim: 16, hidden: 32, layers: 2, generator: new Generator(3));
        yield return new CharMlp(vocab, context, embeddingDim: 8, hidden: 64, generator: new Generator(4));
    }

    [Fact]
    public void Forward_GivesLogitsPerRow_AndRejectsWrongContext()
    {
        foreach (var m in SmallModels(vocab: 7, context: 5))
        {
            var x = Tensor.FromArray(Enumerable.Range(0, 15).Select(i => (long)(i % 7)).ToArray(), 3, 5);
            Assert.Equal(new[] { 3, 7 }, m.Forward(x).Shape);
            Assert.Throws<ArgumentException>(() => m.Forward(Tensor.FromArray(new long[8], 2, 4)));
        }
    }

    [Fact]
    public void ForwardSequence_IsCausal_EndsWithForward_AndTheMlpScoresItsWindows()
    {
        const int v = 7, k = 5;
        foreach (var m in SmallModels(v, k))
        {
            m.Eval();
            var tokens = Enumerable.Range(0, 3 * k).Select(i => (long)((i * 3 + 1) % v)).ToArray();
            var all = m.ForwardSequence(Tensor.FromArray(tokens, 3, k)).ToArray<float>();
            Assert.Equal(3 * k * v, all.Length);
            // Last position = Forward (the prediction after all K tokens).
            var last = m.Forward(Tensor.FromArray(tokens, 3, k)).ToArray<float>();
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < v; c++)
                    Assert.Equal(last[r * v + c], all[(r * k + k - 1) * v + c], 1e-4);
            // Changing the inputs after position j leaves positions 0…j as they were.
            for (int j = 0; j < k - 1; j++)
            {
                var changed = (long[])tokens.Clone();
                for (int r = 0; r < 3; r++)
                    for (int i = j + 1; i < k; i++) changed[r * k + i] = (changed[r * k + i] + 2) % v;
                var again = m.ForwardSequence(Tensor.FromArray(changed, 3, k)).ToArray<float>();
                for (int r = 0; r < 3; r++)
                    for (int i = 0; i <= j; i++)
                        for (int c = 0; c < v; c++)
                            Assert.Equal(all[(r * k + i) * v + c], again[(r * k + i) * v + c], 1e-4);
            }
            if (m is not CharMlp) continue;
            // The MLP's position j is Forward of the K tokens ending at j, left-padded with the boundary token.
            for (int j = 0; j < k; j++)
            {
                var window = new long[k];
                for (int i = 0; i < k; i++) window[i] = j - k + 1 + i >= 0 ? tokens[j - k + 1 + i] : 0;
                var one = m.Forward(Tensor.FromArray(window, 1, k)).ToArray<float>();
                for (int c = 0; c < v; c++) Assert.Equal(one[c], all[j * v + c], 1e-4);
            }
        }
    }

    /// <summary>−log p(next) of every prediction of every word, each from its own run on the (up to K) tokens before it.</summary>
    private static double PrefixLoss(CharLanguageModel m, CharLmData d, IReadOnlyList<string> words)
    {
        int k = m.Context;
        double sum = 0;
        int n = 0;
        foreach (var w in words)
        {
            var seq = new List<long> { 0 };
            seq.AddRange(w.Select(c => (long)d.Encode(c)));
            seq.Add(0);
            for (int t = 1; t < seq.Count; t++)
            {
                int len = Math.Min(k, t);
                var input = new long[k];
                for (int i = 0; i < len; i++) input[i] = seq[t - len + i];
                var logits = m.ForwardSequence(Tensor.FromArray(input, 1, k)).To(DType.Float64).ToArray<double>().AsSpan((len - 1) * m.VocabSize, m.VocabSize);
                double max = double.NegativeInfinity;
                foreach (var z in logits) max = Math.Max(max, z);
                double total = 0;
                foreach (var z in logits) total += Math.Exp(z - max);
                sum += max + Math.Log(total) - logits[(int)seq[t]];
                n++;
            }
        }
        return sum / n;
    }

    [Fact]
    public void Evaluate_IsTheMeanOverEveryPrediction_ScoredFromItsOwnPrefix()
    {
        var d = CharLmData.FromWords(Words, seed: 3);
        string[] words = ["cat", "tractab", "bear", "a"]; // "tractab" is longer than K = 4: predictions 5…8 need later windows
        foreach (var m in SmallModels(d.VocabSize, context: 4))
        {
            m.Eval();
            Assert.Equal(PrefixLoss(m, d, words), CharLm.Evaluate(m, d, words, batchSize: 3), 1e-5);
        }
    }

    [Fact]
    public void Train_StepLoss_IsTheMeanOverEveryScoredPositionOfTheBatch()
    {
        var d = CharLmData.FromWords(Words, seed: 3);
        const int k = 4, b = 5;
        foreach (var m in SmallModels(d.VocabSize, k))
        {
            // The batch Train draws first (its sampler: Generator(Seed).NextInt over the chunks), scored independently:
            // every prediction in a drawn word-start chunk, or the last of a later window, from its prefix.
            var (xs, ys) = d.Sequences(d.Train, k);
            int chunks = ys.Length / k;
            var rng = new Generator(11);
            double sum = 0;
            int n = 0;
            m.Eval(); // no dropout in these models, so eval and train mode agree
            for (int i = 0; i < b; i++)
            {
                int row = rng.NextInt(chunks);
                var logits = m.ForwardSequence(Tensor.FromArray(xs.AsSpan(row * k, k).ToArray(), 1, k)).To(DType.Float64).ToArray<double>();
                for (int j = 0; j < k; j++)
                {
                    long target = ys[row * k + j];
                    if (target == CharLmData.Ignore) continue;
                    var z = logits.AsSpan(j * d.VocabSize, d.VocabSize);
                    double max = double.NegativeInfinity;
                    foreach (var e in z) max = Math.Max(max, e);
                    double total = 0;
                    foreach (var e in z) total += Math.Exp(e - max);
                    sum += max + Math.Log(total) - z[(int)target];
                    n++;
                }
            }
            Assert.True(n > b, $"{m.GetType().Name}: {n} scored positions in {b} chunks; a word-start chunk scores several");
            var r = CharLm.Train(m, d, new CharLmOptions { Steps = 1, BatchSize = b, Seed = 11, ValidationWords = 1 });
            Assert.Equal(sum / n, r.Losses[0], 1e-5);
        }
    }

    [Fact]
    public void AFewDozenSteps_LowerTheLoss()
    {
        var d = CharLmData.FromWords(Words, seed: 3);
        foreach (var m in SmallModels(d.VocabSize, context: 6))
        {
            double before = CharLm.Evaluate(m, d, d.Train);
            var r = CharLm.Train(m, d, new CharLmOptions { Steps = 40, BatchSize = 32, LearningRate = 1e-2, Seed = 5 });
            double after = CharLm.Evaluate(m, d, d.Train);
            Assert.True(after < before - 0.3, $"{m.GetType().Name}: train-word loss {before:F3} → {after:F3}");
            Assert.Equal(40, r.Losses.Count);
            Assert.True(double.IsFinite(r.ValidationLoss) && r.ValidationLoss > 0);
            // Untrained: near ln(vocab) per character.
            Assert.InRange(before, Math.Log(d.VocabSize) - 1, Math.Log(d.VocabSize) + 1);
        }
    }

    [Fact]
    public void Transformer_TiesTheOutputWeightToTheEmbedding()
    {
        int v = 11, k = 6, dm = 16, layers = 2;
        var m = new CharTransformer(v, k, dModel: dm, heads: 2, layers: layers, generator: new Generator(9));
        Assert.Equal(1, m.Parameters().Count(p => ReferenceEquals(p, m.TokenEmbedding.Weight)));
        // Counted by hand: token V·d, positions K·d, per layer in_proj 3d²+3d, out_proj d²+d, FF 4d²+4d and 4d²+d,
        // two LayerNorms 4d; final LayerNorm 2d; output bias V. No separate V·d output matrix.
        long perLayer = 3L * dm * dm + 3 * dm + dm * dm + dm + 4 * dm * dm + 4 * dm + 4 * dm * dm + dm + 4 * dm;
        Assert.Equal(v * dm + k * dm + layers * perLayer + 2 * dm + v, m.ParameterCount());
        // The tied matrix gets gradient from both uses, and one optimizer step moves it exactly as AdamW's first step
        // (|Δ| = lr for every entry with a nonzero gradient, plus decay), i.e. it is updated once, not twice.
        var d = CharLmData.FromWords(["abcdefghij", "jihgfedcba"], seed: 0);
        var before = m.TokenEmbedding.Weight.Detach().Clone().ToArray<float>();
        var opt = new SharpGrad.Optim.AdamW(m.Parameters(), lr: 1e-3, weightDecay: 0);
        var (xs, ys) = d.Windows(d.Train, k);
        var loss = SharpGrad.NN.Functional.CrossEntropy(m.Forward(Tensor.FromArray(xs, ys.Length, k)), Tensor.FromArray(ys, ys.Length));
        loss.Backward();
        opt.Step();
        var after = m.TokenEmbedding.Weight.ToArray<float>();
        var grad = m.TokenEmbedding.Weight.Grad!.ToArray<float>();
        for (int i = 0; i < before.Length; i++)
        {
            if (Math.Abs(grad[i]) < 1e-6) continue;
            Assert.Equal(1e-3, Math.Abs(after[i] - before[i]), 1e-5);
        }
    }

    [Fact]
    public void Sample_StopsAtTheBoundaryOrThirtyChars()
    {
        var d = CharLmData.FromWords(Words, seed: 3);
        var m = new CharMlp(d.VocabSize, 4, 8, 16, new Generator(1));
        var g = new Generator(2);
        for (int i = 0; i < 20; i++)
        {
            var w = CharLm.Sample(m, d, g);
            Assert.InRange(w.Length, 0, 30);
            Assert.DoesNotContain(CharLmData.Boundary, w);
            Assert.All(w, c => Assert.Contains(c, d.Alphabet));
        }
        Assert.Equal(CharLm.Sample(m, d, new Generator(5)), CharLm.Sample(m, d, new Generator(5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => CharLm.Sample(m, d, g, temperature: 0));
    }

    [Fact]
    public void Sample_FollowsTheModelsNextCharacterDistribution()
    {
        // An MLP whose head bias dominates: p(a) = p(b) = p(.) = 1/3 at every step regardless of the context, so a
        // sampled word has length L with probability (2/3)^L · 1/3 (mean 2) and its letters are a/b half and half.
        var d = CharLmData.FromWords(["ab", "ba"], seed: 0);
        var m = new CharMlp(d.VocabSize, 3, 4, 8, new Generator(1));
        using (SharpGrad.Autograd.NoGrad())
        {
            m.Head.Weight.Fill(0);
            m.Head.Bias!.Fill(0);
        }
        var g = new Generator(7);
        var words = Enumerable.Range(0, 3000).Select(_ => CharLm.Sample(m, d, g)).ToArray();
        Assert.Equal(2.0, words.Average(w => w.Length), 0.15);
        Assert.Equal(1.0 / 3, words.Count(w => w.Length == 0) / 3000.0, 0.03);
        var letters = string.Concat(words);
        Assert.Equal(0.5, letters.Count(c => c == 'a') / (double)letters.Length, 0.03);
    }
}

[Collection(CliConsoleCollection.Name)]
public class LmCommandTests
{
    private static string WordFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-lm-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(path, ["cat", "car", "cart", "care", "bat", "bar", "bare", "tar", "tart", "rat", "art", "arc"]);
        return path;
    }

    [Fact]
    public void Json_HasExactlyTheKeys()
    {
        string path = WordFile();
        try
        {
            var root = CliRunner.Json("lm", "--model", "mlp", "--data", path, "--steps", "5", "--context", "4", "--batch-size", "8", "--samples", "3", "--seed", "1");
            Assert.Equal(new[] { "model", "params", "steps", "train_loss", "val_loss", "tokens_per_s", "samples", "seconds" },
                root.EnumerateObject().Select(p => p.Name).ToArray());
            Assert.Equal("mlp", root.GetProperty("model").GetString());
            Assert.Equal(5, root.GetProperty("steps").GetInt32());
            Assert.Equal(3, root.GetProperty("samples").GetArrayLength());
            // Vocabulary ".abcert" (V = 7); CharMlp sizes: embedding V·24, hidden 4·24·512 + 512, head 512·V + V.
            int v = ".abcert".Length;
            Assert.Equal(v * 24 + (4 * 24 * 512 + 512) + (512 * v + v), root.GetProperty("params").GetInt64());
            Assert.True(root.GetProperty("val_loss").GetDouble() > 0);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BadOptions_AreOneLineErrors()
    {
        string path = WordFile();
        try
        {
            Assert.Contains("/nonexistent/w.txt", CliRunner.Fails("lm", "--data", "/nonexistent/w.txt", "--steps", "1"));
            Assert.Contains("--steps", CliRunner.Fails("lm", "--data", path, "--steps", "0"));
            Assert.Contains("'rnn2'", CliRunner.Fails("lm", "--data", path, "--model", "rnn2"));
            Assert.Contains("--context", CliRunner.Fails("lm", "--data", path, "--context", "0"));
        }
        finally { File.Delete(path); }
    }
}
