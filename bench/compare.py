#!/usr/bin/python3
"""Formats the lines written by bench/compare.sh ("TAG sharpgrad|reference|level JSON") as a Markdown ratio table."""
import json, sys

# tag prefix -> (what, metric, target ratio as text, test on the ratio). The targets are the current issues': the kernel
# rows issue 19's (compiled steps and the GEMM), the data-parallel rows issue 16's.
# ratio = SharpGrad / reference for gflops and steps_per_s (higher is better), SharpGrad time / reference time for seconds.
TARGETS = {
    "gemm-512": ("SGEMM 512³, 2 threads (GFLOP/s)", "gflops", "≥ 1.0×", lambda r: r >= 1.0),
    "gemm-1024": ("SGEMM 1024³, 2 threads (GFLOP/s)", "gflops", "≥ 1.0× and ≥ 85% of FMA peak", lambda r: r >= 1.0),
    "gemm-2048": ("SGEMM 2048³, 2 threads (GFLOP/s)", "gflops", "≥ 1.0× and ≥ 85% of FMA peak", lambda r: r >= 1.0),
    "mlp-epoch": ("MLP 784-256-128-10 epoch, Adam, batch 64 (s)", "seconds", "≤ 0.25× the time", lambda r: r <= 0.25),
    "cnn-epoch": ("CNN 62,346 params epoch, Adam, batch 64 (s)", "seconds", "≤ 0.4× the time", lambda r: r <= 0.4),
    "cnn-results-epoch": ("CNN of RESULTS.md (83,242 params: 3 stages of 3x3 conv, batch norm, dropout) epoch (s)", "seconds", "none (information)", None),
    "ddp-mlp-scaling": ("MLP epoch, mpirun -np 2 × 1 thread vs the same in 1 process × 1 thread (s)", "seconds", "≤ 0.556× the time (≥ 1.8× throughput)", lambda r: r <= 1 / 1.8),
    "ddp-cnn-scaling": ("CNN 62,346 params epoch, mpirun -np 2 × 1 thread vs 1 process × 1 thread (s)", "seconds", "≤ 0.556× the time (≥ 1.8× throughput)", lambda r: r <= 1 / 1.8),
    "ddp-mlp-torch": ("MLP epoch, 2 processes × 1 thread: DDP over Open MPI vs PyTorch 1.13 DDP on gloo (s)", "seconds", "≤ 0.5× the time", lambda r: r <= 0.5),
    "ddp-cnn-torch": ("CNN epoch, 2 processes × 1 thread: DDP over Open MPI vs PyTorch 1.13 DDP on gloo (s)", "seconds", "≤ 0.5× the time", lambda r: r <= 0.5),
    # transformer-step (issue 14): begin
    "transformer-step": ("transformer LM training step (4 layers × 4 heads, d 128, batch 64 × context 16), AdamW, clip 1.0 (s per step)", "seconds", "≤ 0.5× the time", lambda r: r <= 0.5),
    # transformer-step: end
    "mlp-batch1": ("MLP batch 1, 2,000 Adam steps (steps/s)", "steps_per_s", "≥ 10×", lambda r: r >= 10.0),
    "xor": ("XOR 2-2-1, 10,000 full-batch GD epochs (s)", "seconds", "≤ 0.1× the time", lambda r: r <= 0.1),
    # issue 14: lstm-step
    "lstm-step": ("LSTM LM training step (2 × 256, batch 64 × 16, AdamW, clip), 50 steps (s)", "seconds", "≤ 0.5× the time", lambda r: r <= 0.5),
    "sgd-logreg": ("per-example SGD logistic regression (s)", "seconds", "≤ 0.1× the time", lambda r: r <= 0.1),
}
OPS = {(0, 0): "AB", (0, 1): "ABᵀ", (1, 0): "AᵀB", (1, 1): "AᵀBᵀ"}


def median_run(runs, metric):
    """The run whose metric is the median of the runs (the lower middle one of an even count): with compare.sh
    --repeat, each side (and each reference setting) is represented by its median run, not its luckiest or unluckiest."""
    ordered = sorted(runs, key=lambda r: r[metric])
    return ordered[(len(ordered) - 1) // 2]


def settings(refs):
    """The reference runs grouped by setting (threads, BLAS kernel set), each group's median run then competes."""
    groups = {}
    for r in refs:
        groups.setdefault((r.get("threads"), r.get("blas_core")), []).append(r)
    return list(groups.values())


def main():
    lines, quick = sys.argv[1], sys.argv[2] == "1"
    rows = {}
    peak = None
    for line in open(lines):
        tag, side, payload = line.split(" ", 2)
        rows.setdefault(tag, {}).setdefault(side, []).append(json.loads(payload))
    print(f"| row | SharpGrad | reference (best setting) | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    met = total = 0
    if "fma-peak" in rows:
        peak = median_run(rows.pop("fma-peak")["sharpgrad"], "gflops")
        print(f"| measured FMA peak, {peak['threads']} threads, {peak['lanes']} float lanes (GFLOP/s) | {peak['gflops']:.4g} | — | — | information | — |")
    for tag, sides in rows.items():
        if tag == "rss":
            sg, refs = sides["sharpgrad"][0], sides["reference"]
            mb = sg["peak_rss_kb"] / 1024
            ref_mb = refs[0]["peak_rss_kb"] / 1024
            ok = mb <= 250
            met += ok; total += 1
            print(f"| peak RSS, MLP training (MB) | {mb:.0f} | {ref_mb:.0f} (PyTorch) | {mb / ref_mb:.2f}× | ≤ 250 MB | {'yes' if ok else 'no'} |")
            continue
        if tag in TARGETS:
            what, metric, target, test = TARGETS[tag]
        else:  # a Linear-layer GEMM shape: gemm-MxKxN-taXtbY
            dims, flags = tag[5:].split("-")
            ta, tb = int(flags[2]), int(flags[5])
            what, metric, target, test = f"SGEMM {dims} {OPS[(ta, tb)]}, 2 threads (GFLOP/s)", "gflops", "≥ 1.5×", lambda r: r >= 1.5
        higher_better = metric != "seconds"
        sg = median_run(sides["sharpgrad"], metric)
        refs = [median_run(group, metric) for group in settings(sides["reference"])]
        best = max(refs, key=lambda r: r[metric]) if higher_better else min(refs, key=lambda r: r[metric])
        ratio = sg[metric] / best[metric]
        ok = test(ratio) if test else None
        of_peak = ""
        if tag in ("gemm-1024", "gemm-2048") and peak:
            share = sg[metric] / peak["gflops"]
            of_peak = f", {share:.0%} of peak"
            ok = ok and share >= 0.85
        levels = sides.get("level", [])
        if levels:
            # How many of this row's SharpGrad runs met the host's slow level (round trip over 250 ns: bench/pingpong.c).
            slow = sum(1 for lv in levels if lv["roundtrip_ns"] > 250)
            what += f" [host: {len(levels) - slow} fast, {slow} slow]"
        if test:
            met += ok; total += 1
        setting = f"threads {best.get('threads')}" + (f", {best['blas_core']}" if "blas_core" in best else "")
        extra = ""
        if "cpu_seconds" in sg and "cpu_seconds" in best:
            extra = f" (CPU {sg['cpu_seconds']:.2f} s vs {best['cpu_seconds']:.2f} s)"
        print(f"| {what} | {sg[metric]:.4g} | {best[metric]:.4g} ({setting}) | {ratio:.2f}×{of_peak}{extra} | {target} | {'—' if ok is None else 'yes' if ok else 'no'} |")
    print()
    runs = max(len(s["sharpgrad"]) for s in rows.values())
    note = f" (median of {runs} runs per side and setting)" if runs > 1 else ""
    print(f"{met} of {total} targets met{note}{' (quick run: partial epochs)' if quick else ''}")


if __name__ == "__main__":
    main()
