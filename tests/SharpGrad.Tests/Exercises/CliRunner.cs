using System.Text.Json;
using Spectre.Console;

namespace SharpGrad.Tests.Exercises;

/// <summary>Tests that run <c>sharpgrad</c> in-process redirect the console, so they run alone, never beside another collection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliConsoleCollection
{
    public const string Name = "sharpgrad in-process console";
}

/// <summary>Runs <c>sharpgrad</c> in-process and captures stdout and stderr.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        var oldAnsi = AnsiConsole.Console;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        try
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(stdout),
            });
            console.Profile.Width = 200; // no wrapping inside table cells
            AnsiConsole.Console = console;
            int code = SharpGrad.Cli.Program.Main(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            AnsiConsole.Console = oldAnsi;
        }
    }

    /// <summary>Runs with --json: exit 0, nothing on stderr, exactly one line on stdout holding one JSON object.</summary>
    public static JsonElement Json(params string[] args)
    {
        var (code, stdout, stderr) = Run([.. args, "--json"]);
        Assert.True(code == 0, $"exit code {code}: {stderr}");
        Assert.Equal("", stderr);
        Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var root = JsonDocument.Parse(stdout).RootElement.Clone();
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        return root;
    }

    /// <summary>Expects a user error: exit 1, nothing on stdout, one line on stderr.</summary>
    public static string Fails(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.True(code == 1, $"exit code {code}; stdout: {stdout}");
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return stderr;
    }

    /// <summary>Expects a user error whose one-line message contains <paramref name="expected"/>.</summary>
    public static string FailsWith(string expected, params string[] args)
    {
        string stderr = Fails(args);
        Assert.Contains(expected, stderr, StringComparison.OrdinalIgnoreCase);
        return stderr;
    }

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
