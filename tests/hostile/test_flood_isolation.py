"""Issue 12 item 6: a flooding directory slows itself, not the others.

Backpressure is per connection: the flooding directory's reader stops reading once its
own lines pile up (``connection_high_water``), so the flood can never queue more than
that ahead of an honest reply in the Inbox, while an honest directory's reader, with
almost nothing outstanding, keeps reading through the flood. (Round-trip times under a
flood are measured by bench/hostile.py; tests do not assert timings.)
"""

from __future__ import annotations

import threading

import pytest

from actors.api.config import Limits
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType, encode_envelope
from protocol.naclbox import NaclKeypair
from tests.helpers.polling import wait_until
from tests.hostile.servers import HostileDirectory

pytestmark = pytest.mark.timeout(90)

FLOOD_LINES = 24_000


def _signed_flood(client) -> list[bytes]:
    """Distinct, validly signed privmsgs to us: each one costs the Inbox a verification."""
    author = NickIdentity()
    return [encode_envelope(MsgType.PRIVMSG,
                            author.build_privmsg(client.nick, "pubkey", f"{'ab' * 32} {i}"))
            for i in range(FLOOD_LINES)]


def test_a_flood_queues_at_most_its_own_share_in_the_inbox(rogue_net):
    rogue = HostileDirectory()
    net, client = rogue_net(rogues=[rogue], prefer_direct_connections=False)
    wait_until(lambda: rogue.location in client.connected_directories, what="the rogue to be up")
    lines = _signed_flood(client)
    inbox = client._core.ctx.book.get("inbox")
    depths, stop = [], threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            depths.append(inbox.actor_inbox.qsize())
    sampler = threading.Thread(target=sample, name="test-sampler")
    sampler.start()
    try:
        rogue.flood(lambda i: lines[i % FLOOD_LINES], rate=30_000, seconds=3.0).join(timeout=20)
    finally:
        stop.set()
        sampler.join()
    high = client._core.ctx.config.limits.connection_high_water
    # the flood's own backlog plus at most one 64 KiB read of ~300-byte lines
    assert max(depths) <= high + 65_536 // 250, f"the Inbox queued {max(depths)} flood messages"
    assert client.stats().get("reader_pauses", 0) > 0


def test_a_flooding_directory_pauses_only_its_own_reader(rogue_net):
    rogue = HostileDirectory()
    limits = Limits(connection_high_water=64, connection_low_water=16,
                    mailbox_high_water=200, mailbox_low_water=50)
    net, client = rogue_net(rogues=[rogue], prefer_direct_connections=False, limits=limits)
    maker, honest = net.makers[0], net.directory_servers[0]
    wait_until(lambda: rogue.location in client.connected_directories, what="the rogue to be up")
    lines = _signed_flood(client)
    flood = rogue.flood(lambda i: lines[i % FLOOD_LINES], rate=8_000, seconds=3.0)
    connections = client._core.ctx.connections
    wait_until(lambda: connections[rogue.location].pauses > 0, what="the rogue's reader to pause")
    for i in range(3):  # honest round trips during the flood
        nacl = NaclKeypair.generate()
        channel = client.send_privmsg(maker.nick, "fill",
                                      f"0 1000000 {nacl.public_hex} {'%02x' % i * 32}",
                                      force_channel=f"directory:{honest}")
        assert channel == f"directory:{honest}"
        assert client.wait_for_response(maker.nick, "pubkey", timeout=20) is not None
    flood.join(timeout=10)
    assert connections[honest].pauses == 0, "the honest directory's reader was paused"
    assert connections[rogue.location].pauses > 0
    assert rogue.location in client.connected_directories  # slowed down, not cut off
