#!/usr/bin/env bash
# The data-parallel rows of bench/compare.sh (issue 16): one epoch at global batch 64 in 2 processes of 1 thread each
# under mpirun, against the same program in 1 process of 1 thread (scaling) and against PyTorch 1.13's DDP on gloo in
# the same 2 processes. Both SharpGrad sides compile their step (ddp-epoch's default, as train's; --compile 0 is eager). Appends "TAG sharpgrad|reference JSON" lines to LINES_FILE; alone, prints their table.
#   bench/ddp_rows.sh [LINES_FILE] [--limit N]      (needs openmpi-bin, Fashion-MNIST and /usr/bin/python3 with torch)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-}
[[ -n "$lines" ]] && shift
limit=("$@")
alone=0
if [[ -z "$lines" || "$lines" == --* ]]; then
  [[ "$lines" == --* ]] && limit=("$lines" "${limit[@]}")
  alone=1; lines=$(mktemp)
  dotnet build bench/SharpGrad.Bench -c Release -v quiet -nologo >/dev/null
fi
if ! command -v mpirun >/dev/null; then
  echo "note: mpirun not found (apt-get install openmpi-bin libopenmpi-dev): the data-parallel rows are left out" >&2
  exit 0
fi
# compare.sh exports SG_BENCH (its NativeAOT runner, or the JIT build with --jit); alone, the JIT build.
read -r -a SG <<<"${SG_BENCH:-dotnet bench/SharpGrad.Bench/bin/Release/net10.0/SharpGrad.Bench.dll}"
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2 -x DOTNET_PROCESSOR_COUNT=1 -x OMP_NUM_THREADS=1)
for m in mlp cnn; do
  # mpirun hands the ranks a pseudo-terminal, so a terminal escape may precede the JSON: keep the object alone.
  # The host's level before the 2-process run (compare.sh's SG_PINGPONG: bench/pingpong.c), shown beside the rows.
  if [[ -n "${SG_PINGPONG:-}" ]]; then
    rt=$("$SG_PINGPONG" | awk 'NR == 1 { print $2 }')
    for tag in ddp-$m-scaling ddp-$m-torch; do echo "$tag level {\"roundtrip_ns\": $rt}" >>"$lines"; done
  fi
  two=$("${MPI[@]}" "${SG[@]}" --workload ddp-epoch --model $m "${limit[@]}" | grep -o '{.*}')
  one=$(DOTNET_PROCESSOR_COUNT=1 "${SG[@]}" --workload ddp-epoch --model $m "${limit[@]}")
  torch=$("${MPI[@]}" /usr/bin/python3 bench/reference/ddp.py --model $m "${limit[@]}" --torch-threads 1 2>/dev/null | grep -o '{.*}')
  echo "ddp-$m-scaling sharpgrad $two" >>"$lines"
  echo "ddp-$m-scaling reference $one" >>"$lines"
  echo "ddp-$m-torch sharpgrad $two" >>"$lines"
  echo "ddp-$m-torch reference $torch" >>"$lines"
done
if (( alone )); then /usr/bin/python3 bench/compare.py "$lines" 0; rm -f "$lines"; fi
