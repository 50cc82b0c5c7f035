#!/usr/bin/env python3
"""RecvTensor throughput between two `rill server` processes on loopback,
beside a plain loopback TCP copy of the same bytes measured in the same run,
and the latency of an empty two-task step.

  bazel build //tools:rill //tests/bench:cluster_bench
  python3 tests/bench/cluster_vs_tcp.py
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RILL = os.path.join(ROOT, "bazel-bin", "tools", "rill")
BENCH = os.path.join(ROOT, "bazel-bin", "tests", "bench", "cluster_bench")
SIZES = [1 << 10, 1 << 20, 64 << 20, 256 << 20]


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tcp_copy_mb_per_s(nbytes, repeats=5):
    """Median MB/s of sending nbytes over a loopback TCP connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    payload = bytearray(nbytes)
    results = []

    def receive(conn):
        view = memoryview(bytearray(1 << 20))
        left = nbytes
        while left > 0:
            got = conn.recv_into(view, min(len(view), left))
            if got == 0:
                break
            left -= got
        conn.sendall(b"k")

    for _ in range(repeats):
        client = socket.create_connection(server.getsockname())
        conn, _ = server.accept()
        t = threading.Thread(target=receive, args=(conn,))
        t.start()
        start = time.perf_counter()
        client.sendall(payload)
        client.recv(1)
        results.append(time.perf_counter() - start)
        t.join()
        client.close()
        conn.close()
    server.close()
    results.sort()
    return nbytes / results[len(results) // 2] / 1e6


def tcp_round_trip_s(repeats=2000):
    """Median seconds of a 64-byte ping-pong between two processes over
    loopback TCP (the floor under any RPC)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    echo = subprocess.Popen([sys.executable, "-c", """
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    d = c.recv(64)
    if not d:
        break
    c.sendall(d)
""", str(server.getsockname()[1])])
    conn, _ = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    results = []
    for _ in range(repeats):
        start = time.perf_counter()
        conn.sendall(b"x" * 64)
        got = 0
        while got < 64:
            got += len(conn.recv(64 - got))
        results.append(time.perf_counter() - start)
    conn.close()
    server.close()
    echo.wait()
    results.sort()
    return results[len(results) // 2]


def main():
    for path in (RILL, BENCH):
        if not os.path.exists(path):
            sys.exit("build first: bazel build //tools:rill //tests/bench:cluster_bench")
    pa, pb = free_ports(2)
    cluster = json.dumps({"a": ["localhost:%d" % pa], "b": ["localhost:%d" % pb]})
    servers = [subprocess.Popen([RILL, "server", "--cluster", cluster, "--job", job,
                                 "--task", "0"], stdout=subprocess.DEVNULL)
               for job in ("a", "b")]
    try:
        time.sleep(1.0)
        master = "grpc://localhost:%d" % pb

        def bench(nbytes, steps, local=False, ping=False):
            out = subprocess.run([BENCH, "--master=" + master, "--bytes=%d" % nbytes,
                                  "--steps=%d" % steps, "--local=%s" % str(local).lower(),
                                  "--ping=%s" % str(ping).lower()],
                                 check=True, capture_output=True, text=True).stdout
            return json.loads(out.strip().splitlines()[-1])

        empty = bench(0, 500)
        ping = bench(0, 1000, ping=True)
        tcp_rtt = tcp_round_trip_s()
        print("empty two-task step: %.0f us (goal < 300 us)" % (empty["median_s"] * 1e6))
        print("one gRPC round trip (GetStatus): %.0f us; loopback TCP round trip: %.0f us"
              % (ping["median_s"] * 1e6, tcp_rtt * 1e6))
        # RecvTensor's share of the step: the cluster step minus the same
        # step's compute (Fill on a, Sum on b) run in one process.
        print("%10s %10s %10s %14s %14s %8s" % ("bytes", "step ms", "local ms",
                                                "RecvTensor MB/s", "TCP copy MB/s", "ratio"))
        for size in SIZES:
            steps = 9 if size >= (64 << 20) else 50
            r = bench(size, steps)
            local = bench(size, steps, local=True)
            transfer = max(r["median_s"] - local["median_s"], 1e-9)
            mb = size / transfer / 1e6
            tcp = tcp_copy_mb_per_s(size)
            print("%10d %10.2f %10.2f %14.1f %14.1f %8.3f" % (
                size, r["median_s"] * 1e3, local["median_s"] * 1e3, mb, tcp, mb / tcp))
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait()


if __name__ == "__main__":
    main()
