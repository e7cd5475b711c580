using System.CommandLine;
using System.Runtime.InteropServices;
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
        root.Add(LmCommand.Create());
        root.Add(ExportCommand.Create());
        root.Add(SummaryCommand.Create());
        PlainWhenRedirected();
        using var stop = new StopSignal();
        try
        {
            // System.CommandLine's own handler is off (ProcessTerminationTimeout null): StopSignal cancels the token and
            // remembers which signal came, so that the exit code can say it.
            var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            int code = root.Parse(args).InvokeAsync(config, stop.Token).GetAwaiter().GetResult();
            if (stop.ExitCode is int signalled)
            {
                // The signal came when nothing was left to stop (the command does not check for it, or had finished).
                Console.Error.WriteLine($"sharpgrad: {stop.Name} received; the command had {(code == 0 ? "finished" : $"ended with exit code {code}")}.");
                return signalled;
            }
            return code;
        }
        catch (OperationCanceledException e) when (stop.ExitCode is int code)
        {
            Console.Error.WriteLine($"sharpgrad: stopped by {stop.Name}{(e is RunStoppedException ? e.Message : "")}.");
            return code;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException or NotSupportedException or InvalidOperationException or SharpGrad.Training.NonFiniteLossException)
        {
            // User errors end with one line and exit code 1, never a stack trace. ArgumentOutOfRangeException appends
            // "Actual value was ..." on a line of its own: the line stays one line.
            Console.Error.WriteLine($"sharpgrad: {e.Message.ReplaceLineEndings(" ")}");
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

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM: the first one cancels <see cref="Token"/>, and a command stops at its next safe point
/// (train writes a checkpoint first); the process then exits with 128 + the signal number (130, 143). A second signal
/// while the first is being handled ends the process at once, as if there were no handler.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _signals;

    public StopSignal() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>130 after SIGINT, 143 after SIGTERM, null while no signal came.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>The signal's name, e.g. SIGINT.</summary>
    public string? Name { get; private set; }

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) > 1) return; // default action: the process ends now
        context.Cancel = true;
        (Name, ExitCode) = context.Signal == PosixSignal.SIGINT ? ("SIGINT", 130) : ("SIGTERM", 143);
        _cts.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
