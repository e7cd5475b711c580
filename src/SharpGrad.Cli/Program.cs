using System.CommandLine;
using SharpGrad.Cli.Commands;

namespace SharpGrad.Cli;

/// <summary>The <c>sharpgrad</c> command: the only part of SharpGrad that writes to the console.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("SharpGrad: deep learning in pure managed C#, and the classic exercises run end to end.");
        root.Add(DemoCommand.Create());
        root.Add(GradCheckCommand.Create());
        root.Add(TrainCommand.Create());
        root.Add(SweepCommand.Create());
        root.Add(InspectCommand.Create());
        root.Add(ConvCommand.Create());
        root.Add(ConstructCommand.Create());
        root.Add(ReportCommand.Create());
        root.Add(XorCommand.Create());
        root.Add(LinregCommand.Create());
        root.Add(CalcCommand.Create());
        PlainWhenRedirected();
        try
        {
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or NotSupportedException or InvalidOperationException or SharpGrad.Training.NonFiniteLossException)
        {
            // User errors end with one line and exit code 1, never a stack trace.
            Console.Error.WriteLine($"sharpgrad: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Colour and style codes only on a terminal: Spectre.Console decides from TERM alone, so output piped or written
    /// to a file would otherwise carry escape sequences.
    /// </summary>
    private static void PlainWhenRedirected()
    {
        if (!Console.IsOutputRedirected) return;
        var capabilities = Spectre.Console.AnsiConsole.Profile.Capabilities;
        capabilities.Ansi = false;
        capabilities.ColorSystem = Spectre.Console.ColorSystem.NoColors;
    }
}
