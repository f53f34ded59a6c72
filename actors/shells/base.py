"""Base of every supervised child actor.

Why not plain ``pykka.ThreadingActor``: pykka stops *every* actor in the process when a
``BaseException`` (``SystemExit``, ``KeyboardInterrupt``) escapes a handler, and does not
call ``on_failure`` when ``on_start`` raises. This base catches both, classifies the
failure and reports it to the supervisor as a ``ChildExited`` message, so a failure in
our actors never touches the host application's actors and start failures are backed
off like any other failure.

Classification happens here, once, where the exception is caught (:func:`classify`):
the result is a typed :class:`~actors.core.supervision.FailureKind`, and the remote is
blamed only for what it sent (``RemoteProtocolError``) or refused, and only by the actor
that owns its connection. Our own invalid data (``LocalProtocolError``, e.g. a
handshake built from a bad config) is our bug, restarted and counted.

Handlers are registered with :func:`handles`; a message without a handler is counted
and logged, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pykka
from loguru import logger

from actors.core.messages import ChildExited
from actors.core.supervision import FailureKind
from actors.errors import HandshakeRejectedByRemoteError
from actors.shells.names import SUPERVISOR
from protocol.errors import HandshakeRejectedError, RemoteProtocolError

__all__ = ["ChildActor", "classify", "handles"]


def classify(exc: BaseException, owns_remote: bool) -> FailureKind:
    """Whose fault ``exc`` is, for an actor that does (or does not) own a remote's connection.

    Only remote input can blame a remote, and only the actor holding that remote's
    connection can hang up on it; a ``RemoteProtocolError`` escaping any other actor is
    input we failed to contain. ``LocalProtocolError`` (and a bare ``ProtocolError``, which
    names no side) is never the remote's doing.
    """
    if isinstance(exc, (HandshakeRejectedError, HandshakeRejectedByRemoteError)):
        return FailureKind.REJECTED if owns_remote else FailureKind.LOCAL_BUG
    if isinstance(exc, RemoteProtocolError):
        return FailureKind.REMOTE_VIOLATION if owns_remote else FailureKind.LOCAL_BUG
    if isinstance(exc, OSError):  # includes TimeoutError, ConnectionError, TransportError
        return FailureKind.NETWORK
    return FailureKind.LOCAL_BUG


def handles(*message_types: type) -> Callable[[Callable], Callable]:
    def mark(fn: Callable) -> Callable:
        fn._handles = message_types  # type: ignore[attr-defined]
        return fn
    return mark


class ChildActor(pykka.ThreadingActor):
    kind: ClassVar[str] = "child"
    #: Whether this actor owns a connection to a remote. Only then is an escaping
    #: RemoteProtocolError that remote's violation (stop the child); anywhere else it is
    #: remote input we failed to contain — our bug, restarted and counted like any other.
    owns_remote: ClassVar[bool] = False
    _handlers: ClassVar[dict[type, Callable]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type, Callable] = {}
        for klass in reversed(cls.__mro__):
            for attr_name, attr in vars(klass).items():
                for message_type in getattr(attr, "_handles", ()):
                    table[message_type] = getattr(cls, attr_name)  # honours overrides
        cls._handlers = table

    def __init__(self, ctx: Any, name: str, generation: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.name = name
        self.generation = generation
        self._exited = False

    # -- lifecycle hooks for subclasses ------------------------------------------------

    def started(self) -> None:
        """Subclass start-up, run in the actor's thread."""

    def cleanup(self) -> None:
        """Release sockets and timers; called exactly once, on any kind of exit."""

    # -- pykka hooks ------------------------------------------------------------------------

    def on_start(self) -> None:
        try:
            self.started()
        except BaseException as exc:  # noqa: BLE001 - see module docstring
            self.fail(exc)

    def on_receive(self, message: Any) -> Any:
        if self._exited:
            return None
        handler = self._handlers.get(type(message))
        if handler is None:
            self.ctx.stats.inc("unhandled_messages")
            logger.warning("{} has no handler for {}", self.name, type(message).__name__)
            return None
        try:
            return handler(self, message)
        except BaseException as exc:  # noqa: BLE001 - see module docstring
            self.fail(exc)
            return None

    def on_stop(self) -> None:
        self._exit(None, "stopped")

    # -- exits ---------------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """End this incarnation because of ``exc`` and let the supervisor decide what follows."""
        self.fail_with(classify(exc, self.owns_remote), f"{type(exc).__name__}: {exc}", exc)

    def fail_with(self, kind: FailureKind, reason: str, exc: BaseException | None = None) -> None:
        """End this incarnation with an already-decided ``kind`` (e.g. from a pure core)."""
        if kind is FailureKind.LOCAL_BUG:
            logger.opt(exception=exc).error("{} crashed: {}", self.name, reason)
        else:
            logger.info("{} exits ({}): {}", self.name, kind.value, reason)
        self._exit(kind, reason)
        self.stop()

    def _exit(self, kind: FailureKind | None, reason: str) -> None:
        if self._exited:
            return
        self._exited = True
        try:
            self.cleanup()
        except Exception:  # noqa: BLE001 - cleanup must not mask the original exit
            logger.exception("{} cleanup failed", self.name)
        if kind is not None or not self.ctx.stopping:
            self.ctx.book.tell(SUPERVISOR, ChildExited(self.name, self.generation, kind, reason))
