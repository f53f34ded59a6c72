"""Router actor: which channel carries each privmsg (API.md "Sending", "Direct peer connections").

It owns the routing state — which directories are up, which direct links are
handshaked or being dialled — and publishes it as an immutable
view for the facades. A privmsg is signed once and sent through **exactly one** channel:
the Router tries candidates one at a time and only moves to the next after the previous
one reported a failed write (correlated ``SendOutcome`` messages; no blocking asks).
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future
from types import MappingProxyType

from loguru import logger

from actors.core.dirhealth import UP
from actors.shells.base import ChildActor, handles
from actors.core.routing import (DIRECT, channel_directory, directory_channel, parse_force_channel,
                                 relay_candidates)
from actors.shells.names import SUPERVISOR, directory_name, is_peer_name, peer_name
from actors.errors import AllRoutesFailedError, DirectoryNotConnectedError, NoDirectConnectionError
from actors.core.messages import (AwaitFirstRound, BroadcastPubmsg, DirectoryDown, DirectoryStatus,
                             DirectoryHealthChanged, DirectoryUp, PeerDown, PeerUp, Reannounce,
                             SendLine, SendOutcome, SendPrivmsg, SpawnPeer,
                             TryDirectConnect, ViewsChanged)
from actors.shells.runtime import PeerHandle, RouterView, settle
from actors.net.transport import is_onion_host
from protocol.envelope import MsgType, encode_envelope
from protocol.framing import frame
from protocol.jmmessage import format_pubmsg, normalize_command

__all__ = [
    "Router",
]


class _Pending:
    """One privmsg being routed: the framed line, what is left to try, the caller's future."""

    __slots__ = ("send", "line", "candidates", "failures")

    def __init__(self, send: SendPrivmsg, line: bytes, candidates: list[str]) -> None:
        self.send, self.line, self.candidates, self.failures = send, line, candidates, []


class Router(ChildActor):
    kind = "router"

    def __init__(self, ctx, name: str, generation: int) -> None:
        super().__init__(ctx, name, generation)
        self.up: dict[str, frozenset[str]] = {}  # directory -> features
        self.first_round: list[Future] = []
        self.peers: dict[str, PeerHandle] = {}
        self.connecting: set[str] = set()
        self.attempts: dict[str, Future] = {}
        self.pending: dict[int, _Pending] = {}
        self._corr = itertools.count(1)

    def started(self) -> None:
        self._publish()
        for name in self.ctx.book.names():  # a restarted Router relearns who is up
            if name in self.ctx.config.directories or is_peer_name(name):
                self.ctx.book.tell(name, Reannounce())

    # -- link status ------------------------------------------------------------------------------

    @handles(DirectoryUp)
    def on_directory_up(self, message: DirectoryUp) -> None:
        self.up[message.name] = message.features
        self._publish()
        self.ctx.emit(DirectoryStatus(message.name, True))
        self._check_first_round()

    @handles(DirectoryDown)
    def on_directory_down(self, message: DirectoryDown) -> None:
        was_up = self.up.pop(message.name, None) is not None
        self._publish()
        if was_up:
            self.ctx.emit(DirectoryStatus(message.name, False))
        self._check_first_round()

    @handles(AwaitFirstRound)
    def on_await_first_round(self, message: AwaitFirstRound) -> None:
        self.first_round.append(message.reply)
        self._check_first_round()

    @handles(DirectoryHealthChanged)
    def on_health_changed(self, _: DirectoryHealthChanged) -> None:
        self._check_first_round()

    def _check_first_round(self) -> None:
        """Settled once the health view (actors.core.dirhealth) agrees with us on every
        directory — up, or not up with a failed attempt on record — so a caller who finds
        fewer up than configured can read why in ``directory_status()``."""
        if self.first_round and all(map(self._settled, self.ctx.config.directories)):
            for reply in self.first_round:
                settle(reply, len(self.up))
            self.first_round.clear()

    def _settled(self, directory: str) -> bool:
        health = self.ctx.views.directories.get(directory)
        if health is None:
            return False
        up = directory in self.up
        return up == (health.state == UP) and (up or health.failures > 0)

    @handles(PeerUp)
    def on_peer_up(self, message: PeerUp) -> None:
        self.connecting.discard(message.nick)
        self.peers[message.nick] = PeerHandle(message.nick, message.location, message.features,
                                              message.since)
        self._publish()
        if message.attempt is not None:
            settle(message.attempt, True)

    @handles(PeerDown)
    def on_peer_down(self, message: PeerDown) -> None:
        current = self.attempts.get(message.nick)
        if message.attempt is None or message.attempt is current:  # not a stale incarnation
            self.connecting.discard(message.nick)
            if self.peers.pop(message.nick, None) is not None:
                logger.info("direct link to {} closed: {}", message.nick, message.reason)
            self._publish()
        if message.attempt is not None:
            settle(message.attempt, False)

    # -- direct connections ------------------------------------------------------------------------

    @handles(TryDirectConnect)
    def on_try_direct(self, message: TryDirectConnect) -> None:
        try:
            self._try_direct(message.nick)
        finally:
            if message.applied is not None:
                settle(message.applied, None)

    def _try_direct(self, nick: str) -> None:
        config = self.ctx.config
        if not config.prefer_direct or nick in self.peers or nick in self.connecting:
            return
        location = self.ctx.views.registry.locations.get(nick)
        if not location:
            return
        host = location.rpartition(":")[0]
        if not is_onion_host(host) and not config.socks.allow_clearnet:
            self.ctx.stats.inc("peer_locations_refused")
            logger.info("not dialling {}: non-onion location {} (allow_clearnet is off)", nick, location)
            return
        if len(self.peers) + len(self.connecting) >= config.limits.max_direct_peers:
            self.ctx.stats.inc("direct_peers_capped")
            return
        attempt: Future = Future()
        self.attempts.pop(nick, None)
        self.attempts[nick] = attempt  # re-inserted: the dict stays ordered oldest first
        self._prune_attempts()
        self.connecting.add(nick)
        self._publish()
        self.ctx.book.tell(SUPERVISOR, SpawnPeer(nick, location, attempt))

    def _prune_attempts(self) -> None:
        """Keep the latest attempt per nick, but not for every maker ever dialled."""
        excess = len(self.attempts) - 4 * self.ctx.config.limits.max_direct_peers
        for nick in [n for n, f in self.attempts.items()
                     if f.done() and n not in self.peers and n not in self.connecting][:max(0, excess)]:
            del self.attempts[nick]

    # -- sending ----------------------------------------------------------------------------------

    @handles(SendPrivmsg)
    def on_send(self, message: SendPrivmsg) -> None:
        try:
            self._route(message)
        except BaseException:
            # the caller's future is in no pending entry yet: fail it, or it never resolves
            settle(message.reply, error=AllRoutesFailedError(
                f"!{normalize_command(message.command)} to {message.recipient}: "
                "the router failed while routing it"))
            raise

    def _route(self, message: SendPrivmsg) -> None:
        self.ctx.crash_point("router", "router.on_send", self.name)
        try:
            candidates = self._candidates(message)
        except Exception as exc:  # noqa: BLE001 - the caller gets the typed error
            settle(message.reply, error=exc)
            return
        pending = _Pending(message, message.line, candidates)
        self._next(pending)

    def _candidates(self, message: SendPrivmsg) -> list[str]:
        nick, command = message.recipient, normalize_command(message.command)
        if message.force_channel is not None:
            directory = parse_force_channel(message.force_channel, self.ctx.config.directories)
            if directory is None:
                if nick not in self.peers:
                    raise NoDirectConnectionError(f"!{command} to {nick}: no direct connection")
                return [DIRECT]
            if directory not in self.up:
                raise DirectoryNotConnectedError(
                    f"!{command} to {nick}: directory {directory} is not connected")
            return [directory_channel(directory)]
        if not self.up and nick not in self.peers:
            raise AllRoutesFailedError(f"!{command} to {nick}: no directory is connected")
        registry = self.ctx.views.registry
        connected = [d for d in self.ctx.config.directories if d in self.up]
        relays = [directory_channel(d) for d in relay_candidates(
            connected, registry.present.get(nick, frozenset()), registry.listed.get(nick, frozenset()),
            self.ctx.rng)]
        if self.ctx.config.prefer_direct and nick in self.peers:
            return [DIRECT] + relays
        self._try_direct(nick)
        return relays

    def _next(self, pending: _Pending) -> None:
        send = pending.send
        if not pending.candidates:
            command = normalize_command(send.command)
            error_cls = NoDirectConnectionError if send.force_channel == DIRECT else (
                DirectoryNotConnectedError if send.force_channel else AllRoutesFailedError)
            settle(send.reply, error=error_cls(
                f"!{command} to {send.recipient}: every route failed ({'; '.join(pending.failures)})"))
            self.ctx.stats.inc("privmsg_send_failed")
            return
        channel = pending.candidates.pop(0)
        corr = next(self._corr)
        self.pending[corr] = pending
        target = peer_name(send.recipient) if channel == DIRECT \
            else directory_name(channel_directory(channel))
        if not self.ctx.book.tell(target, SendLine(corr, pending.line)):
            self.pending.pop(corr)
            pending.failures.append(f"{channel}: not reachable")
            self._next(pending)

    @handles(SendOutcome)
    def on_outcome(self, message: SendOutcome) -> None:
        pending = self.pending.pop(message.corr, None)
        if pending is None:
            return
        send = pending.send
        if message.ok:
            self.ctx.stats.inc("privmsg_sent")
            self.ctx.record(self.name, "privmsg.sent",
                            f"{send.recipient} {normalize_command(send.command)} {message.channel}")
            # command, nick and channel only: payloads may be ciphertext or a signed tx
            logger.log("INFO" if send.log_routing else "DEBUG", "!{} to {} via {}",
                       normalize_command(send.command), send.recipient, message.channel)
            settle(send.reply, message.channel)
            return
        pending.failures.append(f"{message.channel}: {message.reason}")
        self._next(pending)

    @handles(BroadcastPubmsg)
    def on_broadcast(self, message: BroadcastPubmsg) -> None:
        line = frame(encode_envelope(MsgType.PUBMSG, format_pubmsg(self.ctx.identity.nick, message.body)))
        for directory in list(self.up):
            self.ctx.book.tell(directory, SendLine(0, line))

    def _publish(self) -> None:
        self.ctx.views.router = RouterView(
            directories_up=tuple(d for d in self.ctx.config.directories if d in self.up),
            directory_features=MappingProxyType(dict(self.up)),
            peers=MappingProxyType(dict(self.peers)),
            attempts=MappingProxyType(dict(self.attempts)),
            connecting=frozenset(self.connecting))
        self.ctx.emit(ViewsChanged())

    def cleanup(self) -> None:
        for pending in self.pending.values():
            settle(pending.send.reply, error=AllRoutesFailedError("router stopped"))
        for reply in self.first_round:
            settle(reply, len(self.up))
        for attempt in self.attempts.values():  # attempts still in flight end with us
            settle(attempt, False)
