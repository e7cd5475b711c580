using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.Cli.Exercises;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad calc softmax|sigmoid|loss|kl|conv1d</c>: the small calculations of seeds 000, 001 and 004.</summary>
internal static class CalcCommand
{
    public static Command Create()
    {
        var cmd = new Command("calc", "Small exact calculations of the seed sheets: softmax (and its Jacobian), sigmoid, hinge/cross-entropy loss, KL divergence, 1-D convolution.");
        cmd.Add(SoftmaxCommand());
        cmd.Add(SigmoidCommand());
        cmd.Add(LossCommand());
        cmd.Add(KlCommand());
        cmd.Add(ConvCommand());
        return cmd;
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object instead of text." };

    private static Command SoftmaxCommand()
    {
        var x = new Option<string>("--x") { Description = "Scores z, e.g. 1,2,3.", DefaultValueFactory = _ => "1,2,3" };
        var t = new Option<double>("--temperature") { Description = "Temperature c: softmax(z / c).", DefaultValueFactory = _ => 1.0 };
        var jac = new Option<bool>("--jacobian") { Description = "Also compute the full Jacobian through autograd and compare it with (diag(S) - S Sᵀ) / c." };
        var json = JsonOption();
        var cmd = new Command("softmax", "Softmax values (seed 000 Q1, seed 001 Q2-Q3); with --jacobian the Jacobian, checked.") { x, t, jac, json };
        cmd.SetAction(p =>
        {
            var r = Calc.Softmax(Calc.ParseVector(p.GetValue(x), "--x"), p.GetValue(t), p.GetValue(jac));
            if (p.GetValue(json))
            {
                var o = new JsonObject { ["x"] = Numbers(r.X), ["temperature"] = Json.Number(r.Temperature), ["values"] = Numbers(r.Values), ["shift_invariance_error"] = Json.Number(r.ShiftInvarianceError) };
                if (r.Jacobian is not null)
                {
                    o["jacobian"] = Matrix(r.Jacobian);
                    o["expected"] = Matrix(r.Expected!);
                    o["max_error"] = Json.Number(r.MaxJacobianError!.Value);
                    o["matches"] = r.MaxJacobianError <= 1e-12;
                }
                Json.Print(o);
                return 0;
            }
            Console.WriteLine($"softmax(z / {F(r.Temperature)}) for z = [{Join(r.X)}]:");
            Console.WriteLine($"  S = [{Join(r.Values)}]   (sum {F(r.Values.Sum())})");
            Console.WriteLine($"  shift invariance: max |softmax(z + 1000) - softmax(z)| = {F(r.ShiftInvarianceError)}");
            if (r.Jacobian is not null)
            {
                PrintMatrix("Jacobian dS_i/dz_j through autograd", r.Jacobian);
                PrintMatrix($"(diag(S) - S Sᵀ){(r.Temperature == 1 ? "" : " / c")}", r.Expected!);
                Console.WriteLine($"  max difference {F(r.MaxJacobianError!.Value)}: {(r.MaxJacobianError <= 1e-12 ? "equal" : "NOT equal")}");
            }
            return 0;
        });
        return cmd;
    }

    private static Command SigmoidCommand()
    {
        var x = new Option<string>("--x") { Description = "Inputs, e.g. -100,-10,0,10,100.", DefaultValueFactory = _ => "-100,-10,0,10,100" };
        var json = JsonOption();
        var cmd = new Command("sigmoid", "Sigmoid S(x) and its derivative S'(x) through autograd, stable at any finite x (seed 004 Q1).") { x, json };
        cmd.SetAction(p =>
        {
            var r = Calc.Sigmoid(Calc.ParseVector(p.GetValue(x), "--x"));
            if (p.GetValue(json))
            {
                Json.Print(new JsonObject { ["x"] = Numbers(r.X), ["values"] = Numbers(r.Values), ["derivatives"] = Numbers(r.Derivatives) });
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).Title("S(x) = 1 / (1 + e^-x), S'(x) = S(x) S(-x)");
            foreach (var c in new[] { "x", "S(x)", "S(x), 2 d.p.", "S'(x)", "S'(x), 2 d.p." }) table.AddColumn(new TableColumn(c).RightAligned());
            for (int i = 0; i < r.X.Length; i++)
                table.AddRow(F(r.X[i]), F(r.Values[i]), r.Values[i].ToString("F2", CultureInfo.InvariantCulture), F(r.Derivatives[i]), r.Derivatives[i].ToString("F2", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }

    private static Command LossCommand()
    {
        var scores = new Option<string?>("--scores") { Description = "Class scores, e.g. -2.85,0.86,0.28." };
        var w = new Option<string?>("--W") { Description = "Weights of a linear classifier s = W x + b, rows separated by ';', e.g. \"0.01,-0.05,0.1,0.05;0.7,0.2,0.05,0.16;0.0,-0.45,-0.2,0.03\"." };
        var b = new Option<string?>("--b") { Description = "Biases (with --W), e.g. 0,0.2,-0.3." };
        var x = new Option<string?>("--x") { Description = "Features (with --W), e.g. -15,22,-44,56." };
        var label = new Option<string?>("--label") { Description = "The true class: a 0-based index (2) or a one-hot vector (0,0,1)." };
        var json = JsonOption();
        var cmd = new Command("loss", "Multiclass hinge (SVM) and softmax cross-entropy losses of one sample and d loss / d scores (and d / d W) (seed 004 Q2, Q4).") { scores, w, b, x, label, json };
        cmd.SetAction(p =>
        {
            string lbl = p.GetValue(label) ?? throw new ArgumentException("--label: give the true class (a 0-based index, or a one-hot vector).");
            var input = new LossInput(
                p.GetValue(scores) is { } s ? Calc.ParseVector(s, "--scores") : null,
                p.GetValue(w) is { } ws ? Calc.ParseMatrix(ws, "--W") : null,
                p.GetValue(b) is { } bs ? Calc.ParseVector(bs, "--b") : null,
                p.GetValue(x) is { } xs ? Calc.ParseVector(xs, "--x") : null, lbl);
            var r = Calc.Loss(input);
            if (p.GetValue(json))
            {
                var grad = new JsonObject { ["scores"] = Numbers(r.GradScores) };
                if (r.GradW is not null) { grad["W"] = Matrix(r.GradW); grad["b"] = Numbers(r.GradB!); }
                Json.Print(new JsonObject
                {
                    ["scores"] = Numbers(r.Scores), ["label"] = r.Label, ["probabilities"] = Numbers(r.Probabilities),
                    ["hinge"] = Json.Number(r.Hinge), ["cross_entropy"] = Json.Number(r.CrossEntropy), ["gradient"] = grad, ["notes"] = Notes(r.Notes),
                });
                return 0;
            }
            Console.WriteLine($"scores s = [{Join(r.Scores)}], true class {r.Label} (0-based)");
            Console.WriteLine($"  hinge (SVM) loss  Σ_(j≠y) max(0, s_j - s_y + 1) = {F(r.Hinge)}");
            Console.WriteLine($"  softmax probabilities = [{Join(r.Probabilities)}]");
            Console.WriteLine($"  cross-entropy  -log softmax(s)_y = {F(r.CrossEntropy)}   (natural log)");
            Console.WriteLine($"  d CE / d s = softmax(s) - onehot(y) = [{Join(r.GradScores)}]");
            if (r.GradW is not null)
            {
                PrintMatrix("d CE / d W = (softmax(s) - onehot(y)) xᵀ", r.GradW);
                Console.WriteLine($"  d CE / d b = [{Join(r.GradB!)}]");
            }
            foreach (var n in r.Notes) Console.WriteLine($"  note: {n}");
            return 0;
        });
        return cmd;
    }

    private static Command KlCommand()
    {
        var pOpt = new Option<string>("--p") { Description = "Counts (or weights) of P, normalised to p.", DefaultValueFactory = _ => "1,6,12,5,2,8,12,4" };
        var qOpt = new Option<string>("--q") { Description = "Counts of Q, normalised to q.", DefaultValueFactory = _ => "1,3,6,8,15,10,5,2" };
        var json = JsonOption();
        var cmd = new Command("kl", "KL(p||q) and KL(q||p) from count vectors (natural log), and their gradients with respect to q through autograd (seed 004 Q3).") { pOpt, qOpt, json };
        cmd.SetAction(p =>
        {
            var r = Calc.Kl(Calc.ParseVector(p.GetValue(pOpt), "--p"), Calc.ParseVector(p.GetValue(qOpt), "--q"));
            if (p.GetValue(json))
            {
                Json.Print(new JsonObject
                {
                    ["p"] = Numbers(r.P), ["q"] = Numbers(r.Q), ["kl_pq"] = Json.Number(r.KlPq), ["kl_qp"] = Json.Number(r.KlQp),
                    ["grad_q"] = Numbers(r.GradQ), ["grad_q_kl_qp"] = Numbers(r.GradQReverse), ["notes"] = Notes(r.Notes),
                });
                return 0;
            }
            Console.WriteLine($"p = [{Join(r.P)}]");
            Console.WriteLine($"q = [{Join(r.Q)}]");
            Console.WriteLine($"KL(p||q) = {F(r.KlPq)}");
            Console.WriteLine($"KL(q||p) = {F(r.KlQp)}   (KL is not symmetric)");
            Console.WriteLine($"d KL(p||q) / d q = -p / q          = [{Join(r.GradQ)}]");
            Console.WriteLine($"d KL(q||p) / d q = log(q / p) + 1  = [{Join(r.GradQReverse)}]");
            Console.WriteLine("(q treated as free values; through a model q = q_W, the chain rule multiplies these by d q / d W)");
            Console.WriteLine("(0 log 0 = 0: outcomes with p = 0 add nothing to KL(p||q), those with q = 0 nothing to KL(q||p))");
            foreach (var n in r.Notes) Console.WriteLine($"note: {n}");
            return 0;
        });
        return cmd;
    }

    private static Command ConvCommand()
    {
        var signal = new Option<string>("--signal") { Description = "The signal a.", DefaultValueFactory = _ => "1,2,3,4" };
        var kernel = new Option<string>("--kernel") { Description = "The kernel k (flipped, as true convolution does).", DefaultValueFactory = _ => "1,0,2" };
        var mode = new Option<string>("--mode") { Description = "full, valid, same or all.", DefaultValueFactory = _ => "all" };
        var json = JsonOption();
        var cmd = new Command("conv1d", "True 1-D convolution with kernel flipping, numpy.convolve semantics (seed 001 Q6).") { signal, kernel, mode, json };
        cmd.SetAction(p =>
        {
            string m = p.GetValue(mode)!.ToLowerInvariant();
            if (m is not ("full" or "valid" or "same" or "all")) throw new ArgumentException($"--mode: unknown mode '{m}' (expected full, valid, same or all).");
            var r = Calc.Convolve(Calc.ParseVector(p.GetValue(signal), "--signal"), Calc.ParseVector(p.GetValue(kernel), "--kernel"));
            var parts = new[] { ("full", r.Full), ("valid", r.Valid), ("same", r.Same) }.Where(t => m == "all" || t.Item1 == m).ToArray();
            if (p.GetValue(json))
            {
                var o = new JsonObject { ["signal"] = Numbers(r.Signal), ["kernel"] = Numbers(r.Kernel) };
                foreach (var (name, v) in parts) o[name] = Numbers(v);
                o["notes"] = Notes(r.Notes);
                Json.Print(o);
                return 0;
            }
            Console.WriteLine($"[{Join(r.Signal)}] * [{Join(r.Kernel)}]  (true convolution: the kernel is flipped)");
            foreach (var (name, v) in parts) Console.WriteLine($"  {name,-5} = [{Join(v)}]");
            foreach (var n in r.Notes) Console.WriteLine($"  note: {n}");
            return 0;
        });
        return cmd;
    }

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static string Join(IEnumerable<double> v) => string.Join(", ", v.Select(F));

    private static JsonArray Numbers(IEnumerable<double> v) => Json.Numbers(v);

    private static JsonArray Notes(IEnumerable<string> notes) => new(notes.Select(n => (JsonNode?)n).ToArray());

    private static JsonArray Matrix(double[,] m)
    {
        var rows = new JsonArray();
        for (int i = 0; i < m.GetLength(0); i++)
            rows.Add((JsonNode)Numbers(Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j])));
        return rows;
    }

    private static void PrintMatrix(string title, double[,] m)
    {
        Console.WriteLine($"  {title}:");
        for (int i = 0; i < m.GetLength(0); i++)
            Console.WriteLine("    [" + string.Join(", ", Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j].ToString("G6", CultureInfo.InvariantCulture).PadLeft(12))) + "]");
    }
}
