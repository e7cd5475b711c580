#!/usr/bin/env bash
# Regenerates src/SharpGrad.Onnx/Proto/OnnxSubset.cs from tools/onnx/onnx_subset.proto with the protoc
# shipped in the Google.Protobuf.Tools NuGet package (the version pinned in Directory.Packages.props).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/.*"Google.Protobuf.Tools" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)
pkg="${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/$version"
if [ ! -d "$pkg" ]; then
  tmp=$(mktemp -d)
  cat >"$tmp/restore.csproj" <<PROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup><PackageReference Include="Google.Protobuf.Tools" Version="$version" /></ItemGroup>
</Project>
PROJ
  dotnet restore "$tmp/restore.csproj" >/dev/null
  rm -rf "$tmp"
fi
case "$(uname -m)" in x86_64) arch=linux_x64 ;; aarch64) arch=linux_arm64 ;; *) arch=linux_x86 ;; esac
protoc="$pkg/tools/$arch/protoc"
chmod +x "$protoc"
out=src/SharpGrad.Onnx/Proto
"$protoc" --proto_path=tools/onnx --proto_path="$pkg/tools" --csharp_out="$out" \
  --csharp_opt=file_extension=.g.cs,internal_access tools/onnx/onnx_subset.proto
echo "wrote $out/OnnxSubset.g.cs with protoc $("$protoc" --version)"
