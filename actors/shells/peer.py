"""PeerActor: one direct connection to a maker's onion (PROTOCOL.md §8).

We send our 793 as soon as the stream is up and accept the maker's 793 in either order
(REF makers send theirs on accept, NG makers after ours). The link counts as handshaked
when a valid 793 arrives, or — like NG takers — after ``peer_handshake_wait`` seconds of
silence (a legacy one-way peer); an invalid 793 or EOF is a failure.

A handshaked link is not yet a route: the 793 is an unsigned claim. We then ask the
maker to sign something (``!orderbook`` on the link) and announce the link to the
Router (``PeerUp``) only once a privmsg signed with the maker's key has arrived over it
(actors/core/linkproof.py). A link that has not proved itself by ``connection_timeout``
is closed and counted (``peer_links_unproven``); relays carry the traffic meanwhile.
Privmsgs received here go to the Inbox like relayed ones, tagged with the ``direct``
channel.
"""

from __future__ import annotations

from concurrent.futures import Future

from actors.core.routing import DIRECT
from actors.core.linkproof import PROOF_REQUEST, proves_link
from actors.errors import DialTimeoutError, HandshakeRejectedByRemoteError
from actors.shells.link import LinkActor
from actors.shells.names import INBOX, ROUTER, SUPERVISOR
from actors.core.messages import ChildStarted, HandshakeDeadline, PeerDown, PeerUp, PrivmsgReceived, PubmsgReceived
from actors.net.transport import CATEGORY_PEER
from protocol.envelope import Envelope, MsgType
from protocol.errors import HandshakeRejectedError, ProtocolError
from protocol.handshake import build_peer_handshake, check_peer_handshake, parse_peer_handshake
from protocol.jmmessage import PUBLIC, format_pubmsg, parse_jm_line, parse_privmsg

__all__ = [
    "QUIET_HANDSHAKE", "PeerActor",
]

QUIET_HANDSHAKE = 1  # HandshakeDeadline.conn value for the "silent peer" timer
PROOF_AGAIN = 2  # HandshakeDeadline.conn value for "ask for the proof again"
#: NG makers answer ``!orderbook`` at most once per 10 s per taker nick (PROTOCOL.md §10),
#: so an unanswered proof request is repeated just after that window, until the deadline.
PROOF_RETRY_SECONDS = 11.0


class UnprovenPeerError(DialTimeoutError):
    """The link handshaked but never proved it is the maker it claims to be."""


class PeerActor(LinkActor):
    kind = "peer"
    category = CATEGORY_PEER

    def __init__(self, ctx, name: str, generation: int, nick: str, location: str,
                 attempt: Future) -> None:
        host, _, port = location.rpartition(":")
        super().__init__(ctx, name, generation, host, int(port))
        self.nick, self.location, self.attempt = nick, location, attempt
        self.features: frozenset[str] = frozenset()
        self._quiet_timer = None
        self._since = 0.0
        self.handshaked = False  # a 793 (or the quiet period); ``up`` means proven
        self._proof_timer = None

    @property
    def channel(self) -> str:
        return DIRECT

    @property
    def target(self) -> str:
        return self.nick

    def on_connected(self) -> None:
        config = self.ctx.config
        self.send_envelope(MsgType.HANDSHAKE, build_peer_handshake(
            self.ctx.identity.nick, config.network, config.features, config.our_location))
        self._quiet_timer = self.ctx.scheduler.call_later(
            config.peer_handshake_wait, lambda: self._tell_self(HandshakeDeadline(QUIET_HANDSHAKE)))

    def on_deadline(self, message: HandshakeDeadline) -> None:
        if message.conn == PROOF_AGAIN:
            if not self.up:
                self._request_proof()
            return
        if message.conn == QUIET_HANDSHAKE:
            if not self.handshaked:
                self._handshaked()
            return
        if self.handshaked and not self.up:
            self.ctx.stats.inc("peer_links_unproven")
            raise UnprovenPeerError(f"{self.name}: the link at {self.location} never proved it is "
                                    f"{self.nick} (no signed message within "
                                    f"{self.ctx.config.connection_timeout}s)")
        super().on_deadline(message)

    def on_envelope(self, envelope: Envelope) -> None:
        if envelope.type == MsgType.HANDSHAKE:
            if not self.handshaked:
                self._check_handshake(envelope.line)
                self._handshaked()
            return  # later 793s are ignored (PROTOCOL.md 8.2)
        if envelope.type == MsgType.PRIVMSG:
            try:
                msg = parse_privmsg(envelope.line)
            except ProtocolError:
                self.ctx.stats.inc("privmsg_malformed")
                return
            if msg.to_nick == self.ctx.identity.nick and msg.from_nick == self.nick:
                if not self.up and self.handshaked and proves_link(msg, self.nick,
                                                                   self.ctx.identity.nick):
                    self._become_up()
                self.hand_downstream(INBOX, PrivmsgReceived(DIRECT, msg))
            else:
                self.ctx.stats.inc("direct_privmsg_wrong_nicks")
        elif envelope.type == MsgType.PUBMSG:
            try:
                jm = parse_jm_line(envelope.line)
            except ProtocolError:
                self.ctx.stats.inc("pubmsg_malformed")
                return
            if jm.to_nick == PUBLIC and jm.from_nick == self.nick:
                self.hand_downstream(INBOX, PubmsgReceived(DIRECT, jm.from_nick, jm.body))
            else:
                self.ctx.stats.inc("direct_pubmsg_wrong_nicks")
        elif envelope.type == MsgType.PING:
            self.answer_ping()
        else:
            self.ctx.stats.inc("peer_ignored_types")

    def _check_handshake(self, line: str) -> None:
        handshake = parse_peer_handshake(line)
        try:
            check_peer_handshake(handshake, self.ctx.config.network)
        except HandshakeRejectedError as exc:
            raise HandshakeRejectedByRemoteError(f"maker {self.nick}: {exc}") from exc
        if handshake.nick != self.nick:
            raise HandshakeRejectedByRemoteError(
                f"maker at {self.location} handshakes as {handshake.nick}, expected {self.nick}")
        self.features = handshake.features

    def _handshaked(self) -> None:
        """The 793 part is done: ask the maker to sign something over this link."""
        self.handshaked = True
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
        self._request_proof()

    def _request_proof(self) -> None:
        self.send_envelope(MsgType.PUBMSG, format_pubmsg(self.ctx.identity.nick, PROOF_REQUEST))
        self._proof_timer = self.ctx.scheduler.call_later(
            PROOF_RETRY_SECONDS, lambda: self._tell_self(HandshakeDeadline(PROOF_AGAIN)))

    def _become_up(self) -> None:
        """Proven: a message signed with the maker's key arrived over this link."""
        self.up = True
        for timer in (self._deadline, self._quiet_timer, self._proof_timer):
            if timer is not None:
                timer.cancel()
        self.ctx.record(self.name, "peer.up")
        self._since = self.ctx.clock.now()
        self.announce_up()
        self.ctx.book.tell(SUPERVISOR, ChildStarted(self.name, self.generation))

    def announce_up(self) -> None:
        self.ctx.book.tell(ROUTER, PeerUp(self.nick, self.generation, self.location, self.features,
                                          self._since, self.attempt))

    def cleanup(self) -> None:
        super().cleanup()
        for timer in (self._quiet_timer, self._proof_timer):
            if timer is not None:
                timer.cancel()
        # The Router resolves the attempt after updating its view, so whoever sees it
        # resolve (and retries, or reads get_connected_peer) sees the new state.
        self.ctx.book.tell(ROUTER, PeerDown(self.nick, self.generation, "closed", self.attempt))
