"""Hostile-network figures (issue 12): honest round trips with and without a flood from
another directory, and resident memory at each remote-fillable cap.

Round trips: ``!fill`` → ``!pubkey`` with a LocalNet NG maker, forced through the honest
LocalNet directory, timed from ``send_privmsg`` to ``wait_for_response`` returning. Then
the same while a hostile directory (our own server, tests/hostile/servers.py, in a child
process so its CPU is not ours) floods the client with validly signed privmsgs at
``--rate`` msg/s (distinct lines, so each one costs a verification). Target: p99 <= 50 ms
under a 20,000 msg/s flood.

Memory: VmRSS growth of this process while one hostile directory fills, in turn, the nick
registry (peerlists of invented nicks) and an orderbook fetch (signed offers from
invented keys), each at the caps of ``Limits()``. A directory only ever fills its own
share, so the client is configured with that directory alone: the figure is the cost of
the whole cap.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import summary

from actors.api.config import Limits
from actors.api.facade import BlockingMultiDirectoryClient
from localnet.network import LocalNet
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType, encode_envelope
from protocol.naclbox import NaclKeypair

ROOT = Path(__file__).resolve().parent.parent
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# -- the hostile directory, run in a child process ----------------------------------------

def serve() -> None:
    """Child process: a HostileDirectory driven by commands on stdin, one per line."""
    sys.path.insert(0, str(ROOT))
    from tests.hostile.servers import HostileDirectory
    rogue = HostileDirectory().start()
    print(rogue.address[1], rogue.onion, flush=True)
    offers: list[bytes] = []

    def answer(conn, taker):
        for line in offers:
            conn.sendall(line + b"\r\n")
    rogue.on_orderbook = answer
    for command in sys.stdin:
        verb, *args = command.split()
        if verb == "flood":  # flood <nick> <rate> <seconds> <distinct>
            nick, rate, seconds, distinct = args[0], float(args[1]), float(args[2]), int(args[3])
            author = NickIdentity()
            lines = [encode_envelope(MsgType.PRIVMSG,
                                     author.build_privmsg(nick, "pubkey", f"{'ab' * 32} {i}"))
                     for i in range(distinct)]
            print("ready", flush=True)
            rogue.flood(lambda i: lines[i % distinct], rate, seconds).join()
            print("flooded", rogue.flooded, flush=True)
        elif verb == "peerlist":  # peerlist <count>
            from localnet.onion import random_onion_host
            count, location = int(args[0]), f"{random_onion_host()}:5222"  # not its own
            rng = random.Random(1)
            nicks = ["J5" + "".join(rng.choice(BASE58) for _ in range(14)) for _ in range(count)]
            for i in range(0, count, 1_000):
                rogue.send_all(MsgType.PEERLIST,
                               ",".join(f"{n};{location}" for n in nicks[i:i + 1_000]))
            print("sent", flush=True)
        elif verb == "offers":  # offers <taker nick> <count>: the answer to !orderbook
            nick, count = args[0], int(args[1])
            authors = [NickIdentity() for _ in range(count // 64 + 1)]
            offers[:] = [encode_envelope(MsgType.PRIVMSG, authors[i // 64].build_privmsg(
                nick, "sw0reloffer", f"{i % 64} 27300 1000000000 0 0.00002"))
                for i in range(count)]
            print("ready", flush=True)
    rogue.stop()


class Rogue:
    """The parent's handle on the child process."""

    def __init__(self, net: LocalNet) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        port, onion = self.proc.stdout.readline().split()
        self.location = f"{onion}:5222"
        net.gateway.map(onion, 5222, ("127.0.0.1", int(port)))

    def command(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=20)


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


# -- round trips ------------------------------------------------------------------------------

def round_trips(client, maker_nick: str, channel: str, rounds: int, stop: threading.Event | None
                ) -> list[float]:
    samples = []
    for i in range(rounds):
        if stop is not None and stop.is_set():
            break
        nacl = NaclKeypair.generate()
        t0 = time.perf_counter()
        client.send_privmsg(maker_nick, "fill", f"0 1000000 {nacl.public_hex} {i:064x}",
                            force_channel=channel)
        if client.wait_for_response(maker_nick, "pubkey", timeout=30) is None:
            raise RuntimeError("no !pubkey within 30 s")
        samples.append(time.perf_counter() - t0)
    return samples


def bench_round_trips(rounds: int, rate: float, seconds: float, limits: Limits) -> None:
    with LocalNet(directories=("ng",), makers=[{"style": "ng"}]) as net:
        rogue = Rogue(net)
        client = BlockingMultiDirectoryClient(
            [*net.directory_servers, rogue.location], "regtest", NickIdentity(),
            socks_host=net.socks_host, socks_port=net.socks_port, connection_timeout=10,
            prefer_direct_connections=False, limits=limits)
        try:
            client.connect_all()
            maker, honest = net.makers[0], f"directory:{net.directory_servers[0]}"
            round_trips(client, maker.nick, honest, 20, None)  # warm-up
            quiet = round_trips(client, maker.nick, honest, rounds, None)
            assert rogue.command(f"flood {client.nick} {rate} {seconds} 20000") == "ready"
            time.sleep(0.5)  # let the flood reach its steady state
            before = client.stats()
            stop = threading.Event()
            timer = threading.Timer(seconds - 1.0, stop.set)
            timer.start()
            flooded = round_trips(client, maker.nick, honest, rounds * 100, stop)
            timer.cancel()
            sent = rogue.proc.stdout.readline().split()[-1]
            after = client.stats()
            print(f"\nround trips through the honest directory (flood: {rate:,.0f} msg/s for "
                  f"{seconds:.0f} s from another directory, {sent} lines sent; "
                  f"connection_high_water {limits.connection_high_water}, "
                  f"max_lines_per_second {limits.max_lines_per_second})")
            q50, q99 = summary("  without flood", quiet)
            f50, f99 = summary("  with flood", flooded)
            verified = after.get("privmsg_verified", 0) - before.get("privmsg_verified", 0)
            print(f"  flood lines verified meanwhile: {verified:,} "
                  f"({verified / (seconds - 1.0):,.0f}/s); rogue reader pauses: "
                  f"{after.get('reader_pauses', 0) - before.get('reader_pauses', 0)}")
            print(f"  side by side: p50 {q50:.2f} → {f50:.2f} ms, p99 {q99:.2f} → {f99:.2f} ms "
                  f"(target p99 <= 50 ms: {'met' if f99 <= 50 else 'NOT met'})")
        finally:
            client.close_all()
            rogue.close()


# -- memory at the caps -----------------------------------------------------------------------

def bench_rss() -> None:
    limits = Limits()
    print("\nresident memory at the caps (Limits() defaults; one hostile directory)")
    with LocalNet(directories=("ng",), makers=0) as net:
        rogue = Rogue(net)
        client = BlockingMultiDirectoryClient(
            [rogue.location], "regtest", NickIdentity(), socks_host=net.socks_host,
            socks_port=net.socks_port, connection_timeout=10, limits=limits)
        try:
            client.connect_all()
            views = client._core.ctx.views
            base = rss_mb()
            assert rogue.command(f"peerlist {limits.max_tracked_nicks}") == "sent"
            wait(lambda: len(views.registry.present) >= limits.max_tracked_nicks, 120,
                 "the registry to fill")
            time.sleep(1.0)
            nicks = rss_mb()
            print(f"  max_tracked_nicks = {limits.max_tracked_nicks:,}: "
                  f"{len(views.registry.present):,} nicks tracked, RSS +{nicks - base:.1f} MB "
                  f"({(nicks - base) * 1024 * 1024 / len(views.registry.present):,.0f} B/nick)")
            quota = limits.max_offers // 2  # one directory + "direct"
            assert rogue.command(f"offers {client.nick} {limits.max_offers}") == "ready"
            base = rss_mb()
            peak = [base]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.05):
                    peak[0] = max(peak[0], rss_mb())
            sampler = threading.Thread(target=sample)
            sampler.start()
            offers = client.fetch_orderbook(max_wait=60, min_wait=10, quiet_period=3)
            stop.set()
            sampler.join()
            print(f"  max_offers = {limits.max_offers:,} (this directory's quota {quota:,}): "
                  f"{len(offers):,} offers returned, peak RSS during the fetch "
                  f"+{peak[0] - base:.1f} MB")
            print(f"  per connection: max_directory_line {limits.max_directory_line:,} B line "
                  f"buffer + {limits.max_queued_batches} x 64 KiB batches; at most "
                  f"{limits.connection_high_water} lines outstanding downstream")
        finally:
            client.close_all()
            rogue.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--high-water", type=int, default=Limits().connection_high_water)
    parser.add_argument("--lines-per-second", type=int, default=Limits().max_lines_per_second,
                        help="per-connection read rate (0: unlimited)")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for this process (default: Python's 5 ms)")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:.1f} ms")
    limits = Limits(connection_high_water=args.high_water,
                    connection_low_water=max(1, args.high_water // 4),
                    max_lines_per_second=args.lines_per_second)
    bench_round_trips(args.rounds, args.rate, args.seconds, limits)
    if not args.skip_rss:
        bench_rss()


if __name__ == "__main__":
    main()
