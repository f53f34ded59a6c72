"""Orderbook fetch: 50 makers x 3 directories, ``min_wait=0, quiet_period=0.25``.

Prints the fetch duration next to its floor, the quiet period (the fetch must stay
quiet that long after the last offer), as a ratio. Target from the issue: <= 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import percentile

from actors.api.facade import BlockingMultiDirectoryClient
from localnet.network import LocalNet
from protocol.crypto import NickIdentity

QUIET = 0.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--makers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    makers = [{"orderbook_interval": 0.0} for _ in range(args.makers)]
    with LocalNet(directories=("ng", "ng", "ref"), makers=makers) as net:
        durations, counts = [], []
        for _ in range(args.rounds):
            client = BlockingMultiDirectoryClient(
                net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
                socks_port=net.socks_port, connection_timeout=10)
            try:
                client.connect_all()
                t0 = time.perf_counter()
                offers = client.fetch_orderbook(max_wait=10, min_wait=0, quiet_period=QUIET)
                durations.append(time.perf_counter() - t0)
                counts.append(len({o.counterparty for o in offers}))
            finally:
                client.close_all()
    median = statistics.median(durations)
    print(f"makers answering: {min(counts)}..{max(counts)} of {args.makers} "
          f"(offers deduplicated across 3 directories)")
    print(f"fetch_orderbook duration: median {median:.3f} s, max {max(durations):.3f} s "
          f"(p90 {percentile(durations, 90):.3f} s, n={len(durations)})")
    print(f"floor (quiet period) {QUIET:.3f} s: ratio x{median / QUIET:.2f}; "
          f"target <= 0.5 s: {'met' if median <= 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
