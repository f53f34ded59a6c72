"""Handshake building (byte-exact vs real peers), parsing, and accept/reject checks."""

import json

import pytest

from protocol.envelope import decode_envelope
from protocol.errors import HandshakeError, HandshakeRejectedError, LocalProtocolError
from protocol.handshake import (
    APP_NAME, NETWORKS, NOT_SERVING, PROTO_VER, DirectoryHandshake, PeerHandshake,
    build_directory_handshake, build_peer_handshake, check_directory_reply,
    check_peer_handshake, is_onion_v3_host, is_valid_location, parse_directory_handshake,
    parse_peer_handshake,
)
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"


def _vector_line(type_, index=0):
    lines = [decode_envelope(e).line for e in VECTORS["envelopes"]]
    types = [decode_envelope(e).type for e in VECTORS["envelopes"]]
    return [line for line, t in zip(lines, types) if t == type_][index]


def test_constants():
    assert (APP_NAME, PROTO_VER, NOT_SERVING) == ("joinmarket", 5, "NOT-SERVING-ONION")
    assert NETWORKS == {"mainnet", "testnet", "signet", "regtest"}


def test_build_taker_handshake_matches_vector_byte_for_byte():
    built = build_peer_handshake(
        "J52N8GdNkKtMA6TW", "mainnet", ["ping", "peerlist_features", "nick_auth"])
    assert built == _vector_line(793, 0)


def test_build_maker_handshake_matches_vector_byte_for_byte():
    built = build_peer_handshake("J59cTYvZJZEbjWk4", "mainnet", (), f"{ONION}:5222")
    assert built == _vector_line(793, 1)


def test_build_dedups_and_sorts_features():
    line = build_peer_handshake("J5x", "regtest", ["ping", "ping", "a"])
    assert '"features": {"a": true, "ping": true}' in line


def test_build_directory_handshake_matches_rejection_vector():
    built = build_directory_handshake(
        "J5cgWgQAS8pjF3QO", "mainnet", (), False,
        "Rejected: Peer nick already registered: J52N8GdNkKtMA6TW")
    assert built == _vector_line(795)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"nick": ""}, "nick"),
    ({"network": "bitcoin"}, "unknown network"),
    ({"location": "nowhere"}, "location-string"),
    ({"features": [""]}, "feature names"),
])
def test_build_rejects_bad_inputs(kwargs, fragment):
    args = {"nick": "J5x", "network": "mainnet", **kwargs}
    with pytest.raises(LocalProtocolError, match=fragment):
        build_peer_handshake(**args)


def test_parse_peer_handshake_fields():
    hs = parse_peer_handshake(_vector_line(793, 1))
    assert hs == PeerHandshake(
        nick="J59cTYvZJZEbjWk4", location=f"{ONION}:5222", network="mainnet",
        features=frozenset())


def test_only_literal_true_counts_as_a_feature():
    line = json.dumps({
        "app-name": "joinmarket", "directory": False, "location-string": NOT_SERVING,
        "proto-ver": 5, "nick": "J5x", "network": "signet",
        "features": {"ping": True, "a": 1, "b": "true", "c": False, "d": None, "e": {"x": 1}},
    })
    assert parse_peer_handshake(line).features == {"ping"}


@pytest.mark.parametrize("mutation, fragment", [
    (lambda d: d.pop("nick"), "nick"),
    (lambda d: d.pop("features"), "features"),
    (lambda d: d.__setitem__("proto-ver", True), "proto-ver"),
    (lambda d: d.__setitem__("proto-ver", "5"), "proto-ver"),
    (lambda d: d.__setitem__("directory", 0), "directory"),
    (lambda d: d.__setitem__("features", []), "features"),
    (lambda d: d.__setitem__("location-string", None), "location-string"),
])
def test_parse_peer_handshake_rejects_missing_or_mistyped_keys(mutation, fragment):
    doc = json.loads(_vector_line(793, 0))
    mutation(doc)
    with pytest.raises(HandshakeError, match=fragment):
        parse_peer_handshake(json.dumps(doc))


@pytest.mark.parametrize("bad", ["", "{", "[]", "null", '"x"', "{\"nick\": \"\udc80\"}"])
def test_parse_garbage_is_handshake_error(bad):
    with pytest.raises(HandshakeError, match="invalid peer handshake"):
        parse_peer_handshake(bad)
    with pytest.raises(HandshakeError, match="invalid directory handshake"):
        parse_directory_handshake(bad)


def test_parse_directory_handshake_rejection_vector():
    reply = parse_directory_handshake(_vector_line(795))
    assert reply == DirectoryHandshake(
        nick="J5cgWgQAS8pjF3QO", network="mainnet", features=frozenset(), accepted=False,
        motd="Rejected: Peer nick already registered: J52N8GdNkKtMA6TW")


def _dn(**overrides):
    doc = {"app-name": "joinmarket", "directory": True, "proto-ver-min": 5,
           "proto-ver-max": 5, "features": {}, "accepted": True, "nick": "J5d",
           "network": "mainnet", "motd": "hi"}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not ...}


def test_directory_version_fallback_to_proto_ver_then_5():
    no_range = _dn(**{"proto-ver-min": ..., "proto-ver-max": ...})
    assert parse_directory_handshake(json.dumps(no_range)).proto_ver_min == 5
    lone = dict(no_range, **{"proto-ver": 4})
    parsed = parse_directory_handshake(json.dumps(lone))
    assert (parsed.proto_ver_min, parsed.proto_ver_max) == (4, 4)


def test_directory_motd_is_optional():
    assert parse_directory_handshake(json.dumps(_dn(motd=...))).motd == ""


def test_directory_accepted_is_required():
    with pytest.raises(HandshakeError, match="accepted"):
        parse_directory_handshake(json.dumps(_dn(accepted=...)))


def test_check_directory_reply_accepts_good_reply():
    check_directory_reply(parse_directory_handshake(json.dumps(_dn())), "mainnet")


@pytest.mark.parametrize("overrides, network, fragment", [
    ({"accepted": False, "motd": "Rejected: busy"}, "mainnet", "Rejected: busy"),
    ({"app-name": "other"}, "mainnet", "app-name"),
    ({"directory": False}, "mainnet", "directory=false"),
    ({"proto-ver-min": 6, "proto-ver-max": 7}, "mainnet", "6..7"),
    ({}, "signet", "network"),
])
def test_check_directory_reply_rejections(overrides, network, fragment):
    reply = parse_directory_handshake(json.dumps(_dn(**overrides)))
    with pytest.raises(HandshakeRejectedError, match=fragment):
        check_directory_reply(reply, network)


def test_check_peer_handshake_accepts_and_treats_testnet_signet_alike():
    hs = PeerHandshake("J5m", f"{ONION}:5222", "signet", frozenset())
    check_peer_handshake(hs, "signet")
    check_peer_handshake(hs, "testnet")
    check_peer_handshake(PeerHandshake("J5m", "garbage", "mainnet", frozenset(),
                                       app_name="JoinMarket"), "mainnet")


@pytest.mark.parametrize("hs, fragment", [
    (PeerHandshake("J5m", NOT_SERVING, "mainnet", frozenset(), app_name="x"), "app-name"),
    (PeerHandshake("J5m", NOT_SERVING, "mainnet", frozenset(), directory=True), "directory"),
    (PeerHandshake("J5m", NOT_SERVING, "mainnet", frozenset(), proto_ver=4), "proto-ver"),
    (PeerHandshake("J5m", NOT_SERVING, "regtest", frozenset()), "network"),
])
def test_check_peer_handshake_rejections(hs, fragment):
    with pytest.raises(HandshakeRejectedError, match=fragment):
        check_peer_handshake(hs, "mainnet")


@pytest.mark.parametrize("loc, ok", [
    (NOT_SERVING, True),
    (f"{ONION}:5222", True),
    ("127.0.0.1:1", True),
    ("[::1]:65535", True),
    ("host:0", False),
    ("host:65536", False),
    ("host:", False),
    (":5222", False),
    ("host", False),
    ("host:+80", False),
    ("host:８０", False),
    ("host:" + "9" * 5000, False),
    ("ho st:80", False),
    ("a,b:80", False),
    ("a;b:80", False),
    ("", False),
    ("not-serving-onion", False),
])
def test_is_valid_location(loc, ok):
    assert is_valid_location(loc) is ok


@pytest.mark.parametrize("host, ok", [
    (ONION, True),
    (ONION.upper(), False),
    (ONION[1:], False),
    ("a" * 55 + "1.onion", False),
    (ONION + ".", False),
    ("localhost", False),
])
def test_is_onion_v3_host(host, ok):
    assert is_onion_v3_host(host) is ok
