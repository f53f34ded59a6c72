"""What the real Tor path costs: bootstrap, first onion stream and per-message round trip.

Starts a private Tor network on loopback (``localnet.tornet``), publishes an onion for a
loopback echo server and dials it with the production ``actors.transport.dial``. Prints
the bootstrap time (with its phases), the onion publication time, the first-stream
latency (descriptor fetch + rendezvous), and the round trip of one protocol-sized line
over the onion stream (p50/p99 of N echoes) next to a plain loopback TCP round trip
measured in the same run, with their ratio. The network is stopped at the end.

    .venv/bin/python bench/tor.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import socketserver
import tempfile
import threading
import time

from _common import raw_loopback_rtt, summary

from actors.transport import CATEGORY_DIRECTORY, SocksConfig, dial
from localnet.tornet import DEFAULT_VIRTUAL_PORT, TorNetwork

#: The same line raw_loopback_rtt sends, so the two round trips are comparable.
LINE = b'{"type": 685, "line": "' + b"x" * 300 + b'"}\r\n'


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


def onion_rtt(network: TorNetwork, onion: str, rounds: int) -> list[float]:
    transport = dial(onion, DEFAULT_VIRTUAL_PORT, SocksConfig(port=network.socks_port),
                     CATEGORY_DIRECTORY, timeout=30)
    samples = []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            transport.send(LINE)
            got = 0
            while got < len(LINE):
                chunk = transport.recv(65536)
                if not chunk:
                    raise ConnectionError("onion echo stream closed")
                got += len(chunk)
            samples.append(time.perf_counter() - t0)
    finally:
        transport.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    echo = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    echo.daemon_threads = True
    echo_thread = threading.Thread(target=echo.serve_forever, daemon=True)
    echo_thread.start()
    with tempfile.TemporaryDirectory(prefix="jm-tornet-bench-") as base_dir:
        network = TorNetwork(base_dir)
        try:
            t0 = time.monotonic()
            network.start()
            print(f"bootstrap (3 authorities, 2 relays, onion service, client): "
                  f"{time.monotonic() - t0:6.1f} s")
            for phase, seconds in network.phase_seconds.items():
                print(f"  {phase:<40} at {seconds:6.1f} s")
            t0 = time.monotonic()
            onion = network.add_onion(echo.server_address[1])
            published = time.monotonic() - t0
            print(f"onion published (ADD_ONION, await upload):          {published:6.2f} s")
            first = network.wait_onion_reachable(onion, DEFAULT_VIRTUAL_PORT)
            print(f"first onion stream (descriptor fetch + rendezvous): {first:6.2f} s")
            onion_p50, _ = summary("onion stream round trip (dial(), over Tor)",
                                   onion_rtt(network, onion, args.rounds))
        finally:
            network.stop()
    echo.shutdown()
    echo.server_close()
    raw_p50, _ = summary("plain loopback TCP round trip (baseline)", raw_loopback_rtt(args.rounds))
    print(f"ratio onion / loopback (p50): {onion_p50 / raw_p50:.0f}x")


if __name__ == "__main__":
    main()
