#!/usr/bin/env python3
"""SparkNet (Moritz et al. 2015), reproduced with `rill train --scheme
local-sgd`: K workers each run tau SGD steps of batch b on their own shard,
then the replicas are averaged (over allreduce), repeated. N_a(b) is the
number of serial SGD steps of batch b (one worker) to reach held-out
accuracy a; M_a(b, K, tau) the rounds of tau steps that K workers need. The
lecture plots tau*M_a(b,K,tau)/N_a(b): the parallel steps needed relative
to one machine (below 1 is a speedup of N_a/(tau*M_a)).

Data: the 8x8 digits (examples/data: 1,437 training rows, 360 held out);
model: the MLP 64-32-10, plain SGD, lr 0.1, b = 16 rows per worker. Steps to
a are interpolated between the per-epoch evaluations; each configuration
runs with 3 seeds and the mean is reported. Writes docs/repro_sparknet.png
and its section of docs/reproductions.md.

  ~/.cache/rill-venv-dev/bin/python tests/bench/repro_sparknet.py [--target 0.9]
"""
import argparse
import statistics

import repro_common as rc

TAUS = [1, 2, 5, 10, 20, 50]
WORKERS = [2, 4]
SEEDS = [1, 2, 3]
B = 16


def to_target(result, target):
    """(steps, seconds) at which held-out accuracy first reaches target,
    interpolated between epochs; None when never."""
    prev = (0.0, 0, 0.0)
    for seconds, _, step, values in result["curve"]:
        acc = values.get("accuracy", 0)
        if acc >= target:
            s0, st0, a0 = prev
            f = (target - a0) / (acc - a0) if acc > a0 else 1.0
            return st0 + f * (step - st0), s0 + f * (seconds - s0)
        prev = (seconds, step, acc)
    return None


def run(rill, model, workers, tau, seed, epochs):
    flags = ["--loss", "loss"] + rc.DIGITS + [
        "--metric", "accuracy", "--optimizer", "sgd", "--lr", "0.1",
        "--batch", str(B * workers), "--epochs", str(epochs), "--seed", str(seed)]
    if workers == 1:
        flags += ["--scheme", "allreduce"]
    else:
        flags += ["--scheme", "local-sgd", "--tau", str(tau),
                  "--local-cluster", "ps=0,worker=%d" % workers]
    return rc.train(rill, model, flags)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=float, default=0.9)
    args = parser.parse_args()
    rill, build_mlp = rc.build()
    model = rc.digits_mlp(build_mlp)

    def mean_to_target(workers, tau, epochs):
        hits = [to_target(run(rill, model, workers, tau, s, epochs), args.target)
                for s in SEEDS]
        if any(h is None for h in hits):
            return None
        return (statistics.mean(h[0] for h in hits), statistics.mean(h[1] for h in hits))

    n_a, n_s = mean_to_target(1, 1, 30)
    print("N_a(b) = %.0f steps (%.2f s) on one worker" % (n_a, n_s))
    rows, points = [], {}
    for k in WORKERS:
        for tau in TAUS:
            hit = mean_to_target(k, tau, 40 * k)
            if hit is None:
                rows.append([k, tau, "not reached", "", "", "", ""])
                continue
            steps, seconds = hit
            ratio = steps / n_a
            points.setdefault(k, []).append((tau, ratio, seconds))
            rows.append([k, tau, "%.0f" % steps, "%.1f" % (steps / tau),
                         "%.2f" % ratio, "%.2f" % (1 / ratio), "%.2f" % seconds])
            print(rows[-1])

    lines = []
    for k, pts in sorted(points.items()):
        lines.append("K = %d: tau = %d needs %.2f of one machine's steps, "
                     "tau = %d needs %.2f." % (k, pts[0][0], pts[0][1],
                                               pts[-1][0], pts[-1][1]))
    summary = "Measured: " + " ".join(lines)
    fig, (left, right) = rc.plt.subplots(1, 2, figsize=(9, 3.6))
    for k, pts in points.items():
        left.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label="K = %d" % k)
        right.plot([p[0] for p in pts], [p[2] for p in pts], "o-", label="K = %d" % k)
    left.axhline(1.0, color="gray", ls=":", label="one machine")
    right.axhline(n_s, color="gray", ls=":", label="one machine (in-process)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("tau (local steps between averages)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    left.set_ylabel("tau M_a(b,K,tau) / N_a(b)")
    left.set_title("parallel steps to accuracy %.2f" % args.target)
    right.set_ylabel("seconds")
    right.set_title("wall time to accuracy %.2f" % args.target)
    rc.save(fig, "repro_sparknet.png")

    rc.write_section("sparknet", """
## 2. SparkNet: local SGD with tau steps between averages

`tests/bench/repro_sparknet.py`; `rill train --scheme local-sgd --tau T` on
local clusters of K `rill server` workers. The digits MLP (64-32-10), plain
SGD, lr 0.1, b = 16 rows per worker per step, held-out accuracy a = %.2f;
N_a(b) = %.0f steps for one machine (mean of 3 seeds; steps interpolated
between the per-epoch evaluations). tau M_a / N_a below 1 means K workers
need fewer parallel steps than one machine: a speedup of N_a / (tau M_a)
in steps.

%s

![SparkNet](repro_sparknet.png)

%s Bytes fall by a factor of tau (each average sends 2 (K-1)/K of the
model). Machine: %s. Wall time here is not the paper's: K server processes
share these cores, so a parallel step costs more than a serial one; the
steps and bytes carry over to real machines, the seconds do not.
""" % (args.target, n_a, rc.table(["K", "tau", "steps to a", "rounds M_a",
                                    "tau M_a / N_a", "speedup N_a / (tau M_a)",
                                    "seconds to a"], rows), summary, rc.machine()))


if __name__ == "__main__":
    main()
