"""Every message that travels between actors, as a frozen msgspec Struct.

Fields hold only immutable data (str, int, float, bool, bytes, tuple, frozenset, frozen
Structs) plus two *reference* types that are deliberately not data: a
``concurrent.futures.Future`` used as a reply channel (a write-once promise, the
equivalent of Akka's ``replyTo``), and nothing else. ``tests/core/test_messages.py``
walks this module and fails on any other field type.

Naming: commands are imperative (``SendPrivmsg``), events are past tense
(``DirectoryUp``), replies end in ``Outcome``.
"""

from __future__ import annotations

from concurrent.futures import Future

import msgspec

from actors.core.supervision import FailureKind
from protocol.jmmessage import PrivMsg
from protocol.peerlist import PeerlistEntry

__all__ = [
    "AwaitFirstRound", "BroadcastPubmsg", "ChildExited", "ChildStarted", "ConnectionLost",
    "Dialled", "DirectoryDown", "DirectoryStatus", "DirectoryUp", "Escalated",
    "FetchTick", "HandshakeDeadline", "LinesIn", "Message", "NickLeft", "NickSeen", "PeerDown",
    "PeerUp", "PeerlistReceived", "PrivmsgReceived", "PublishView", "PubmsgReceived",
    "Reannounce", "RegisterWait", "RestartChild", "RoutableGraceElapsed",
    "SendLine", "SendOutcome", "SendPrivmsg", "Shutdown", "SpawnPeer", "StartOrderbookFetch",
    "SyncNicks", "TryDirectConnect", "ViewsChanged", "WaitExpired",
]


class Message(msgspec.Struct, frozen=True):
    """Base of all actor messages."""


# --- connection actors (DirectoryActor, PeerActor) -------------------------------------

class Dialled(Message):
    """The connector thread finished the SOCKS dial; the transport is held by the actor."""

    attempt: int


class LinesIn(Message):
    """Complete lines read by the connection's reader thread, in order."""

    conn: int
    lines: tuple[bytes, ...]


class ConnectionLost(Message):
    conn: int
    kind: str
    reason: str


class HandshakeDeadline(Message):
    conn: int


class RoutableGraceElapsed(Message):
    """The directory has had time to make us routable: announce it as a route now."""


class SendLine(Message):
    """Write one already-framed envelope; report the outcome to the Router if ``corr`` > 0."""

    corr: int
    line: bytes


class Reannounce(Message):
    """Sent by a restarted Router: report your status again (DirectoryUp / PeerUp)."""


# --- connection actors -> Router ---------------------------------------------------------

class DirectoryUp(Message):
    name: str
    generation: int
    directory_nick: str
    features: frozenset[str]


class DirectoryDown(Message):
    name: str
    generation: int
    reason: str


class PeerUp(Message):
    """A direct link is proven (linkproof.py); the Router resolves ``attempt`` after publishing."""

    nick: str
    generation: int
    location: str
    features: frozenset[str]
    since: float
    attempt: Future | None = None


class PeerDown(Message):
    nick: str
    generation: int
    reason: str
    attempt: Future | None = None


class SendOutcome(Message):
    corr: int
    channel: str
    ok: bool
    reason: str = ""


# --- facade -> Router ----------------------------------------------------------------------

class SendPrivmsg(Message):
    """Route one privmsg; ``line`` is already signed and framed by the caller's thread."""

    recipient: str
    command: str
    line: bytes
    force_channel: str | None
    log_routing: bool
    reply: Future


class BroadcastPubmsg(Message):
    body: str


class TryDirectConnect(Message):
    """Start a direct connection; ``applied`` resolves once the Router published the
    outcome, so the caller's next read sees the attempt (API.md point 15)."""

    nick: str
    applied: Future | None = None


class AwaitFirstRound(Message):
    """Resolve ``reply`` with the number of connected directories once each has tried once."""

    reply: Future


# --- NickRegistry ----------------------------------------------------------------------------

class PeerlistReceived(Message):
    directory: str
    entries: tuple[PeerlistEntry, ...]


class NickSeen(Message):
    nick: str
    directory: str


class PublishView(Message):
    """The NickRegistry's reminder to itself to publish a view it deferred under load."""


class SyncNicks(Message):
    directory: str
    nicks: frozenset[str]
    applied: Future | None = None


class NickLeft(Message):
    """Event for the facade: fire ``on_nick_leave(nick)``."""

    nick: str


class ViewsChanged(Message):
    """Event: the Router or NickRegistry published a new view (the daemon pushes it on)."""


class DirectoryStatus(Message):
    """Event for the facade and metrics: a directory became usable or stopped being so."""

    name: str
    up: bool


class DirectoryHealthChanged(Message):
    """Supervisor -> Router: ``views.directories`` changed; a waiting connect_all may settle."""

    name: str


# --- Inbox (replies and orderbook) -------------------------------------------------------------

class PrivmsgReceived(Message):
    """A PRIVMSG addressed to us, parsed but not yet verified (the Inbox verifies once)."""

    channel: str
    msg: PrivMsg


class PubmsgReceived(Message):
    channel: str
    from_nick: str
    body: str


class RegisterWait(Message):
    wait_id: int
    nicks: tuple[str, ...]
    command: str
    counts: tuple[tuple[str, int], ...]
    timeout: float
    reply: Future


class WaitExpired(Message):
    wait_id: int


class StartOrderbookFetch(Message):
    fetch_id: int
    max_wait: float
    min_wait: float
    quiet_period: float
    reply: Future


class FetchTick(Message):
    fetch_id: int


# --- Supervisor -------------------------------------------------------------------------------------

class ChildExited(Message):
    """A child's lifetime ended; ``kind`` is None for a normal stop, else why it failed.

    The child's shell classified the failure once, where it caught it; the supervisor
    decides on the typed kind and never re-derives it from ``reason`` (which is for logs).
    """

    name: str
    generation: int
    kind: FailureKind | None
    reason: str


class ChildStarted(Message):
    """The child is up (handshaked): the supervisor starts its stable-period clock."""

    name: str
    generation: int


class Escalated(Message):
    """Event for the facade: the supervisor gave up (restart intensity exceeded)."""

    reason: str


class Shutdown(Message):
    """Stop every child in order within ``deadline`` seconds (asked by the facade)."""

    deadline: float


class RestartChild(Message):
    name: str
    generation: int


class SpawnPeer(Message):
    nick: str
    location: str
    attempt: Future


class DirectoryExpired(Message):
    """Scheduler → NickRegistry: ``name`` has been down for ``lost_directory_ttl``; forget
    what it told us unless it came back since (``token`` names the outage)."""

    name: str
    token: int
