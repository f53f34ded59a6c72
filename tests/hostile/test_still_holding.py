"""Attacks that already held before issue 12, replayed with our own hostile servers so
they keep holding: slowloris, a newline-free stream, wrong handshakes, forged senders."""

from __future__ import annotations

import time

import pytest

from protocol.crypto import NickIdentity
from protocol.envelope import MsgType
from protocol.naclbox import NaclKeypair
from tests.helpers.polling import wait_until
from tests.hostile.servers import HostileDirectory

pytestmark = pytest.mark.timeout(60)


def _round_trip(net, client) -> None:
    maker, honest = net.makers[0], net.directory_servers[0]
    nacl = NaclKeypair.generate()
    assert client.send_privmsg(maker.nick, "fill", f"0 1000000 {nacl.public_hex} {'cd' * 32}",
                               force_channel=f"directory:{honest}") == f"directory:{honest}"
    assert client.wait_for_response(maker.nick, "pubkey", timeout=10) is not None


def test_slowloris_and_a_newline_free_stream_cost_only_their_connection(rogue_net):
    slow, endless = HostileDirectory(), HostileDirectory()
    net, client = rogue_net(rogues=[slow, endless], prefer_direct_connections=False)
    wait_until(lambda: {slow.location, endless.location} <= set(client.connected_directories),
               what="both rogues to be up")
    slow.send_raw(b"")  # an empty line is skipped
    for byte in b'{"type": 685, "line": "J5':  # a frame that never ends, a byte at a time
        for conn in slow.clients.values():
            conn.sendall(bytes([byte]))
        time.sleep(0.01)
    for conn in endless.clients.values():
        conn.sendall(b'{"type": 687, "line": "' + b"x" * 250_000)  # over max_directory_line
    wait_until(lambda: client.stats().get("directory_oversize_lines", 0) == 1,
               what="the endless line to be cut off")
    _round_trip(net, client)
    assert slow.location in client.connected_directories  # still waiting for its line
    assert endless.location not in client.connected_directories


def test_wrong_handshakes_are_refused_and_the_client_carries_on(rogue_net):
    wrong_network = HostileDirectory(network="mainnet")
    net, client = rogue_net(rogues=[wrong_network], prefer_direct_connections=False)
    wait_until(lambda: wrong_network.handshakes >= 1, what="the rogue to answer")
    assert wrong_network.location not in client.connected_directories
    _round_trip(net, client)


def test_a_forged_sender_through_a_rogue_directory_is_counted_not_attributed(rogue_net):
    rogue = HostileDirectory()
    net, client = rogue_net(rogues=[rogue], prefer_direct_connections=False)
    maker = net.makers[0]
    wait_until(lambda: rogue.location in client.connected_directories, what="the rogue to be up")
    forger = NickIdentity()
    line = forger.build_privmsg(client.nick, "pubkey", "ab" * 32)
    rogue.send_all(MsgType.PRIVMSG, line.replace(forger.nick, maker.nick, 1))
    wait_until(lambda: client.stats().get("privmsg_forged", 0) >= 1, what="the forgery counted")
    assert client.wait_for_response(maker.nick, "pubkey", timeout=0.5) is None
