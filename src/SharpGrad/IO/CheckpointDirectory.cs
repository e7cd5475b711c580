using System.Globalization;

namespace SharpGrad.IO;

/// <summary>A checkpoint file that <see cref="CheckpointDirectory.FindLatest"/> passed over, and why.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">The error that disqualified it.</param>
public sealed record RejectedCheckpoint(string Path, string Reason);

/// <summary>What <see cref="CheckpointDirectory.FindLatest"/> found.</summary>
/// <param name="Checkpoint">The newest valid checkpoint, or null when there is none.</param>
/// <param name="Path">Its file, or null.</param>
/// <param name="Rejected">Newer files that were not valid, newest first.</param>
public sealed record CheckpointSearch(Checkpoint? Checkpoint, string? Path, IReadOnlyList<RejectedCheckpoint> Rejected);

/// <summary>
/// A directory of checkpoints of one training run, named <c>checkpoint-{step:D12}.safetensors</c>: saves them
/// atomically, keeps the newest <see cref="Keep"/>, and finds the newest one that loads and verifies.
/// </summary>
/// <remarks>One training run writes to a directory at a time; a new run removes the temporary files a killed writer left.</remarks>
public sealed class CheckpointDirectory
{
    private const string Prefix = "checkpoint-";
    private const string Suffix = ".safetensors";
    private bool _cleaned;

    /// <summary>Uses (and on the first save creates) <paramref name="path"/>, keeping the newest <paramref name="keep"/> checkpoints.</summary>
    public CheckpointDirectory(string path, int keep = 3)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keep);
        (Path, Keep) = (System.IO.Path.GetFullPath(path), keep);
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>How many of the newest checkpoints are kept.</summary>
    public int Keep { get; }

    /// <summary>The file a checkpoint taken after <paramref name="step"/> optimizer steps is written to.</summary>
    public string PathFor(long step) =>
        System.IO.Path.Combine(Path, Prefix + step.ToString("D12", CultureInfo.InvariantCulture) + Suffix);

    /// <summary>
    /// Writes <paramref name="checkpoint"/> atomically to <see cref="PathFor"/> its step, then deletes all but the newest
    /// <see cref="Keep"/>. Files of a later step are deleted too: steps only grow within a run, so they belong to a
    /// timeline that was abandoned (a resume skipped them as invalid) and must not be taken for the newest.
    /// </summary>
    /// <returns>The file written.</returns>
    public string Save(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Directory.CreateDirectory(Path);
        if (!_cleaned)
        {
            // Left by a writer killed between creating its temporary file and renaming it; never a checkpoint.
            foreach (var f in Directory.EnumerateFiles(Path, "." + Prefix + "*.tmp")) TryDelete(f);
            _cleaned = true;
        }
        string path = PathFor(checkpoint.Step);
        checkpoint.Save(path);
        var files = List();
        int index = files.ToList().IndexOf(path);
        foreach (var old in files.Take(index)) TryDelete(old);
        foreach (var old in files.Skip(index + Keep)) TryDelete(old);
        return path;
    }

    /// <summary>The checkpoint files present, newest (highest step) first.</summary>
    public IReadOnlyList<string> List()
    {
        if (!Directory.Exists(Path)) return [];
        var found = new List<(long Step, string File)>();
        foreach (var f in Directory.EnumerateFiles(Path, Prefix + "*" + Suffix))
        {
            string name = System.IO.Path.GetFileName(f);
            var digits = name.AsSpan(Prefix.Length, name.Length - Prefix.Length - Suffix.Length);
            if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long step)) found.Add((step, f));
        }
        return found.OrderByDescending(x => x.Step).Select(x => x.File).ToList();
    }

    /// <summary>
    /// The newest checkpoint that loads, verifies (<see cref="Checkpoint.Load(string)"/>) and passes
    /// <paramref name="validate"/>; newer files that fail are returned in <see cref="CheckpointSearch.Rejected"/>.
    /// </summary>
    /// <param name="validate">Further checks, e.g. that the checkpoint fits the model; throws <see cref="InvalidDataException"/> to reject.</param>
    public CheckpointSearch FindLatest(Action<Checkpoint>? validate = null)
    {
        var rejected = new List<RejectedCheckpoint>();
        foreach (var f in List())
        {
            try
            {
                var c = Checkpoint.Load(f);
                validate?.Invoke(c);
                return new CheckpointSearch(c, f, rejected);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                rejected.Add(new RejectedCheckpoint(f, e.Message));
            }
        }
        return new CheckpointSearch(null, null, rejected);
    }

    /// <summary>
    /// Moves a checkpoint file that a run could not use (say, one <see cref="FindLatest"/> rejected) into the
    /// <c>rejected</c> folder inside <see cref="Path"/>, where <see cref="List"/> and <see cref="Save"/> no longer see
    /// it: it is kept, never deleted, for the user (or another version of the program) to deal with. A file of that name
    /// already there is not overwritten: the new one gets a numbered suffix.
    /// </summary>
    /// <returns>Where the file now is.</returns>
    public string SetAside(string file)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        string folder = System.IO.Path.Combine(Path, "rejected");
        Directory.CreateDirectory(folder);
        string name = System.IO.Path.GetFileName(file), target = System.IO.Path.Combine(folder, name);
        for (int i = 1; File.Exists(target); i++) target = System.IO.Path.Combine(folder, name + "." + i.ToString(CultureInfo.InvariantCulture));
        File.Move(file, target);
        return target;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
