#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// A small LSTM that learns to spell English words one character at a time, on the Debian word list
// (package wamerican). A short run: the full-size model is `sharpgrad lm --model lstm`.
// Run: dotnet run examples/lm_lstm.cs
using SharpGrad;
using SharpGrad.NN;

const string path = "/usr/share/dict/american-english";
if (!File.Exists(path)) { Console.WriteLine($"{path} is missing (apt-get install wamerican); nothing to do."); return; }

var data = CharLmData.Load(path, seed: 0);                 // 90/10 train/validation words, seeded shuffle
var model = new CharRnn(CharRnnKind.Lstm, data.VocabSize, context: 12, embeddingDim: 24, hidden: 64, layers: 1, generator: new Generator(1));
var validation = data.Validation.Take(300).ToArray();
Console.WriteLine($"{data.Train.Count} training words, vocabulary {data.VocabSize}, {model.ParameterCount():N0} parameters");
Console.WriteLine($"validation loss before: {CharLm.Evaluate(model, data, validation):F3} nats/char (ln {data.VocabSize} = {Math.Log(data.VocabSize):F3})");

var result = CharLm.Train(model, data, new CharLmOptions { Steps = 150, BatchSize = 32, LearningRate = 5e-3, Seed = 2, ValidationWords = 300 });
Console.WriteLine($"after 150 steps: train {result.TrainLoss:F3}, validation {result.ValidationLoss:F3} nats/char, {result.TokensPerSecond:F0} tokens/s");

var g = new Generator(3);
Console.WriteLine("samples: " + string.Join(' ', Enumerable.Range(0, 10).Select(_ => CharLm.Sample(model, data, g))));
