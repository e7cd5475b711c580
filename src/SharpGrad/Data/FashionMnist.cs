namespace SharpGrad.Data;

/// <summary>The Fashion-MNIST splits: training, validation (carved from the end of the training files) and test.</summary>
/// <param name="Train">Training images.</param>
/// <param name="Validation">Validation images (empty when no split was asked for).</param>
/// <param name="Test">The 10,000 test images.</param>
public sealed record FashionMnistData(ImageDataset Train, ImageDataset Validation, ImageDataset Test);

/// <summary>
/// Loader of Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28x28 grey images of 10 clothing classes, 60,000 for
/// training and 10,000 for testing, in IDX files (gzip or plain). Looks in the directory given, else in
/// $SHARPGRAD_DATA, else in /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). Nothing is downloaded.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package installs the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The directory that <see cref="Load"/> would read: the argument, $SHARPGRAD_DATA, or the Debian path.</summary>
    public static string ResolveDirectory(string? directory = null)
    {
        if (!string.IsNullOrEmpty(directory)) return directory;
        string? env = Environment.GetEnvironmentVariable("SHARPGRAD_DATA");
        return string.IsNullOrEmpty(env) ? DebianDirectory : env;
    }

    /// <summary>Whether the four files are present in the resolved directory.</summary>
    public static bool IsAvailable(string? directory = null)
    {
        string dir = ResolveDirectory(directory);
        return new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .All(f => FindFile(dir, f) is not null);
    }

    /// <summary>
    /// Loads the three splits. The last <paramref name="validationSize"/> training images (10,000 by default) form the
    /// validation set, a fixed split; pixels are scaled to [0, 1] and, when <paramref name="standardize"/>, shifted and
    /// scaled by the training set's mean 0.2860 and standard deviation 0.3530.
    /// </summary>
    public static FashionMnistData Load(string? directory = null, int validationSize = 10_000, bool standardize = false)
    {
        string dir = ResolveDirectory(directory);
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"Fashion-MNIST: the directory '{dir}' does not exist. Install Debian's dataset-fashion-mnist, or pass a directory / set SHARPGRAD_DATA to one holding the four IDX files.");
        var (trainX, trainY) = ReadPair(dir, "train");
        var (testX, testY) = ReadPair(dir, "t10k");
        int n = trainY.Length;
        ArgumentOutOfRangeException.ThrowIfNegative(validationSize);
        // Too few images is a fault of the files, not of the caller: say which directory and how many are needed.
        if (validationSize >= n)
            throw new InvalidDataException($"{dir}: the training files hold {n} images; at least {validationSize + 1} are needed ({validationSize} for validation and one or more to train on).");
        double mean = standardize ? 0.2860 : 0, std = standardize ? 0.3530 : 1;
        var all = new ImageDataset(trainX, trainY, 1, 28, 28, mean: mean, std: std);
        return new FashionMnistData(all.Slice(0, n - validationSize), all.Slice(n - validationSize, validationSize),
            new ImageDataset(testX, testY, 1, 28, 28, mean: mean, std: std));
    }

    private static (byte[] Images, byte[] Labels) ReadPair(string dir, string prefix)
    {
        string imagesPath = FindFile(dir, $"{prefix}-images-idx3-ubyte") ?? throw Missing(dir, $"{prefix}-images-idx3-ubyte");
        string labelsPath = FindFile(dir, $"{prefix}-labels-idx1-ubyte") ?? throw Missing(dir, $"{prefix}-labels-idx1-ubyte");
        var images = Idx.Read(imagesPath);
        var labels = Idx.Read(labelsPath);
        if (images.TypeCode != 0x08 || images.Shape.Length != 3 || images.Shape[1] != 28 || images.Shape[2] != 28)
            throw new InvalidDataException($"{imagesPath}: expected unsigned-byte images of shape [N, 28, 28]; got type 0x{images.TypeCode:X2} and shape [{string.Join(", ", images.Shape)}].");
        if (labels.TypeCode != 0x08 || labels.Shape.Length != 1 || labels.Shape[0] != images.Shape[0])
            throw new InvalidDataException($"{labelsPath}: expected {images.Shape[0]} unsigned-byte labels; got type 0x{labels.TypeCode:X2} and shape [{string.Join(", ", labels.Shape)}].");
        var y = (byte[])labels.Data;
        for (int i = 0; i < y.Length; i++)
            if (y[i] > 9) throw new InvalidDataException($"{labelsPath}, byte offset {8 + i}: label {y[i]} is outside the 10 classes.");
        return ((byte[])images.Data, y);
    }

    private static string? FindFile(string dir, string stem) =>
        new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx", StringComparison.Ordinal) }.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists);

    private static FileNotFoundException Missing(string dir, string stem) =>
        new($"Fashion-MNIST: '{stem}' (or '{stem}.gz') is missing from '{dir}'.", Path.Combine(dir, stem));
}
