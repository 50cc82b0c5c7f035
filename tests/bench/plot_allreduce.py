#!/usr/bin/env python3
"""Plots the JSON that allreduce_vs_tcp.py --json wrote: bus bandwidth of
Rill and torch.distributed (gloo) against the message size, one panel per
number of processes, with the loopback TCP copy for reference.

  python3 tests/bench/plot_allreduce.py results.json docs/allreduce_busbw.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    rows = json.load(open(sys.argv[1]))
    workers = sorted({r["workers"] for r in rows})
    fig, axes = plt.subplots(1, len(workers), figsize=(4.2 * len(workers), 3.6),
                             sharey=True)
    if len(workers) == 1:
        axes = [axes]
    for ax, n in zip(axes, workers):
        rs = sorted((r for r in rows if r["workers"] == n), key=lambda r: r["bytes"])
        sizes = [r["bytes"] for r in rs]
        bus = lambda t, s: 2 * (n - 1) / n * s / t / 1e6  # noqa: E731
        ax.plot(sizes, [bus(min(r["rill_auto_s"], r["rill_ring_s"]), r["bytes"]) for r in rs],
                "o-", label="Rill (CollectiveReduceV2 over Gloo)")
        if "torch_s" in rs[0]:
            ax.plot(sizes, [bus(r["torch_s"], r["bytes"]) for r in rs], "s--",
                    label="torch.distributed (gloo)")
        ax.plot(sizes, [r["tcp_mb_per_s"] for r in rs], ":", color="gray",
                label="loopback TCP copy")
        ax.set_xscale("log", base=2)
        ax.set_title("%d processes" % n)
        ax.set_xlabel("bytes per allreduce")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("bus bandwidth, MB/s")
    axes[0].legend(fontsize=8)
    fig.suptitle("Allreduce on loopback, 2 cores")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
