using System.Diagnostics;
using System.Text.RegularExpressions;
using SharpGrad.Cli.Report;

namespace SharpGrad.Tests.Report;

/// <summary>Runs only where Debian's chromium is installed; .ci/run installs it.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = "chromium is not installed (apt-get install chromium).";
    }
}

public class ReportBrowserTests
{
    private static async Task<string> BuildQuickReport()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"sharpgrad-report-{Guid.NewGuid():N}");
        var report = await ReportBuilder.BuildAsync(null, quick: true, null, CancellationToken.None);
        report.Save(dir);
        return dir;
    }

    [Fact]
    public async Task TheReportIsSelfContainedAndHasEverySection()
    {
        string dir = await BuildQuickReport();
        try
        {
            string html = await File.ReadAllTextAsync(Path.Combine(dir, "index.html"));
            string md = await File.ReadAllTextAsync(Path.Combine(dir, "report.md"));
            // No external resources: no src/href pointing anywhere but an in-page anchor, no scripts.
            Assert.DoesNotMatch(new Regex("(src|href)=\"(?!#)"), html);
            Assert.DoesNotContain("<script", html);
            var sectionIds = Regex.Matches(html, "<section id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
            foreach (var id in new[] { "softmax-identities", "derivatives", "seed002-q1", "seed002-q4", "seed003-q1", "seed003-q3" })
                Assert.Contains(id, sectionIds);
            foreach (var id in sectionIds) Assert.Contains($"<a id=\"{id}\"></a>", md);
            int figures = Regex.Matches(html, "<figure class=\"chart\"").Count;
            Assert.Equal(figures, Regex.Matches(html, "<svg ").Count);
            Assert.Equal(Directory.GetFiles(Path.Combine(dir, "figures"), "*.svg").Length, Regex.Matches(md, @"!\[").Count);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [ChromiumFact]
    public async Task HeadlessChromiumRendersEverySectionAndChartWithoutConsoleErrors()
    {
        string dir = await BuildQuickReport();
        string shot = Path.Combine(Environment.GetEnvironmentVariable("SHARPGRAD_SCREENSHOT_DIR") ?? dir, "report-screenshot.png");
        try
        {
            string index = Path.Combine(dir, "index.html");
            var (dom, log) = Run("--dump-dom", index);
            var (_, shotLog) = Run($"--screenshot={shot}", index, "--window-size=1100,4000");
            // The rendered DOM has every section and every chart, with drawn series.
            string html = await File.ReadAllTextAsync(index);
            var expectedSections = Regex.Matches(html, "<section id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
            foreach (var id in expectedSections) Assert.Contains($"id=\"{id}\"", dom);
            int charts = Regex.Matches(html, "<figure class=\"chart\"").Count;
            Assert.True(charts >= 4, $"only {charts} charts");
            Assert.Equal(charts, Regex.Matches(dom, "<svg ").Count);
            Assert.All(Regex.Matches(dom, "<path class=\"line\"[^>]*d=\"([^\"]*)\"").Select(m => m.Groups[1].Value), d => Assert.StartsWith("M", d));
            // No console errors or failed loads.
            foreach (var text in new[] { log, shotLog })
                Assert.DoesNotMatch(new Regex("CONSOLE\\(\\d+\\).*(error|Error)|Failed to load resource|Uncaught"), text);
            Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot is missing or empty");
        }
        finally
        {
            Directory.Delete(dir, recursive: true); // a screenshot asked for by SHARPGRAD_SCREENSHOT_DIR lives elsewhere and is kept
        }

    }

    /// <summary>
    /// Measured by Chromium's own layout (a copy of the page with a measuring script; the report itself has none): no
    /// chart text runs outside its SVG, every legend lies right of its plot area, and no code block needs scrolling.
    /// </summary>
    [ChromiumFact]
    public async Task InChromiumNoLabelIsCutAndCodeBlocksWrap()
    {
        string dir = await BuildQuickReport();
        try
        {
            string html = await File.ReadAllTextAsync(Path.Combine(dir, "index.html"));
            const string script = """
                <script>
                const bad = [];
                for (const svg of document.querySelectorAll('figure.chart svg')) {
                  const w = +svg.getAttribute('width'), h = +svg.getAttribute('height');
                  for (const t of svg.querySelectorAll('text')) {
                    if (t.getAttribute('transform')) continue;
                    const b = t.getBBox();
                    if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5) bad.push('cut: ' + t.textContent);
                  }
                  const legend = svg.querySelector('rect.legend-box'), plot = svg.querySelector('rect.plot-area');
                  if (legend) {
                    if (+legend.getAttribute('x') < +plot.getAttribute('x') + +plot.getAttribute('width')) bad.push('legend inside the plot');
                    const right = +legend.getAttribute('x') + +legend.getAttribute('width');
                    for (const t of svg.querySelectorAll('text.legend-label')) { const b = t.getBBox(); if (b.x + b.width > right) bad.push('legend label overflows its box: ' + t.textContent); }
                  }
                }
                for (const pre of document.querySelectorAll('pre')) if (pre.scrollWidth > pre.clientWidth + 1) bad.push('code block scrolls: ' + pre.textContent.slice(0, 40));
                const out = document.createElement('div'); out.id = 'layout-check';
                out.textContent = 'checked ' + document.querySelectorAll('figure.chart svg').length + ' charts; ' + (bad.length ? bad.join(' | ') : 'OK');
                document.body.appendChild(out);
                </script>
                """;
            string page = Path.Combine(dir, "measure.html");
            await File.WriteAllTextAsync(page, html.Replace("</body>", script + "</body>", StringComparison.Ordinal));
            var (dom, _) = Run("--dump-dom", page, "--window-size=1000,2000");
            var m = Regex.Match(dom, "<div id=\"layout-check\">([^<]*)</div>");
            Assert.True(m.Success, "the measuring script did not run");
            Assert.Matches("^checked [1-9][0-9]* charts; OK$", System.Net.WebUtility.HtmlDecode(m.Groups[1].Value));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static (string Stdout, string Stderr) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(ChromiumFactAttribute.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string profile = Path.Combine(Path.GetTempPath(), "sharpgrad-chromium-" + Guid.NewGuid().ToString("N"));
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0", $"--user-data-dir={profile}" })
            psi.ArgumentList.Add(a);
        foreach (var a in args.Where(a => a.StartsWith("--", StringComparison.Ordinal))) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("file://" + args.First(a => !a.StartsWith("--", StringComparison.Ordinal)));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            if (!p.WaitForExit(120_000)) { p.Kill(entireProcessTree: true); throw new TimeoutException("chromium did not finish in 120 s"); }
            return (stdout.Result, stderr.Result);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }
}
