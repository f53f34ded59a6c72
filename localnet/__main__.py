"""``python -m localnet``: run a loopback JoinMarket network, or tour the protocol on one.

* ``python -m localnet [--directories ng,ng,ref] [--makers 6] [--socks-port N] [--seed S]``
  starts a :class:`~localnet.network.LocalNet` and prints what a taker needs as a TOML
  block to paste into a ``jm-multidir`` configuration, until SIGINT/SIGTERM. A fixed
  ``--socks-port`` and ``--seed`` (same onion names) make that block valid across runs.
* ``python -m localnet tour`` brings a network up and walks the wire protocol with
  :class:`~localnet.rawclient.RawTaker`: handshakes, peerlist, orderbook, then the
  encrypted CoinJoin sequence relayed and direct, printing a short log.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from localnet.network import LocalNet
from localnet.rawclient import OfferReply, RawTaker
from localnet.rawsession import TakerSession
from protocol.bond import parse_bond_proof, verify_bond_proof
from protocol.errors import BondError


def _serve(net: LocalNet) -> None:
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    print(net.describe())
    print("\n" + config_block(net))
    print("running; Ctrl-C to stop", flush=True)
    done.wait()


def config_block(net: LocalNet) -> str:
    """The ``[client]`` and ``[socks]`` tables a ``jm-multidir`` config needs for ``net``."""
    directories = ",\n".join(f'    "{server}"' for server in net.directory_servers)
    return (f"# jm-multidir configuration for this local network: save as localnet.toml and run\n"
            f"#   jm-multidir orderbook --config localnet.toml\n"
            f"[client]\n"
            f"directories = [\n{directories},\n]\n"
            f'network = "{net.network}"\n'
            f"connection_timeout = 10.0\n"
            f"\n[socks]\n"
            f'host = "{net.socks_host}"\n'
            f"port = {net.socks_port}\n")


def _offers_table(taker: RawTaker, replies: list[OfferReply]) -> list[str]:
    """One row per (maker, oid) with how many signed copies arrived and bond status."""
    copies: dict[tuple[str, int], int] = defaultdict(int)
    rows: dict[tuple[str, int], str] = {}
    for reply in (r for r in replies if r.private):
        bond = "none"
        if reply.tbond is not None:
            try:
                verify_bond_proof(parse_bond_proof(reply.tbond), taker.nick, reply.maker_nick)
                bond = "verified"
            except BondError:
                bond = "INVALID"
        for offer in reply.offers:
            key = (reply.maker_nick, offer.oid)
            copies[key] += 1
            rows[key] = (f"  {reply.maker_nick} {offer.ordertype:<12}{offer.oid:>3} "
                         f"{offer.minsize:>10} {offer.maxsize:>11} {offer.txfee:>5} "
                         f"{offer.cjfee!s:>9}  {bond:<8}")
    header = (f"  {'maker':<16} {'type':<12}{'oid':>3} {'minsize':>10} {'maxsize':>11} "
              f"{'txfee':>5} {'cjfee':>9}  bond      copies")
    return [header] + [f"{rows[key]} {copies[key]:>3}" for key in sorted(rows)]


def _short(channel: str) -> str:
    """``directory:abcdefghijkl…`` — full onion names make the log unreadable."""
    kind, _, location = channel.partition(":")
    return f"{kind}:{location[:12]}..."


def _exchange(log: Callable[[str], None], session: TakerSession, how: str) -> None:
    log(f"{how}: !fill -> {session.maker_nick} via {_short(session.channel)}")
    session.fill(0, 5_000_000)
    via = lambda command: _short(session.reply_channels[command][0])  # noqa: E731
    log(f"  !pubkey {session.maker_nacl_pub[:16]}... features={sorted(session.maker_features)} "
        f"via {via('pubkey')}")
    ioauth = session.auth()
    log(f"  !ioauth {len(ioauth.utxos)} utxos, btc_sig verified, via {via('ioauth')}")
    sigs = session.tx()
    log(f"  !sig x{len(sigs)} matched to inputs in tx order, via {via('sig')}")
    session.push()
    log("  !push sent")


def _tour(net: LocalNet) -> None:
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.2f}s] {text}", flush=True)

    log("localnet up:\n" + net.describe())
    with RawTaker(net.socks_host, net.socks_port, net.network) as taker:
        log(f"taker nick {taker.nick}")
        for location in net.directory_servers:
            hs = taker.connect_directory(location)
            log(f"handshake {location[:12]}...: directory {hs.nick}, "
                f"features={sorted(hs.features)}")
            if "peerlist_features" in hs.features:
                entries = taker.get_peerlist(location)
                log(f"  peerlist: {len(entries)} entries, "
                    f"{sum(e.location != 'NOT-SERVING-ONION' for e in entries)} serving")
        replies = taker.request_orderbook(wait=1.0)
        log(f"orderbook: {sum(r.private for r in replies)} signed replies")
        print("\n".join(_offers_table(taker, replies)))
        ng = next(m for m in net.makers if m.style == "ng")
        ref = next((m for m in net.makers if m.style == "ref"), ng)
        first_dir = f"directory:{net.directory_servers[0]}"
        _exchange(log, TakerSession(taker, ng.nick, first_dir), "relayed (ng maker)")
        peer = taker.connect_maker(ref.location, send_first=ref.style != "ref")
        log(f"direct link to {ref.nick} ({ref.style}): its 793 "
            f"{'arrived first' if ref.style == 'ref' else 'answered ours'}, "
            f"location {peer.location[:12] if peer else '?'}...")
        _exchange(log, TakerSession(taker, ref.nick, f"direct:{ref.location}"),
                  f"direct ({ref.style} maker)")
    net.stop()
    log("network stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localnet",
                                     description="A JoinMarket onion network on loopback.")
    parser.add_argument("command", nargs="?", choices=("run", "tour"), default="run")
    parser.add_argument("--directories", default="ng,ng,ref",
                        help="comma-separated directory profiles (ng|ref)")
    parser.add_argument("--makers", type=int, default=6, help="number of makers (ng/ref alternate)")
    parser.add_argument("--network", default="regtest")
    parser.add_argument("--seed", default=None,
                        help="derive onion names and identities reproducibly")
    parser.add_argument("--socks-port", type=int, default=0, metavar="PORT",
                        help="listen for SOCKS5 on this loopback port (default: any free port)")
    args = parser.parse_args(argv)
    if not 0 <= args.socks_port <= 65535:
        parser.error(f"--socks-port {args.socks_port}: expected 0..65535")
    profiles = tuple(p.strip() for p in args.directories.split(",") if p.strip())
    if args.command == "tour" and args.makers < 1:
        parser.error("the tour needs at least one maker")
    net = LocalNet(directories=profiles, makers=args.makers, network=args.network,
                   seed=args.seed, socks_port=args.socks_port)
    try:
        net.start()
    except OSError as exc:  # most likely the requested SOCKS port is taken
        where = f"--socks-port {args.socks_port}: " if args.socks_port else ""
        parser.exit(1, f"{parser.prog}: {where}cannot start the network: "
                       f"{exc.strerror or exc}\n")
    with net:
        (_tour if args.command == "tour" else _serve)(net)


if __name__ == "__main__":
    main()
