using System.Security.Cryptography;
using SharpGrad.Data;
using SharpGrad.NN;

namespace SharpGrad.IO;

/// <summary>The file formats a state dict can be saved in.</summary>
public enum StateDictFormat
{
    /// <summary>safetensors (<c>.safetensors</c>): what PyTorch's <c>safetensors.torch</c> reads and writes.</summary>
    Safetensors,
    /// <summary>NumPy's <c>.npz</c>: one <c>NAME.npy</c> member per tensor, what <c>np.load</c> reads.</summary>
    Npz,
}

/// <summary>
/// Saving and loading state dicts (PyTorch: <c>torch.save(model.state_dict())</c> without pickle) as safetensors or
/// .npz, with PyTorch's names (<c>fc1.weight</c>, <c>0.bias</c>), so weights can be exchanged with PyTorch and NumPy;
/// and the SHA-256 of a state dict, by which runs are compared bit for bit.
/// </summary>
public static class StateDictIO
{
    /// <summary>The format a path's extension names: <c>.safetensors</c> or <c>.npz</c>.</summary>
    /// <exception cref="ArgumentException">Any other extension.</exception>
    public static StateDictFormat FormatOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return StateDictFormat.Safetensors;
        if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return StateDictFormat.Npz;
        throw new ArgumentException($"{path}: unknown state-dict format; expected a name ending in .safetensors or .npz.", nameof(path));
    }

    /// <summary>Saves a state dict atomically in the format its extension names (see <see cref="FormatOf"/>).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="state">Names and tensors, e.g. <see cref="Module.StateDict"/>.</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (FormatOf(path) == StateDictFormat.Safetensors) Safetensors.Save(path, state);
        else Npy.SaveNpz(path, state);
    }

    /// <summary>Saves <paramref name="model"/>'s state dict; see <see cref="Save(string, IEnumerable{KeyValuePair{string, Tensor}})"/>.</summary>
    public static void Save(string path, Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(path, model.StateDict());
    }

    /// <summary>
    /// Loads a state dict from a safetensors or .npz file, recognised by its content (a zip archive is .npz), in file
    /// order. Integer .npz arrays widen to Int64; F16/BF16 safetensors widen to Float32.
    /// </summary>
    /// <param name="path">The file; error messages name it.</param>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = Safetensors.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        int got = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        if (got == 4 && (magic.SequenceEqual("PK\x03\x04"u8) || magic.SequenceEqual("PK\x05\x06"u8))) return Npy.LoadNpz(file, path);
        return Safetensors.Read(file, path).Tensors;
    }

    /// <summary>
    /// Loads a state dict file into <paramref name="model"/> (PyTorch: <c>model.load_state_dict(load_file(path))</c>).
    /// </summary>
    /// <param name="model">The model whose parameters and buffers are overwritten.</param>
    /// <param name="path">A safetensors or .npz file.</param>
    /// <param name="strict">Whether missing or unexpected names are an error (nothing is changed then).</param>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    /// <exception cref="ArgumentException">The names or shapes do not match the model; the message names the file.</exception>
    public static StateDictLoadResult LoadInto(Module model, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var state = Load(path);
        try { return model.LoadStateDict(state, strict); }
        catch (ArgumentException e) { throw new ArgumentException($"{path}: {e.Message}", nameof(path), e); }
    }

    /// <summary>
    /// The SHA-256 (lower-case hex) of a state dict: of its safetensors serialization without metadata, so it equals
    /// <c>sha256sum</c> of the file <see cref="Safetensors.Save"/> writes. Equal hashes mean equal names, order, dtypes,
    /// shapes and bits.
    /// </summary>
    public static string Sha256(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var sha = SHA256.Create();
        using (var hashing = new CryptoStream(Stream.Null, sha, CryptoStreamMode.Write))
            Safetensors.Write(hashing, state);
        return Convert.ToHexStringLower(sha.Hash!);
    }

    /// <summary>The SHA-256 of <paramref name="model"/>'s state dict; see <see cref="Sha256(IEnumerable{KeyValuePair{string, Tensor}})"/>.</summary>
    public static string Sha256(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Sha256(model.StateDict());
    }
}
