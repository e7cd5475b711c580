using System.Globalization;

namespace SharpGrad.NN
{
    /// <summary>
    /// A lookup table of <c>numEmbeddings</c> vectors of <c>embeddingDim</c> features (PyTorch: <c>nn.Embedding</c>):
    /// indices [*] (Int64) give vectors [*, embeddingDim]. Weights start from N(0, 1) as in PyTorch; the padding row
    /// (if any) starts at zero and gets no gradient.
    /// </summary>
    public sealed class Embedding : Module
    {
        /// <summary>Creates the table.</summary>
        /// <param name="numEmbeddings">Number of rows (the vocabulary size).</param>
        /// <param name="embeddingDim">Features per row.</param>
        /// <param name="paddingIdx">A row that stays fixed (padding); negative counts from the end.</param>
        /// <param name="generator">Source of the initial weights.</param>
        /// <param name="dtype">Weight dtype.</param>
        public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null, Generator? generator = null, DType dtype = DType.Float32)
        {
            if (numEmbeddings <= 0) throw new ArgumentOutOfRangeException(nameof(numEmbeddings), numEmbeddings, "Embedding: numEmbeddings must be positive.");
            if (embeddingDim <= 0) throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, "Embedding: embeddingDim must be positive.");
            NumEmbeddings = numEmbeddings;
            EmbeddingDim = embeddingDim;
            PaddingIdx = paddingIdx is int p ? Functional.EmbeddingPaddingRow(p, numEmbeddings) : null;
            Weight = RegisterParameter("weight", Tensor.Randn([numEmbeddings, embeddingDim], generator, dtype));
            if (PaddingIdx is int row)
                for (int j = 0; j < embeddingDim; j++) Weight.SetDouble(row * embeddingDim + j, 0);
        }

        /// <summary>Rows.</summary>
        public int NumEmbeddings { get; }
        /// <summary>Features per row.</summary>
        public int EmbeddingDim { get; }
        /// <summary>The padding row (non-negative), or null.</summary>
        public int? PaddingIdx { get; }
        /// <summary>The table, [numEmbeddings, embeddingDim].</summary>
        public Tensor Weight { get; }

        /// <inheritdoc/>
        public override Tensor Forward(Tensor input) => Functional.Embedding(input, Weight, PaddingIdx);

        /// <inheritdoc/>
        protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Embedding({NumEmbeddings}, {EmbeddingDim}{(PaddingIdx is int p ? $", padding_idx={p}" : "")})");
    }

    public static partial class Functional
    {
        /// <summary>
        /// Rows of <paramref name="weight"/> ([rows, features]) picked by the Int64 <paramref name="indices"/> ([*]), as
        /// [*, features] (PyTorch: <c>torch.nn.functional.embedding</c>). The gradient is scattered back into the rows
        /// used (added for repeated indices); the row <paramref name="paddingIdx"/> gets none.
        /// </summary>
        public static Tensor Embedding(Tensor indices, Tensor weight, int? paddingIdx = null)
        {
            ArgumentNullException.ThrowIfNull(indices);
            ArgumentNullException.ThrowIfNull(weight);
            if (indices.DType != DType.Int64)
                throw new ArgumentException($"Embedding: indices must be Int64; got {indices.DType.ToTorchName()} with shape {Shapes.Format(indices.ShapeRef)}.", nameof(indices));
            if (weight.Rank != 2)
                throw new ArgumentException($"Embedding: the weight must be [rows, features]; got {Shapes.Format(weight.ShapeRef)}.", nameof(weight));
            int rows = weight.Size(0);
            var flat = indices.Reshape(indices.Numel);
            var idx = flat.Array<long>();
            for (int i = 0; i < idx.Length; i++)
                if ((ulong)idx[i] >= (ulong)rows)
                    throw new ArgumentOutOfRangeException(nameof(indices), idx[i], $"Embedding: index {idx[i]} is out of range for {rows} rows.");
            int[] shape = [.. indices.ShapeRef, weight.Size(1)];
            var y = weight.IndexSelect(0, flat).Reshape(shape);
            if (paddingIdx is not int p) return y;
            int row = EmbeddingPaddingRow(p, rows);
            // The padding rows' vectors without a gradient path: torch leaves weight[padding_idx].grad zero.
            var isPad = indices.Eq(row).Unsqueeze(-1);
            return Tensor.Where(isPad, y.Detach(), y);
        }

        internal static int EmbeddingPaddingRow(int paddingIdx, int rows)
        {
            int row = paddingIdx < 0 ? paddingIdx + rows : paddingIdx;
            if (row < 0 || row >= rows) throw new ArgumentOutOfRangeException(nameof(paddingIdx), paddingIdx, $"Embedding: paddingIdx must be within [-{rows}, {rows}).");
            return row;
        }
    }
}
