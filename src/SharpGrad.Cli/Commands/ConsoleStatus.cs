using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>Status lines printed synchronously, in order (Progress&lt;T&gt; would post them to the thread pool).</summary>
internal sealed class ConsoleStatus : IProgress<string>
{
    public void Report(string value) => AnsiConsole.MarkupLine($"[grey]… {Markup.Escape(value)}[/]");
}
