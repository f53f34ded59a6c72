"""The network side of bench/orderbook.py, in its own process.

Directories, makers and the SOCKS gateway run here so that their work does not compete
with the measured client for the GIL; the wire timestamps use ``time.perf_counter``
(CLOCK_MONOTONIC, comparable across processes on Linux). Commands on stdin, one per
line: ``clear`` forgets what was seen, ``report`` prints the timestamps as JSON, and
end of input stops the network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time

from _common import PROJECT

assert str(PROJECT) in sys.path  # importing _common put the project on sys.path

import localnet.socks_gateway as socks_gateway
from localnet.network import LocalNet

OFFER_MARKERS = (b"reloffer", b"absoffer")


_LINE = re.compile(rb'"line": "(J5[A-Za-z0-9]+)!')
_OFFER = re.compile(rb"(?:reloffer|absoffer) ([0-9]+)")


class WireClock:
    """Timestamps gateway writes towards the taker that carry offers.

    ``last_offer_written``: the last such write (duplicates via other directories
    included); ``first_seen``: per ``(maker, oid)`` the write that first carried it, so
    the latest of those is when the last *new* offer hit the wire: the moment the
    client's quiet period starts counting from.
    """

    def __init__(self) -> None:
        self.last_offer_written = 0.0
        self.first_seen: dict[tuple[bytes, bytes], float] = {}
        self._original = socks_gateway._pump

    def _note(self, line: bytes, now: float) -> None:
        sender = _LINE.search(line)
        if sender is None:
            return
        self.last_offer_written = now
        for oid in _OFFER.findall(line):
            self.first_seen.setdefault((sender.group(1), oid), now)

    def install(self) -> None:
        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            pending = b""
            try:
                while data := await reader.read(socks_gateway.RELAY_CHUNK):
                    writer.write(data)
                    now = time.perf_counter()
                    *lines, pending = (pending + data).split(b"\n")
                    for line in lines:
                        if any(marker in line for marker in OFFER_MARKERS):
                            self._note(line, now)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()
        socks_gateway._pump = pump

    def uninstall(self) -> None:
        socks_gateway._pump = self._original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--makers", type=int, default=50)
    args = parser.parse_args()
    wire = WireClock()
    wire.install()
    makers = [{"orderbook_interval": 0.0} for _ in range(args.makers)]
    with LocalNet(directories=("ng", "ng", "ref"), makers=makers) as net:
        print(json.dumps({"directory_servers": net.directory_servers,
                          "socks_host": net.socks_host, "socks_port": net.socks_port}), flush=True)
        for command in sys.stdin:
            if command.strip() == "clear":
                wire.first_seen.clear()
                print("{}", flush=True)
            elif command.strip() == "report":
                print(json.dumps({"last_new": max(wire.first_seen.values(), default=None),
                                  "last_any": wire.last_offer_written,
                                  "offers": len(wire.first_seen)}), flush=True)
    wire.uninstall()


if __name__ == "__main__":
    main()
