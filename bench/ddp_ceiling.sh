#!/usr/bin/env bash
# The best a 2-process data-parallel epoch can do against one process on this machine, without any communication
# (issue 16): one process's compiled step profiled per instruction (thread CPU) at batch 64 and at batch 32, and the
# loading of a batch of each size. A rank of the 2-process run does the batch-32 step's arithmetic, half of the
# optimizer's update (perfectly sharded) and loads 32 examples; one process does the batch-64 step, the whole update,
# and loads 64. Prints per round the figures (microseconds per step) and
#   ceiling = (compute(32) + update(64) / 2 + loading(32)) / (compute(64) + update(64) + loading(64)),
# the ratio the 2-process epoch would reach if exchanging gradients and parameters and waiting for each other cost
# nothing; the issue's target is 0.556 (1.8x throughput). Run it on a quiet machine.
#   SG_BENCH=path/to/SharpGrad.Bench bench/ddp_ceiling.sh [ROUNDS [MODEL [ddp-epoch options]]]   (MODEL: mlp or cnn)
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a SG <<<"${SG_BENCH:-bench/SharpGrad.Bench/bin/aot/SharpGrad.Bench}"
rounds=${1:-3}
model=${2:-mlp}
extra=("${@:3}")
[[ "$model" == cnn && ${#extra[@]} -eq 0 ]] && extra=(--limit 12800)
summary='import json, sys
d = [json.loads(l) for l in sys.stdin.read().split("\n") if l.strip()]
def parts(x):
    steps = x["steps"]; prof = x["profile_us"]
    update = sum(q["us"][0] for q in prof if q["name"].startswith("OptimizerStep"))
    compute = sum(q["us"][0] for q in prof) - update
    return compute, update, x["per_rank"]["loading_cpu"][0] / steps * 1e6
c64, u64, l64 = parts(d[0]); c32, u32, l32 = parts(d[1])
ceiling = (c32 + u64 / 2 + l32) / (c64 + u64 + l64)
print("batch 64: compute %.1f update %.1f loading %.1f | batch 32: compute %.1f update %.1f loading %.1f | ceiling %.3f (target 0.556)"
      % (c64, u64, l64, c32, u32, l32, ceiling))'
for r in $(seq "$rounds"); do
  out=""
  for b in 64 32; do
    out+=$(DOTNET_PROCESSOR_COUNT=1 taskset -c 0 "${SG[@]}" --workload ddp-epoch --model "$model" --batch $b "${extra[@]}" --profile 1000 --profile-clock cpu | grep -o '{.*}')$'\n'
  done
  echo "round $r ($model): $(printf '%s' "$out" | /usr/bin/python3 -c "$summary")"
done
