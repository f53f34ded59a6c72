"""A directory that sends garbage: counted and ignored, then cut off; the client lives on.

PROTOCOL.md §1.5/§10: undecodable lines are ignored and counted, ``max_consecutive_bad_lines``
in a row (or one line over ``max_directory_line``) drops that directory (a protocol
violation: the supervisor redials it only after the violation backoff, 10 s → 10 min),
and nothing of this reaches the rest of the actor system — the other directories keep
working and the client still answers. Relayed lines are tests/hostile/test_relayed_lines.py.
"""

from __future__ import annotations

import pytest

from protocol.crypto import NickIdentity
from protocol.envelope import MsgType
from protocol.naclbox import NaclKeypair
from tests.helpers.hostile import env, raw_json
from tests.helpers.polling import wait_until

pytestmark = pytest.mark.timeout(60)

UNKNOWN = raw_json({"type": 12345, "line": ""})  # a valid envelope of an unknown type

BAD_LINES = [
    b"this is not json",
    b'{"type": 685, "line": "half',  # half-JSON
    b'{"type": 99999999999999999999999999, "line": "x"}',  # huge int: an unknown type
    b'{"type": 1e400, "line": "x"}',
    b'{"type": "685", "line": "x"}',  # wrong types
    b'{"type": 685, "line": 5}',
    b'{"type": 685}',
    b'[685, "x"]',
    b"\xff\xfe\x00garbage",
    b'{"type": 685, "line": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # deep nesting
    b'{"type": true, "line": "x"}',
    b'{"line": "x", "type": 685, "type": 687}x',
]


def _still_answers(net, client, directory_index):
    maker = net.makers[0]
    nacl = NaclKeypair.generate()
    channel = client.send_privmsg(maker.nick, "fill", f"0 1000000 {nacl.public_hex} {'ab' * 32}")
    assert channel == f"directory:{net.directory_servers[directory_index]}"
    reply = client.wait_for_response(maker.nick, "pubkey", timeout=10)
    assert reply is not None and len(reply["args"].split()[0]) == 64


def test_garbage_is_counted_then_the_directory_is_dropped_and_the_rest_keep_working(hostile):
    net, client = hostile(directories=("ng", "ng", "ref"), makers=[{"style": "ng"}],
                          prefer_direct_connections=False)
    d0, d1, d2 = net.directories
    nick = client.nick
    # 1. bad lines interleaved with good ones: each is counted, none drops the connection
    for bad in BAD_LINES:
        assert d0.inject(nick, bad)
        assert d0.inject(nick, UNKNOWN)
    hostile_but_valid = [
        env(MsgType.PRIVMSG, "no separators at all"),
        env(MsgType.PRIVMSG, f"J5x!{nick}!pubkey"),
        env(MsgType.PUBMSG, "nonsense"),
        env(MsgType.PEERLIST, ";;;,,,J5a;not a location;Q," + "x" * 200),
        env(MsgType.PEERLIST, "J5\u00e9;\ud800;D"),
        env(MsgType.PING, "unexpected payload"),
        raw_json({"type": 795.0, "line": "x"}),
    ]
    for line in hostile_but_valid:
        assert d0.inject(nick, line)
    assert d0.inject(nick, UNKNOWN)
    wait_until(lambda: client.stats().get("directory_ignored_types", 0) >= len(BAD_LINES) + 1,
               what="the unknown-type envelopes to be counted")
    stats = client.stats()
    assert stats["directory_bad_lines"] >= len(BAD_LINES)
    assert stats["privmsg_malformed"] >= 2 and stats["pubmsg_malformed"] >= 1
    assert stats["peerlist_bad_entries"] >= 2
    assert len(client.connected_directories) == 3
    assert nick in d0.connected_nicks()
    # 2. max_consecutive_bad_lines (5) in a row: d0 is cut off (redialled after >= 10 s)
    for _ in range(5):
        d0.inject(nick, b"{not json")
    wait_until(lambda: nick not in d0.connected_nicks(), what="d0 to lose our connection")
    wait_until(lambda: net.directory_servers[0] not in client.connected_directories,
               what="the client to drop d0")
    # 3. one line over max_directory_line on d1 (no terminator needed: the cap is checked
    # as bytes arrive)
    d1.inject(nick, b'{"type": 685, "line": "' + b"x" * 250_000)
    wait_until(lambda: client.stats().get("directory_oversize_lines", 0) == 1,
               what="the over-long line to be counted")
    wait_until(lambda: client.connected_directories == (net.directory_servers[2],),
               what="only d2 to remain")
    # 4. the rest of the system is unharmed: d2 carries a full round trip and an orderbook
    _still_answers(net, client, 2)
    offers = client.fetch_orderbook(max_wait=5, min_wait=0.5, quiet_period=0.3)
    assert {o.counterparty for o in offers} == {net.makers[0].nick}
    assert client.stats().get("unhandled_messages", 0) == 0


def test_garbage_on_a_peer_free_client_never_raises_into_the_caller(hostile):
    """A burst of every kind of bad input at once, on every directory: stats, not crashes."""
    net, client = hostile(directories=("ng", "ref"), makers=0)
    for directory in net.directories:
        directory.inject(client.nick, b"\r\n".join(BAD_LINES[i] for i in (0, 1, 3, 4, 5)))
    wait_until(lambda: not client.connected_directories, what="both directories to be dropped")
    assert client.stats()["directory_bad_lines"] >= 8
    assert client.stats().get("unhandled_messages", 0) == 0
    assert client.fetch_orderbook(max_wait=0.5, min_wait=0, quiet_period=0) == []


def test_unsplittable_message_bodies_never_stop_the_inbox(hostile):
    """A body with a command segment lacking its word ("…! x") used to make the Inbox raise
    a ProtocolError, which stopped it for good: every later orderbook fetch timed out."""
    net, client = hostile(directories=("ref",), makers=[{"style": "ng"}])
    forger = NickIdentity()
    d0 = net.directories[0]
    assert d0.inject(client.nick, env(MsgType.PUBMSG, "J5evilXXXXXXXXXX!PUBLIC!sw0reloffer 0 1 2 0 0.1! x"))
    signed = forger.build_privmsg(client.nick, "sw0reloffer", "0 27300 100000 0 0.1! x")
    assert d0.inject(client.nick, env(MsgType.PRIVMSG, signed))
    wait_until(lambda: client.stats().get("pubmsg_malformed", 0) == 1
               and client.stats().get("offers_rejected", 0) >= 1, what="both lines counted")
    offers = client.fetch_orderbook(max_wait=5, min_wait=0.3, quiet_period=0.3)
    assert {o.counterparty for o in offers} == {net.makers[0].nick}
    assert not any(k.endswith("_inbox") for k in client.stats()), client.stats()
