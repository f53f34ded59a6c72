"""What DirectoryActor and PeerActor share: one dialled connection and its lifecycle.

An incarnation of a link actor owns exactly one connection attempt: dial (on the
client's dialer loop), handshake, then traffic until the connection ends. Any ending is
reported to the supervisor, which decides whether a new incarnation dials again (with
backoff) — so reconnection policy lives in one place, not in every actor.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import ClassVar

import pykka
from loguru import logger

from actors.shells.base import ChildActor, handles
from actors.shells.names import INBOX, REGISTRY, ROUTER
from actors.net.connection import LineConnection
from actors.errors import DialTimeoutError, TransportError
from actors.core.messages import (ConnectionLost, Dialled, HandshakeDeadline, LinesIn, Reannounce,
                             SendLine, SendOutcome)
from protocol.envelope import Envelope, MsgType, decode_envelope, encode_envelope
from protocol.errors import ProtocolError, RemoteProtocolError
from protocol.framing import frame

__all__ = [
    "LinkActor", "ProtocolViolation",
]


class ProtocolViolation(RemoteProtocolError):
    """The remote broke the protocol badly enough that we hang up (the supervisor decides
    whether and when to dial again: a directory after a long backoff, a peer not at all)."""


class LinkActor(ChildActor):
    category: ClassVar[str] = ""
    owns_remote = True

    def __init__(self, ctx, name: str, generation: int, host: str, port: int) -> None:
        super().__init__(ctx, name, generation)
        self.host, self.port = host, port
        self.conn: LineConnection | None = None
        self.up = False
        self._dial: Future | None = None
        self._deadline = None
        self._bad_lines = 0
        self._backlog = None
        self._handed = False

    # -- dialling ----------------------------------------------------------------------------

    def started(self) -> None:
        self.ctx.crash_point(self.kind, f"{self.kind}.on_start", self.target)
        timeout = self.ctx.config.connection_timeout
        self._deadline = self.ctx.scheduler.call_later(
            timeout, lambda: self._tell_self(HandshakeDeadline(0)))
        self._dial = self.ctx.dialer.dial(self.host, self.port, self.category, timeout)
        me = self.actor_ref
        dial = self._dial

        def dialled(_: Future) -> None:
            try:
                me.tell(Dialled(1))
            except pykka.ActorDeadError:  # we are gone: nobody else will close it
                if not dial.cancelled() and dial.exception() is None:
                    dial.result().close()
        self._dial.add_done_callback(dialled)

    def _tell_self(self, message) -> None:
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            pass

    @handles(Dialled)
    def on_dialled(self, _: Dialled) -> None:
        transport = self._dial.result()  # raises the typed dial error → fail()
        transport = self.ctx.wrap(transport, self.kind, self.target)
        book = self.ctx.book
        self._backlog = self.ctx.backlogs.open(self.name)
        self.conn = LineConnection(transport, self.actor_ref, 1, self.line_cap, self.name,
                                   limits=self.ctx.config.limits, stats=self.ctx.stats,
                                   downstream=lambda: (book.get(INBOX), book.get(REGISTRY)),
                                   backlog=self._backlog)
        self.ctx.connections[self.name] = self.conn
        self.conn.start()
        self.ctx.record(self.name, f"{self.kind}.dialled")
        self.on_connected()

    @handles(HandshakeDeadline)
    def on_deadline(self, _: HandshakeDeadline) -> None:
        if not self.up:
            raise DialTimeoutError(
                f"{self.name}: no completed handshake within {self.ctx.config.connection_timeout}s")

    # -- traffic ------------------------------------------------------------------------------

    def send_envelope(self, msg_type: int, line: str) -> None:
        self.conn.send(frame(encode_envelope(msg_type, line), self.ctx.config.limits.max_line))

    @handles(SendLine)
    def on_send_line(self, message: SendLine) -> None:
        try:
            self.ctx.crash_point(self.kind, f"{self.kind}.on_send", self.target)
        except BaseException:
            # the Router waits for this outcome: without it the send would never resolve
            self._outcome(message.corr, False, f"{self.name} crashed before writing")
            raise
        if not self.up or self.conn is None:
            self._outcome(message.corr, False, f"{self.name} is not connected")
            return
        try:
            self.conn.send(message.line)
        except OSError as exc:
            self._outcome(message.corr, False, f"{self.name}: write failed: {exc}")
            raise
        self._outcome(message.corr, True)

    def hand_downstream(self, name: str, message) -> None:
        """Tell the Inbox or NickRegistry; the line stays in this connection's backlog
        until that consumer has handled it."""
        self._handed = True
        self.ctx.book.tell(name, message)

    def _outcome(self, corr: int, ok: bool, reason: str = "") -> None:
        if corr:
            self.ctx.book.tell(ROUTER, SendOutcome(corr, self.channel, ok, reason))

    @handles(LinesIn)
    def on_lines(self, message: LinesIn) -> None:
        for raw in message.lines:
            if self._exited:
                return
            self._handed = False
            try:
                self._line(raw)
            finally:
                if not self._handed and self._backlog is not None:
                    self._backlog.settled += 1  # finished here: not waiting anywhere

    def _line(self, raw: bytes) -> None:
        self.ctx.crash_point(self.kind, f"{self.kind}.on_line", self.target)
        try:
            envelope = decode_envelope(raw)
        except ProtocolError as exc:
            self.on_undecodable(raw, exc)
            return
        self._bad_lines = 0
        self.on_envelope(envelope)

    def on_undecodable(self, raw: bytes, exc: ProtocolError) -> None:
        """A line the envelope decoder refused; directories override this (relayed lines)."""
        self._bad_line(exc)

    def _bad_line(self, exc: ProtocolError) -> None:
        self._bad_lines += 1
        self.ctx.stats.inc(f"{self.kind}_bad_lines")
        logger.debug("{}: undecodable line ({})", self.name, exc)
        if self._bad_lines >= self.ctx.config.limits.max_consecutive_bad_lines:
            raise ProtocolViolation(f"{self.name}: {self._bad_lines} undecodable lines in a row")

    @handles(ConnectionLost)
    def on_lost(self, message: ConnectionLost) -> None:
        if message.kind == "protocol":
            self.ctx.stats.inc(f"{self.kind}_oversize_lines")
            raise ProtocolViolation(f"{self.name}: {message.reason}")
        raise TransportError(f"{self.name}: {message.reason}")

    # -- hooks ------------------------------------------------------------------------------------

    @property
    def target(self) -> str:
        """What fault-plan rules match: a directory's ``host:port``, a maker's nick."""
        return self.name

    @property
    def channel(self) -> str:
        raise NotImplementedError

    @property
    def line_cap(self) -> int:
        """The longest line this link accepts (docs/limits.md ``max_line``)."""
        return self.ctx.config.limits.max_line

    def on_connected(self) -> None:
        raise NotImplementedError

    def on_envelope(self, envelope: Envelope) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        if self._dial is not None:
            self._dial.cancel()
        if self.conn is not None:
            self.ctx.connections.pop(self.name, None)
            self.conn.close()
        if self._backlog is not None:
            self.ctx.backlogs.close(self.name, self._backlog)

    @handles(Reannounce)
    def on_reannounce(self, _: Reannounce) -> None:
        if self.up:
            self.announce_up()

    def announce_up(self) -> None:
        raise NotImplementedError

    def answer_ping(self) -> None:
        self.send_envelope(MsgType.PONG, "")
