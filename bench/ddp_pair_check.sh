#!/usr/bin/env bash
# Is a slow 2-process ddp-epoch the code or the host? On the idle machine, per round: the model's 1-process epoch alone
# (pinned to core 0), then two independent 1-process epochs at once (pinned to cores 0 and 1, no communication), then
# the 2-process epoch (mpirun binds rank r to core r). If the concurrent pair slows down as the 2-process run does, the
# two cores do not run at full speed together (e.g. the host's two vCPUs on one physical core's SMT threads), whatever
# the data-parallel code does. Prints wall seconds and, for the 2-process run, each rank's work per step in ms
# (thread CPU of the step minus the CPU spent polling for the peer).
# The 1-process runs also print their work per step (thread CPU of the step), so that a loaded machine can be read too.
#   SG_BENCH=bench/SharpGrad.Bench/bin/aot/SharpGrad.Bench bench/ddp_pair_check.sh [ROUNDS [MODEL [ddp-epoch options, e.g. --limit 6400]]]
#   (MODEL: mlp, the default, or cnn)
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a SG <<<"${SG_BENCH:-bench/SharpGrad.Bench/bin/aot/SharpGrad.Bench}"
rounds=${1:-5}
model=${2:-mlp}
extra=("${@:3}")
summary='import json,sys; d=json.loads(sys.stdin.read()); p=d["per_rank"]
print("%.3f work ms/step %s" % (d["seconds"], " ".join("%.3f" % ((a - b) / d["steps"] * 1e3) for a, b in zip(p["train_step_cpu"], p["wait_cpu"]))))'
one() { DOTNET_PROCESSOR_COUNT=1 taskset -c "$1" "${SG[@]}" --workload ddp-epoch --model "$model" "${extra[@]}" | /usr/bin/python3 -c "$summary"; }
for r in $(seq "$rounds"); do
  alone=$(one 0)
  a=$(mktemp); b=$(mktemp)
  one 0 >"$a" & one 1 >"$b"; wait
  pair="$(cat "$a") / $(cat "$b")"; rm -f "$a" "$b"
  two=$(mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to core -x DOTNET_PROCESSOR_COUNT=1 -x OMP_NUM_THREADS=1 "${SG[@]}" --workload ddp-epoch --model "$model" "${extra[@]}" | grep -o '{.*}' |
    /usr/bin/python3 -c "$summary")
  echo "round $r ($model): alone $alone | two independent at once $pair | 2-process epoch $two (seconds)"
done
