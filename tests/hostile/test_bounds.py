"""Floods through one directory connection stay within the configured caps (docs/limits.md)."""

from __future__ import annotations

import threading
import time

import pytest

from actors.api.config import Limits
from actors.net.connection import LineConnection
from protocol.envelope import MsgType
from protocol.naclbox import NaclKeypair
from tests.helpers.hostile import env, rss_kb
from tests.helpers.polling import wait_until

pytestmark = pytest.mark.timeout(90)

ONION = "a" * 56 + ".onion:5222"


def _fake_nick(i: int) -> str:
    return f"J5flood{i:09d}"


def _round_trip(net, client):
    maker = net.makers[0]
    nacl = NaclKeypair.generate()
    client.send_privmsg(maker.nick, "fill", f"0 1000000 {nacl.public_hex} {'ab' * 32}")
    reply = client.wait_for_response(maker.nick, "pubkey", timeout=15)
    assert reply is not None


def test_peerlist_flood_keeps_tracked_nicks_under_the_cap(hostile):
    cap = 5_000
    net, client = hostile(directories=("ng", "ng"), makers=[{"style": "ng"}],
                          prefer_direct_connections=False, limits=Limits(max_tracked_nicks=cap))
    wait_until(lambda: client.is_nick_active(net.makers[0].nick), what="the maker")
    before = rss_kb()
    per_line, total = 400, 100_000
    d0 = net.directories[0]
    started = time.monotonic()
    for base in range(0, total, per_line * 10):  # 10 lines per inject call
        lines = [env(MsgType.PEERLIST, ",".join(f"{_fake_nick(i)};{ONION}"
                                                 for i in range(b, min(b + per_line, total))))
                 for b in range(base, min(base + per_line * 10, total), per_line)]
        assert d0.inject(client.nick, b"\r\n".join(lines))
    wait_until(lambda: client.stats().get("tracked_nicks_refused", 0) >= total - cap, timeout=60,
               what="every entry over the cap to be refused")
    elapsed = time.monotonic() - started
    core = client._core
    assert len(core.ctx.views.registry.present) <= cap
    growth_mb = (rss_kb() - before) / 1024
    assert growth_mb < 100, f"RSS grew {growth_mb:.1f} MB for 100,000 peerlist entries"
    assert client.is_nick_active(net.makers[0].nick)  # tracked before the flood: kept
    _round_trip(net, client)
    print(f"\n100,000 peerlist entries in {elapsed:.2f}s, RSS +{growth_mb:.1f} MB, "
          f"tracked {len(core.ctx.views.registry.present)}")


def test_pubmsg_offer_flood_is_capped_per_fetch_and_per_maker(hostile):
    limits = Limits(max_tracked_nicks=2_000, max_offers=5_000, max_offers_per_maker=8)
    net, client = hostile(directories=("ng", "ng"), makers=[{"style": "ng"}],
                          prefer_direct_connections=False, limits=limits)
    d0 = net.directories[0]
    before = rss_kb()
    total = 100_000
    done = threading.Event()

    def flood():
        wait_until(lambda: any(b"orderbook" in line for line in d0.received_lines(client.nick)),
                   what="our !orderbook")
        # 20,000 nicks with 5 offers each would fit the per-maker cap; one nick with 100
        # offers would not: send both kinds
        batch = []
        for i in range(total):
            nick = _fake_nick(i % 19_000) if i < total - 1_000 else "J5greedymaker000"
            batch.append(env(MsgType.PUBMSG, f"{nick}!PUBLIC!sw0absoffer {i} 27300 100000000 0 1000"))
            if len(batch) == 500:
                d0.inject(client.nick, b"\r\n".join(batch))
                batch = []
        done.set()

    thread = threading.Thread(target=flood)
    thread.start()
    offers = client.fetch_orderbook(max_wait=20, min_wait=6, quiet_period=1)
    thread.join()
    assert done.is_set()
    stats = client.stats()
    assert len(offers) <= limits.max_offers
    per_maker = {}
    for o in offers:
        per_maker[o.counterparty] = per_maker.get(o.counterparty, 0) + 1
    assert max(per_maker.values()) <= limits.max_offers_per_maker
    assert stats.get("offers_dropped_cap", 0) + stats.get("offers_dropped_per_maker", 0) > 0
    assert len(client._core.ctx.views.registry.present) <= limits.max_tracked_nicks
    growth_mb = (rss_kb() - before) / 1024
    assert growth_mb < 150, f"RSS grew {growth_mb:.1f} MB"
    _round_trip(net, client)


class _FakeRef:
    """An ActorRef stand-in with a real queue, so the reader's backpressure can be observed."""

    def __init__(self):
        import queue
        self.actor_inbox = queue.Queue()

    def tell(self, message):
        self.actor_inbox.put(message)


class _Transport:
    def __init__(self, chunks):
        self.chunks, self.reads, self.closed = list(chunks), 0, threading.Event()

    def recv(self, n):
        if self.chunks:
            self.reads += 1
            return self.chunks.pop(0)
        self.closed.wait(5)
        return b""

    def send(self, data):
        pass

    def abort(self):
        self.closed.set()

    def close(self):
        self.closed.set()


def test_reader_pauses_while_the_owner_mailbox_is_backed_up():
    from actors.shells.runtime import Stats
    # connection_low_water=3: the lines read here are never settled (a fake owner), so this
    # connection counts as a contributor to the downstream backlog once it has read 4
    limits = Limits(max_queued_batches=4, mailbox_high_water=10, mailbox_low_water=2,
                    connection_high_water=1_000, connection_low_water=3)
    from actors.net.backlog import Backlog
    owner, downstream, stats, backlog = _FakeRef(), _FakeRef(), Stats(), Backlog()
    transport = _Transport([b'{"type": 798, "line": ""}\r\n'] * 50)
    conn = LineConnection(transport, owner, 1, 1000, "t", limits=limits, stats=stats,
                          downstream=lambda: (downstream,), backlog=backlog)
    conn.start()
    try:
        wait_until(lambda: stats.get("reader_pauses") == 1, what="a pause")
        time.sleep(0.1)
        assert owner.actor_inbox.qsize() == 5 and transport.reads == 5  # stopped reading
        while owner.actor_inbox.qsize() > 2:  # drain to the low-water mark (4 // 2)
            owner.actor_inbox.get()
            backlog.settled += 1  # the owner handled that line itself (a PING)
        wait_until(lambda: transport.reads > 5, what="reading to resume")
        # a backed-up downstream mailbox pauses the reader too
        for _ in range(11):
            downstream.actor_inbox.put("x")
        while owner.actor_inbox.qsize():
            owner.actor_inbox.get()
        wait_until(lambda: stats.get("reader_pauses") >= 2, what="a downstream pause")
        reads = transport.reads
        time.sleep(0.1)
        assert transport.reads == reads
        while downstream.actor_inbox.qsize() > 1:
            downstream.actor_inbox.get()
        backlog.settled = backlog.read  # and this connection's lines were handled too
        wait_until(lambda: transport.reads > reads, what="reading to resume again")
    finally:
        conn.close()
    assert stats.get("reader_paused_ms") > 0


def test_a_connection_with_little_outstanding_is_not_paused_by_a_full_downstream():
    """Per-connection backpressure: another connection's backlog does not stop this reader."""
    from actors.net.backlog import Backlog
    from actors.shells.runtime import Stats
    limits = Limits(mailbox_high_water=10, mailbox_low_water=2, connection_high_water=20,
                    connection_low_water=5)
    owner, downstream, stats, backlog = _FakeRef(), _FakeRef(), Stats(), Backlog()
    for _ in range(50):
        downstream.actor_inbox.put("someone else's message")
    transport = _Transport([b'{"type": 798, "line": ""}\r\n'] * 30)
    conn = LineConnection(transport, owner, 1, 1000, "t", limits=limits, stats=stats,
                          downstream=lambda: (downstream,), backlog=backlog)
    conn.start()
    try:
        wait_until(lambda: transport.reads >= 6, what="reading past the low-water mark")
        wait_until(lambda: stats.get("reader_pauses") == 1, what="a pause once it contributes")
        assert transport.reads == 6  # 6 outstanding > 5: now it is one of the contributors
        # its own backlog over connection_high_water pauses it even with downstream empty
        while downstream.actor_inbox.qsize():
            downstream.actor_inbox.get()
        backlog.settled = backlog.read - 5  # its own lines handled: it may read again
        wait_until(lambda: stats.get("reader_pauses") == 2, what="a pause on its own backlog")
        assert backlog.outstanding() == 21 and transport.reads == 6 + 16
    finally:
        conn.close()


def test_flood_through_a_slow_inbox_is_paused_not_buffered(hostile):
    """End to end: 50,000 signed privmsgs at a small high-water mark — the readers pause."""
    from protocol import NickIdentity
    limits = Limits(mailbox_high_water=500, mailbox_low_water=100, max_queued_batches=4)
    net, client = hostile(directories=("ng",), makers=0, limits=limits)
    sender = NickIdentity()
    line = env(MsgType.PRIVMSG, sender.build_privmsg(client.nick, "pubkey", "ab" * 32))
    # identical lines verify once (cache) but each is still a message through the Inbox
    total = 50_000
    for _ in range(total // 1_000):
        net.directories[0].inject(client.nick, b"\r\n".join([line] * 1_000))
    got = client.wait_for_response(sender.nick, "pubkey", timeout=30)
    assert got is not None
    wait_until(lambda: client.stats().get("reader_pauses", 0) >= 1, timeout=30,
               what="the reader to pause at least once")
    assert client.connected_directories  # paused, never disconnected
