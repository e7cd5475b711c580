using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.NN;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad lm</c>: a character-level language model trained on a word list (issue 14).</summary>
internal static class LmCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "transformer, lstm, gru or mlp.", DefaultValueFactory = _ => "transformer" };
        var data = new Option<string>("--data") { Description = "Word list, one word per line.", DefaultValueFactory = _ => "/usr/share/dict/american-english" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 3000 };
        var context = new Option<int>("--context") { Description = "Characters of context K.", DefaultValueFactory = _ => 16 };
        var batch = new Option<int>("--batch-size") { Description = "Chunks (a word's first K characters, or a later K-character window) per step.", DefaultValueFactory = _ => 64 };
        var lr = new Option<double?>("--lr") { Description = "Peak AdamW learning rate (cosine schedule to 0); default 1e-3 for the transformer, 3e-3 for the others." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the split, the initialisation, the batches and the samples." };
        var samples = new Option<int>("--samples") { Description = "Words to sample after training.", DefaultValueFactory = _ => 20 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (1: the model's own distribution).", DefaultValueFactory = _ => 1.0 };
        var valWords = new Option<int>("--val-words") { Description = "Score only the first N validation words (0: all)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var cmd = new Command("lm", "Character-level language model on a word list (90/10 train/validation split): trains, prints validation nats per character and samples words.");
        foreach (var o in new Option[] { model, data, steps, context, batch, lr, seed, samples, temperature, valWords, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            string name = p.GetValue(model)!.ToLowerInvariant();
            if (!CharLm.ModelNames.Contains(name))
                throw new ArgumentException($"--model: unknown model '{p.GetValue(model)}' (expected {string.Join(", ", CharLm.ModelNames)}).");
            string path = p.GetValue(data)!;
            if (!File.Exists(path)) throw new ArgumentException($"--data: file '{path}' does not exist.");
            int n = p.GetValue(steps), k = p.GetValue(context), b = p.GetValue(batch), s = p.GetValue(samples), v = p.GetValue(valWords);
            double rate = p.GetValue(lr) ?? CharLm.DefaultLearningRate(name);
            if (n <= 0) throw new ArgumentException($"--steps must be positive, got {n}.");
            if (k <= 0) throw new ArgumentException($"--context must be positive, got {k}.");
            if (b <= 0) throw new ArgumentException($"--batch-size must be positive, got {b}.");
            if (!(rate > 0) || !double.IsFinite(rate)) throw new ArgumentException($"--lr must be a positive number, got {rate.ToString(CultureInfo.InvariantCulture)}.");
            if (s < 0) throw new ArgumentException($"--samples must be 0 or more, got {s}.");
            double temp = p.GetValue(temperature);
            if (!(temp > 0) || !double.IsFinite(temp)) throw new ArgumentException($"--temperature must be a positive number, got {temp.ToString(CultureInfo.InvariantCulture)}.");
            if (v < 0) throw new ArgumentException($"--val-words must be 0 or more, got {v}.");
            ulong sd = p.GetValue(seed);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var words = CharLmData.Load(path, sd);
            var lm = CharLm.Create(name, words.VocabSize, k, new Generator(sd + 1));
            var result = CharLm.Train(lm, words, new CharLmOptions { Steps = n, BatchSize = b, LearningRate = rate, Seed = sd + 2, ValidationWords = v });
            var rng = new Generator(sd + 3);
            var sampled = Enumerable.Range(0, s).Select(_ => CharLm.Sample(lm, words, rng, temperature: temp)).ToArray();
            double seconds = clock.Elapsed.TotalSeconds;
            long parameters = lm.ParameterCount();
            if (p.GetValue(json))
            {
                Json.Print(new JsonObject
                {
                    ["model"] = name, ["params"] = parameters, ["steps"] = n,
                    ["train_loss"] = Json.Number(result.TrainLoss), ["val_loss"] = Json.Number(result.ValidationLoss),
                    ["tokens_per_s"] = Json.Number(result.TokensPerSecond),
                    ["samples"] = new JsonArray([.. sampled.Select(w => (JsonNode?)JsonValue.Create(w))]),
                    ["seconds"] = Json.Number(seconds),
                });
                return 0;
            }
            var ic = CultureInfo.InvariantCulture;
            Console.Out.WriteLine(string.Create(ic, $"data: {path}: {words.Train.Count} train / {words.Validation.Count} validation words ({words.Dropped} dropped for characters outside A-Z, a-z, '), vocabulary {words.VocabSize}"));
            Console.Out.WriteLine(string.Create(ic, $"model: {name}, {parameters:N0} parameters, context {k}"));
            Console.Out.WriteLine(string.Create(ic, $"steps: {n} × batch {b}, AdamW lr {rate} (cosine), clip 1.0"));
            Console.Out.WriteLine(string.Create(ic, $"train loss (last {Math.Min(n, 50)} steps): {result.TrainLoss:F4} nats/char"));
            Console.Out.WriteLine(string.Create(ic, $"validation loss: {result.ValidationLoss:F4} nats/char{(v > 0 ? $" (first {v} words)" : "")}"));
            Console.Out.WriteLine(string.Create(ic, $"speed: {result.TokensPerSecond:F0} tokens/s; total {seconds:F1} s"));
            if (s > 0) Console.Out.WriteLine("samples: " + string.Join(' ', sampled));
            return 0;
        });
        return cmd;
    }
}
