"""Handshake rules a mutation run showed unpinned: a wire 793 keeps app-name, directory and
proto-ver (so a peer claiming ``directory: true`` is refused), ``accepted: false`` is sent
as false, and the exact refusal texts."""

import json
import re

import pytest

from protocol.errors import HandshakeError, HandshakeRejectedError
from protocol.handshake import (
    build_directory_handshake, check_directory_reply, check_peer_handshake,
    parse_directory_handshake, parse_peer_handshake,
)

WIRE_793 = {"app-name": "joinmarket", "directory": False, "location-string": "NOT-SERVING-ONION",
            "proto-ver": 5, "features": {"ping": True}, "nick": "J5abc", "network": "regtest"}


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_a_wire_793_claiming_directory_true_is_refused():
    hs = parse_peer_handshake(json.dumps(WIRE_793 | {"directory": True}))
    assert hs.directory is True
    with pytest.raises(HandshakeRejectedError, match=_exact("peer handshake claims directory=true")):
        check_peer_handshake(hs, "regtest")


def test_a_wire_793_keeps_app_name_and_proto_ver():
    hs = parse_peer_handshake(json.dumps(WIRE_793 | {"app-name": "other", "proto-ver": 4}))
    assert (hs.app_name, hs.proto_ver, hs.directory) == ("other", 4, False)


def test_a_rejecting_directory_handshake_says_accepted_false():
    reply = parse_directory_handshake(
        build_directory_handshake("J5d", "regtest", [], False, "full"))
    assert reply.accepted is False and json.loads(
        build_directory_handshake("J5d", "regtest", [], False, "x"))["accepted"] is False


def test_a_directory_reply_without_directory_true_is_refused_exactly():
    line = json.loads(build_directory_handshake("J5d", "regtest", [], True, ""))
    reply = parse_directory_handshake(json.dumps(line | {"directory": False}))
    with pytest.raises(HandshakeRejectedError, match=_exact("directory reply has directory=false")):
        check_directory_reply(reply, "regtest")


def test_deeply_nested_handshake_error_is_exact():
    line = '{"x": ' + "[" * 200_000 + "]" * 200_000 + "}"
    with pytest.raises(HandshakeError, match=_exact("invalid peer handshake: JSON nested too deeply")):
        parse_peer_handshake(line)
