#:sdk Microsoft.NET.Sdk.Web
#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Serving a trained model from an ASP.NET Core minimal API: train (or pick up) a classifier saved as safetensors, load it
// once at start-up, answer POST /predict with class probabilities. Run as is, it starts on a free localhost port,
// calls its own endpoint over HTTP as a client would, checks the answers and stops; with --serve it keeps serving.
// Run: dotnet run examples/serve_aspnet.cs                          (self-test over HTTP, then exit)
//      dotnet run examples/serve_aspnet.cs -- --serve --urls http://localhost:5000
//      curl -s localhost:5000/predict -H 'content-type: application/json' -d '{"points":[[2,2],[-2,-2]]}'
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using SharpGrad;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

// The four classes are Gaussian blobs around these centres.
double[][] centres = [[2, 2], [-2, 2], [-2, -2], [2, -2]];
static Module NewModel() => Models.Mlp(2, [16], 4, generator: new Generator(seed: 0));

// 1. Training happens elsewhere in real life; here, if no weights file exists yet, a few seconds make one.
string weights = Path.Combine(Path.GetTempPath(), "sharpgrad-serve", "blobs.safetensors");
if (!File.Exists(weights))
{
    Directory.CreateDirectory(Path.GetDirectoryName(weights)!);
    var g = new Generator(seed: 0);
    var labels = Tensor.FromArray(Enumerable.Range(0, 512).Select(i => (long)(i % 4)).ToArray(), 512);
    var points = Tensor.FromArray(centres.SelectMany(c => c.Select(v => (float)v)).ToArray(), 4, 2).IndexSelect(0, labels) + Tensor.Randn([512, 2], g) * 0.8;
    var trainee = NewModel();
    var optimizer = new Adam(trainee.Parameters(), lr: 0.05);
    for (int step = 0; step < 150; step++)
    {
        var loss = F.CrossEntropy(trainee.Forward(points), labels);
        optimizer.ZeroGrad();
        loss.Backward();
        optimizer.Step();
    }
    StateDictIO.Save(weights, trainee);
}

// 2. The service: the model is loaded once and shared. Forward passes under NoGrad build no tape; the lock keeps one
//    forward at a time (a module's forward is not promised thread-safe, e.g. layers that cache).
var model = NewModel();
model.LoadStateDict(StateDictIO.Load(weights));
model.Eval();
var gate = new Lock();

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
bool serve = args.Contains("--serve");
if (!serve) builder.WebHost.UseUrls("http://127.0.0.1:0"); // any free port on loopback, for the self-test
var app = builder.Build();

app.MapGet("/health", () => Results.Ok(new { status = "ok", parameters = model.ParameterCount() }));
app.MapPost("/predict", (PredictRequest request) =>
{
    if (request.Points is not { Length: > 0 } pts || pts.Any(p => p is not { Length: 2 } || p.Any(v => !double.IsFinite(v))))
        return Results.BadRequest(new { error = "points must be a non-empty array of [x, y] pairs of finite numbers" });
    var x = Tensor.FromArray(pts.SelectMany(p => p.Select(v => (float)v)).ToArray(), pts.Length, 2);
    float[] probabilities;
    lock (gate)
    using (Autograd.NoGrad())
        probabilities = model.Forward(x).Softmax(1).ToArray<float>();
    var answers = Enumerable.Range(0, pts.Length).Select(i =>
    {
        var p = probabilities.AsSpan(4 * i, 4).ToArray();
        return new Prediction(Array.IndexOf(p, p.Max()), p);
    }).ToArray();
    return Results.Ok(answers);
});

if (serve) { app.Run(); return 0; }

// 3. The self-test: a real HTTP client against the running server on localhost.
await app.StartAsync();
string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"serving on {url}");
using var http = new HttpClient { BaseAddress = new Uri(url) };
int failures = 0;
var health = await http.GetAsync("/health");
Console.WriteLine($"GET /health -> {(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}");
if (!health.IsSuccessStatusCode) failures++;

// Points at the blob centres must come back as their own class, with probabilities that sum to 1.
var response = await http.PostAsJsonAsync("/predict", new PredictRequest(centres));
var predictions = await response.Content.ReadFromJsonAsync<Prediction[]>() ?? [];
for (int i = 0; i < centres.Length; i++)
{
    var p = predictions[i];
    Console.WriteLine($"POST /predict [{string.Join(", ", centres[i])}] -> class {p.Class} (p = {p.Probabilities[p.Class]:F3})");
    if (p.Class != i || Math.Abs(p.Probabilities.Sum() - 1) > 1e-4) failures++;
}

// Bad input is a 400 with a reason, not a 500.
var bad = await http.PostAsJsonAsync("/predict", new PredictRequest([[1, 2, 3]]));
Console.WriteLine($"POST /predict [[1, 2, 3]] -> {(int)bad.StatusCode} {await bad.Content.ReadAsStringAsync()}");
if ((int)bad.StatusCode != 400) failures++;

await app.StopAsync();
Console.WriteLine(failures == 0 ? "self-test passed" : $"self-test: {failures} check(s) failed");
return failures == 0 ? 0 : 1;

record PredictRequest(double[][] Points);
record Prediction(int Class, float[] Probabilities);
