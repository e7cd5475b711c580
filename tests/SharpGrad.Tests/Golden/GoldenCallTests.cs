using System.Runtime.CompilerServices;
using System.Reflection;
using System.Text.Json;
using SharpGrad.NN;

namespace SharpGrad.Tests.Golden;

/// <summary>
/// Replays the golden cases of tests/golden/calls/&lt;family&gt;/manifest.json (written by tools/golden/calls_*.py from
/// PyTorch 1.13) against SharpGrad. Each case names the SharpGrad call (a Tensor method, a static Tensor method or a
/// Functional function) and its arguments by parameter name; the call is found by reflection, so an op added in its
/// own file needs golden cases in Python only. Forward output, and the gradient of every input after backpropagating
/// PyTorch's upstream gradient, must match.
/// </summary>
public sealed class GoldenCallTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "golden", "calls");

    private static readonly Lazy<Dictionary<string, (string Dir, JsonElement Case)>> Manifest = new(() =>
    {
        var cases = new Dictionary<string, (string, JsonElement)>();
        if (!Directory.Exists(Root)) return cases;
        foreach (var file in Directory.GetFiles(Root, "manifest.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            string family = doc.RootElement.GetProperty("family").GetString()!;
            foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
                cases.Add($"{family}/{c.GetProperty("name").GetString()}__{c.GetProperty("dtype").GetString()}", (Path.GetDirectoryName(file)!, c.Clone()));
        }
        return cases;
    });

    /// <summary>Every (family/case, dtype) pair: each is its own test.</summary>
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var key in Manifest.Value.Keys.Order(StringComparer.Ordinal)) data.Add(key);
        return data;
    }

    [Fact]
    public void EveryFamilyHasCases() => Assert.True(Manifest.Value.Count > 0, $"no golden call cases under {Root}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string key)
    {
        var (dir, c) = Manifest.Value[key];
        string prefix = Path.Combine(dir, $"{c.GetProperty("name").GetString()}__{c.GetProperty("dtype").GetString()}");
        bool backward = c.GetProperty("backward").GetBoolean();
        double rtol = c.GetProperty("rtol").GetDouble(), atol = c.GetProperty("atol").GetDouble();

        var inputs = new Tensor[c.GetProperty("inputs").GetInt32()];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = GoldenOpsTests.Npy.Load($"{prefix}__in{i}.npy").ToTensor();
            if (backward) inputs[i].RequiresGrad = true;
        }
        var constTypes = c.GetProperty("consts").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var consts = new Tensor[constTypes.Length];
        for (int j = 0; j < consts.Length; j++)
        {
            var t = GoldenOpsTests.Npy.Load($"{prefix}__const{j}.npy").ToTensor();
            consts[j] = constTypes[j] == "bool" ? t.To(DType.Bool) : t;
        }

        object? result = Invoke(c, inputs, consts);
        Tensor y = c.TryGetProperty("output", out var o) && o.ValueKind == JsonValueKind.Number
            ? Select(result, o.GetInt32())
            : result as Tensor ?? throw new InvalidOperationException($"{key}: the call returned {result?.GetType().Name ?? "null"}, not a Tensor; set 'output' in the case.");

        Check($"{key}: output", y, GoldenOpsTests.Npy.Load($"{prefix}__out.npy"), rtol, atol);
        if (!backward) return;
        y.Backward(GoldenOpsTests.Npy.Load($"{prefix}__gout.npy").ToTensor());
        for (int i = 0; i < inputs.Length; i++)
        {
            var expected = GoldenOpsTests.Npy.Load($"{prefix}__grad{i}.npy");
            // PyTorch's zeros stand for "no gradient": SharpGrad may leave Grad null there.
            var grad = inputs[i].Grad ?? Tensor.ZerosLike(inputs[i]);
            Check($"{key}: gradient of input {i}", grad, expected, rtol, atol);
        }
    }

    private static Tensor Select(object? result, int index) => result switch
    {
        Tensor[] list => list[index],
        ITuple tuple => (Tensor)tuple[index]!,
        _ => throw new InvalidOperationException($"cannot take output {index} of a {result?.GetType().Name ?? "null"}"),
    };

    /// <summary>Finds the named method whose parameters take every given argument (the rest optional) and calls it.</summary>
    private static object? Invoke(JsonElement c, Tensor[] inputs, Tensor[] consts)
    {
        string kind = c.GetProperty("kind").GetString()!, name = c.GetProperty("method").GetString()!;
        var args = c.GetProperty("args").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        (Type type, object? target, BindingFlags flags) = kind switch
        {
            "method" => (typeof(Tensor), Convert(c.GetProperty("self") is { ValueKind: JsonValueKind.Number } i ? JsonDocument.Parse($"{{\"input\": {i}}}").RootElement : c.GetProperty("self"), typeof(Tensor), inputs, consts), BindingFlags.Public | BindingFlags.Instance),
            "static" => (typeof(Tensor), null, BindingFlags.Public | BindingFlags.Static),
            "functional" => (typeof(Functional), null, BindingFlags.Public | BindingFlags.Static),
            _ => throw new InvalidOperationException($"unknown kind '{kind}'"),
        };
        var failures = new List<string>();
        foreach (var m in type.GetMethods(flags).Where(m => m.Name == name))
        {
            var ps = m.GetParameters();
            if (args.Keys.Any(k => ps.All(p => p.Name != k))) continue;
            if (ps.Any(p => !args.ContainsKey(p.Name!) && !p.IsOptional && !p.IsDefined(typeof(ParamArrayAttribute)))) continue;
            var values = new object?[ps.Length];
            try
            {
                for (int i = 0; i < ps.Length; i++)
                    values[i] = args.TryGetValue(ps[i].Name!, out var v) ? Convert(v, ps[i].ParameterType, inputs, consts)
                        : ps[i].IsOptional ? ps[i].DefaultValue is DBNull ? null : ps[i].DefaultValue
                        : Array.CreateInstance(ps[i].ParameterType.GetElementType()!, 0);
            }
            catch (Exception e) when (e is InvalidCastException or FormatException or ArgumentException)
            {
                failures.Add($"{m}: {e.Message}");
                continue;
            }
            try { return m.Invoke(target, values); }
            catch (TargetInvocationException e) { throw e.InnerException!; }
        }
        throw new InvalidOperationException($"no {type.Name}.{name} overload takes ({string.Join(", ", args.Keys)}). {string.Join(" ", failures)}");
    }

    private static object? Convert(JsonElement v, Type to, Tensor[] inputs, Tensor[] consts)
    {
        var nullable = Nullable.GetUnderlyingType(to);
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (nullable is not null) to = nullable;
        if (v.ValueKind == JsonValueKind.Object)
        {
            if (v.TryGetProperty("input", out var i)) return Expect(inputs[i.GetInt32()], to);
            if (v.TryGetProperty("const", out var j)) return Expect(consts[j.GetInt32()], to);
            if (v.TryGetProperty("inputs", out var list)) return Expect(list.EnumerateArray().Select(e => inputs[e.GetInt32()]).ToArray(), to);
            if (v.TryGetProperty("enum", out _)) return Enum.Parse(to, v.GetProperty("value").GetString()!);
            throw new FormatException($"unknown argument object {v}");
        }
        if (v.ValueKind == JsonValueKind.Array)
        {
            var items = v.EnumerateArray().ToArray();
            if (to == typeof(int[])) return items.Select(e => e.GetInt32()).ToArray();
            if (to == typeof(long[])) return items.Select(e => e.GetInt64()).ToArray();
            if (to == typeof(double[])) return items.Select(e => e.GetDouble()).ToArray();
            if (to.IsGenericType && to.FullName!.StartsWith("System.ValueTuple", StringComparison.Ordinal))
            {
                var ts = to.GetGenericArguments();
                if (ts.Length != items.Length) throw new FormatException($"{items.Length} values for a {ts.Length}-tuple");
                return Activator.CreateInstance(to, items.Select((e, k) => Convert(e, ts[k], inputs, consts)).ToArray());
            }
            throw new InvalidCastException($"a list cannot become {to.Name}");
        }
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False)
            return to == typeof(bool) ? v.GetBoolean() : throw new InvalidCastException($"a bool cannot become {to.Name}");
        if (v.ValueKind == JsonValueKind.String)
            return to == typeof(string) ? v.GetString() : throw new InvalidCastException($"a string cannot become {to.Name}");
        if (to == typeof(int)) return v.GetInt32();
        if (to == typeof(long)) return v.GetInt64();
        if (to == typeof(double)) return v.GetDouble();
        if (to == typeof(float)) return v.GetSingle();
        if (to.IsGenericType && to.FullName!.StartsWith("System.ValueTuple", StringComparison.Ordinal))
        {
            // One number for a per-dimension tuple: that number in every dimension (PyTorch's int-or-tuple arguments).
            var ts = to.GetGenericArguments();
            return Activator.CreateInstance(to, ts.Select(t => Convert(v, t, inputs, consts)).ToArray());
        }
        if (to == typeof(int[])) return new[] { v.GetInt32() };
        throw new InvalidCastException($"a number cannot become {to.Name}");
    }

    private static object Expect(object value, Type to) =>
        to.IsInstanceOfType(value) ? value : throw new InvalidCastException($"{value.GetType().Name} is not {to.Name}");

    private static void Check(string what, Tensor actual, GoldenOpsTests.Npy.NpyData expected, double rtol, double atol)
    {
        var expectedType = GoldenOpsTests.Npy.DTypeOf(expected.Descr);
        Assert.True(expectedType == actual.DType, $"{what}: dtype {actual.DType.ToTorchName()}, PyTorch's is {expectedType.ToTorchName()}.");
        Assert.True(actual.Shape.SequenceEqual(expected.Shape), $"{what}: shape {GoldenCompare.Fmt(actual.Shape)}, PyTorch's is {GoldenCompare.Fmt(expected.Shape)}.");
        bool exact = !expectedType.IsFloatingPoint();
        string? failure = GoldenCompare.Compare(what, actual.ToArray<double>(), expected.AsDoubles(), expected.Shape, exact ? 0 : rtol, exact ? 0 : atol);
        if (failure is not null) Assert.Fail(failure);
    }
}
