"""What unauthenticated clients cost the daemon: its RSS before and after N hostile
connections that each try to send ``--bytes`` before any ``hello`` (issue 12, item 5).

The daemon runs in a child process (per-session identities, so it needs no network and
no client ever authenticates); this process opens the connections, pushes the bytes
without a newline as fast as the daemon takes them, holds every connection open, then
reads the child's VmRSS and VmHWM from /proc. ``--compare PATH`` runs the same against
another checkout (e.g. the code before the pre-auth caps) and prints both side by side.

    python bench/daemon_preauth.py [--connections 1000] [--bytes 1000000] [--compare PATH]
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHUNK = 1 << 16


def serve(socket_path: str) -> None:
    """Child: a daemon whose cores are never built; stops when stdin closes."""
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(REPO)))
    from actors.daemon.server import DaemonServer

    def no_core(identity):
        raise RuntimeError("the bench never authenticates")
    with DaemonServer(no_core, socket_path=socket_path, shared_identity=False) as server:
        print("ready", flush=True)
        sys.stdin.read()
        print("stats", server.stats(), flush=True)


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def attack(socket_path: str, connections: int, per_connection: int) -> tuple[int, int, float]:
    """Open the connections and push the bytes; return (refused, bytes accepted, seconds)."""
    started = time.monotonic()
    socks = []
    for _ in range(connections):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(socket_path)  # blocking: waits while the listen backlog is full
        sock.setblocking(False)
        socks.append(sock)
    selector = selectors.DefaultSelector()
    left = {sock: per_connection for sock in socks}
    for sock in socks:
        selector.register(sock, selectors.EVENT_WRITE)
    refused = accepted = 0
    payload = b"x" * CHUNK
    idle_since = time.monotonic()
    while left and time.monotonic() - idle_since < 5:
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            try:
                sent = sock.send(payload[:left[sock]])
            except BlockingIOError:
                continue
            except OSError:  # the daemon refused and closed it
                refused += 1
                selector.unregister(sock)
                del left[sock]
                continue
            idle_since = time.monotonic()
            accepted += sent
            left[sock] -= sent
            if not left[sock]:
                selector.unregister(sock)
                del left[sock]
    selector.close()
    elapsed = time.monotonic() - started
    attack.socks = socks  # held open until the measurement is taken
    return refused, accepted, elapsed


def run(repo: Path, connections: int, per_connection: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="jmpre") as tmp:
        path = f"{tmp}/d.sock"
        env = {**os.environ, "PYTHONPATH": str(repo)}
        child = subprocess.Popen([sys.executable, __file__, "--serve", path], env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            before = memory_kb(child.pid)
            refused, accepted, elapsed = attack(path, connections, per_connection)
            time.sleep(1.0)  # let the daemon drain what the kernel still holds
            after = memory_kb(child.pid)
            for sock in attack.socks:
                sock.close()
            child.stdin.close()
            stats = child.stdout.readline().strip()
        finally:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return {"refused": refused, "accepted_mb": accepted / 1e6, "seconds": elapsed,
            "rss_before_mb": before["VmRSS"] / 1024, "rss_after_mb": after["VmRSS"] / 1024,
            "hwm_mb": after["VmHWM"] / 1024, "stats": stats}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--bytes", type=int, default=1_000_000)
    parser.add_argument("--compare", type=Path, help="another checkout to measure as well")
    parser.add_argument("--compare-connections", type=int,
                        help="connections for --compare (default: --connections)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    runs = [("this tree", REPO, args.connections)]
    if args.compare:
        runs.append((str(args.compare), args.compare.resolve(),
                     args.compare_connections or args.connections))
    print(f"{args.bytes:,} bytes attempted per connection before any hello")
    for label, repo, connections in runs:
        r = run(repo, connections, args.bytes)
        print(f"{label:<24} {connections:5d} conns: refused {r['refused']:5.0f}, daemon accepted "
              f"{r['accepted_mb']:8.1f} MB in {r['seconds']:5.1f} s; RSS {r['rss_before_mb']:6.1f}"
              f" -> {r['rss_after_mb']:7.1f} MB, peak (VmHWM) {r['hwm_mb']:7.1f} MB")
        print(f"{'':<24} daemon {r['stats']}")


if __name__ == "__main__":
    main()
