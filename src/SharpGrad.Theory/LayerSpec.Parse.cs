using System.Globalization;

namespace SharpGrad.Theory;

public sealed partial record LayerSpec
{
    /// <summary>
    /// Reads a layer spec: fields separated by ':', the kind first. <c>conv:OUT</c> then options, <c>maxpool</c> or
    /// <c>avgpool</c> then options. Options: <c>k</c>N kernel (required), <c>s</c>N stride, <c>p</c>N padding,
    /// <c>d</c>N dilation, where N is <c>3</c> or <c>3x5</c> (height x width); <c>nobias</c> (or <c>bias</c>) for
    /// convolutions; <c>ceil</c> for pooling. Case is ignored.
    /// </summary>
    /// <example><c>conv:64:k8:s2</c>, <c>maxpool:k5</c>, <c>conv:128:k4:s1:p1</c>, <c>conv:32:k3:s1:p1:d2</c>, <c>avgpool:k3:s2:p1:ceil</c>.</example>
    /// <param name="spec">The spec string.</param>
    /// <returns>The layer, validated as <see cref="Conv"/>, <see cref="MaxPool"/> and <see cref="AvgPool"/> validate.</returns>
    /// <exception cref="ArgumentException">The string is malformed; the message quotes the spec and the offending token.</exception>
    public static LayerSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string[] fields = spec.Trim().Split(':');
        string kindToken = fields[0].Trim().ToLowerInvariant();
        LayerKind kind = kindToken switch
        {
            "conv" or "conv2d" => LayerKind.Conv,
            "maxpool" or "maxpool2d" => LayerKind.MaxPool,
            "avgpool" or "avgpool2d" => LayerKind.AvgPool,
            _ => throw Bad(spec, $"unknown layer kind '{fields[0]}' (expected conv, maxpool or avgpool)"),
        };

        int first = 1, outChannels = 0;
        if (kind == LayerKind.Conv)
        {
            if (fields.Length < 2 || !TryParseCount(fields[1].Trim(), out outChannels))
                throw Bad(spec, $"a convolution needs its output channel count as the second field, e.g. conv:64:k3; got '{(fields.Length < 2 ? "" : fields[1])}'");
            first = 2;
        }

        Size2D? kernel = null, stride = null, padding = null, dilation = null;
        bool? bias = null;
        bool ceil = false;
        for (int i = first; i < fields.Length; i++)
        {
            string token = fields[i].Trim();
            string lower = token.ToLowerInvariant();
            switch (lower)
            {
                case "bias" or "nobias" when kind == LayerKind.Conv:
                    if (bias is not null) throw Bad(spec, $"token '{token}' repeats the bias setting");
                    bias = lower == "bias";
                    continue;
                case "ceil" when kind != LayerKind.Conv:
                    if (ceil) throw Bad(spec, $"token '{token}' repeats ceil");
                    ceil = true;
                    continue;
            }
            if (lower.Length < 2 || !TryParsePair(lower[1..], out var value))
                throw Bad(spec, $"cannot read token '{token}' (expected {Expected(kind)})");
            switch (lower[0])
            {
                case 'k': Assign(ref kernel, value, "kernel"); break;
                case 's': Assign(ref stride, value, "stride"); break;
                case 'p': Assign(ref padding, value, "padding"); break;
                case 'd' when kind != LayerKind.AvgPool: Assign(ref dilation, value, "dilation"); break;
                case 'd': throw Bad(spec, $"token '{token}': average pooling has no dilation (PyTorch's AvgPool2d takes none)");
                default: throw Bad(spec, $"unknown token '{token}' (expected {Expected(kind)})");
            }

            void Assign(ref Size2D? slot, Size2D v, string what)
            {
                if (slot is not null) throw Bad(spec, $"token '{token}' repeats the {what}");
                slot = v;
            }
        }
        if (kernel is null) throw Bad(spec, "no kernel size (add a token k<n>, e.g. k3)");

        try
        {
            return kind switch
            {
                LayerKind.Conv => Conv(outChannels, kernel.Value, stride, padding, dilation, bias ?? true),
                LayerKind.MaxPool => MaxPool(kernel.Value, stride, padding, dilation, ceil),
                _ => AvgPool(kernel.Value, stride, padding, ceil),
            };
        }
        catch (ArgumentException e)
        {
            throw Bad(spec, e.Message);
        }
    }

    private static string Expected(LayerKind kind) => kind switch
    {
        LayerKind.Conv => "k<n>, s<n>, p<n>, d<n>, bias or nobias; <n> is 3 or 3x5",
        LayerKind.MaxPool => "k<n>, s<n>, p<n>, d<n> or ceil; <n> is 3 or 3x5",
        _ => "k<n>, s<n>, p<n> or ceil; <n> is 3 or 3x5",
    };

    private static ArgumentException Bad(string spec, string why) => new($"Layer spec '{spec}': {why.TrimEnd('.')}.", nameof(spec));

    /// <summary>Digits only: no sign, no spaces, no exponent, so "k-1" or "k 3" are reported rather than half-read.</summary>
    private static bool TryParseCount(string s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool TryParsePair(string s, out Size2D value)
    {
        value = default;
        int x = s.IndexOf('x');
        if (x < 0)
        {
            if (!TryParseCount(s, out int n)) return false;
            value = n;
            return true;
        }
        if (!TryParseCount(s[..x], out int h) || !TryParseCount(s[(x + 1)..], out int w)) return false;
        value = new Size2D(h, w);
        return true;
    }
}
