"""Base of every supervised child actor.

Why not plain ``pykka.ThreadingActor``: pykka stops *every* actor in the process when a
``BaseException`` (``SystemExit``, ``KeyboardInterrupt``) escapes a handler, and does not
call ``on_failure`` when ``on_start`` raises. This base catches both, classifies the
failure and reports it to the supervisor as a ``ChildExited`` message, so a failure in
our actors never touches the host application's actors and start failures are backed
off like any other failure.

Handlers are registered with :func:`handles`; a message without a handler is counted
and logged, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pykka
from loguru import logger

from actors.core.supervision import classify
from actors.core.messages import ChildExited

SUPERVISOR = "supervisor"


def handles(*message_types: type) -> Callable[[Callable], Callable]:
    def mark(fn: Callable) -> Callable:
        fn._handles = message_types  # type: ignore[attr-defined]
        return fn
    return mark


class ChildActor(pykka.ThreadingActor):
    kind: ClassVar[str] = "child"
    #: Whether this actor owns a connection to a remote. Only then is an escaping
    #: ProtocolError that remote's violation (stop the child); anywhere else it is remote
    #: input we failed to contain — our bug, restarted and counted like any other.
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
        self._exit("normal", "stopped")

    # -- exits ---------------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """End this incarnation because of ``exc`` and let the supervisor decide what follows."""
        kind = classify(exc).value
        if kind == "protocol" and not self.owns_remote:
            kind = "bug"
        if kind == "bug":
            logger.opt(exception=exc).error("{} crashed", self.name)
        else:
            logger.info("{} exits ({}): {}", self.name, kind, exc)
        self._exit(kind, f"{type(exc).__name__}: {exc}")
        self.stop()

    def _exit(self, kind: str, reason: str) -> None:
        if self._exited:
            return
        self._exited = True
        try:
            self.cleanup()
        except Exception:  # noqa: BLE001 - cleanup must not mask the original exit
            logger.exception("{} cleanup failed", self.name)
        if kind != "normal" or not self.ctx.stopping:
            self.ctx.book.tell(SUPERVISOR, ChildExited(self.name, self.generation, kind, reason))
