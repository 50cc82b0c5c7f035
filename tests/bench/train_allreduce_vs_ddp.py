#!/usr/bin/env python3
"""Data-parallel training throughput: `rill train --scheme allreduce` against
PyTorch DistributedDataParallel (gloo backend), the same MLP, the same global
batch, N worker processes on loopback, measured in the same run; and the
bytes each Rill worker sends per step against the ring's bound
(2 (N-1)/N x the gradient bytes).

  python3 tests/bench/train_allreduce_vs_ddp.py [--workers 2] [--steps 300]

Needs numpy and torch (a venv: --python). Builds the optimized binaries
itself.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DDP = r"""
import os, sys, time, numpy as np, torch, torch.distributed as dist
import torch.nn as nn
rank, world, port, steps, batch, hidden = [int(a) for a in sys.argv[1:7]]
x_all = np.load(sys.argv[7]); y_all = np.load(sys.argv[8]).astype(np.int64)
torch.set_num_threads(1)
torch.manual_seed(0)
dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port,
                        rank=rank, world_size=world)
model = nn.Sequential(nn.Linear(x_all.shape[1], hidden), nn.ReLU(),
                      nn.Linear(hidden, 10))
ddp = nn.parallel.DistributedDataParallel(model)
opt = torch.optim.SGD(ddp.parameters(), lr=0.05)
loss_fn = nn.CrossEntropyLoss()
per = batch // world
n = x_all.shape[0] * (rank + 1) // world - x_all.shape[0] * rank // world
lo = x_all.shape[0] * rank // world
x = torch.from_numpy(x_all[lo:lo + n]); y = torch.from_numpy(y_all[lo:lo + n])
def step(i):
    j = (i * per) % (n - per)
    opt.zero_grad()
    loss = loss_fn(ddp(x[j:j + per]), y[j:j + per])
    loss.backward()
    opt.step()
    return loss
for i in range(10):
    step(i)
dist.barrier()
start = time.perf_counter()
for i in range(steps):
    loss = step(i)
dist.barrier()
t = time.perf_counter() - start
if rank == 0:
    print(repr({"seconds": t, "examples_per_second": steps * per * world / t,
                "loss": float(loss)}))
dist.destroy_process_group()
"""


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--python", default=sys.executable,
                        help="a python with numpy and torch")
    args = parser.parse_args()
    subprocess.run(["bazel", "build", "//tools:rill", "//examples:build_mlp_graph"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    bin_dir = subprocess.run(["bazel", "info", "bazel-bin"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    rill = os.path.join(bin_dir, "tools", "rill")
    tmp = tempfile.mkdtemp()
    model = os.path.join(tmp, "mlp.pbtxt")
    subprocess.run([os.path.join(bin_dir, "examples", "build_mlp_graph"), "--out=" + model,
                    "--inputs=784", "--hidden=%d" % args.hidden, "--labels=int32"],
                   check=True, stdout=subprocess.DEVNULL)
    x, y = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    subprocess.run([args.python, "-c",
                    "import numpy as np, sys; r = np.random.default_rng(0);"
                    "x = r.standard_normal((%d, 784)).astype(np.float32);"
                    "w = r.standard_normal((784, 10)).astype(np.float32);"
                    "np.save(sys.argv[1], x); np.save(sys.argv[2], (x @ w).argmax(1).astype(np.int32))"
                    % args.rows, x, y], check=True)
    n = args.workers
    out = subprocess.run([rill, "train", model, "--loss", "loss", "--scheme", "allreduce",
                          "--data", "x=" + x, "--data", "y=" + y, "--batch", str(args.batch),
                          "--steps", str(args.steps), "--lr", "0.05",
                          "--local-cluster", "ps=0,worker=%d" % n, "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    port = free_port()
    procs = [subprocess.Popen([args.python, "-c", DDP, str(k), str(n), str(port),
                               str(args.steps), str(args.batch), str(args.hidden), x, y],
                              stdout=subprocess.PIPE, text=True) for k in range(n)]
    outs = [p.communicate()[0] for p in procs]
    import ast
    t = ast.literal_eval(outs[0].strip().splitlines()[-1])
    params = 784 * args.hidden + args.hidden + args.hidden * 10 + 10
    bound = 2 * (n - 1) / n * params * 4
    sent = r["bytes_sent"] / r["steps"] / n
    print("MLP 784-%d-10, global batch %d, %d workers, %d steps" % (
        args.hidden, args.batch, n, args.steps))
    print("rill allreduce: %.0f examples/s (final loss %.3f)" % (
        r["examples_per_second"], r["final"]["loss"]))
    print("torch DDP gloo: %.0f examples/s (last loss %.3f)" % (
        t["examples_per_second"], t["loss"]))
    print("ratio rill/torch: %.3f" % (r["examples_per_second"] / t["examples_per_second"]))
    print("bytes sent per worker per step: rill %.0f, ring bound %.0f (ratio %.3f)" % (
        sent, bound, sent / bound))


if __name__ == "__main__":
    main()
