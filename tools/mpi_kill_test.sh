#!/usr/bin/env bash
# Kill test of data-parallel training (issue 16): N times, start `sharpgrad train` under `mpirun -np 2`, SIGKILL one
# rank (chosen at random) at a random moment, check that the whole job ends within 30 s, then `--resume` it to the end
# and check that the final weights are bit-identical to an uninterrupted run's (weights_sha256 in the JSON).
# Usage: tools/mpi_kill_test.sh [ROUNDS=10]   (after `dotnet build`; needs openmpi-bin)
set -euo pipefail
rounds=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/src/SharpGrad.Cli/bin/Debug/net10.0/SharpGrad.Cli.dll"
[ -f "$cli" ] || { echo "build first: dotnet build $root/src/SharpGrad.Cli"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --allow-run-as-root --oversubscribe -np 2 -x DOTNET_PROCESSOR_COUNT=1)
args=(train --model mlp --hidden 128 --synthetic 6000 --epochs 2 --batch-size 64 --seed 3 --json --checkpoint-every 5)
hash() { sed -n 's/.*"weights_sha256":"\([0-9a-f]*\)".*/\1/p' "$1"; }

"${mpi[@]}" dotnet "$cli" "${args[@]}" --checkpoint "$work/ref" > "$work/ref.json" 2>/dev/null
want=$(hash "$work/ref.json")
echo "uninterrupted run: weights sha256 $want"
fail=0
for i in $(seq 1 "$rounds"); do
  dir="$work/ck$i"
  "${mpi[@]}" dotnet "$cli" "${args[@]}" --checkpoint "$dir" > "$work/run$i.json" 2> "$work/run$i.err" &
  job=$!
  delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 2 + 6 * rand() }')
  sleep "$delay"
  mapfile -t ranks < <(pgrep -P "$job" -f SharpGrad.Cli.dll || true)
  if [ ${#ranks[@]} -lt 2 ]; then echo "round $i: the job had already ended after ${delay} s; skipped"; wait "$job" || true; continue; fi
  victim=${ranks[$((RANDOM % ${#ranks[@]}))]}
  t0=$(date +%s.%N)
  kill -9 "$victim"
  ended=no
  for _ in $(seq 1 300); do kill -0 "$job" 2>/dev/null || { ended=yes; break; }; sleep 0.1; done
  t1=$(date +%s.%N)
  wait "$job" 2>/dev/null || true
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  if [ "$ended" != yes ]; then echo "round $i: job still running 30 s after the kill: FAIL"; pkill -P "$job" || true; fail=1; continue; fi
  step=$( (ls "$dir" 2>/dev/null || true) | sed -n 's/checkpoint-0*\([0-9]*\)\.safetensors/\1/p' | sort -n | tail -1)
  "${mpi[@]}" dotnet "$cli" "${args[@]}" --checkpoint "$dir" --resume > "$work/res$i.json" 2>/dev/null
  got=$(hash "$work/res$i.json")
  verdict=ok; [ "$got" = "$want" ] || { verdict="FAIL (weights $got)"; fail=1; }
  echo "round $i: killed pid $victim after ${delay} s (newest checkpoint: step ${step:-none}); job ended ${secs} s later; resume: $verdict"
done
[ "$fail" = 0 ] && echo "all rounds passed" || { echo "some rounds FAILED"; exit 1; }
