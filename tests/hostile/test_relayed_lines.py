"""Issue 12 item 1: a directory is never stopped for good by what its peers relay.

A directory relays lines written by anyone, re-encoded by ``json.dumps`` (NG accepts
65,536-byte lines and its ``\\u`` escapes can triple them). Such a line costs that line
(``relayed_lines_dropped``), never the link; the directory's own failures (rejection,
garbage framing) end the connection but are retried with backoff, never for good.
"""

from __future__ import annotations

import json

import pytest

from protocol.envelope import MsgType
from tests.helpers.polling import wait_until
from tests.hostile.servers import HostileDirectory

pytestmark = pytest.mark.timeout(90)


def _relayed(msg_type: int, line: str) -> bytes:
    """A frame as NG/REF relay it: Python's json.dumps with its default ASCII escapes."""
    return json.dumps({"type": int(msg_type), "line": line}).encode()


def test_bad_relayed_lines_cost_the_line_not_the_directory(rogue_net):
    rogue = HostileDirectory()
    net, client = rogue_net(rogues=[rogue], prefer_direct_connections=False)
    wait_until(lambda: rogue.location in client.connected_directories, what="the relay to be up")
    nick, origin = client.nick, "J5" + "x" * 14
    payloads = [
        # a 50 KB PUBMSG: NG accepts it (< 65,536 B) and relays it; over our JM-layer cap
        _relayed(MsgType.PUBMSG, f"{origin}!PUBLIC!orderbook " + "a" * 50_000),
        # 13,000 non-ASCII characters (26 KB of UTF-8) arrive as ~78 KB of \u00e9 escapes
        _relayed(MsgType.PUBMSG, f"{origin}!PUBLIC!hi " + "\u00e9" * 13_000),
        _relayed(MsgType.PRIVMSG, f"{origin}!{nick}!fill " + "\u00e9" * 13_000 + " pub sig"),
    ]
    # five lone surrogate escapes in a row: Python's json emits them, msgspec refuses them
    payloads += [_relayed(MsgType.PUBMSG, f"{origin}!PUBLIC!x \ud800 {i}") for i in range(5)]
    assert b"\\ud800" in payloads[-1] and len(payloads[1]) > 75_000
    for raw in payloads:
        assert rogue.send_raw(raw) == 1
    wait_until(lambda: client.stats().get("relayed_lines_dropped", 0) >= 6,
               what="the bad relayed lines to be dropped and counted")
    # the same connection is still up and still relays: a good line after the bad ones
    rogue.send_all(MsgType.PUBMSG, f"{origin}!PUBLIC!sw0reloffer 0 27300 1000000000 0 0.00002")
    wait_until(lambda: client.stats().get("offers_outside_fetch", 0) >= 1,
               what="a good line after the bad ones to be handled")
    stats = client.stats()
    assert rogue.handshakes == 1, "the relay was dropped and redialled"
    assert stats.get("stopped_directory", 0) == 0
    assert stats.get("directory_oversize_lines", 0) == 0
    assert set(client.connected_directories) == {*net.directory_servers, rogue.location}


def test_rejection_and_violation_are_retried_not_permanent(rogue_net):
    """``accepted: false`` (e.g. a full directory) and a directory's own garbage end the
    connection; both are dialled again after the violation backoff (10 s, jittered)."""
    full = HostileDirectory(accept=False)
    garbage = HostileDirectory()
    net, client = rogue_net(rogues=[full, garbage], makers=0)
    wait_until(lambda: garbage.location in client.connected_directories, what="the relay to be up")
    for _ in range(5):  # the directory's own framing: not JSON at all
        garbage.send_raw(b"{definitely not json")
    wait_until(lambda: garbage.location not in client.connected_directories,
               what="the garbage directory to be dropped")
    wait_until(lambda: full.handshakes >= 2 and garbage.handshakes >= 2, timeout=40,
               what="both directories to be dialled again")
    full.accept = True
    assert client.stats().get("stopped_directory", 0) == 0
    wait_until(lambda: garbage.location in client.connected_directories,
               what="the garbage directory to be back")
