"""Soak: a taker under continuous load on a churning LocalNet, watched for leaks and losses.

    .venv/bin/python bench/soak.py --minutes 10 [--interval 30] [--flap 15] [--churn 10]

What runs, all in this process:

* LocalNet with directories ng, ng, ref; ``--stable`` makers that never leave (the ones
  we send to) and ``--churners`` makers that are replaced one at a time every ``--churn``
  seconds (join on every directory, later leave all of them).
* every ``--flap`` seconds one directory aborts our connection (``DirectoryServer.kill``);
  the supervisor reconnects with backoff.
* one taker thread looping: an orderbook fetch every 5th iteration, then a ``!fill`` to
  every stable maker and a wait for the ``!pubkey`` replies.

Every ``--interval`` seconds it prints RSS (/proc/self/status VmRSS), threads, open fds
(/proc/self/fd), the round-trip and message counts and the client's drop counters.

At the end it checks that no accepted send was lost: every ``send_privmsg`` that
returned a channel must appear in that directory's ``relayed_privmsgs()`` (or, for
``direct``, in the maker's ``received()`` with channel ``direct``), and every maker must
have received exactly the number of ``!fill`` we had accepted for it. It prints the
least-squares slope of RSS, threads and fds over the run (after a warm-up fifth).

Harness hygiene: LocalNet keeps recordings (lines of closed connections, maker records,
the relay log). They are drained into counters at every sample so the harness's own
bookkeeping does not show up as a slope in the taker's figures.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localnet.network import LocalNet  # noqa: E402
from protocol import NickIdentity  # noqa: E402
from protocol.naclbox import NaclKeypair  # noqa: E402
from supervisor import BlockingMultiDirectoryClient, MultiDirectoryError  # noqa: E402


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def thread_count() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per minute) of (seconds, value) points."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    if den == 0:
        return 0.0
    return 60 * sum((t - mx) * (v - my) for t, v in points) / den


class Ledger:
    """What the taker had accepted, and what the network says it carried."""

    def __init__(self, taker: str) -> None:
        self.taker = taker
        self.lock = threading.Lock()
        self.accepted: collections.Counter = collections.Counter()  # (channel, maker) -> n
        self.relayed: collections.Counter = collections.Counter()  # (channel, maker) -> n
        self.maker_got: collections.Counter = collections.Counter()  # maker -> n fills
        self.maker_direct: collections.Counter = collections.Counter()  # maker -> n direct fills

    def drain(self, net: LocalNet, stable_nicks: set[str]) -> None:
        """Move the harness recordings into counters and clear them (atomic per source)."""
        for d in net.directories:
            def take(hub=d._hub):
                items = tuple(hub.relayed)
                hub.relayed.clear()
                hub.closed.clear()
                for conn in hub.conns.values():  # per-connection line recordings
                    conn.received.clear()
                    conn.sent.clear()
                return items
            for from_nick, to_nick, command in d._call(take):
                if from_nick == self.taker and command == "fill":
                    self.relayed[(f"directory:{d.location}", to_nick)] += 1
        for maker in net.makers:
            with maker._records_lock:
                records, maker._records = maker._records, []
            if maker.nick not in stable_nicks:
                continue
            for r in records:
                if r.command == "fill" and r.from_nick == self.taker:
                    self.maker_got[maker.nick] += 1
                    if r.channel == "direct":
                        self.maker_direct[maker.nick] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--flap", type=float, default=15.0, help="seconds between directory kills")
    parser.add_argument("--churn", type=float, default=10.0, help="seconds between maker swaps")
    parser.add_argument("--stable", type=int, default=4)
    parser.add_argument("--churners", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    duration = args.minutes * 60

    net = LocalNet(directories=("ng", "ng", "ref"), makers=args.stable).start()
    stable = list(net.makers)
    stable_nicks = {m.nick for m in stable}
    for _ in range(args.churners):
        net.add_maker()
    identity = NickIdentity()
    client = BlockingMultiDirectoryClient(net.directory_servers, "regtest", identity,
                                          socks_host=net.socks_host, socks_port=net.socks_port,
                                          connection_timeout=10)
    ledger = Ledger(client.nick)
    counts = collections.Counter()
    stop = threading.Event()
    print(f"soak: {args.minutes} min, 3 directories (ng, ng, ref), {args.stable} stable + "
          f"{args.churners} churning makers, flap every {args.flap}s, churn every {args.churn}s",
          flush=True)
    print(f"connect_all: {client.connect_all()} directories", flush=True)

    def taker_loop() -> None:
        nacl = NaclKeypair.generate()
        i = 0
        while not stop.is_set():
            i += 1
            if i % 5 == 1:
                try:
                    offers = client.fetch_orderbook(max_wait=3, min_wait=0.5, quiet_period=0.3)
                    counts["orderbooks"] += 1
                    counts["offers_seen"] += len(offers)
                except Exception as exc:  # noqa: BLE001 - counted, the soak goes on
                    counts[f"orderbook_error_{type(exc).__name__}"] += 1
            sent_to = []
            for maker in stable:
                data = f"0 1000000 {nacl.public_hex} {os.urandom(32).hex()}"
                try:
                    channel = client.send_privmsg(maker.nick, "fill", data)
                except MultiDirectoryError as exc:
                    counts[f"send_refused_{type(exc).__name__}"] += 1
                    continue
                with ledger.lock:
                    ledger.accepted[(channel, maker.nick)] += 1
                counts["fills_accepted"] += 1
                sent_to.append(maker.nick)
            if sent_to:
                replies = client.wait_for_responses(sent_to, "!pubkey", timeout=10)
                counts["pubkeys"] += len(replies)
                counts["pubkeys_missing"] += len(sent_to) - len(replies)
                counts["round_trips"] += 1

    def chaos_loop() -> None:
        churners = [m for m in net.makers if m.nick not in stable_nicks]
        next_flap = time.monotonic() + args.flap
        next_churn = time.monotonic() + args.churn
        while not stop.wait(0.2):
            now = time.monotonic()
            if now >= next_flap:
                next_flap = now + args.flap
                victim = rng.randrange(len(net.directories))
                if net.directories[victim].kill(client.nick):
                    counts["flaps"] += 1
            if now >= next_churn:
                next_churn = now + args.churn
                old = churners.pop(0)
                net.remove_maker(old.nick)
                churners.append(net.add_maker())
                counts["maker_swaps"] += 1

    threads = [threading.Thread(target=taker_loop, name="soak-taker"),
               threading.Thread(target=chaos_loop, name="soak-chaos")]
    start = time.monotonic()
    samples: list[tuple[float, int, int, int]] = []
    for t in threads:
        t.start()
    print(f"{'t[s]':>6} {'RSS[MB]':>8} {'thr':>4} {'fds':>4} {'rtrips':>7} {'fills':>6} "
          f"{'pubkeys':>7} {'miss':>5} {'books':>5} {'flaps':>5} {'swaps':>5}  client counters",
          flush=True)
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= duration:
                break
            time.sleep(min(args.interval, duration - elapsed))
            with ledger.lock:
                ledger.drain(net, stable_nicks)
            t = time.monotonic() - start
            sample = (t, rss_kb(), thread_count(), fd_count())
            samples.append(sample)
            stats = client.stats()
            interesting = {k: v for k, v in sorted(stats.items())
                           if any(w in k for w in ("drop", "forged", "bad", "dead", "refused",
                                                   "failed", "paused", "rejected", "capped"))}
            print(f"{t:6.0f} {sample[1] / 1024:8.1f} {sample[2]:4d} {sample[3]:4d} "
                  f"{counts['round_trips']:7d} {counts['fills_accepted']:6d} {counts['pubkeys']:7d} "
                  f"{counts['pubkeys_missing']:5d} {counts['orderbooks']:5d} {counts['flaps']:5d} "
                  f"{counts['maker_swaps']:5d}  {interesting}", flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    time.sleep(2.0)  # let the last relays land
    with ledger.lock:
        ledger.drain(net, stable_nicks)
    client.close_all()
    net.stop()

    # -- verdicts -------------------------------------------------------------------------
    print("\n== losses ==")
    lost_total, accepted_total = 0, 0
    for (channel, maker), n in sorted(ledger.accepted.items()):
        accepted_total += n
        if channel == "direct":
            carried = ledger.maker_direct[maker]
        else:
            carried = ledger.relayed[(channel, maker)]
        lost = max(0, n - carried)
        lost_total += lost
        if lost:
            print(f"  {channel} -> {maker}: accepted {n}, carried {carried} (LOST {lost})")
    for maker in sorted(stable_nicks):
        accepted = sum(n for (c, m), n in ledger.accepted.items() if m == maker)
        got = ledger.maker_got[maker]
        flag = "" if got == accepted else "  MISMATCH"
        print(f"  maker {maker}: accepted {accepted} !fill, maker received {got}{flag}")
    print(f"accepted sends: {accepted_total}; lost: {lost_total}; other counters: {dict(counts)}")
    warm = [s for s in samples if s[0] >= samples[-1][0] / 5] if samples else []
    print("\n== slopes after warm-up (per minute) ==")
    print(f"  RSS     {slope([(s[0], s[1] / 1024) for s in warm]):+8.3f} MB/min   "
          f"(first {samples[0][1] / 1024:.1f} MB, last {samples[-1][1] / 1024:.1f} MB, "
          f"max {max(s[1] for s in samples) / 1024:.1f} MB)" if samples else "  no samples")
    if samples:
        print(f"  threads {slope([(s[0], s[2]) for s in warm]):+8.3f} /min      "
              f"(min {min(s[2] for s in samples)}, max {max(s[2] for s in samples)})")
        print(f"  fds     {slope([(s[0], s[3]) for s in warm]):+8.3f} /min      "
              f"(min {min(s[3] for s in samples)}, max {max(s[3] for s in samples)})")
    return 1 if lost_total else 0


if __name__ == "__main__":
    raise SystemExit(main())
