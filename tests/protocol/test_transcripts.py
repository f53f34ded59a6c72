"""Golden input: every envelope captured from real joinmarket-ng 0.37.0 peers.

Each transcript line carries one envelope as a Python bytes literal; we decode every
one and run it through the parser for its type, then pin facts visible in the capture.
"""

import ast
import re
from collections import Counter

import pytest

from protocol.envelope import MsgType, decode_envelope, encode_envelope
from protocol.framing import LineBuffer
from protocol.handshake import (
    NOT_SERVING, build_peer_handshake, check_directory_reply, check_peer_handshake,
    is_onion_v3_host, parse_directory_handshake, parse_peer_handshake,
)
from protocol.jmmessage import (
    OFFER_TYPES, PRIVATE_COMMANDS, PUBLIC, parse_jm_line, parse_privmsg, split_commands,
)
from protocol.peerlist import format_peerlist, parse_peerlist
from tests.helpers.testdata import TRANSCRIPTS

_BYTES_LITERAL = re.compile(r"\bb'.*'$")


def _load(name):
    """(direction, envelope) for every line holding a bytes literal; '>' means we sent it."""
    out = []
    for text in (TRANSCRIPTS / name).read_text().splitlines():
        match = _BYTES_LITERAL.search(text)
        if not match:
            continue
        raw = ast.literal_eval(match.group(0))
        frames = LineBuffer().feed(raw + b"\n")  # some captures keep their \r\n
        assert len(frames) == 1
        sent = " C>" in text or ">>>" in text
        out.append((sent, raw.rstrip(b"\r\n"), decode_envelope(frames[0])))
    return out


ALL = {path.name: _load(path.name) for path in sorted(TRANSCRIPTS.glob("*.txt"))}


def test_all_three_transcripts_found():
    assert set(ALL) == {"ng-relayed-coinjoin.txt", "ng-direct-coinjoin-via-socks.txt",
                        "ng-directory-probe.txt"}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_envelope_parses_with_its_type_parser_and_re_encodes_exactly(name):
    seen = Counter()
    for _sent, raw, env in ALL[name]:
        seen[env.type] += 1
        assert encode_envelope(env.type, env.line) == raw
        if env.type == MsgType.HANDSHAKE:
            hs = parse_peer_handshake(env.line)
            assert build_peer_handshake(hs.nick, hs.network, hs.features, hs.location) == env.line
        elif env.type == MsgType.DN_HANDSHAKE:
            check_directory_reply(parse_directory_handshake(env.line), "regtest")
        elif env.type == MsgType.PEERLIST:
            entries = parse_peerlist(env.line)
            assert format_peerlist(entries, include_features=True) == env.line
        elif env.type == MsgType.PRIVMSG:
            msg = parse_privmsg(env.line)
            assert msg.command in PRIVATE_COMMANDS
            assert len(msg.pubkey_hex) == 66
        elif env.type == MsgType.PUBMSG:
            jm = parse_jm_line(env.line)
            assert jm.to_nick == PUBLIC and split_commands(jm.body)
        else:
            assert env.type == MsgType.GETPEERLIST and env.line == ""
    assert seen[MsgType.HANDSHAKE] >= 1


def _by_type(name, type_):
    return [(sent, env) for sent, _raw, env in ALL[name] if env.type == type_]


def test_relayed_coinjoin_handshake_and_directory_reply():
    (sent, ours), = _by_type("ng-relayed-coinjoin.txt", MsgType.HANDSHAKE)
    hs = parse_peer_handshake(ours.line)
    assert sent and hs.nick == "J598QbjjvixuYQrY" and hs.location == NOT_SERVING
    assert hs.features == {"neutrino_compat", "peerlist_features", "ping"}
    assert ours.line == build_peer_handshake(
        "J598QbjjvixuYQrY", "regtest", ["ping", "neutrino_compat", "peerlist_features"])
    (_, reply), = _by_type("ng-relayed-coinjoin.txt", MsgType.DN_HANDSHAKE)
    dn = parse_directory_handshake(reply.line)
    assert (dn.accepted, dn.nick, dn.network) == (True, "J56WbLTUmAvNttA2", "regtest")
    assert dn.features == {"peerlist_features", "ping"}
    assert dn.motd.endswith("\nJoinMarket NG version: 0.37.0")


def test_relayed_coinjoin_getpeerlist_reply_has_four_entries_with_features():
    first = parse_peerlist(_by_type("ng-relayed-coinjoin.txt", MsgType.PEERLIST)[0][1].line)
    assert len(first) == 4
    makers = [e for e in first if e.location != NOT_SERVING]
    assert len(makers) == 3
    for entry in makers:
        host, _, port = entry.location.rpartition(":")
        assert is_onion_v3_host(host) and 27190 <= int(port) <= 27192
        assert entry.features == {"neutrino_compat", "peerlist_features", "ping"}
    assert first[-1].nick == "J598QbjjvixuYQrY"  # the requester lists itself


def test_relayed_coinjoin_disconnect_notices():
    gone = [e for _, env in _by_type("ng-relayed-coinjoin.txt", MsgType.PEERLIST)
            for e in parse_peerlist(env.line) if e.disconnected]
    assert [e.nick for e in gone] == ["J56jLNFKyTZmxz9k", "J58we9HJz2WxDfeX", "J5BCLUsAELxNMRM4"]
    assert all(e.location == NOT_SERVING and not e.features for e in gone)


def test_relayed_coinjoin_privmsg_command_sequence():
    received = Counter()
    sent = Counter()
    for was_sent, env in _by_type("ng-relayed-coinjoin.txt", MsgType.PRIVMSG):
        (sent if was_sent else received)[parse_privmsg(env.line).command] += 1
    assert sent == {"fill": 3, "auth": 3, "tx": 3}
    assert received["pubkey"] == 3 and received["ioauth"] == 3 and received["sig"] >= 3
    offers = sum(n for cmd, n in received.items() if cmd in OFFER_TYPES)
    assert offers == 3


def test_relayed_coinjoin_pubkey_advertises_features_token():
    for _, env in _by_type("ng-relayed-coinjoin.txt", MsgType.PRIVMSG):
        msg = parse_privmsg(env.line)
        if msg.command == "pubkey":
            key, features = msg.data.split(" ")
            assert len(key) == 64 and features == "features=neutrino_compat"


def test_relayed_coinjoin_hp2_broadcasts_are_public():
    hp2 = [parse_jm_line(env.line) for _, env in _by_type("ng-relayed-coinjoin.txt",
                                                          MsgType.PUBMSG)]
    bodies = [split_commands(jm.body)[0] for jm in hp2]
    assert bodies[0] == ("orderbook", "")
    assert [cmd for cmd, _ in bodies[1:]] == ["hp2"] * 3
    assert all(len(args) == 64 for _, args in bodies[1:])


def test_direct_coinjoin_peer_handshakes_validate():
    handshakes = _by_type("ng-direct-coinjoin-via-socks.txt", MsgType.HANDSHAKE)
    ours = [parse_peer_handshake(env.line) for sent, env in handshakes if sent]
    theirs = [parse_peer_handshake(env.line) for sent, env in handshakes if not sent]
    assert len(ours) == 3 and {h.nick for h in ours} == {"J52AHBrKJiCuiMjY"}
    assert all(h.features == frozenset() for h in ours)
    assert len(theirs) == 3
    for hs in theirs:
        check_peer_handshake(hs, "regtest")
        assert is_onion_v3_host(hs.location.rpartition(":")[0])
        assert hs.features == {"neutrino_compat", "nick_auth", "peerlist_features", "ping"}


def test_direct_coinjoin_sends_fill_auth_tx_to_each_maker():
    msgs = [parse_privmsg(env.line)
            for _, env in _by_type("ng-direct-coinjoin-via-socks.txt", MsgType.PRIVMSG)]
    assert Counter(m.command for m in msgs) == {"fill": 3, "auth": 3, "tx": 3}
    assert len({m.to_nick for m in msgs}) == 3


def test_probe_offers_via_directory_and_direct_match():
    probe = "ng-directory-probe.txt"
    getpeerlist_reply = _by_type(probe, MsgType.PEERLIST)[0][1]
    assert len(parse_peerlist(getpeerlist_reply.line)) == 4
    offers = {}
    for _, env in _by_type(probe, MsgType.PRIVMSG):
        msg = parse_privmsg(env.line)
        assert msg.to_nick == "J5CMu9aTfAGnYFey" and msg.command in OFFER_TYPES
        offers.setdefault(msg.from_nick, set()).add((msg.command, msg.data))
    assert len(offers) == 3
    assert all(len(v) == 1 for v in offers.values())  # the direct copy equals the relayed one
    assert offers["J54idwvNKeMMxLnb"] == {("sw0absoffer", "0 109799 95347871 0 500")}
