"""The directory handshake and JMP-0005 nick-auth as a pure core: events in, actions out.

Each test drives ``DirectoryHandshakeCore`` with the lines a directory would send and
checks the actions (what we send, count, and whose fault a failure is) exactly.
"""

import json

import pytest

from actors.core.dirhandshake import (Count, DirectoryHandshakeCore, Fail, HandshakeSettings, Send,
                                      State, Up)
from actors.core.supervision import FailureKind
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType
from protocol.handshake import NOT_SERVING, build_directory_handshake, parse_peer_handshake
from protocol.nickauth import (build_challenge, build_result, expected_directory_id, parse_proof,
                               parse_challenge, verify_proof)

ME = NickIdentity(bytes(range(1, 33)))
ONION = "a" * 56 + ".onion"
DIRECTORY_ID = expected_directory_id(ONION, 5222)
CHALLENGE = "ab" * 32
BASE = frozenset({"peerlist_features", "ping"})


def core(mode="prefer_verified", expected_id=DIRECTORY_ID, location=NOT_SERVING, network="regtest"):
    return DirectoryHandshakeCore(ME, HandshakeSettings(
        network=network, features=BASE, our_location=location, nick_auth_mode=mode,
        expected_id=expected_id))


def reply(features=BASE | {"nick_auth"}, accepted=True, motd="hi", network="regtest"):
    return build_directory_handshake("J5directory", network, features, accepted, motd)


def started(**kwargs):
    c = core(**kwargs)
    [sent] = c.connected()
    assert isinstance(sent, Send) and sent.msg_type == MsgType.HANDSHAKE
    return c, sent.line


# --- our handshake ----------------------------------------------------------------------

def test_connected_sends_our_handshake_offering_nick_auth_when_we_know_the_directory_id():
    _, line = started()
    hs = parse_peer_handshake(line)
    assert hs.nick == ME.nick and hs.network == "regtest" and hs.location == NOT_SERVING
    assert hs.features == BASE | {"nick_auth"}


@pytest.mark.parametrize("kwargs", [{"expected_id": None}, {"mode": "disabled"}])
def test_nick_auth_is_not_offered_without_an_id_or_when_disabled(kwargs):
    _, line = started(**kwargs)
    assert parse_peer_handshake(line).features == BASE


def test_an_invalid_our_location_is_our_bug_never_the_directorys():
    c = core(location="nowhere")
    [fail] = c.connected()
    assert isinstance(fail, Fail) and fail.kind is FailureKind.LOCAL_BUG
    assert "location-string 'nowhere'" in fail.reason
    assert not fail.kind.blames_remote and c.state is State.FAILED


def test_connected_twice_sends_once():
    c, _ = started()
    assert c.connected() == []


# --- the directory's reply ------------------------------------------------------------------

def test_without_nick_auth_the_reply_brings_us_up_and_asks_for_the_peerlist():
    c, _ = started(expected_id=None)
    actions = c.line_received(MsgType.DN_HANDSHAKE, reply())
    assert actions == [Up("J5directory", BASE | {"nick_auth"}, False),
                       Send(MsgType.GETPEERLIST, "")]
    assert c.done and c.state is State.UP


def test_no_getpeerlist_to_a_directory_without_peerlist_features():
    c, _ = started()
    actions = c.line_received(MsgType.DN_HANDSHAKE, reply(features=frozenset()))
    assert actions == [Up("J5directory", frozenset(), False)]


def test_before_the_reply_pings_are_answered_and_other_lines_counted():
    c, _ = started()
    assert c.line_received(MsgType.PING, "") == [Send(MsgType.PONG, "")]
    assert c.line_received(MsgType.PRIVMSG, "x!y!z") == [
        Count("directory_ignored_before_handshake")]
    assert c.state is State.AWAIT_REPLY


def test_an_unparsable_reply_is_the_directorys_violation():
    c, _ = started()
    [fail] = c.line_received(MsgType.DN_HANDSHAKE, "{not json")
    assert fail.kind is FailureKind.REMOTE_VIOLATION and c.state is State.FAILED


@pytest.mark.parametrize("line", [reply(accepted=False, motd="go away"), reply(network="testnet")])
def test_a_refusal_or_mismatch_is_a_rejection(line):
    c, _ = started()
    [fail] = c.line_received(MsgType.DN_HANDSHAKE, line)
    assert fail.kind is FailureKind.REJECTED and "rejected our handshake" in fail.reason


def test_nick_still_registered_is_a_network_failure_to_retry():
    c, _ = started()
    [fail] = c.line_received(MsgType.DN_HANDSHAKE,
                             reply(accepted=False, motd="Nick J5x is already registered"))
    assert fail.kind is FailureKind.NETWORK


def test_require_verified_rejects_a_directory_without_nick_auth():
    c, _ = started(mode="require_verified")
    [fail] = c.line_received(MsgType.DN_HANDSHAKE, reply(features=BASE))
    assert fail.kind is FailureKind.REJECTED and "nick-auth required" in fail.reason


# --- nick-auth ------------------------------------------------------------------------------------

def negotiated():
    c, line = started()
    assert c.line_received(MsgType.DN_HANDSHAKE, reply()) == []
    assert c.state is State.AWAIT_CHALLENGE
    return c, line


def test_full_nick_auth_sends_a_valid_proof_then_comes_up_verified():
    c, handshake_line = negotiated()
    challenge_line = build_challenge(CHALLENGE, DIRECTORY_ID)
    [proof] = c.line_received(MsgType.NICK_AUTH_CHALLENGE, challenge_line)
    assert proof.msg_type == MsgType.NICK_AUTH_PROOF
    verify_proof(parse_proof(proof.line), parse_challenge(challenge_line), handshake_line, ME.nick)
    actions = c.line_received(MsgType.NICK_AUTH_RESULT, build_result("ok"))
    assert actions == [Up("J5directory", BASE | {"nick_auth"}, True), Send(MsgType.GETPEERLIST, "")]


@pytest.mark.parametrize("msg_type, line", [
    (MsgType.PING, ""),
    (MsgType.NICK_AUTH_RESULT, build_result("ok")),
    (MsgType.NICK_AUTH_CHALLENGE, json.dumps({"challenge": "zz", "directory-id": "x"})),
    (MsgType.NICK_AUTH_CHALLENGE, build_challenge(CHALLENGE, "other.onion:5222")),
], ids=["ping", "result-first", "malformed", "foreign-id"])
def test_anything_but_our_challenge_is_the_directorys_violation(msg_type, line):
    c, _ = negotiated()
    [fail] = c.line_received(msg_type, line)
    assert fail.kind is FailureKind.REMOTE_VIOLATION and c.state is State.FAILED


@pytest.mark.parametrize("msg_type, line, kind", [
    (MsgType.NICK_AUTH_RESULT, build_result("invalid"), FailureKind.REJECTED),
    (MsgType.NICK_AUTH_RESULT, '{"code":"ok","verified":false}', FailureKind.REMOTE_VIOLATION),
    (MsgType.PING, "", FailureKind.REMOTE_VIOLATION),
], ids=["refused", "contradictory", "out-of-order"])
def test_the_result_decides(msg_type, line, kind):
    c, _ = negotiated()
    c.line_received(MsgType.NICK_AUTH_CHALLENGE, build_challenge(CHALLENGE, DIRECTORY_ID))
    [fail] = c.line_received(msg_type, line)
    assert fail.kind is kind


# --- deadline and final states -------------------------------------------------------------------

@pytest.mark.parametrize("steps", [0, 1, 2])
def test_the_deadline_fails_an_open_handshake_as_a_network_failure(steps):
    c = core()
    if steps:
        c.connected()
    if steps > 1:
        c.line_received(MsgType.DN_HANDSHAKE, reply())
    [fail] = c.deadline_passed(5.0)
    assert fail.kind is FailureKind.NETWORK and "5.0s" in fail.reason


def test_after_up_or_failure_the_core_is_silent():
    c, _ = started(expected_id=None)
    c.line_received(MsgType.DN_HANDSHAKE, reply())
    assert c.deadline_passed(5.0) == [] and c.line_received(MsgType.DN_HANDSHAKE, reply()) == []
    failed, _ = started()
    failed.line_received(MsgType.DN_HANDSHAKE, "{")
    assert failed.deadline_passed(5.0) == [] and failed.line_received(MsgType.PING, "") == []
