"""DirectoryActor: one connection to one directory server (PROTOCOL.md §2, §3, §6, §9).

Handshake (with JMP-0005 nick-auth when both sides support it), GETPEERLIST only to
directories that advertise ``peerlist_features`` (P4), PING→PONG, and fan-in of every
line as messages: peerlists to the NickRegistry, PRIVMSGs and PUBMSGs to the Inbox.
The actor is the only writer of its socket.

A relay is not the author (ARCHITECTURE.md 9.2): a relayed line whose content we cannot
use (over the JM-layer ``max_line``, or inside a good frame but undecodable, such as a
lone surrogate escape) is dropped and counted; only the directory's own frames —
handshake, framing, lines over ``max_directory_line`` — can end the connection, and the
supervisor then dials again after the violation backoff.
"""

from __future__ import annotations

from loguru import logger

from actors.shells.base import handles
from actors.core.dirhandshake import (Count, DirectoryHandshakeCore, Fail, HandshakeSettings, Send,
                                      Up)
from actors.core.routing import directory_channel
from actors.shells.link import LinkActor, ProtocolViolation
from actors.shells.names import INBOX, REGISTRY, ROUTER, SUPERVISOR
from actors.core.messages import (ChildStarted, ConnectionLost, DirectoryDown, DirectoryUp,
                                  HandshakeDeadline, PeerlistReceived, PrivmsgReceived, PubmsgReceived,
                                  RoutableGraceElapsed)
from actors.net.transport import CATEGORY_DIRECTORY
from protocol import nickauth
from protocol.envelope import Envelope, MsgType
from protocol.errors import ProtocolError
from protocol.jmmessage import PUBLIC, parse_jm_line, parse_privmsg
from protocol.peerlist import parse_peerlist_lenient
from protocol.relayed import RELAYED_TYPES, relayed_line_type

__all__ = ["DirectoryActor"]

NICK_AUTH_CONTROL = {MsgType.NICK_AUTH_CHALLENGE, MsgType.NICK_AUTH_PROOF, MsgType.NICK_AUTH_RESULT}


class DirectoryActor(LinkActor):
    kind = "directory"
    category = CATEGORY_DIRECTORY

    def __init__(self, ctx, name: str, generation: int) -> None:
        host, _, port = name.rpartition(":")
        super().__init__(ctx, name, generation, host, int(port))
        config = ctx.config
        pinned = dict(config.nick_auth_directory_ids).get(name)  # API.md: the taker's pin wins
        self._handshake = DirectoryHandshakeCore(ctx.identity, HandshakeSettings(
            network=config.network, features=config.features, our_location=config.our_location,
            nick_auth_mode=config.nick_auth_mode,
            expected_id=pinned or nickauth.expected_directory_id(self.host, self.port)))
        self.features: frozenset[str] = frozenset()
        self.directory_nick = ""
        self.routable = False
        self._grace = None

    @property
    def channel(self) -> str:
        return directory_channel(self.name)

    @property
    def line_cap(self) -> int:
        """Relayed lines arrive re-encoded by the directory, up to ~3x what the author sent
        (docs/limits.md ``max_directory_line``); the JM-layer cap is applied per line."""
        return self.ctx.config.limits.max_directory_line

    def on_undecodable(self, raw: bytes, exc: ProtocolError) -> None:
        """A relayed line with content we cannot decode costs that line, not the directory."""
        if self.up and relayed_line_type(raw) is not None:
            self._bad_lines = 0  # the directory framed it correctly
            self._drop_relayed(f"undecodable relayed line ({exc})")
            return
        super().on_undecodable(raw, exc)

    def _drop_relayed(self, why: str) -> None:
        self.ctx.stats.inc("relayed_lines_dropped")
        logger.debug("{}: dropped {}", self.name, why)

    def on_connected(self) -> None:
        self._perform(self._handshake.connected())

    def on_deadline(self, _: HandshakeDeadline) -> None:
        self._perform(self._handshake.deadline_passed(self.ctx.config.connection_timeout))

    def on_envelope(self, envelope: Envelope) -> None:
        if not self.up:
            self._perform(self._handshake.line_received(envelope.type, envelope.line))
            return
        msg_type, line = envelope.type, envelope.line
        if msg_type in RELAYED_TYPES and len(line) > self.ctx.config.limits.max_line:
            self._drop_relayed(f"relayed line of {len(line)} characters (JM-layer cap "
                               f"{self.ctx.config.limits.max_line})")
            return
        if msg_type == MsgType.PRIVMSG:
            self._privmsg(line)
        elif msg_type == MsgType.PUBMSG:
            self._pubmsg(line)
        elif msg_type == MsgType.PEERLIST:
            entries, errors = parse_peerlist_lenient(line)
            if errors:
                self.ctx.stats.inc("peerlist_bad_entries", len(errors))
            if entries:
                self.hand_downstream(REGISTRY, PeerlistReceived(self.name, entries))
        elif msg_type == MsgType.PING:
            self.answer_ping()
        elif msg_type == MsgType.DN_HANDSHAKE or msg_type in NICK_AUTH_CONTROL:
            raise ProtocolViolation(f"{self.name}: unexpected control message {msg_type} after handshake")
        else:
            self.ctx.stats.inc("directory_ignored_types")

    # -- handshake: the decisions are DirectoryHandshakeCore's, this only carries them out --

    @handles(ConnectionLost)
    def on_lost(self, message: ConnectionLost) -> None:
        """A close during the handshake may be a refusal in disguise (see the core)."""
        if message.kind == "network" and not self.up:
            actions = self._handshake.connection_closed(message.reason)
            if actions:
                self._perform(actions)
                return
        super().on_lost(message)

    def _perform(self, actions) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.send_envelope(action.msg_type, action.line)
            elif isinstance(action, Count):
                self.ctx.stats.inc(action.counter)
            elif isinstance(action, Up):
                self.features, self.directory_nick = action.features, action.directory_nick
                self._become_up()
            elif isinstance(action, Fail):
                self.fail_with(action.kind, f"{self.name}: {action.reason}")
                return

    def _become_up(self) -> None:
        """Handshaked: offer ourselves as a route after the grace (P20)."""
        self.up = True
        if self._deadline is not None:
            self._deadline.cancel()
        self._grace = self.ctx.scheduler.call_later(
            self.ctx.config.routable_grace, lambda: self._tell_self(RoutableGraceElapsed()))

    @handles(RoutableGraceElapsed)
    def on_grace(self, _: RoutableGraceElapsed) -> None:
        self.routable = True
        self.ctx.record(self.name, "directory.up")
        self.announce_up()
        self.ctx.book.tell(REGISTRY, DirectoryUp(self.name, self.generation, self.directory_nick,
                                                 self.features))  # its entries do not expire
        self.ctx.book.tell(SUPERVISOR, ChildStarted(self.name, self.generation))

    def announce_up(self) -> None:
        if not self.routable:
            return  # a Reannounce during the grace period: on_grace will announce
        self.ctx.book.tell(ROUTER, DirectoryUp(self.name, self.generation, self.directory_nick,
                                              self.features))

    # -- traffic ------------------------------------------------------------------------------------

    def _privmsg(self, line: str) -> None:
        try:
            msg = parse_privmsg(line)
        except ProtocolError:
            self.ctx.stats.inc("privmsg_malformed")
            return
        if msg.to_nick != self.ctx.identity.nick:
            self.ctx.stats.inc("privmsg_not_for_us")
            return
        self.hand_downstream(INBOX, PrivmsgReceived(self.channel, msg))

    def _pubmsg(self, line: str) -> None:
        try:
            jm = parse_jm_line(line)
        except ProtocolError:
            self.ctx.stats.inc("pubmsg_malformed")
            return
        if jm.to_nick != PUBLIC:
            self.ctx.stats.inc("pubmsg_not_public")
            return
        if jm.from_nick == self.ctx.identity.nick:
            return  # our own broadcast echoed back
        self.hand_downstream(INBOX, PubmsgReceived(self.channel, jm.from_nick, jm.body))

    def cleanup(self) -> None:
        super().cleanup()
        if self._grace is not None:
            self._grace.cancel()
        if not self.ctx.stopping:
            down = DirectoryDown(self.name, self.generation, "closed")
            self.ctx.book.tell(ROUTER, down)
            self.ctx.book.tell(REGISTRY, down)  # starts the lost_directory_ttl clock
