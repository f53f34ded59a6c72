"""The directory handshake (PROTOCOL.md §2) with JMP-0005 nick-auth (§9.3), as a pure core.

DirectoryActor feeds it events — the connection came up, a line arrived, the handshake
deadline passed — and carries out the actions it returns: send a line, count an ignored
line, go up, or fail with a typed :class:`FailureKind` that says whose fault it was.
No sockets, timers or actors here, so every branch is a unit test (tests/core).

States: ``START`` → ``AWAIT_REPLY`` (our 793 sent, waiting for DN_HANDSHAKE; PINGs are
answered, anything else is counted and ignored) → when both sides offer ``nick_auth``,
``AWAIT_CHALLENGE`` → ``AWAIT_RESULT``; then ``UP`` or ``FAILED``, both final.

Blame: a line the directory sent that does not parse, or arrives out of order, is its
violation; ``accepted: false``, a mismatch (network, app, version) or a failed nick-auth is
a rejection; "nick already registered" is our previous connection still held by the
directory, a network-class failure that a later attempt outlives; a handshake we cannot
build from our own config is our bug (``LOCAL_BUG``), never the directory's.
"""

from __future__ import annotations

import enum

import msgspec

from actors.core.supervision import FailureKind
from protocol import nickauth
from protocol.identity import SigningIdentity
from protocol.envelope import MsgType
from protocol.errors import HandshakeRejectedError, LocalProtocolError, RemoteProtocolError
from protocol.handshake import (PROTO_VER, DirectoryHandshake, build_peer_handshake, check_directory_reply,
                                parse_directory_handshake)

__all__ = [
    "NICK_AUTH_MODES", "Action", "Count", "DirectoryHandshakeCore", "Fail", "HandshakeSettings",
    "Send", "State", "Up",
]

NICK_AUTH_MODES = ("disabled", "prefer_verified", "require_verified")
#: Directories answer a nick that is still registered (our previous connection) like this.
_BUSY_MOTD = "already registered"


class State(enum.Enum):
    START = "start"
    AWAIT_REPLY = "await-reply"
    AWAIT_CHALLENGE = "await-challenge"
    AWAIT_RESULT = "await-result"
    UP = "up"
    FAILED = "failed"


class Send(msgspec.Struct, frozen=True):
    """Write one envelope to the directory."""

    msg_type: int
    line: str


class Count(msgspec.Struct, frozen=True):
    """A line was ignored on purpose: bump this counter (never a silent drop)."""

    counter: str


class Up(msgspec.Struct, frozen=True):
    """Handshaked (and nick-authenticated if negotiated): the directory is usable."""

    directory_nick: str
    features: frozenset[str]
    nick_verified: bool


class Fail(msgspec.Struct, frozen=True):
    """End this connection; ``kind`` says whose fault it is."""

    kind: FailureKind
    reason: str


Action = Send | Count | Up | Fail


class HandshakeSettings(msgspec.Struct, frozen=True):
    """What the handshake needs from our config (validated there) and the endpoint."""

    network: str
    features: frozenset[str]
    our_location: str
    nick_auth_mode: str
    #: The JMP-0005 directory-id derived from the dialled onion endpoint, or None.
    expected_id: str | None


class DirectoryHandshakeCore:
    """One handshake attempt on one connection; see the module docstring."""

    def __init__(self, identity: SigningIdentity, settings: HandshakeSettings) -> None:
        self._identity = identity
        self._settings = settings
        self._state = State.START
        self._handshake_line = ""
        self._reply: DirectoryHandshake | None = None

    @property
    def state(self) -> State:
        return self._state

    @property
    def done(self) -> bool:
        return self._state in (State.UP, State.FAILED)

    @property
    def _offers_nick_auth(self) -> bool:
        settings = self._settings
        return settings.expected_id is not None and settings.nick_auth_mode != "disabled"

    # -- events -----------------------------------------------------------------------------

    def connected(self) -> list[Action]:
        """The stream is up: send our HANDSHAKE (793)."""
        if self._state is not State.START:
            return []
        features = set(self._settings.features)
        if self._offers_nick_auth:
            features.add("nick_auth")
        try:
            self._handshake_line = build_peer_handshake(
                self._identity.nick, self._settings.network, features, self._settings.our_location)
        except LocalProtocolError as exc:
            return self._fail(FailureKind.LOCAL_BUG, f"cannot build our handshake: {exc}")
        self._state = State.AWAIT_REPLY
        return [Send(MsgType.HANDSHAKE, self._handshake_line)]

    def line_received(self, msg_type: int, line: str) -> list[Action]:
        """A decoded envelope arrived before the handshake finished."""
        try:
            if self._state is State.AWAIT_REPLY:
                return self._on_reply(msg_type, line)
            if self._state is State.AWAIT_CHALLENGE:
                return self._on_challenge(msg_type, line)
            if self._state is State.AWAIT_RESULT:
                return self._on_result(msg_type, line)
        except RemoteProtocolError as exc:
            return self._fail(FailureKind.REMOTE_VIOLATION, str(exc))
        return []  # START (nothing sent yet) or a final state: the shell handles traffic

    def deadline_passed(self, timeout: float) -> list[Action]:
        """``connection_timeout`` elapsed: a handshake still open is a network failure."""
        if self.done:
            return []
        return self._fail(FailureKind.NETWORK, f"no completed handshake within {timeout}s")

    def connection_closed(self, reason: str) -> list[Action]:
        """The remote closed the stream. Right after our handshake, with no reply, that is
        how an NG directory refuses a network or protocol-version mismatch: say what we
        sent. Any other close is left to the shell's ordinary network handling."""
        if self._state is not State.AWAIT_REPLY:
            return []
        return self._fail(FailureKind.NETWORK, (
            f"the directory closed the connection right after our handshake (we sent network "
            f"{self._settings.network!r}, protocol version {PROTO_VER}); a network or version "
            f"mismatch is the likely cause [{reason}]"))

    # -- states -------------------------------------------------------------------------------

    def _on_reply(self, msg_type: int, line: str) -> list[Action]:
        if msg_type == MsgType.PING:
            return [Send(MsgType.PONG, "")]
        if msg_type != MsgType.DN_HANDSHAKE:
            return [Count("directory_ignored_before_handshake")]
        reply = parse_directory_handshake(line)
        try:
            check_directory_reply(reply, self._settings.network)
        except HandshakeRejectedError as exc:
            if _BUSY_MOTD in reply.motd:
                return self._fail(FailureKind.NETWORK,
                                  f"our nick is still registered: {reply.motd}")
            return self._fail(FailureKind.REJECTED, f"rejected our handshake: {exc}")
        self._reply = reply
        negotiated = "nick_auth" in reply.features and self._offers_nick_auth
        if self._settings.nick_auth_mode == "require_verified" and not negotiated:
            return self._fail(FailureKind.REJECTED,
                              "nick-auth required but the directory does not offer it")
        if negotiated:
            self._state = State.AWAIT_CHALLENGE
            return []
        return self._up(verified=False)

    def _on_challenge(self, msg_type: int, line: str) -> list[Action]:
        if msg_type != MsgType.NICK_AUTH_CHALLENGE:
            return self._fail(FailureKind.REMOTE_VIOLATION,
                              f"expected nick-auth challenge, got {msg_type}")
        challenge = nickauth.parse_challenge(line)
        if challenge.directory_id != self._settings.expected_id:
            return self._fail(FailureKind.REMOTE_VIOLATION,
                              f"nick-auth directory-id {challenge.directory_id!r} is not ours")
        self._state = State.AWAIT_RESULT
        return [Send(MsgType.NICK_AUTH_PROOF,
                     nickauth.build_proof(self._identity, challenge, self._handshake_line))]

    def _on_result(self, msg_type: int, line: str) -> list[Action]:
        if msg_type != MsgType.NICK_AUTH_RESULT:
            return self._fail(FailureKind.REMOTE_VIOLATION,
                              f"expected nick-auth result, got {msg_type}")
        result = nickauth.parse_result(line)
        if not result.verified:
            return self._fail(FailureKind.REJECTED, f"nick-auth failed ({result.code})")
        return self._up(verified=True)

    def _up(self, verified: bool) -> list[Action]:
        """Up; GETPEERLIST only to directories that advertise ``peerlist_features`` (P4)."""
        self._state = State.UP
        reply = self._reply
        assert reply is not None  # only reached after a DN_HANDSHAKE was accepted
        actions: list[Action] = [Up(reply.nick, reply.features, verified)]
        if "peerlist_features" in reply.features:
            actions.append(Send(MsgType.GETPEERLIST, ""))
        return actions

    def _fail(self, kind: FailureKind, reason: str) -> list[Action]:
        self._state = State.FAILED
        return [Fail(kind, reason)]
