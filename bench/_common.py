"""Shared helpers for the bench scripts: percentiles and a raw loopback round-trip baseline."""

from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(name: str, samples_s: list[float]) -> tuple[float, float]:
    ms = [s * 1000 for s in samples_s]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    print(f"{name:<44} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms   mean {statistics.fmean(ms):8.3f} ms"
          f"   (n={len(ms)})")
    return p50, p99


def raw_loopback_rtt(rounds: int = 500) -> list[float]:
    """Round trips of one line over a plain loopback TCP connection to an echo thread."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    client = socket.create_connection(("127.0.0.1", port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    line = b'{"type": 685, "line": "' + b"x" * 300 + b'"}\r\n'
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        client.sendall(line)
        got = 0
        while got < len(line):
            got += len(client.recv(65536))
        samples.append(time.perf_counter() - t0)
    client.close()
    thread.join(timeout=2)
    server.close()
    return samples
