"""The directory handshake core, pinned to its exact reasons and its close-after-793 rule.

The reasons are what a user reads in ``directory_health`` and the logs, so each failure's
text is fixed here, not only its kind; ``connection_closed`` is the NG way of refusing a
network or protocol-version mismatch (no reply, just a close) and must say so.
"""

import pytest

from actors.core.dirhandshake import (Count, DirectoryHandshakeCore, Fail, HandshakeSettings, Send,
                                      State, Up)
from actors.core.supervision import FailureKind
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType
from protocol.errors import RemoteProtocolError
from protocol.handshake import NOT_SERVING, build_directory_handshake, parse_directory_handshake
from protocol.nickauth import build_challenge, build_result, expected_directory_id, parse_challenge

ME = NickIdentity(bytes(range(1, 33)))
ONION = "b" * 56 + ".onion"
DIRECTORY_ID = expected_directory_id(ONION, 5222)
CHALLENGE = "cd" * 32
BASE = frozenset({"peerlist_features"})


def core(mode="prefer_verified", expected_id=DIRECTORY_ID, network="regtest"):
    return DirectoryHandshakeCore(ME, HandshakeSettings(
        network=network, features=BASE, our_location=NOT_SERVING, nick_auth_mode=mode,
        expected_id=expected_id))


def reply(features=BASE | {"nick_auth"}, accepted=True, motd="hi", network="regtest"):
    return build_directory_handshake("J5dir", network, features, accepted, motd)


def started(**kwargs):
    c = core(**kwargs)
    assert len(c.connected()) == 1 and c.state is State.AWAIT_REPLY
    return c


def negotiated():
    c = started()
    assert c.line_received(MsgType.DN_HANDSHAKE, reply()) == []
    return c


def challenged():
    c = negotiated()
    [proof] = c.line_received(MsgType.NICK_AUTH_CHALLENGE, build_challenge(CHALLENGE, DIRECTORY_ID))
    assert proof.msg_type == MsgType.NICK_AUTH_PROOF and c.state is State.AWAIT_RESULT
    return c


def remote_error(parse, line) -> str:
    with pytest.raises(RemoteProtocolError) as caught:
        parse(line)
    return str(caught.value)


# --- exact reasons ------------------------------------------------------------------------

def test_an_unparsable_reply_fails_with_the_parsers_own_message():
    c = started()
    assert c.line_received(MsgType.DN_HANDSHAKE, "{not json") == [
        Fail(FailureKind.REMOTE_VIOLATION, remote_error(parse_directory_handshake, "{not json"))]


def test_a_refusal_names_the_directorys_reason():
    c = started()
    assert c.line_received(MsgType.DN_HANDSHAKE, reply(accepted=False, motd="go away")) == [
        Fail(FailureKind.REJECTED,
             "rejected our handshake: directory rejected the handshake: motd 'go away'")]


def test_a_still_registered_nick_quotes_the_motd():
    c = started()
    motd = "Nick J5x is already registered"
    assert c.line_received(MsgType.DN_HANDSHAKE, reply(accepted=False, motd=motd)) == [
        Fail(FailureKind.NETWORK, f"our nick is still registered: {motd}")]


def test_the_busy_motd_decides_whichever_check_refused_the_reply():
    c = started()
    [fail] = c.line_received(MsgType.DN_HANDSHAKE,
                             reply(network="testnet", motd="already registered"))
    assert fail.kind is FailureKind.NETWORK  # the motd decides whatever the check refused
    c = started()
    assert c.line_received(MsgType.DN_HANDSHAKE, reply(network="testnet", motd="welcome")) == [
        Fail(FailureKind.REJECTED, "rejected our handshake: directory is on network "
                                   "'testnet', we are on 'regtest'")]


def test_require_verified_without_nick_auth_says_so():
    for settings in ({"mode": "require_verified"},
                     {"mode": "require_verified", "expected_id": None}):
        c = started(**settings)
        features = BASE if "expected_id" not in settings else BASE | {"nick_auth"}
        assert c.line_received(MsgType.DN_HANDSHAKE, reply(features=features)) == [
            Fail(FailureKind.REJECTED, "nick-auth required but the directory does not offer it")]
        assert c.state is State.FAILED


def test_require_verified_with_nick_auth_negotiates():
    c = started(mode="require_verified")
    assert c.line_received(MsgType.DN_HANDSHAKE, reply()) == []
    assert c.state is State.AWAIT_CHALLENGE


def test_prefer_verified_without_nick_auth_comes_up_unverified():
    c = started()
    assert c.line_received(MsgType.DN_HANDSHAKE, reply(features=BASE)) == [
        Up("J5dir", BASE, False), Send(MsgType.GETPEERLIST, "")]


def test_a_wrong_line_instead_of_the_challenge_names_its_type():
    c = negotiated()
    assert c.line_received(MsgType.PING, "") == [
        Fail(FailureKind.REMOTE_VIOLATION, f"expected nick-auth challenge, got {MsgType.PING}")]


def test_a_foreign_directory_id_is_quoted():
    c = negotiated()
    line = build_challenge(CHALLENGE, "other.onion:5222")
    foreign = parse_challenge(line).directory_id
    assert c.line_received(MsgType.NICK_AUTH_CHALLENGE, line) == [
        Fail(FailureKind.REMOTE_VIOLATION, f"nick-auth directory-id {foreign!r} is not ours")]


def test_a_wrong_line_instead_of_the_result_names_its_type():
    c = challenged()
    assert c.line_received(MsgType.NICK_AUTH_CHALLENGE, "{}") == [
        Fail(FailureKind.REMOTE_VIOLATION,
             f"expected nick-auth result, got {MsgType.NICK_AUTH_CHALLENGE}")]


def test_a_failed_result_names_its_code():
    c = challenged()
    assert c.line_received(MsgType.NICK_AUTH_RESULT, build_result("invalid")) == [
        Fail(FailureKind.REJECTED, "nick-auth failed (invalid)")]


def test_the_deadline_reason_names_the_timeout():
    assert core().deadline_passed(2.5) == [
        Fail(FailureKind.NETWORK, "no completed handshake within 2.5s")]


def test_lines_before_connected_are_left_to_the_shell():
    c = core()
    assert c.line_received(MsgType.DN_HANDSHAKE, reply()) == [] and c.state is State.START
    assert not c.done


def test_before_the_reply_every_other_type_is_counted_not_failed():
    c = started()
    for msg_type in (MsgType.PONG, MsgType.NICK_AUTH_CHALLENGE, MsgType.HANDSHAKE):
        assert c.line_received(msg_type, "x") == [Count("directory_ignored_before_handshake")]
    assert c.state is State.AWAIT_REPLY


# --- the directory closing the connection --------------------------------------------------------

def test_a_close_right_after_our_handshake_explains_a_likely_mismatch():
    c = started(network="signet")
    assert c.connection_closed("EOF") == [Fail(FailureKind.NETWORK, (
        "the directory closed the connection right after our handshake (we sent network "
        "'signet', protocol version 5); a network or version mismatch is the likely cause "
        "[EOF]"))]
    assert c.state is State.FAILED and c.done


@pytest.mark.parametrize("reach", ["start", "challenge", "result", "up", "failed"])
def test_any_other_close_is_left_to_the_shell(reach):
    c = {"start": core, "challenge": negotiated, "result": challenged}.get(reach, started)()
    if reach == "up":
        c.line_received(MsgType.DN_HANDSHAKE, reply(features=BASE))
    if reach == "failed":
        c.deadline_passed(1.0)
    before = c.state
    assert c.connection_closed("reset") == []
    assert c.state is before
