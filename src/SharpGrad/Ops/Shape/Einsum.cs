namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Einstein summation (PyTorch: <c>torch.einsum</c>): <paramref name="equation"/> names each operand's dimensions
    /// with letters, e.g. <c>"bij,bjk->bik"</c> (batched matrix product), <c>"ii->i"</c> (diagonal), <c>"ii"</c>
    /// (trace), <c>"i,j->ij"</c> (outer product). Letters shared by operands are multiplied elementwise; letters absent
    /// from the output are summed. Without <c>"->"</c> the output holds the letters that appear exactly once, in
    /// alphabetical order (upper case first). <c>"..."</c> stands for the remaining dimensions of an operand; these
    /// broadcast across operands as NumPy's do (right-aligned), and so do dimensions of size 1 under a shared letter.
    /// </summary>
    /// <remarks>
    /// Each operand's repeated letters become a diagonal (a strided <see cref="Slice"/> of the merged dimensions) and its
    /// private letters are summed first; then the operands are contracted left to right, each pair as one batched
    /// matrix product [batch, M, K] × [batch, K, N] over the GEMM, so the work is that of the matrix product. Only
    /// differentiable tensor ops are used, so the gradient (and double backward) follows from theirs. Floating point
    /// only, and all operands of one dtype, as the matrix product needs.
    /// </remarks>
    public static Tensor Einsum(string equation, params Tensor[] operands)
    {
        ArgumentNullException.ThrowIfNull(equation);
        ArgumentNullException.ThrowIfNull(operands);
        if (operands.Length == 0) throw new ArgumentException("Einsum: no operands given.", nameof(operands));
        for (int i = 0; i < operands.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(operands[i]);
            operands[i].EnsureFloatingPoint(nameof(Einsum));
            if (operands[i].DType != operands[0].DType)
                throw new ArgumentException($"Einsum: operand {i} is {operands[i].DType.ToTorchName()} but operand 0 is {operands[0].DType.ToTorchName()}; give all one dtype.", nameof(operands));
        }
        var (labels, output) = EinsumParse(equation, operands);

        // Sizes per letter, with size 1 broadcasting against any other.
        var sizes = new Dictionary<int, int>();
        for (int i = 0; i < operands.Length; i++)
            for (int k = 0; k < labels[i].Length; k++)
            {
                int n = operands[i]._shape[k];
                if (!sizes.TryGetValue(labels[i][k], out int seen) || seen == 1) sizes[labels[i][k]] = n;
                else if (n != seen && n != 1)
                    throw new ArgumentException($"Einsum: subscript {EinsumName(labels[i][k])} has size {n} in operand {i}, which does not broadcast with the size {seen} seen before (equation \"{equation}\").");
            }

        // Per operand: diagonals of repeated letters, then the letters nobody else needs summed away.
        var terms = new (Tensor T, List<int> L)[operands.Length];
        for (int i = 0; i < operands.Length; i++)
        {
            var (t, l) = EinsumDiagonal(operands[i], labels[i], i, equation);
            for (int k = l.Count - 1; k >= 0; k--)
            {
                int label = l[k];
                bool needed = output.Contains(label);
                for (int j = 0; !needed && j < operands.Length; j++) needed = j != i && labels[j].Contains(label);
                if (!needed) { t = t.Sum(k); l.RemoveAt(k); }
            }
            terms[i] = (t, l);
        }

        var (acc, accLabels) = terms[0];
        for (int i = 1; i < terms.Length; i++)
        {
            var keep = new HashSet<int>(output);
            for (int j = i + 1; j < terms.Length; j++) keep.UnionWith(terms[j].L);
            (acc, accLabels) = EinsumContract(acc, accLabels, terms[i].T, terms[i].L, keep);
        }

        // Every output letter is a dimension of acc now: parsing rejected letters no operand has, and kept ones are never summed.
        var perm = new int[output.Length];
        for (int k = 0; k < output.Length; k++) perm[k] = accLabels.IndexOf(output[k]);
        return IsIdentity(perm) ? acc : acc.Permute(perm);
    }

    private static bool IsIdentity(int[] perm)
    {
        for (int i = 0; i < perm.Length; i++) if (perm[i] != i) return false;
        return true;
    }

    /// <summary>Letters as ids (A–Z 0–25, a–z 26–51, the ellipsis' dimensions 52 + position); for messages.</summary>
    private static string EinsumName(int id) => id < 26 ? ((char)('A' + id)).ToString() : id < 52 ? ((char)('a' + id - 26)).ToString() : $"'...' dimension {id - 52}";

    /// <summary>Each operand's letter per dimension and the output's letters, with "..." expanded (right-aligned).</summary>
    private static (int[][] Labels, int[] Output) EinsumParse(string equation, Tensor[] operands)
    {
        string eq = string.Concat(equation.Where(ch => !char.IsWhiteSpace(ch)));
        int arrow = eq.IndexOf("->", StringComparison.Ordinal);
        string lhs = arrow < 0 ? eq : eq[..arrow];
        string? rhs = arrow < 0 ? null : eq[(arrow + 2)..];
        string[] terms = lhs.Split(',');
        if (terms.Length != operands.Length)
            throw new ArgumentException($"Einsum: the equation \"{equation}\" has {terms.Length} operand term(s) but {operands.Length} operand(s) were given.", nameof(equation));
        var parsed = new (List<int> Letters, int Ellipsis)[terms.Length];
        int ellipsisRank = 0;
        for (int i = 0; i < terms.Length; i++)
        {
            parsed[i] = ParseTerm(terms[i], equation);
            int rank = operands[i].Rank, named = parsed[i].Letters.Count;
            if (parsed[i].Ellipsis < 0 ? named != rank : named > rank)
                throw new ArgumentException($"Einsum: term \"{terms[i]}\" names {named} dimension(s) but operand {i} has shape {Shapes.Format(operands[i]._shape)}{(parsed[i].Ellipsis < 0 ? " and no \"...\" was given" : "")} (equation \"{equation}\").", nameof(equation));
            if (parsed[i].Ellipsis >= 0) ellipsisRank = Math.Max(ellipsisRank, rank - named);
        }
        var labels = new int[terms.Length][];
        for (int i = 0; i < terms.Length; i++)
        {
            var (letters, at) = parsed[i];
            var list = new List<int>(letters);
            if (at >= 0)
            {
                int m = operands[i].Rank - letters.Count;
                list.InsertRange(at, Enumerable.Range(52 + ellipsisRank - m, m));
            }
            labels[i] = [.. list];
        }

        int[] output;
        if (rhs is null)
        {
            var counts = new SortedDictionary<int, int>();
            foreach (var (letters, _) in parsed) foreach (int l in letters) counts[l] = counts.GetValueOrDefault(l) + 1;
            output = [.. Enumerable.Range(52, ellipsisRank), .. counts.Where(p => p.Value == 1).Select(p => p.Key)];
        }
        else
        {
            var (letters, at) = ParseTerm(rhs, equation);
            var list = new List<int>(letters);
            if (at >= 0) list.InsertRange(at, Enumerable.Range(52, ellipsisRank));
            output = [.. list];
            for (int k = 0; k < output.Length; k++)
            {
                if (System.Array.IndexOf(output, output[k]) != k)
                    throw new ArgumentException($"Einsum: output subscript {EinsumName(output[k])} appears more than once in \"{equation}\".", nameof(equation));
                if (output[k] < 52 && !labels.Any(l => l.Contains(output[k])))
                    throw new ArgumentException($"Einsum: output subscript {EinsumName(output[k])} does not appear in any operand's term of \"{equation}\".", nameof(equation));
            }
        }
        return (labels, output);
    }

    /// <summary>A term's letters and where its "..." stood (-1 if none).</summary>
    private static (List<int> Letters, int Ellipsis) ParseTerm(string term, string equation)
    {
        var letters = new List<int>();
        int ellipsis = -1;
        for (int p = 0; p < term.Length; p++)
        {
            char ch = term[p];
            if (ch is >= 'A' and <= 'Z') letters.Add(ch - 'A');
            else if (ch is >= 'a' and <= 'z') letters.Add(ch - 'a' + 26);
            else if (ch == '.' && p + 2 < term.Length && term[p + 1] == '.' && term[p + 2] == '.' && ellipsis < 0)
            {
                ellipsis = letters.Count;
                p += 2;
            }
            else if (ch == '.')
                throw new ArgumentException($"Einsum: \"{term}\" in \"{equation}\" has a '.' that is not part of a single \"...\".", nameof(equation));
            else
                throw new ArgumentException($"Einsum: invalid subscript '{ch}' in \"{equation}\"; subscripts are letters a-z, A-Z and \"...\".", nameof(equation));
        }
        return (letters, ellipsis);
    }

    /// <summary>
    /// Takes the diagonal over every repeated letter of one operand: the letter's dimensions are made adjacent, merged
    /// into one of n^k elements, and sliced with step 1 + n + … + n^(k−1), which walks the diagonal.
    /// </summary>
    private static (Tensor T, List<int> L) EinsumDiagonal(Tensor x, int[] labels, int operand, string equation)
    {
        var unique = labels.Distinct().ToList();
        if (unique.Count == labels.Length) return (x, unique);
        var order = new List<int>();
        foreach (int l in unique)
            for (int k = 0; k < labels.Length; k++)
                if (labels[k] == l)
                {
                    if (x._shape[k] != x._shape[System.Array.IndexOf(labels, l)])
                        throw new ArgumentException($"Einsum: subscript {EinsumName(l)} is repeated in operand {operand} but its sizes differ, {x._shape[System.Array.IndexOf(labels, l)]} vs {x._shape[k]} (equation \"{equation}\").", nameof(equation));
                    order.Add(k);
                }
        var t = IsIdentity([.. order]) ? x : x.Permute([.. order]);
        var merged = new List<int>();
        var steps = new List<(int Dim, int Step)>();
        foreach (int l in unique)
        {
            int n = x._shape[System.Array.IndexOf(labels, l)], k = labels.Count(v => v == l);
            long size = 1, step = 0;
            for (int j = 0; j < k; j++) { step += size; size *= n; }
            merged.Add((int)size);
            if (k > 1) steps.Add((merged.Count - 1, n <= 1 ? 1 : (int)step));
        }
        t = t.Reshape([.. merged]);
        foreach (var (dim, step) in steps) t = t.Slice(dim, 0, null, step);
        return (t, unique);
    }

    /// <summary>
    /// Contracts two operands with distinct letters each into one holding the letters of <paramref name="keep"/> they
    /// carry: letters in both and kept are batch dimensions, letters in both and not kept are summed (the K of a GEMM),
    /// the rest are the M (left) and N (right) dimensions.
    /// </summary>
    private static (Tensor T, List<int> L) EinsumContract(Tensor a, List<int> la, Tensor b, List<int> lb, HashSet<int> keep)
    {
        // Letters only one side has and nobody needs any more are summed first (sizes stay small).
        (a, la) = SumUnneeded(a, la, lb, keep);
        (b, lb) = SumUnneeded(b, lb, la, keep);
        var batch = new List<int>();
        var contracted = new List<int>();
        foreach (int l in la)
            if (lb.Contains(l)) (keep.Contains(l) ? batch : contracted).Add(l);
        var aOnly = la.Where(l => !lb.Contains(l)).ToList();
        var bOnly = lb.Where(l => !la.Contains(l)).ToList();

        // A size-1 dimension against a larger one: a summed letter is summed on the larger side first, a batch letter
        // is expanded on the smaller side.
        foreach (int l in contracted)
        {
            int na = a._shape[la.IndexOf(l)], nb = b._shape[lb.IndexOf(l)];
            if (na == nb) continue;
            if (na == 1) b = b.Sum(lb.IndexOf(l), keepDim: true);
            else a = a.Sum(la.IndexOf(l), keepDim: true);
        }
        foreach (int l in batch)
        {
            int na = a._shape[la.IndexOf(l)], nb = b._shape[lb.IndexOf(l)];
            if (na == nb) continue;
            if (na == 1) a = a.Expand(Shapes.WithDim(a._shape, la.IndexOf(l), nb));
            else b = b.Expand(Shapes.WithDim(b._shape, lb.IndexOf(l), na));
        }

        int Prod(Tensor t, List<int> l, List<int> which) => which.Aggregate(1, (p, x) => p * t._shape[l.IndexOf(x)]);
        int bt = Prod(a, la, batch), m = Prod(a, la, aOnly), k = Prod(a, la, contracted), n = Prod(b, lb, bOnly);
        var (a3, transA) = AsMatrices(a, la, batch, aOnly, contracted, bt, m, k);
        var (b3, transB) = AsMatrices(b, lb, batch, contracted, bOnly, bt, k, n);
        var y = MatMulCore(a3, b3, transA, transB);
        int[] shape = [.. batch.Select(l => a._shape[la.IndexOf(l)]), .. aOnly.Select(l => a._shape[la.IndexOf(l)]), .. bOnly.Select(l => b._shape[lb.IndexOf(l)])];
        return (y.Reshape(shape), [.. batch, .. aOnly, .. bOnly]);
    }

    private static (Tensor T, List<int> L) SumUnneeded(Tensor t, List<int> l, List<int> other, HashSet<int> keep)
    {
        var labels = new List<int>(l);
        for (int k = labels.Count - 1; k >= 0; k--)
            if (!keep.Contains(labels[k]) && !other.Contains(labels[k])) { t = t.Sum(k); labels.RemoveAt(k); }
        return (t, labels);
    }

    /// <summary>
    /// The operand as [batch, rows, cols] with rows = the <paramref name="rows"/> letters and cols = the
    /// <paramref name="cols"/> letters; already in [batch, cols, rows] order it is passed transposed (the GEMM reads
    /// it in place), else permuted once.
    /// </summary>
    private static (Tensor T, bool Transposed) AsMatrices(Tensor t, List<int> l, List<int> batch, List<int> rows, List<int> cols, int bt, int r, int c)
    {
        int[] straight = [.. batch.Select(x => l.IndexOf(x)), .. rows.Select(x => l.IndexOf(x)), .. cols.Select(x => l.IndexOf(x))];
        if (IsIdentity(straight)) return (t.Reshape(bt, r, c), false);
        int[] swapped = [.. batch.Select(x => l.IndexOf(x)), .. cols.Select(x => l.IndexOf(x)), .. rows.Select(x => l.IndexOf(x))];
        if (IsIdentity(swapped)) return (t.Reshape(bt, c, r), true);
        return (t.Permute(straight).Reshape(bt, r, c), false);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Einsum = Register(nameof(Einsum), static c =>
    {
        c.Add("matmul", x => Tensor.Einsum("ij,jk->ik", x[0], x[1]), c.Normal(2, 3), c.Normal(3, 4));
        c.Add("batched, transposed", x => Tensor.Einsum("bji,bkj->bik", x[0], x[1]), c.Normal(2, 3, 2), c.Normal(2, 4, 3));
        c.Add("trace", x => Tensor.Einsum("ii", x[0]), c.Normal(3, 3));
        c.Add("diagonal", x => Tensor.Einsum("iij->ji", x[0]), c.Normal(3, 3, 2));
        c.Add("outer", x => Tensor.Einsum("i,j", x[0], x[1]), c.Normal(3), c.Normal(2));
        c.Add("three operands", x => Tensor.Einsum("ij,jk,kl->il", x[0], x[1], x[2]), c.Normal(2, 3), c.Normal(3, 2), c.Normal(2, 2));
        c.Add("ellipsis broadcast", x => Tensor.Einsum("...ij,...jk->...ik", x[0], x[1]), c.Normal(2, 1, 2, 3), c.Normal(3, 3, 2));
        c.Add("attention", x => Tensor.Einsum("bhqd,bhkd->bhqk", x[0], x[1]), c.Normal(1, 2, 3, 2), c.Normal(1, 2, 4, 2));
        c.Add("size-1 broadcast, sum", x => Tensor.Einsum("ij,ij->j", x[0], x[1]), c.Normal(1, 3), c.Normal(2, 3));
    });
}
