#!/usr/bin/python3
"""Reference side of the ddp-epoch row: PyTorch's DistributedDataParallel on its gloo backend (Debian's PyTorch 1.13
has gloo, not mpi), started by the same `mpirun -np N` as the SharpGrad side (rank and size from Open MPI's
environment, rendezvous over TCP on localhost). Same model, data, Adam lr 1e-3, global batch 64 split over the
processes by DistributedSampler, one warm-up step, the epoch timed between two barriers. Rank 0 prints one JSON line.
    mpirun --allow-run-as-root --oversubscribe -np 2 /usr/bin/python3 bench/reference/ddp.py --model mlp --torch-threads 1
"""
import argparse, json, os, sys, time
import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import load_train  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--port", default="29517")
    a = ap.parse_args()
    torch.set_num_threads(a.torch_threads)
    rank, world = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0")), int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", a.port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    nn = torch.nn
    if a.model == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(1024, 10))
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(ddp.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x, y = load_train(a.limit)
    local = 64 // world
    sampler = torch.utils.data.distributed.DistributedSampler(range(len(y)), num_replicas=world, rank=rank, shuffle=True, seed=1)
    indices = np.array(list(iter(sampler)))

    def step(idx):
        xb = torch.from_numpy(x[idx].astype(np.float32) / 255.0).reshape(len(idx), 1, 28, 28)
        loss = loss_fn(ddp(xb), torch.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(np.arange(rank * local, (rank + 1) * local))
    dist.barrier()
    t, cpu = time.perf_counter(), time.process_time()
    steps = 0
    for s in range(0, len(indices), local):
        step(indices[s:s + local])
        steps += 1
    dist.barrier()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    if rank == 0:
        print(json.dumps({"workload": "ddp-epoch", "model": a.model, "processes": world, "threads": a.torch_threads, "steps": steps,
                          "seconds": round(seconds, 4), "cpu_seconds": round(cpu, 4), "torch": torch.__version__, "backend": "gloo"}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
