using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Packaging;

/// <summary>
/// What a package consumer sees: the .nuspec inside each produced .nupkg (read back from the zip, not from MSBuild), the
/// README inside, the symbols package beside it, and the tool's manifest. Expected values come from the repository's
/// own files (README.md, each .csproj's Description), never from the packages.
/// </summary>
public class PackageMetadataTests
{
    private static XElement Nuspec(ZipArchive zip, string id)
    {
        var entry = zip.GetEntry(id + ".nuspec") ?? throw new Xunit.Sdk.XunitException($"{id}.nupkg has no {id}.nuspec");
        using var s = entry.Open();
        return XDocument.Load(s).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static XElement? Child(XElement e, string name) => e.Elements().SingleOrDefault(c => c.Name.LocalName == name);

    private static string Text(XElement metadata, string name, string id) =>
        Child(metadata, name)?.Value is { Length: > 0 } v ? v : throw new Xunit.Sdk.XunitException($"{id}: the nuspec has no <{name}>");

    private static ZipArchive Open(string id, string ext = "nupkg")
    {
        string path = Path.Combine(PackedFeed.Feed, $"{id}.{PackedFeed.Version}.{ext}");
        Assert.True(File.Exists(path), $"dotnet pack made no {Path.GetFileName(path)} (feed: {string.Join(", ", Directory.GetFiles(PackedFeed.Feed).Select(Path.GetFileName))})");
        return ZipFile.OpenRead(path);
    }

    private static string CsprojDescription(string id) =>
        XDocument.Load(Path.Combine(IOTestUtil.RepoRoot, "src", id, id + ".csproj")).Descendants("Description").Single().Value;

    public static TheoryData<string> AllPackages() => [.. PackedFeed.Libraries, PackedFeed.Tool];

    [Fact]
    public void Version_IsAZeroMajorPreRelease()
    {
        // A 1.0.0 says "stable"; the API is not. SemVer 2: 0.MINOR.PATCH-PRERELEASE.
        Assert.Matches(new Regex(@"^0\.\d+\.\d+-[0-9A-Za-z]+(\.[0-9A-Za-z]+)*$"), PackedFeed.Version);
    }

    [Theory]
    [MemberData(nameof(AllPackages))]
    public void Nuspec_HasCompleteMetadata(string id)
    {
        using var zip = Open(id);
        var m = Nuspec(zip, id);
        Assert.Equal(id, Text(m, "id", id));
        Assert.Equal(PackedFeed.Version, Text(m, "version", id));
        Assert.Equal(CsprojDescription(id), Text(m, "description", id));
        Assert.False(string.IsNullOrWhiteSpace(Text(m, "authors", id)));

        var license = Child(m, "license") ?? throw new Xunit.Sdk.XunitException($"{id}: no <license>");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);

        string project = Text(m, "projectUrl", id);
        Assert.True(Uri.TryCreate(project, UriKind.Absolute, out var uri) && uri.Scheme == "https", $"{id}: projectUrl '{project}' is not an https URL");
        var repo = Child(m, "repository") ?? throw new Xunit.Sdk.XunitException($"{id}: no <repository>");
        Assert.Equal("git", repo.Attribute("type")?.Value);
        Assert.Equal(project, repo.Attribute("url")?.Value);

        var tags = Text(m, "tags", id).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("deep-learning", tags);
        Assert.Contains("autograd", tags);

        // The README travels inside the package, byte for byte the repository's.
        Assert.Equal("README.md", Text(m, "readme", id));
        var readme = zip.GetEntry("README.md") ?? throw new Xunit.Sdk.XunitException($"{id}: README.md is named but not inside the package");
        using (var s = readme.Open())
        using (var ms = new MemoryStream())
        {
            s.CopyTo(ms);
            Assert.Equal(File.ReadAllBytes(Path.Combine(IOTestUtil.RepoRoot, "README.md")), ms.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(AllPackages))]
    public void SymbolsPackage_HoldsThePdbOfEveryAssembly(string id)
    {
        using var nupkg = Open(id);
        using var snupkg = Open(id, "snupkg");
        var dlls = nupkg.Entries.Where(e => e.FullName.EndsWith($"/{id}.dll", StringComparison.Ordinal)).Select(e => e.FullName).ToArray();
        Assert.NotEmpty(dlls);
        foreach (string dll in dlls)
            Assert.NotNull(snupkg.GetEntry(Path.ChangeExtension(dll, ".pdb")));
        // The symbols package is a symbols package, not a second copy of the library.
        Assert.Contains(Nuspec(snupkg, id).Descendants().Where(e => e.Name.LocalName == "packageType"), t => t.Attribute("name")?.Value == "SymbolsPackage");
    }

    [Theory]
    [MemberData(nameof(AllPackages))]
    public void Libraries_DependOnTheCorePackageOfTheSameVersion(string id)
    {
        if (id is "SharpGrad" or PackedFeed.Tool) return; // the core depends on no SharpGrad package; the tool bundles its own
        using var zip = Open(id);
        var deps = Nuspec(zip, id).Descendants().Where(e => e.Name.LocalName == "dependency").ToArray();
        var core = deps.SingleOrDefault(d => d.Attribute("id")?.Value == "SharpGrad") ?? throw new Xunit.Sdk.XunitException($"{id}: no dependency on SharpGrad");
        Assert.Equal(PackedFeed.Version, core.Attribute("version")?.Value);
        Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
        Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml"));  // IntelliSense docs ship with the library
    }

    [Fact]
    public void Cli_IsADotnetToolNamedSharpgrad()
    {
        using var zip = Open(PackedFeed.Tool);
        var m = Nuspec(zip, PackedFeed.Tool);
        Assert.Contains(m.Descendants().Where(e => e.Name.LocalName == "packageType"), t => t.Attribute("name")?.Value == "DotnetTool");
        var settingsEntry = zip.Entries.SingleOrDefault(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException("the tool package has no DotnetToolSettings.xml");
        using var s = settingsEntry.Open();
        var command = XDocument.Load(s).Descendants("Command").Single();
        Assert.Equal("sharpgrad", command.Attribute("Name")?.Value);
        Assert.Equal("SharpGrad.Cli.dll", command.Attribute("EntryPoint")?.Value);
        // Everything the command runs on is inside: the libraries it references are not separate downloads.
        string dir = Path.GetDirectoryName(settingsEntry.FullName)!.Replace('\\', '/');
        foreach (string lib in PackedFeed.Libraries) Assert.NotNull(zip.GetEntry($"{dir}/{lib}.dll"));
    }
}
