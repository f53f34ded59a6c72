"""Orderbook fetch: 50 makers x 3 directories, ``min_wait=0, quiet_period=0.25``.

The quiet period counts from the last new offer, so a fetch lasts as long as the makers
take to answer plus the quiet period. What the client itself costs is the time from the
moment the last new offer hit the wire to the moment ``fetch_orderbook`` returned, minus
the quiet period. The bytes are timestamped where the SOCKS gateway writes them to the
taker's socket, and the network runs in another process (bench/_orderbook_net.py), so
neither the local directories' relaying nor their share of the GIL is counted. Target
(issue 11): return at most quiet_period + 20 ms after the last new offer hit the wire.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import percentile

from actors.api.facade import BlockingMultiDirectoryClient
from protocol.crypto import NickIdentity

QUIET = 0.25
TARGET_SLACK = 0.020


class Network:
    """The LocalNet process: where to connect, and its wire timestamps on request."""

    def __init__(self, makers: int) -> None:
        script = Path(__file__).with_name("_orderbook_net.py")
        self.proc = subprocess.Popen([sys.executable, str(script), "--makers", str(makers)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.proc.stdout.readline())

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--makers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    net = Network(args.makers)
    durations, after_new, after_any, counts = [], [], [], []
    try:
        for _ in range(args.rounds):
            client = BlockingMultiDirectoryClient(
                net.info["directory_servers"], "regtest", NickIdentity(),
                socks_host=net.info["socks_host"], socks_port=net.info["socks_port"],
                connection_timeout=10)
            try:
                client.connect_all()
                net.ask("clear")
                t0 = time.perf_counter()
                offers = client.fetch_orderbook(max_wait=10, min_wait=0, quiet_period=QUIET)
                t1 = time.perf_counter()
            finally:
                client.close_all()
            wire = net.ask("report")
            durations.append(t1 - t0)
            after_new.append((t1 - wire["last_new"]) * 1000)
            after_any.append((t1 - wire["last_any"]) * 1000)
            counts.append(len({o.counterparty for o in offers}))
    finally:
        net.close()
    median = statistics.median(after_new)
    print(f"makers answering: {min(counts)}..{max(counts)} of {args.makers} "
          f"(offers deduplicated across 3 directories), n={len(durations)} fetches")
    print(f"fetch_orderbook duration: median {statistics.median(durations):.3f} s, "
          f"max {max(durations):.3f} s")
    print(f"return after the last NEW offer hit the wire: median {median:.1f} ms, "
          f"p90 {percentile(after_new, 90):.1f} ms, max {max(after_new):.1f} ms "
          f"(beyond the quiet period: median {median - QUIET * 1000:.1f} ms)")
    print(f"return after the last copy of any offer hit the wire: median "
          f"{statistics.median(after_any):.1f} ms, max {max(after_any):.1f} ms")
    target = (QUIET + TARGET_SLACK) * 1000
    print(f"target <= quiet_period + 20 ms = {target:.0f} ms: median "
          f"{'met' if median <= target else 'MISSED'}, p90 "
          f"{'met' if percentile(after_new, 90) <= target else 'MISSED'}")


if __name__ == "__main__":
    main()
