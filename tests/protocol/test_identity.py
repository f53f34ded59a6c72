"""protocol/identity.py: any object with NG's identity interface signs for the client,
and check_identity refuses, with a message naming the argument, one that cannot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol.crypto import ONION_HOSTID, NickIdentity, parse_and_verify_privmsg, verify_message
from protocol.errors import LocalProtocolError
from protocol.identity import build_privmsg, check_identity, signature_of

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "vectors.json").read_text())
KEY = b"\x11" * 32
PROBE = "jm-multidir identity self-check"


class Wrapped:
    """An NG-style identity around ours whose ``sign_message`` output a test can bend."""

    def __init__(self, bend=None, inner: NickIdentity | None = None) -> None:
        self.inner = inner or NickIdentity(KEY)
        self.nick, self.public_key_hex = self.inner.nick, self.inner.public_key_hex
        self.bend = bend or (lambda signed, message, hostid: signed)
        self.calls: list[tuple[str, str]] = []

    def sign_message(self, message: str, hostid: str = "") -> str:
        self.calls.append((message, hostid))
        return self.bend(self.inner.sign_message(message, hostid), message, hostid)


def refusal(identity: object, argument: str | None = None) -> str:
    with pytest.raises(ValueError) as caught:
        if argument is None:
            check_identity(identity)
        else:
            check_identity(identity, argument)
    assert not isinstance(caught.value, LocalProtocolError)  # a plain ValueError for callers
    return str(caught.value)


# -- check_identity ---------------------------------------------------------------------------

def test_a_good_identity_passes_and_is_probed_once_with_the_onion_hostid():
    identity = Wrapped()
    check_identity(identity)
    assert identity.calls == [(PROBE, ONION_HOSTID)]
    check_identity(NickIdentity())


class Bare:
    pass


class OnlyNick:
    nick = "J5x"


def test_missing_attributes_are_named_in_order_with_the_argument():
    expected = ("nick_identity: Bare lacks nick, public_key_hex, sign_message sign_message; "
                "expected .nick, .public_key_hex and .sign_message(message, hostid) -> "
                "'<message> <pubkey_hex> <sig_base64>'")
    assert refusal(Bare()) == expected
    assert refusal(OnlyNick(), "identity").startswith(
        "identity: OnlyNick lacks public_key_hex, sign_message sign_message; expected")


class NotCallable:
    nick = "J5x"
    public_key_hex = "02" + "00" * 32
    sign_message = "not a function"


def test_a_sign_message_that_is_not_callable_is_refused():
    assert refusal(NotCallable(), "who").startswith(
        "who: NotCallable lacks a callable sign_message; expected .nick")


class Typed:
    def __init__(self, nick: object, pubkey: object) -> None:
        self.nick, self.public_key_hex = nick, pubkey

    def sign_message(self, message: str, hostid: str = "") -> str:
        raise AssertionError("never reached")


@pytest.mark.parametrize("nick, pubkey", [
    (b"J5x", NickIdentity(KEY).public_key_hex),
    (NickIdentity(KEY).nick, bytes.fromhex(NickIdentity(KEY).public_key_hex)),
    (None, None),
])
def test_nick_and_key_must_be_strings(nick, pubkey):
    assert refusal(Typed(nick, pubkey), "arg") == "arg: .nick and .public_key_hex must be str"


def test_a_nick_not_derived_from_the_key_is_refused():
    other = NickIdentity()
    identity = Wrapped()
    identity.nick = other.nick
    assert refusal(identity) == (
        f"nick_identity: nick {other.nick!r} is not derived from public_key_hex")
    assert identity.calls == []  # refused before anything is signed


def test_a_very_long_wrong_nick_is_cut_in_the_message():
    identity = Wrapped()
    identity.nick = "J5" + "x" * 200
    assert refusal(identity) == (
        f"nick_identity: nick {identity.nick[:64]!r} is not derived from public_key_hex")


def test_a_malformed_signing_result_is_a_value_error_with_the_reason():
    identity = Wrapped(lambda signed, message, hostid: signed + " extra")
    assert refusal(identity, "nid") == (
        "nid: sign_message must end with exactly one signature token")
    identity = Wrapped(lambda signed, message, hostid: signed.split(" ", 1)[1])
    assert refusal(identity) == (
        "nick_identity: sign_message must return '<message> <pubkey_hex> <sig_base64>'")


def test_a_signature_that_ignores_the_hostid_is_refused():
    def message_only(signed, message, hostid):
        return identity.inner.sign_message(message, "")

    identity = Wrapped(message_only)
    assert refusal(identity, "x") == (
        "x: sign_message(message, hostid) does not sign message + hostid with the key of "
        "public_key_hex")


def test_a_signature_by_another_key_is_refused():
    other = NickIdentity()

    def foreign(signed, message, hostid):
        theirs = other.sign_message(message, hostid).split()[-1]
        return f"{message} {identity.public_key_hex} {theirs}"

    identity = Wrapped(foreign)
    assert refusal(identity).startswith("nick_identity: sign_message(message, hostid) does not")


# -- signature_of ------------------------------------------------------------------------------

def test_signature_of_returns_the_signature_token_over_message_plus_hostid():
    identity = Wrapped()
    signature = signature_of(identity, "hello world", "host")
    assert identity.calls == [("hello world", "host")]
    assert signature == identity.inner.sign_message("hello world", "host").rsplit(" ", 1)[1]
    assert verify_message(identity.public_key_hex, b"hello worldhost", signature)


@pytest.mark.parametrize("bend, reason", [
    (lambda s, m, h: s.encode(), "must return '<message> <pubkey_hex> <sig_base64>'"),
    (lambda s, m, h: None, "must return '<message> <pubkey_hex> <sig_base64>'"),
    (lambda s, m, h: "other " + s, "must return '<message> <pubkey_hex> <sig_base64>'"),
    (lambda s, m, h: s.replace(NickIdentity(KEY).public_key_hex, "03" + "ab" * 32),
     "must return '<message> <pubkey_hex> <sig_base64>'"),
    (lambda s, m, h: s.rsplit(" ", 1)[0], "must return '<message> <pubkey_hex> <sig_base64>'"),
    (lambda s, m, h: s.rsplit(" ", 1)[0] + " ", "must end with exactly one signature token"),
    (lambda s, m, h: s + " more", "must end with exactly one signature token"),
])
def test_signature_of_refuses_anything_but_message_key_and_one_token(bend, reason):
    with pytest.raises(LocalProtocolError) as caught:
        signature_of(Wrapped(bend), "hello", ONION_HOSTID)
    assert str(caught.value) == "sign_message " + reason


# -- build_privmsg -----------------------------------------------------------------------------

def test_build_privmsg_is_the_line_our_own_identity_builds_and_it_verifies():
    identity = Wrapped()
    to = NickIdentity().nick
    line = build_privmsg(identity, to, "fill", "0 100000 02ab")
    assert line == identity.inner.build_privmsg(to, "fill", "0 100000 02ab")
    assert identity.calls == [("0 100000 02ab", ONION_HOSTID)]
    msg = parse_and_verify_privmsg(line)
    assert (msg.from_nick, msg.to_nick, msg.command, msg.data) == (
        identity.nick, to, "fill", "0 100000 02ab")


def test_build_privmsg_reproduces_the_vector_lines():
    keys = {v["nick"]: bytes.fromhex(v["privkey_hex"]) for v in VECTORS["identities"].values()}
    lines = [v for v in VECTORS["signed_privmsg_lines"]
             if v["valid"] and v["nick_matches_pubkey"] and v["from"] in keys]
    assert lines
    for vector in lines:
        identity = Wrapped(inner=NickIdentity(keys[vector["from"]]))
        assert build_privmsg(identity, vector["to"], vector["command"],
                             vector["signed_data"]) == vector["line"]
