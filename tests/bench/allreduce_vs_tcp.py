#!/usr/bin/env python3
"""Allreduce bus bandwidth of Rill's collectives (CollectiveReduceV2 over
Gloo, between `rill server` worker processes on loopback) for N = 2, 3, 4,
beside a plain loopback TCP copy and torch.distributed's gloo backend doing
the same allreduce, all measured in the same run.

Bus bandwidth = 2 (N-1)/N x bytes / time (the bytes each rank's links carry
in a ring allreduce), as NCCL's and Horovod's benchmarks report it.

  python3 tests/bench/allreduce_vs_tcp.py [--quick] [--workers 2,3,4]

It builds the optimized binaries itself (bazel build //tools:rill
//tests/bench:allreduce_bench). torch is optional: without it that column
is left out.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_vs_tcp import free_ports, tcp_copy_mb_per_s  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20, 256 << 20]


def build():
    subprocess.run(["bazel", "build", "//tools:rill", "//tests/bench:allreduce_bench"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bin_dir = subprocess.run(["bazel", "info", "bazel-bin"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return (os.path.join(bin_dir, "tools", "rill"),
            os.path.join(bin_dir, "tests", "bench", "allreduce_bench"))


def reps_for(size):
    # Enough chained allreduces per step that the step's overhead is small;
    # at least 3, since the first of a chain copies the variable it reduces
    # (the ones after it reduce their input's buffer in place, as a
    # gradient's reduce does in training).
    return max(3, min(200, (16 << 20) // size))


def rill_allreduce_s(rill, bench, workers, sizes, hint):
    ports = free_ports(workers)
    cluster = json.dumps({"worker": ["127.0.0.1:%d" % p for p in ports]})
    servers = [subprocess.Popen([rill, "server", "--cluster", cluster, "--job", "worker",
                                 "--task", str(t)], stdout=subprocess.DEVNULL)
               for t in range(workers)]
    try:
        time.sleep(1.0)
        out = {}
        for key, size in enumerate(sizes):
            steps = 5 if size >= (64 << 20) else 10
            r = subprocess.run([bench, "--master=grpc://127.0.0.1:%d" % ports[0],
                                "--workers=%d" % workers, "--bytes=%d" % size,
                                "--reps=%d" % reps_for(size), "--steps=%d" % steps,
                                "--hint=" + hint, "--group_key=%d" % (key + 1)],
                               check=True, capture_output=True, text=True).stdout
            out[size] = json.loads(r.strip().splitlines()[-1])["allreduce_s"]
        return out
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait()


TORCH_WORKER = r"""
import os, sys, time, torch, torch.distributed as dist
rank, world, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sizes = [int(x) for x in sys.argv[4].split(",")]
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method="tcp://127.0.0.1:" + port,
                        rank=rank, world_size=world)
res = {}
for size in sizes:
    t = torch.ones(size // 4)
    reps = max(3, min(200, (16 << 20) // size))
    steps = 5 if size >= (64 << 20) else 10
    times = []
    for i in range(steps + 2):
        dist.barrier()
        start = time.perf_counter()
        for _ in range(reps):
            dist.all_reduce(t)
            t /= world
        if i >= 2:
            times.append((time.perf_counter() - start) / reps)
    times.sort()
    res[size] = times[len(times) // 2]
if rank == 0:
    print(repr(res))
dist.destroy_process_group()
"""


def torch_allreduce_s(python, workers, sizes):
    port = str(free_ports(1)[0])
    procs = [subprocess.Popen([python, "-c", TORCH_WORKER, str(r), str(workers), port,
                               ",".join(map(str, sizes))],
                              stdout=subprocess.PIPE, text=True)
             for r in range(workers)]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode != 0 for p in procs):
        return None
    import ast
    return ast.literal_eval(outs[0].strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="2,3,4")
    parser.add_argument("--quick", action="store_true", help="sizes up to 16 MiB")
    parser.add_argument("--torch-python", default=sys.executable,
                        help="a python with torch installed")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    sizes = [s for s in SIZES if not args.quick or s <= (16 << 20)]
    rill, bench = build()
    has_torch = subprocess.run([args.torch_python, "-c", "import torch"],
                               capture_output=True).returncode == 0
    tcp = {s: tcp_copy_mb_per_s(s) for s in sizes}
    results = []
    for n in [int(x) for x in args.workers.split(",")]:
        auto = rill_allreduce_s(rill, bench, n, sizes, "auto")
        ring = rill_allreduce_s(rill, bench, n, sizes, "ring")
        torch = torch_allreduce_s(args.torch_python, n, sizes) if has_torch else None
        print("N = %d" % n)
        print("%10s %12s %12s %12s %12s %10s %10s %10s" % (
            "bytes", "rill ms", "ring ms", "torch ms", "TCP MB/s", "busbw MB/s",
            "vs TCP", "vs torch"))
        for s in sizes:
            best = min(auto[s], ring[s])
            busbw = 2 * (n - 1) / n * s / best / 1e6
            row = {"workers": n, "bytes": s, "rill_auto_s": auto[s], "rill_ring_s": ring[s],
                   "tcp_mb_per_s": tcp[s], "busbw_mb_per_s": busbw,
                   "ratio_tcp": busbw / tcp[s]}
            if torch:
                row["torch_s"] = torch[s]
                row["ratio_torch"] = torch[s] / best
            results.append(row)
            print("%10d %12.3f %12.3f %12s %12.0f %10.0f %10.3f %10s" % (
                s, auto[s] * 1e3, ring[s] * 1e3,
                "%.3f" % (torch[s] * 1e3) if torch else "-", tcp[s], busbw,
                busbw / tcp[s], "%.3f" % (torch[s] / best) if torch else "-"))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
