#!/usr/bin/env python3
"""Horovod (Sergeev & Del Balso 2018) against parameter servers, reproduced
with `rill train`: the bytes a step sends with ring allreduce and with a
parameter server, and examples/s on 1 to 4 workers, for one model and the
same per-worker batch.

Ring allreduce: each worker sends 2 (N-1)/N of the gradients per step,
spread over every link; a parameter server receives N gradients and sends
N copies of the parameters per step, all through its own link. Model: the
digits MLP 64-512-10 (38,410 float parameters), Adam, 64 rows per worker per
step, 8 epochs; sync-ps on one ps task. Writes docs/repro_horovod.png and
its section of docs/reproductions.md.

  ~/.cache/rill-venv-dev/bin/python tests/bench/repro_horovod.py
"""
import repro_common as rc

HIDDEN = 512
PARAMS = 64 * HIDDEN + HIDDEN + HIDDEN * 10 + 10


def main():
    rill, build_mlp = rc.build()
    model = rc.digits_mlp(build_mlp, hidden=HIDDEN)
    rows, speed = [], {"allreduce": [], "sync-ps": []}
    for workers in (1, 2, 3, 4):
        for scheme in ("allreduce", "sync-ps"):
            cluster = "ps=%d,worker=%d" % (0 if scheme == "allreduce" else 1, workers)
            r = rc.train(rill, model, [
                "--loss", "loss"] + rc.DIGITS + [
                "--metric", "accuracy", "--optimizer", "adam", "--lr", "0.003",
                "--batch", str(64 * workers), "--epochs", "8", "--seed", "1",
                "--scheme", scheme, "--local-cluster", cluster])
            per_step = r["bytes_sent"] / max(1, r["steps"])
            # The busiest link: a ring spreads the volume over N links; the
            # ps's own link carries all of it.
            busiest = per_step / workers if scheme == "allreduce" else per_step
            speed[scheme].append((workers, r["examples_per_second"]))
            rows.append([scheme, workers, "%.0f" % per_step, "%.0f" % (per_step / workers),
                         "%.0f" % busiest, "%.0f" % r["examples_per_second"],
                         "%.3f" % r["final"]["accuracy"]])
            print(rows[-1])
    fig, (left, right) = rc.plt.subplots(1, 2, figsize=(9, 3.6))
    for scheme, pts in speed.items():
        left.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=scheme)
    left.set_xlabel("workers")
    left.set_ylabel("examples/s")
    left.set_title("throughput (one machine's cores shared)")
    ns = [1, 2, 3, 4]
    width = 0.38
    ring = [2 * (n - 1) / n * PARAMS * 4 for n in ns]
    ps_link = [2 * n * PARAMS * 4 for n in ns]
    right.bar([n - width / 2 for n in ns], [b / 1e6 for b in ring], width,
              label="allreduce: per worker link")
    right.bar([n + width / 2 for n in ns], [b / 1e6 for b in ps_link], width,
              label="sync-ps: the ps link")
    right.set_xlabel("workers")
    right.set_ylabel("MB per step")
    right.set_title("bytes on the busiest link per step")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_xticks(ns)
    rc.save(fig, "repro_horovod.png")
    rc.write_section("horovod", """
## 4. Horovod: ring allreduce against a parameter server

`tests/bench/repro_horovod.py`; `rill train --scheme allreduce` and
`--scheme sync-ps` (one ps task) on 1 to 4 workers, the digits MLP
64-%d-10 (%d float parameters, %.2f MB), Adam, 64 rows per worker per step,
8 epochs. Bytes per step are what the run reports (`bytes_sent / steps`);
the busiest link is a worker's for the ring (the volume is spread over N
links) and the ps task's for sync-ps (every worker's gradients in, the
parameters out to every worker).

%s

![Horovod](repro_horovod.png)

The ring's bytes per worker stay below 2x the model however many workers
join, while the parameter server's link carries 2N models per step: the
reason Horovod chose allreduce. Machine: %s: every worker is a process on
the same cores, so examples/s cannot grow with workers here as on the
paper's GPUs; the bytes are machine-independent.
""" % (HIDDEN, PARAMS, PARAMS * 4 / 1e6,
       rc.table(["scheme", "workers", "bytes/step (all)", "per worker",
                 "busiest link", "examples/s", "accuracy"], rows), rc.machine()))


if __name__ == "__main__":
    main()
