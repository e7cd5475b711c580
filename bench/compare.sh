#!/usr/bin/env bash
# Runs every benchmark row of the kernels issue on both sides, one after the other on this machine, and prints a
# ratio table (bench/compare.py). Usage, from anywhere:
#   bench/compare.sh            # full: whole epochs, 2 s per GEMM shape
#   bench/compare.sh --quick    # 12,800 images per epoch row, 2,000 for sgd-logreg, 0.5 s per GEMM shape
#   bench/compare.sh --jit      # SharpGrad side from the JIT build instead of the NativeAOT one (combine with --quick)
#   bench/compare.sh --repeat 3 # every row (both sides, every setting) run 3 times, interleaved; the table takes each
#                               # side's median run, so one disturbed run on a shared host moves no ratio
# The SharpGrad side runs the bench runner compiled with NativeAOT (x86-64-v4 when the CPU has AVX-512F, else v3), as
# `sharpgrad` itself ships: no JIT compilation inside the timed runs, which the tiny rows (XOR, logistic regression,
# batch 1) otherwise spend most of their time on. BENCHMARKS.md has JIT and AOT measured side by side.
# Needs the Fashion-MNIST files (apt-get install -y dataset-fashion-mnist) and /usr/bin/python3 with torch and numpy
# (apt-get install -y python3-torch python3-numpy).
#
# The reference side gets its strongest setting, stated in the table: OpenBLAS with the core type it detects and with
# SkylakeX's AVX-512 kernels (this environment's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are removed; on an Intel Xeon of
# family 6 model 207 Debian's OpenBLAS 0.3.21 detects nothing better than Prescott's SSE3 kernels), 2 OpenBLAS threads;
# PyTorch is run with 1 and with 2 intra-op threads; the fastest run is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; jit=0; repeat=1
while (( $# )); do
  case $1 in
    --quick) quick=1 ;;
    --jit) jit=1 ;;
    --repeat)
      [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --repeat needs a positive count, got '${2:-}'" >&2; exit 2; }
      repeat=$2; shift ;;
    *) echo "compare.sh: unknown option '$1' (known: --quick, --jit, --repeat N)" >&2; exit 2 ;;
  esac
  shift
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if (( jit )); then
  dotnet build bench/SharpGrad.Bench -c Release -v quiet -nologo >/dev/null
  SG=(dotnet bench/SharpGrad.Bench/bin/Release/net10.0/SharpGrad.Bench.dll)
else
  iset=x86-64-v4; grep -qw avx512f /proc/cpuinfo || iset=x86-64-v3
  dotnet publish bench/SharpGrad.Bench -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=$iset \
    -o bench/SharpGrad.Bench/bin/aot --nologo -v quiet >"$out/publish.log" 2>&1 || { cat "$out/publish.log"; exit 1; }
  SG=(bench/SharpGrad.Bench/bin/aot/SharpGrad.Bench)
fi
echo "SharpGrad side: ${SG[*]}" >&2
# The host's level before each SharpGrad run (bench/pingpong.c: the cache-line round trip between the two cores, ~100 ns
# when the two vCPUs sit close, ~400 ns when far apart; two-thread rows move with it): a "TAG level" line per run, which
# compare.py shows beside the row. Left out without a C compiler.
PP=""
if command -v gcc >/dev/null && gcc -O2 -pthread bench/pingpong.c -o "$out/pingpong" 2>/dev/null; then PP="$out/pingpong"; fi
export SG_PINGPONG="$PP" # for bench/ddp_rows.sh
level() { [[ -n "$PP" ]] && echo "$1 level {\"roundtrip_ns\": $("$PP" | awk 'NR == 1 { print $2 }')}" >>"$out/lines" || true; }
export SG_BENCH="${SG[*]}"
# Two OpenBLAS settings for every row that goes through BLAS: the core type OpenBLAS detects itself (the kernels
# issue's `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`; Cooperlake's AVX-512 kernels on this AMD EPYC, Prescott's SSE3
# ones on the Xeon of earlier sessions) and SkylakeX's AVX-512 kernels; the faster run is kept.
PY_AUTO=(env -u OPENBLAS_L2_SIZE -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=2 /usr/bin/python3)
PY_SKX=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 /usr/bin/python3)
PYS=("${PY_AUTO[*]}" "${PY_SKX[*]}")
secs=2; limit=(); logreg=(--limit 10000)
if (( quick )); then secs=0.5; limit=(--limit 12800); logreg=(--limit 2000); fi

# One row: a tag, then the SharpGrad side's arguments; the reference side's commands follow on stdin, one per line,
# each run under every interpreter setting in PYS (the CNN rows set PYS to one: their convolutions are oneDNN's).
# With --repeat N the whole set runs N times, alternating sides, and compare.py keeps each side's median.
row() {
  local tag=$1; shift
  local refs=() ref
  while IFS= read -r ref; do [[ -n "$ref" ]] && refs+=("$ref"); done
  for ((r = 0; r < repeat; r++)); do
    level "$tag"
    echo "$tag sharpgrad $("${SG[@]}" "$@")" >>"$out/lines"
    for ref in "${refs[@]}"; do
      for py in "${PYS[@]}"; do
        echo "$tag reference $(eval "$py $ref")" >>"$out/lines"
      done
    done
  done
}
# Peak resident memory (KB) of one run, measured by GNU time.
rss() { /usr/bin/time -f '%M' -o "$out/rss" "$@" >/dev/null; cat "$out/rss"; }

for ((r = 0; r < repeat; r++)); do
  echo "fma-peak sharpgrad $("${SG[@]}" --workload fma-peak --threads 2 --seconds $secs)" >>"$out/lines"
done
for m in 512 1024 2048; do
  row "gemm-$m" --workload gemm --threads 2 --seconds $secs --m $m <<<"bench/reference/gemm.py --threads 2 --seconds $secs --m $m"
done
# Linear-layer shapes, m x k x n with the transposes Linear forward (A B^T), backward dX (A B) and dW (A^T B) need.
for s in "64 784 256 0 0" "64 784 256 0 1" "64 256 784 0 1" "784 64 256 1 0" "64 256 128 0 0" "64 256 128 0 1" "256 64 128 1 0"; do
  read -r m k n ta tb <<<"$s"
  row "gemm-${m}x${k}x${n}-ta${ta}tb${tb}" --workload gemm --threads 2 --seconds $secs --m $m --k $k --n $n --ta $ta --tb $tb \
    <<<"bench/reference/gemm.py --threads 2 --seconds $secs --m $m --k $k --n $n --ta $ta --tb $tb"
done
row mlp-epoch --workload mlp-epoch "${limit[@]}" <<<"bench/reference/workloads.py --workload mlp-epoch ${limit[*]} --torch-threads 1
bench/reference/workloads.py --workload mlp-epoch ${limit[*]} --torch-threads 2"
PYS=("${PY_AUTO[*]}")
row cnn-epoch --workload cnn-epoch "${limit[@]}" <<<"bench/reference/workloads.py --workload cnn-epoch ${limit[*]} --torch-threads 1
bench/reference/workloads.py --workload cnn-epoch ${limit[*]} --torch-threads 2"
row cnn-results-epoch --workload cnn-epoch --model results "${limit[@]}" <<<"bench/reference/workloads.py --workload cnn-epoch --model results ${limit[*]} --torch-threads 1
bench/reference/workloads.py --workload cnn-epoch --model results ${limit[*]} --torch-threads 2"
PYS=("${PY_AUTO[*]}" "${PY_SKX[*]}")
row mlp-batch1 --workload mlp-batch1 --steps 2000 <<<"bench/reference/workloads.py --workload mlp-batch1 --steps 2000 --torch-threads 1
bench/reference/workloads.py --workload mlp-batch1 --steps 2000 --torch-threads 2"
row xor --workload xor <<<"bench/reference/workloads.py --workload xor"
row sgd-logreg --workload sgd-logreg "${logreg[@]}" <<<"bench/reference/workloads.py --workload sgd-logreg ${logreg[*]}"
# transformer-step (issue 14): begin. Seconds per training step of `sharpgrad lm --model transformer`'s default model
# and recipe, 5 warm-up steps then 30 timed (10 with --quick); PyTorch with 1 and with 2 intra-op threads, faster kept.
tsteps=30; (( quick )) && tsteps=10
row transformer-step --workload transformer-step --steps $tsteps <<<"bench/reference/workloads.py --workload transformer-step --steps $tsteps --torch-threads 1
bench/reference/workloads.py --workload transformer-step --steps $tsteps --torch-threads 2"
# transformer-step: end
# --- issue 14: lstm-step (one training step of `lm --model lstm`'s model; 50 timed steps, 5 warm-up) ---
row lstm-step --workload lstm-step --steps 50 <<<"bench/reference/workloads.py --workload lstm-step --steps 50 --torch-threads 1
bench/reference/workloads.py --workload lstm-step --steps 50 --torch-threads 2"
# --- end lstm-step ---
for ((r = 0; r < repeat; r++)); do bench/ddp_rows.sh "$out/lines" "${limit[@]}"; done
echo "rss sharpgrad {\"peak_rss_kb\": $(rss "${SG[@]}" --workload mlp-epoch "${limit[@]}")}" >>"$out/lines"
echo "rss reference {\"peak_rss_kb\": $(rss "${PY_AUTO[@]}" bench/reference/workloads.py --workload mlp-epoch "${limit[@]}" --torch-threads 1)}" >>"$out/lines"

/usr/bin/python3 bench/compare.py "$out/lines" "$quick"
