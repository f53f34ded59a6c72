"""What the real Tor path costs: bootstrap, first onion stream and per-message round trip.

Starts a private Tor network on loopback (``localnet.tornet``), publishes an onion for a
loopback echo server and dials it with the production ``actors.net.transport.dial``. Prints
the bootstrap time (with its phases), the onion publication time, the first-stream
latency (descriptor fetch + rendezvous), and the round trip of one protocol-sized line
over the onion stream (p50/p99 of N echoes) next to a plain loopback TCP round trip
measured in the same run, with their ratio.

Then the whole client: ``!fill`` -> ``!pubkey`` round trips (send_privmsg until
wait_for_responses returns) with a REF maker, relayed through an NG directory and over a
direct link, on a LocalNet published as onions on the Tor network and on one behind the
loopback SOCKS gateway, in the same run, with the Tor / gateway ratios. A REF maker
answers on the channel the request came on, so both legs of a round trip take the path
named. The network is stopped at the end.

    .venv/bin/python bench/tor.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import socketserver
import tempfile
import threading
import time

from _common import raw_loopback_rtt, summary

from actors.api.facade import BlockingMultiDirectoryClient
from actors.net.transport import CATEGORY_DIRECTORY, SocksConfig, dial
from localnet.coinjoin import (build_auth_revelation, commitment_of, parse_auth_revelation,
                               random_utxo)
from localnet.network import LocalNet
from localnet.tornet import DEFAULT_VIRTUAL_PORT, TorNetwork
from protocol.crypto import NickIdentity
from protocol.naclbox import NaclKeypair

#: The same line raw_loopback_rtt sends, so the two round trips are comparable.
LINE = b'{"type": 685, "line": "' + b"x" * 300 + b'"}\r\n'
#: Covers a first stream to an onion (descriptor fetch and rendezvous) with room to spare.
CONNECTION_TIMEOUT = 30.0
REPLY_TIMEOUT = 10.0
AMOUNT = 30_000_000


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


def _wait_for(predicate, what: str, timeout: float = REPLY_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout} s")
        time.sleep(0.02)
    return value


def _fill_rounds(client: BlockingMultiDirectoryClient, nick: str, data: str, channel: str,
                 rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        client.send_privmsg(nick, "fill", data, force_channel=channel)
        reply = client.wait_for_response(nick, "!pubkey", timeout=REPLY_TIMEOUT)
        samples.append(time.perf_counter() - t0)
        if reply is None or reply.get("channel") != channel:
            raise RuntimeError(f"!pubkey from {nick} did not come back via {channel}: {reply}")
    return samples


def client_round_trips(net: LocalNet, rounds: int) -> tuple[list[float], list[float]]:
    """(relayed, direct) ``!fill`` -> ``!pubkey`` samples of a fresh client of ``net``.

    ``net`` has one directory and one REF maker. Every ``!fill`` starts a new session
    with a new maker key, so no two replies are alike (none is dropped as a duplicate).
    """
    maker = net.makers[0]
    client = BlockingMultiDirectoryClient(
        net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
        socks_port=net.socks_port, connection_timeout=CONNECTION_TIMEOUT, stream_isolation=True)
    try:
        if client.connect_all() != 1:
            raise RuntimeError(f"the client did not connect to {net.directory_servers[0]}")
        _wait_for(lambda: client.get_peer_location(maker.nick) == maker.location,
                  "peerlist location")
        commitment = commitment_of(parse_auth_revelation(build_auth_revelation(random_utxo())))
        data = f"0 {AMOUNT} {NaclKeypair.generate().public_hex} {commitment}"
        relayed = _fill_rounds(client, maker.nick, data,
                               f"directory:{net.directory_servers[0]}", rounds)
        client.try_direct_connect(maker.nick)
        attempt = _wait_for(lambda: client.get_pending_connect_task(maker.nick),
                            "direct connection attempt")
        if attempt.result(CONNECTION_TIMEOUT + 5) is not True:
            raise RuntimeError(f"no direct connection to {maker.location}")
        direct = _fill_rounds(client, maker.nick, data, "direct", rounds)
    finally:
        client.close_all()
    return relayed, direct


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
            spec = {"directories": ("ng",), "makers": [{"style": "ref"}]}
            t0 = time.monotonic()
            with LocalNet(**spec, tor=network) as net:
                print(f"LocalNet over Tor (1 directory, 1 maker published and reached): "
                      f"{time.monotonic() - t0:6.2f} s")
                over_tor = client_round_trips(net, args.rounds)
            with LocalNet(**spec) as net:  # measured while the tors still run, like above
                via_gateway = client_round_trips(net, args.rounds)
        finally:
            network.stop()
    echo.shutdown()
    echo.server_close()
    raw_p50, _ = summary("plain loopback TCP round trip (baseline)", raw_loopback_rtt(args.rounds))
    print(f"ratio onion / loopback (p50): {onion_p50 / raw_p50:.0f}x")
    print("\nclient !fill -> !pubkey round trip (send_privmsg .. wait_for_responses):")
    for index, path in enumerate(("relayed", "direct")):
        tor_p50, tor_p99 = summary(f"  {path}, over Tor", over_tor[index])
        gw_p50, gw_p99 = summary(f"  {path}, loopback SOCKS gateway", via_gateway[index])
        print(f"  {path}: Tor / gateway  p50 {tor_p50 / gw_p50:.1f}x   p99 {tor_p99 / gw_p99:.1f}x")


if __name__ == "__main__":
    main()
