"""Whose fault: every protocol error is either local (our data) or remote (a peer's).

The split decides blame in the actors (a remote's violation stops that connection; a
local error is our bug), so it is pinned here: each parser error class is remote, and
building or framing our own invalid data raises the local family, never a remote one.
"""

import inspect

import pytest

from protocol import errors
from protocol.bond import create_bond_proof
from protocol.crypto import NickIdentity
from protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from protocol.framing import frame
from protocol.handshake import build_peer_handshake
from protocol.jmmessage import format_privmsg, format_pubmsg
from protocol.naclbox import NaclKeypair
from protocol.nickauth import build_challenge, build_result
from protocol.peerlist import PeerlistEntry, format_peerlist

BASES = {ProtocolError, LocalProtocolError, RemoteProtocolError}


def test_both_families_are_value_errors_with_a_common_base():
    assert issubclass(LocalProtocolError, ValueError)
    assert issubclass(LocalProtocolError, ProtocolError)
    assert issubclass(RemoteProtocolError, ProtocolError)
    assert not issubclass(LocalProtocolError, RemoteProtocolError)
    assert not issubclass(RemoteProtocolError, LocalProtocolError)


def test_every_parser_error_class_is_remote():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, ProtocolError) and c not in BASES]
    assert len(classes) >= 13
    assert [c.__name__ for c in classes if not issubclass(c, RemoteProtocolError)] == []


def test_errors_all_lists_every_error_class():
    classes = {name for name, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, ProtocolError)}
    assert set(errors.__all__) == classes


@pytest.mark.parametrize("build", [
    lambda: frame(b"a\nb"),
    lambda: frame(b"x" * 6, max_line=5),
    lambda: build_peer_handshake("J5x", "mainnet", location="not a location"),
    lambda: build_peer_handshake("", "mainnet"),
    lambda: build_peer_handshake("J5x", "bitcoin"),
    lambda: format_pubmsg("J5 x", "orderbook"),
    lambda: format_privmsg("J5a", "J5b", "fill", "a\nb", "02" + "ab" * 32, "sig"),
    lambda: format_peerlist([PeerlistEntry("J5x", "bad location", False, frozenset())],
                            include_features=False),
    lambda: NickIdentity(b"short"),
    lambda: NaclKeypair.from_secret(b"short"),
    lambda: build_challenge("zz", "x"),
    lambda: build_result("maybe"),
    lambda: create_bond_proof(b"\x01" * 32, b"\x02" * 32, 70_000, "00" * 32, 0, 0, "J5a", "J5b"),
], ids=["frame-crlf", "frame-long", "handshake-location", "handshake-nick", "handshake-network",
        "pubmsg-nick", "privmsg-data", "peerlist", "identity", "naclbox", "challenge", "result",
        "bond"])
def test_building_our_own_invalid_data_is_a_local_error(build):
    with pytest.raises(LocalProtocolError) as info:
        build()
    assert not isinstance(info.value, RemoteProtocolError)
