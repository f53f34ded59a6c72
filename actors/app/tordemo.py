"""``jm-multidir demo --tor``: the demo of :mod:`actors.app.demo` over a private Tor network.

Everything runs on 127.0.0.1: a :class:`~localnet.tornet.TorNetwork` (authorities,
relays, an onion-service tor and a client tor) in a temporary directory, and a
:class:`~localnet.network.LocalNet` whose directories and makers are published as real
v3 onion services on it. The client dials them through the client tor's SocksPort with
stream isolation on, exactly as against mainnet, and runs the same steps as the
loopback demo. Bootstrap and publication times are printed, since they are what a
Tor-backed test or deployment pays before its first message.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time

from actors.app.demo import run_client_demo, say
from localnet.network import LocalNet
from localnet.tornet import TorNetwork, TorNetworkError, find_tor_binaries

DIRECTORIES = ("ng", "ref", "ng")
MAKERS = 4
BOOT_TIMEOUT = 300.0
#: Every dial is a Tor stream; the first one to each onion also fetches its descriptor.
CONNECTION_TIMEOUT = 30.0
#: Offers cross one more Tor stream than on loopback, so wait longer for stragglers.
QUIET_PERIOD = 2.0


async def _demo(network: TorNetwork) -> None:
    began = time.monotonic()
    with LocalNet(directories=DIRECTORIES, makers=MAKERS, tor=network) as net:
        onions = len(net.directories) + len(net.makers)
        published = time.monotonic() - began
        say(f"published {onions} onion services ({len(net.directories)} directories "
            f"{', '.join(DIRECTORIES)}; {len(net.makers)} makers) and reached each through "
            f"the client tor in {published:.1f} s ({published / onions:.2f} s each)")
        say(net.describe())
        await run_client_demo(net, connection_timeout=CONNECTION_TIMEOUT,
                              quiet_period=QUIET_PERIOD, stream_isolation=True)


def run_tor_demo() -> int:
    """Run the demo over a private Tor network; 1 with a clear message when tor is missing."""
    try:
        find_tor_binaries()
    except TorNetworkError as exc:
        print(f"jm-multidir demo --tor needs tor: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jm-tordemo-") as base_dir:
        network = TorNetwork(base_dir)
        say(f"starting a private Tor network in {base_dir} "
            f"(3 authorities, 2 relays, an onion-service tor and a client tor)")
        try:
            try:
                network.start(timeout=BOOT_TIMEOUT)
            except TorNetworkError as exc:
                print(f"the private Tor network did not come up: {exc}", file=sys.stderr)
                return 1
            say(f"bootstrapped in {network.phase_seconds['client bootstrapped']:.1f} s:")
            for phase, seconds in network.phase_seconds.items():
                say(f"  {phase:<22} at {seconds:5.1f} s")
            say(f"client tor SocksPort 127.0.0.1:{network.socks_port}\n")
            asyncio.run(_demo(network))
        finally:
            network.stop()
    say(f"\ntor demo finished in {time.monotonic() - started:.1f} s; "
        "every tor stopped and its directory removed")
    return 0


__all__ = ["run_tor_demo"]
