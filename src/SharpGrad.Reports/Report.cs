using System.Globalization;
using System.Net;
using System.Text;
using SharpGrad.Data;

namespace SharpGrad.Reports;

/// <summary>One block of a report section.</summary>
public abstract record ReportBlock;

/// <summary>A paragraph of plain text (Markdown-style <c>`code`</c> spans are kept as code).</summary>
/// <param name="Text">The text.</param>
public sealed record Paragraph(string Text) : ReportBlock;

/// <summary>A table with a header row.</summary>
/// <param name="Headers">Column titles.</param>
/// <param name="Rows">Cells, row by row.</param>
/// <param name="Caption">Optional caption.</param>
public sealed record TableBlock(IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows, string? Caption = null) : ReportBlock;

/// <summary>A chart, embedded inline in HTML and saved as <c>figures/Name.svg</c> for Markdown.</summary>
/// <param name="Name">File-name stem, unique within the report.</param>
/// <param name="Svg">The SVG document.</param>
/// <param name="Caption">Caption under the figure.</param>
public sealed record Figure(string Name, string Svg, string Caption) : ReportBlock;

/// <summary>Preformatted text, e.g. a command line or program output.</summary>
/// <param name="Text">The text.</param>
public sealed record CodeBlock(string Text) : ReportBlock;

/// <summary>A quantity as the exercise sheet states it, beside SharpGrad's value.</summary>
/// <param name="Quantity">What is compared.</param>
/// <param name="SheetAnswer">The sheet's stated answer ("—" when it gives none).</param>
/// <param name="SharpGradAnswer">What SharpGrad computed.</param>
/// <param name="Agrees">True, false, or null when there is nothing to compare.</param>
/// <param name="Note">Why they differ, or other remarks.</param>
public sealed record Comparison(string Quantity, string SheetAnswer, string SharpGradAnswer, bool? Agrees, string? Note = null);

/// <summary>A table of <see cref="Comparison"/> rows.</summary>
/// <param name="Rows">The comparisons.</param>
public sealed record ComparisonBlock(IReadOnlyList<Comparison> Rows) : ReportBlock;

/// <summary>One exercise (or topic) of the report.</summary>
/// <param name="Id">HTML anchor, e.g. <c>seed001-q6</c>.</param>
/// <param name="Title">Heading.</param>
/// <param name="Blocks">Content, in order.</param>
public sealed record ReportSection(string Id, string Title, IReadOnlyList<ReportBlock> Blocks);

/// <summary>
/// A report that renders to one self-contained HTML page (inline CSS and SVG, no scripts, no network access) and to
/// Markdown with the figures as SVG files beside it. Written atomically.
/// </summary>
public sealed class Report(string title)
{
    private readonly List<ReportSection> _sections = [];

    /// <summary>The report's title.</summary>
    public string Title { get; } = title;

    /// <summary>Text shown under the title (e.g. how it was produced).</summary>
    public string? Subtitle { get; init; }

    /// <summary>The sections, in order.</summary>
    public IReadOnlyList<ReportSection> Sections => _sections;

    /// <summary>Appends a section.</summary>
    public Report Add(ReportSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (_sections.Any(s => s.Id == section.Id)) throw new ArgumentException($"Report: duplicate section id '{section.Id}'.");
        _sections.Add(section);
        return this;
    }

    /// <summary>Writes <c>index.html</c>, <c>report.md</c> and <c>figures/*.svg</c> into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(Path.Combine(directory, "figures"));
        foreach (var f in _sections.SelectMany(s => s.Blocks).OfType<Figure>())
            AtomicFile.WriteText(Path.Combine(directory, "figures", f.Name + ".svg"), f.Svg);
        AtomicFile.WriteText(Path.Combine(directory, "report.md"), ToMarkdown());
        AtomicFile.WriteText(Path.Combine(directory, "index.html"), ToHtml());
    }

    /// <summary>The report as one HTML document.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(H(Title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<header><h1>").Append(H(Title)).Append("</h1>");
        if (Subtitle is not null) sb.Append("<p class=\"subtitle\">").Append(Inline(Subtitle)).Append("</p>");
        sb.Append("</header>\n<nav><h2>Contents</h2><ol>\n");
        foreach (var s in _sections) sb.Append("<li><a href=\"#").Append(H(s.Id)).Append("\">").Append(H(s.Title)).Append("</a></li>\n");
        sb.Append("</ol></nav>\n<main>\n");
        foreach (var s in _sections)
        {
            sb.Append("<section id=\"").Append(H(s.Id)).Append("\">\n<h2>").Append(H(s.Title)).Append("</h2>\n");
            foreach (var b in s.Blocks) AppendHtml(sb, b);
            sb.Append("</section>\n");
        }
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static void AppendHtml(StringBuilder sb, ReportBlock block)
    {
        switch (block)
        {
            case Paragraph p:
                sb.Append("<p>").Append(Inline(p.Text)).Append("</p>\n");
                break;
            case CodeBlock c:
                sb.Append("<pre><code>").Append(H(c.Text)).Append("</code></pre>\n");
                break;
            case Figure f:
                sb.Append("<figure class=\"chart\" data-name=\"").Append(H(f.Name)).Append("\">\n").Append(StripXmlDeclaration(f.Svg))
                  .Append("<figcaption>").Append(Inline(f.Caption)).Append("</figcaption>\n</figure>\n");
                break;
            case TableBlock t:
                sb.Append("<table>\n");
                if (t.Caption is not null) sb.Append("<caption>").Append(Inline(t.Caption)).Append("</caption>\n");
                sb.Append("<thead><tr>");
                foreach (var h in t.Headers) sb.Append("<th>").Append(H(h)).Append("</th>");
                sb.Append("</tr></thead>\n<tbody>\n");
                foreach (var row in t.Rows)
                {
                    sb.Append("<tr>");
                    foreach (var cell in row) sb.Append("<td>").Append(Inline(cell)).Append("</td>");
                    sb.Append("</tr>\n");
                }
                sb.Append("</tbody>\n</table>\n");
                break;
            case ComparisonBlock cmp:
                sb.Append("<table class=\"comparison\">\n<thead><tr><th>quantity</th><th>sheet's answer</th><th>SharpGrad</th><th>agree?</th><th>note</th></tr></thead>\n<tbody>\n");
                foreach (var r in cmp.Rows)
                {
                    string cls = r.Agrees switch { true => "agree", false => "disagree", null => "na" };
                    string mark = r.Agrees switch { true => "yes", false => "NO", null => "—" };
                    sb.Append("<tr class=\"").Append(cls).Append("\"><td>").Append(Inline(r.Quantity)).Append("</td><td>").Append(Inline(r.SheetAnswer))
                      .Append("</td><td>").Append(Inline(r.SharpGradAnswer)).Append("</td><td class=\"verdict\">").Append(mark)
                      .Append("</td><td>").Append(Inline(r.Note ?? "")).Append("</td></tr>\n");
                }
                sb.Append("</tbody>\n</table>\n");
                break;
        }
    }

    /// <summary>The report as Markdown; figures are referenced as <c>figures/NAME.svg</c>.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(Title).Append("\n\n");
        if (Subtitle is not null) sb.Append(Subtitle).Append("\n\n");
        sb.Append("## Contents\n\n");
        for (int i = 0; i < _sections.Count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{i + 1}. [{_sections[i].Title}](#{_sections[i].Id})\n");
        sb.Append('\n');
        foreach (var s in _sections)
        {
            sb.Append("<a id=\"").Append(s.Id).Append("\"></a>\n\n## ").Append(s.Title).Append("\n\n");
            foreach (var b in s.Blocks)
            {
                switch (b)
                {
                    case Paragraph p: sb.Append(p.Text).Append("\n\n"); break;
                    case CodeBlock c: sb.Append("```\n").Append(c.Text.TrimEnd()).Append("\n```\n\n"); break;
                    case Figure f: sb.Append("![").Append(f.Caption).Append("](figures/").Append(f.Name).Append(".svg)\n\n*").Append(f.Caption).Append("*\n\n"); break;
                    case TableBlock t:
                        if (t.Caption is not null) sb.Append("**").Append(t.Caption).Append("**\n\n");
                        AppendMarkdownTable(sb, t.Headers, t.Rows);
                        break;
                    case ComparisonBlock cmp:
                        AppendMarkdownTable(sb, ["quantity", "sheet's answer", "SharpGrad", "agree?", "note"],
                            cmp.Rows.Select(r => (IReadOnlyList<string>)[r.Quantity, r.SheetAnswer, r.SharpGradAnswer, r.Agrees switch { true => "yes", false => "**NO**", null => "—" }, r.Note ?? ""]).ToList());
                        break;
                }
            }
        }
        return sb.ToString();
    }

    private static void AppendMarkdownTable(StringBuilder sb, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        sb.Append("| ").AppendJoin(" | ", headers.Select(Cell)).Append(" |\n|").Append(string.Concat(Enumerable.Repeat("---|", headers.Count))).Append('\n');
        foreach (var r in rows) sb.Append("| ").AppendJoin(" | ", r.Select(Cell)).Append(" |\n");
        sb.Append('\n');
    }

    private static string H(string s) => WebUtility.HtmlEncode(s);

    /// <summary>HTML-escapes text and turns `code` spans into &lt;code&gt;.</summary>
    private static string Inline(string s)
    {
        var parts = H(s).Split('`');
        var sb = new StringBuilder();
        for (int i = 0; i < parts.Length; i++) sb.Append(i % 2 == 1 ? "<code>" + parts[i] + "</code>" : parts[i]);
        return sb.ToString();
    }

    private static string StripXmlDeclaration(string svg) => svg.StartsWith("<?xml", StringComparison.Ordinal) ? svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..] : svg;

    private const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 980px; padding: 1rem 2rem; color: #222; line-height: 1.45; }
        header h1 { margin-bottom: 0.2rem; } .subtitle { color: #555; margin-top: 0; }
        nav { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 6px; padding: 0.5rem 1.5rem; }
        section { border-top: 1px solid #e1e4e8; margin-top: 1.5rem; }
        table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
        th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
        th { background: #f6f8fa; } caption { caption-side: top; font-weight: 600; text-align: left; padding-bottom: 0.3rem; }
        tr.agree td.verdict { color: #1a7f37; font-weight: 600; } tr.disagree td.verdict { color: #cf222e; font-weight: 700; }
        tr.disagree { background: #fff5f5; }
        pre { background: #f6f8fa; padding: 0.6rem; border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
        code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.9em; }
        figure.chart { margin: 1rem 0; } figure.chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }
        figcaption { color: #555; font-size: 0.9rem; }

        """;
}
