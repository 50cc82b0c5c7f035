#!/usr/bin/env python3
"""DistBelief's Downpour SGD (Dean et al. 2012) against synchronous
parameter servers and stale-synchronous parallel, reproduced with `rill
train` on one local cluster of 1 ps + 3 workers: held-out accuracy against
wall time for each scheme, and the effect of Downpour's n_fetch / n_push
(fetch the parameters every n_fetch steps, push the accumulated gradients
every n_push steps) on time, accuracy and bytes.

Data: the 8x8 digits (examples/data); model: the MLP 64-128-10, Adagrad
(Downpour's choice), lr 0.05, 32 rows per worker per step, 25 epochs.
Writes docs/repro_distbelief.png and its section of docs/reproductions.md.

  ~/.cache/rill-venv-dev/bin/python tests/bench/repro_distbelief.py [--target 0.95]
"""
import argparse

import repro_common as rc

WORKERS = 3
SCHEMES = [
    ("sync-ps", ["--scheme", "sync-ps"]),
    ("sync-ps, 2 of 3 (1 backup)", ["--scheme", "sync-ps", "--replicas-to-aggregate", "2"]),
    ("ssp, staleness 3", ["--scheme", "ssp", "--staleness", "3"]),
    ("async-ps (Downpour) 1/1", ["--scheme", "async-ps"]),
    ("async-ps fetch 5 push 5", ["--scheme", "async-ps", "--n-fetch", "5", "--n-push", "5"]),
    ("async-ps fetch 20 push 20", ["--scheme", "async-ps", "--n-fetch", "20", "--n-push", "20"]),
    ("async-ps fetch 20 push 1", ["--scheme", "async-ps", "--n-fetch", "20", "--n-push", "1"]),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args()
    rill, build_mlp = rc.build()
    model = rc.digits_mlp(build_mlp, hidden=128)
    base = ["--loss", "loss"] + rc.DIGITS + [
        "--metric", "accuracy", "--optimizer", "adagrad", "--lr", "0.05",
        "--batch", str(32 * WORKERS), "--epochs", str(args.epochs), "--seed", "1",
        "--local-cluster", "ps=1,worker=%d" % WORKERS]
    fig, ax = rc.plt.subplots(figsize=(6.4, 4))
    rows = []
    for name, flags in SCHEMES:
        r = rc.train(rill, model, base + flags)
        t = [c[0] for c in r["curve"]]
        acc = [c[3]["accuracy"] for c in r["curve"]]
        ax.plot(t, acc, "o-" if "async" not in name else ".--", ms=3, label=name)
        reached = next((c[0] for c in r["curve"] if c[3]["accuracy"] >= args.target), None)
        rows.append([name, "%.1f" % r["wall_s"], "-" if reached is None else "%.2f" % reached,
                     "%.3f" % r["final"]["accuracy"],
                     "%.0f" % (r["bytes_sent"] / max(1, r["steps"])),
                     "%.0f" % r["examples_per_second"]])
        print(rows[-1])
    ax.set_xlabel("wall time, s (evaluation included)")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0.5, 1.0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("digits MLP, 1 ps + %d workers" % WORKERS)
    rc.save(fig, "repro_distbelief.png")
    rc.write_section("distbelief", """
## 3. DistBelief: Downpour SGD, synchronous ps and stale-synchronous parallel

`tests/bench/repro_distbelief.py`; `rill train --scheme sync-ps|async-ps|ssp`
on one local cluster of 1 ps and %d workers (separate `rill server`
processes on loopback). The digits MLP 64-128-10, Adagrad lr 0.05, 32 rows
per worker per step, %d epochs. Bytes per step: what the workers fetch and
push per step (async: per worker step). Time to %.2f counts from the
command's start (cluster start and per-epoch evaluation included).

%s

![DistBelief](repro_distbelief.png)

Downpour trades staleness for never waiting: each worker fetches and
pushes on its own clock, and with n_fetch / n_push above 1 it sends
proportionally fewer bytes. Machine: %s: the ps and the workers share the
cores, so no scheme here can show the wall-time gain of the paper's 10,000
cores; the bytes per step and the accuracy each scheme reaches are what
carries over.
""" % (WORKERS, args.epochs, args.target,
       rc.table(["scheme", "seconds", "to %.2f (s)" % args.target, "final accuracy",
                 "bytes/step", "examples/s"], rows), rc.machine()))


if __name__ == "__main__":
    main()
