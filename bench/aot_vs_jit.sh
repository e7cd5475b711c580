#!/usr/bin/env bash
# The `sharpgrad` command built three ways, timed with hyperfine in one run on this machine:
#   jit      framework-dependent Release build (what `dotnet tool install` gives), started through its apphost
#   aot      NativeAOT with the SDK's portable default instruction set (-p:SharpGradPortableAot=true)
#   aot-v4   NativeAOT with IlcInstructionSet=x86-64-v4 (AVX-512 assumed at compile time; the project's default, so
#            what `dotnet publish src/SharpGrad.Cli -r linux-x64 -p:PublishAot=true` gives)
# Rows: start-up (`--version`), the XOR exercise (`xor --json`, 10 restarts x 2000 epochs), and one compute-bound
# command where vector width matters (`train --model mlp`, one epoch over 6,400 Fashion-MNIST images; skipped
# without the data). Prints the lscpu model, the binary sizes and hyperfine's tables (also written to $OUT/*.md).
# Usage: bench/aot_vs_jit.sh            (OUT defaults to a temporary directory; needs hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
runs=${RUNS:-10}

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sdk: $(dotnet --version)"
pub() { local t0=$SECONDS; dotnet publish src/SharpGrad.Cli -c Release --nologo -v q -o "$out/$1" "${@:2}" >"$out/$1.log" 2>&1 || { cat "$out/$1.log"; exit 1; }; echo "published $1 in $((SECONDS - t0)) s: $(du -sh "$out/$1" | cut -f1) (directory), $(du -h "$out/$1/SharpGrad.Cli" | cut -f1) (executable)"; }
pub jit
pub aot -r linux-x64 -p:PublishAot=true -p:SharpGradPortableAot=true
pub aot-v4 -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=x86-64-v4

bench() {
  local name=$1 n=$2; shift 2
  local args=("$@")
  local list=()
  for v in jit aot aot-v4; do list+=(-n "$v" "$out/$v/SharpGrad.Cli ${args[*]}"); done
  echo; echo "== $name: sharpgrad ${args[*]}"
  hyperfine -N --warmup 1 --runs "$n" --export-markdown "$out/$name.md" "${list[@]}" 2>&1 | grep -v '^ *$'
}
bench startup "$runs" --version
bench xor "$runs" xor --json
data=${SHARPGRAD_DATA:-/usr/share/datasets/fashion-mnist}
if [ -f "$data/train-images-idx3-ubyte.gz" ] || [ -f "$data/train-images-idx3-ubyte" ]; then
  bench train 3 train --model mlp --epochs 1 --limit 6400 --json --data "$data"
else
  echo "(no Fashion-MNIST in $data: train row skipped)"
fi
echo; echo "tables: $out/*.md"
