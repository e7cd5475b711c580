#!/usr/bin/env bash
# Peak memory of attention forward + backward against context length (issue 14): F.ScaledDotProductAttention (fused,
# blockwise) beside the naive composite softmax(q·kᵀ/√d)·v, at L = 256, 1024, 4096 with batch·heads and head size
# fixed (default 4 and 64; pass --bh N --d N to change). One process per measurement, so nothing earlier is counted.
# Prints one JSON line per run (bench/SharpGrad.Bench/AttentionMemory.cs says what the figures are).
# Usage: bench/attention_memory.sh [--bh 4 --d 64 --causal 0]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/SharpGrad.Bench -c Release -v quiet -nologo >/dev/null
for impl in fused naive; do
  for l in 256 1024 4096; do
    dotnet bench/SharpGrad.Bench/bin/Release/net10.0/SharpGrad.Bench.dll --workload attention-memory --impl "$impl" --l "$l" --bh 4 "$@"
  done
done
