"""Scale: 1,000 makers over 5 directories, 200 direct peers, peerlist sync and verify rate.

    .venv/bin/python bench/scale.py [--makers 1000] [--peers 200] [--privmsgs 20000]

Makers are *light fakes*: the 1,000 nicks are registered by injecting PEERLIST lines
through each of the 5 directories (a real maker costs a handshake per directory and
1,000 × 5 would measure LocalNet's startup, not the client). The 200 direct peers are
real :class:`localnet.maker.Maker` listeners (no directory connections) mapped in the
SOCKS gateway, so each is a real SOCKS dial, 793 exchange and PeerActor + reader thread.

Figures, each with a same-run baseline:

* RSS (/proc/self/status) and threads, before and after; target RSS <= 200 MB.
* peerlist sync: from injecting 1,000 entries to the published registry view holding
  all of them (target <= 10 ms); baseline: parse_peerlist_lenient of the same lines.
* inbound signed privmsgs verified and dispatched per second (target >= 10,000/s):
  distinct pre-signed lines injected through one directory, timed until the Inbox's
  ``privmsg_verified`` counter has them all; baseline: raw coincurve verifies/s and
  protocol.crypto.verify_privmsg/s in one thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import coincurve  # noqa: E402

from actors.api.config import Limits  # noqa: E402
from localnet.maker import ONION_PORT, Maker  # noqa: E402
from localnet.onion import onion_host_for  # noqa: E402
from localnet.network import LocalNet  # noqa: E402
from protocol import NickIdentity  # noqa: E402
from protocol.crypto import bitcoin_message_hash, verify_privmsg  # noqa: E402
from protocol.envelope import MsgType, encode_envelope  # noqa: E402
from protocol.jmmessage import parse_privmsg  # noqa: E402
from protocol.peerlist import parse_peerlist_lenient  # noqa: E402
from supervisor import BlockingMultiDirectoryClient  # noqa: E402


def status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def wait(predicate, timeout: float, poll: float = 0.0002) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(poll)
    return time.perf_counter() - start


def peerlist_lines(nicks: list[str], locations: dict[str, str], per_line: int = 300) -> list[bytes]:
    return [encode_envelope(MsgType.PEERLIST, ",".join(
        f"{n};{locations.get(n, 'NOT-SERVING-ONION')}" for n in nicks[i:i + per_line]))
        for i in range(0, len(nicks), per_line)]


def baseline_verify_rate(n: int = 3000) -> tuple[float, float]:
    ident = NickIdentity()
    lines = [ident.build_privmsg("J5target", "pubkey", os.urandom(32).hex()) for _ in range(n)]
    msgs = [parse_privmsg(line) for line in lines]
    key = coincurve.PublicKey(bytes.fromhex(ident.public_key_hex))
    digests = [bitcoin_message_hash(f"{m.data}onion-network".encode()) for m in msgs]
    import base64
    sigs = [base64.b64decode(m.sig_b64) for m in msgs]
    t0 = time.perf_counter()
    for d, s in zip(digests, sigs):
        key.verify(s, d, hasher=None)
    raw = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for m in msgs:
        verify_privmsg(m)
    full = n / (time.perf_counter() - t0)
    return raw, full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--makers", type=int, default=1000)
    parser.add_argument("--directories", type=int, default=5)
    parser.add_argument("--peers", type=int, default=200)
    parser.add_argument("--privmsgs", type=int, default=20_000)
    args = parser.parse_args(argv)

    raw_rate, verify_rate = baseline_verify_rate()
    print(f"baseline: raw coincurve verify {raw_rate:,.0f}/s; protocol verify_privmsg "
          f"{verify_rate:,.0f}/s (one thread)", flush=True)
    rss0, threads0 = status("VmRSS"), status("Threads")
    net = LocalNet(directories=("ng",) * args.directories, makers=0).start()
    peers = []
    t0 = time.perf_counter()
    for i in range(args.peers):
        maker = Maker(style="ng" if i % 2 else "ref", directories=[],
                      onion_host=onion_host_for(os.urandom(32))).start()
        net.gateway.map(maker.onion_host, ONION_PORT, ("127.0.0.1", maker.direct_port))
        peers.append(maker)
    print(f"{args.peers} direct-listening makers started in {time.perf_counter() - t0:.1f}s",
          flush=True)
    rss_net, threads_net = status("VmRSS"), status("Threads")
    client = BlockingMultiDirectoryClient(
        net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
        socks_port=net.socks_port, connection_timeout=20,
        limits=Limits(max_direct_peers=max(500, args.peers)))
    try:
        assert client.connect_all() == args.directories
        core = client._core
        fake = [f"J5scale{i:09d}" for i in range(args.makers - len(peers))]
        locations = {m.nick: m.location for m in peers}
        nicks = fake + [m.nick for m in peers]

        # -- peerlist sync: 1,000 entries from one directory ---------------------------------
        lines = peerlist_lines(nicks, locations)
        t0 = time.perf_counter()
        for line in lines:
            parse_peerlist_lenient(line.split(b'"line": "')[1][:-2].decode())
        parse_base = time.perf_counter() - t0
        d0 = net.directories[0]
        t0 = time.perf_counter()
        d0.inject(client.nick, b"\r\n".join(lines))
        wait(lambda: len(core.ctx.views.registry.present) >= len(nicks), 10)
        sync = time.perf_counter() - t0  # from handing the lines to the directory
        print(f"peerlist sync of {len(nicks)} entries: {sync * 1000:.2f} ms from inject to the "
              f"view (target <= 10 ms); baseline parse alone {parse_base * 1000:.2f} ms "
              f"(ratio {sync / parse_base:.1f}x)", flush=True)
        for d in net.directories[1:]:  # every directory lists every maker
            d.inject(client.nick, b"\r\n".join(lines))
        wait(lambda: all(len(v) == args.directories for v in core.ctx.views.registry.present.values()),
             30, 0.01)
        # repeat the sync on fresh nicks with the registry already holding 1,000
        more = [f"J5scalf{i:09d}" for i in range(1000)]
        t0 = time.perf_counter()
        d0.inject(client.nick, b"\r\n".join(peerlist_lines(more, {})))
        sync2 = wait(lambda: len(core.ctx.views.registry.present) >= len(nicks) + 1000, 10)
        print(f"second sync of 1000 new entries onto {len(nicks)} tracked: {sync2 * 1000:.2f} ms",
              flush=True)

        # -- 200 direct peers -----------------------------------------------------------------
        t0 = time.perf_counter()
        for m in peers:
            client.try_direct_connect(m.nick)
        wait(lambda: len(core.ctx.views.router.peers) >= len(peers), 60, 0.01)
        print(f"{len(peers)} direct peers handshaked in {time.perf_counter() - t0:.2f}s", flush=True)
        rss1, threads1 = status("VmRSS"), status("Threads")
        print(f"RSS: process {rss1 / 1024:.1f} MB (before LocalNet {rss0 / 1024:.1f} MB, "
              f"LocalNet+makers up {rss_net / 1024:.1f} MB -> client share "
              f"{(rss1 - rss_net) / 1024:.1f} MB; target <= 200 MB)", flush=True)
        print(f"threads: {threads1} (before {threads0}, LocalNet {threads_net} -> client "
              f"{threads1 - threads_net}: ~2 per connection)", flush=True)

        # -- inbound verify rate ----------------------------------------------------------------
        senders = [NickIdentity() for _ in range(50)]
        t0 = time.perf_counter()
        signed = [encode_envelope(MsgType.PRIVMSG, senders[i % 50].build_privmsg(
            client.nick, "pubkey", f"{i:08d}{'ab' * 28}")) for i in range(args.privmsgs)]
        print(f"pre-signed {len(signed)} lines in {time.perf_counter() - t0:.1f}s", flush=True)
        before = client.stats().get("privmsg_verified", 0)
        t0 = time.perf_counter()
        for i in range(0, len(signed), 1000):
            d0.inject(client.nick, b"\r\n".join(signed[i:i + 1000]))
        took = wait(lambda: client.stats().get("privmsg_verified", 0) - before >= len(signed),
                    120, 0.005)
        rate = len(signed) / took
        print(f"inbound signed privmsgs verified+dispatched: {rate:,.0f}/s (target >= 10,000/s); "
              f"{rate / verify_rate:.2f}x of one-thread verify_privmsg, {rate / raw_rate:.2f}x of "
              f"raw coincurve verify", flush=True)
        print(f"stats: { {k: v for k, v in sorted(client.stats().items())} }", flush=True)
        rss2 = status("VmRSS")
        print(f"RSS after the privmsg burst: {rss2 / 1024:.1f} MB", flush=True)
    finally:
        client.close_all()
        for m in peers:
            m.stop()
        net.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
