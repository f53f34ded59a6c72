"""A JoinMarket maker bot on loopback, in NG or REF style (PROTOCOL.md 5-8, 11.18-19).

A :class:`Maker` dials its directories over plain loopback TCP (makers need no SOCKS
here), handshakes as a serving peer with its onion location, announces its offers,
answers ``!orderbook`` and runs the encrypted taker sequence. Optionally it listens for
direct peer connections, which :class:`localnet.network.LocalNet` maps from its onion
name through the SOCKS gateway, so takers reach it exactly as they would over Tor.

Every maker runs on the one shared :class:`localnet.loop.LocalLoop`, so hundreds of
makers cost one thread. What a maker says lives in :mod:`localnet.maker_session`; this
module decides where it goes, which is where the two styles differ:

* NG: offers and session replies go through EVERY connected directory (never direct,
  except offers requested over a direct link); ``!orderbook`` is answered at most once
  per ``orderbook_interval`` per taker nick and path (relayed / direct); the direct
  listener answers a peer's 793 with its own only after validating it (and drops the
  connection silently on a mismatch, e.g. another network).
* REF: replies go direct when the taker has a handshaked direct link to us, else through
  the directory the request arrived on (else one where we last saw the taker); every
  ``!orderbook`` copy is answered; the direct listener sends its 793 at once on accept.

Both bind a direct socket to the first verified sender nick and drop other nicks on it.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from localnet.loop import LocalLoop
from localnet.onion import random_onion_host
from localnet.maker_session import DEFAULT_OFFERS, MakerLogic, Reply
from protocol.crypto import NickIdentity, parse_and_verify_privmsg
from protocol.envelope import Envelope, MsgType, decode_envelope, encode_envelope
from protocol.errors import HandshakeError, ProtocolError
from protocol.framing import LineBuffer, frame
from protocol.handshake import (NETWORKS, build_peer_handshake, check_directory_reply,
                                check_peer_handshake, parse_directory_handshake,
                                parse_peer_handshake)
from protocol.jmmessage import PUBLIC, format_pubmsg, parse_jm_line, split_commands
from protocol.offers import OfferSegment

ONION_PORT = 5222
STYLE_FEATURES = {"ng": frozenset({"neutrino_compat", "peerlist_features", "ping"}),
                  "ref": frozenset()}
#: A peer that stops reading must not make us buffer without bound.
MAX_WRITE_BUFFER = 4 * 1024 * 1024
READ_CHUNK = 65536


class Received(NamedTuple):
    """One command a maker accepted: what, through which channel, from whom."""

    command: str
    channel: str
    from_nick: str


class _Link:
    """One connection (to a directory, or a direct peer) speaking framed envelopes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 channel: str) -> None:
        self.reader, self.writer, self.channel = reader, writer, channel
        self.is_direct = channel == "direct"
        self.peer_nick: str | None = None   # direct: nick of the peer's valid 793
        self.bound_nick: str | None = None  # direct: first verified sender
        self.task: asyncio.Task[None] | None = None
        self._buffer = LineBuffer()
        self._lines: collections.deque[bytes] = collections.deque()

    def send(self, msg_type: int, line: str) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(frame(encode_envelope(msg_type, line)))
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.writer.transport.abort()

    async def next_envelope(self) -> Envelope | None:
        """The next envelope, or None at EOF; ProtocolError on a malformed stream."""
        while not self._lines:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                return None
            self._lines.extend(self._buffer.feed(data))
        return decode_envelope(self._lines.popleft())

    def close(self) -> None:
        self.writer.close()


class Maker:
    """A maker bot; see the module docstring for the NG/REF routing rules."""

    def __init__(self, style: str = "ng", network: str = "regtest",
                 directories: Sequence[tuple[str, int]] = (),
                 identity: NickIdentity | None = None, onion_host: str | None = None,
                 offers: Iterable[OfferSegment] | None = None, bond: bool = True,
                 inputs: int = 2, blacklisted_commitments: Iterable[str] = frozenset(),
                 direct: bool = True, orderbook_interval: float = 10.0,
                 connect_timeout: float = 5.0, orderbook_delay: float = 0.0) -> None:
        if style not in STYLE_FEATURES:
            raise ValueError(f"style must be 'ng' or 'ref', got {style!r}")
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}")
        self.style, self.network = style, network
        self.identity = identity if identity is not None else NickIdentity()
        self.nick = self.identity.nick
        self.onion_host = onion_host if onion_host is not None else random_onion_host()
        self.location = f"{self.onion_host}:{ONION_PORT}"
        self.direct_port: int | None = None
        self._features = STYLE_FEATURES[style]
        self._directories = [tuple(d) for d in directories]
        self._direct = direct
        self._orderbook_interval = orderbook_interval
        self._orderbook_delay = orderbook_delay  # real NG makers answer after 0.3-1 s
        self._connect_timeout = connect_timeout
        self._logic = MakerLogic(self.nick, style, network,
                                 DEFAULT_OFFERS if offers is None else offers,
                                 bond, inputs, blacklisted_commitments)
        # Loop-thread state.
        self._dir_links: dict[int, _Link] = {}
        self._direct_links: set[_Link] = set()
        self._direct_by_nick: dict[str, _Link] = {}
        self._seen: dict[str, dict[int, float]] = {}  # taker nick -> {directory: when}
        self._orderbook_served: dict[tuple[str, bool], float] = {}
        self._counters: collections.Counter[str] = collections.Counter()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._records: list[Received] = []
        self._records_lock = threading.Lock()

    # -- public, called from any thread ---------------------------------------------------

    def start(self) -> Maker:
        """Listen (if direct) and handshake with every reachable directory, then return."""
        if self._loop is None:
            self._loop = LocalLoop.acquire()
            try:
                LocalLoop.run(self._loop, self._start())
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Close every connection and the listener; idempotent."""
        loop, self._loop = self._loop, None
        if loop is not None:
            try:
                LocalLoop.run(loop, self._stop())
            finally:
                LocalLoop.release()

    def __enter__(self) -> Maker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def leave(self, directory_index: int) -> None:
        """Close our connection to one directory (it then broadcasts ``;D`` for us)."""
        LocalLoop.run(self._require_loop(), self._leave(directory_index))

    def rejoin(self, directory_index: int) -> bool:
        """Reconnect, handshake and re-announce on one directory; False if that failed."""
        return LocalLoop.run(self._require_loop(), self._join(directory_index))

    def cancel_offer(self, oid: int) -> None:
        """Withdraw one offer and announce ``!cancel <oid>`` on every directory."""
        async def cancel() -> None:
            self._logic.offers.pop(oid, None)
            for link in self._dir_links.values():
                link.send(MsgType.PUBMSG, format_pubmsg(self.nick, f"cancel {oid}"))
        LocalLoop.run(self._require_loop(), cancel())

    def renew_bond(self, cert_expiry: int) -> None:
        """Renew the bond certificate (new cert key, same UTXO) until ``cert_expiry``."""
        async def renew() -> None:
            self._logic.bond.renew(cert_expiry)
        LocalLoop.run(self._require_loop(), renew())

    def send_offers(self, taker_nick: str, stale_bond: bool = False) -> None:
        """Privmsg our offers to ``taker_nick`` via every directory, unasked; ``stale_bond``
        sends them under the certificate from before the last renewal (a lagging copy)."""
        async def send() -> None:
            replies = self._logic.orderbook_replies(taker_nick, stale_bond)
            self._send(taker_nick, replies, list(self._dir_links.values()))
        LocalLoop.run(self._require_loop(), send())

    def received(self, command: str | None = None) -> tuple[Received, ...]:
        with self._records_lock:
            return tuple(r for r in self._records if command is None or r.command == command)

    def stats(self) -> dict[str, int | str]:
        async def snapshot() -> dict[str, int | str]:
            return {"style": self.style, "directories": len(self._dir_links),
                    "direct_connections": len(self._direct_links),
                    "sessions": len(self._logic.sessions), "pushes": len(self._logic.pushes),
                    **self._counters}
        return LocalLoop.run(self._require_loop(), snapshot())

    def __repr__(self) -> str:
        return f"Maker({self.style}, nick={self.nick!r}, location={self.location!r})"

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self!r} is not running")
        return self._loop

    # -- lifecycle on the loop ------------------------------------------------------------

    async def _start(self) -> None:
        if self._direct:
            self._server = await asyncio.start_server(self._serve_direct, "127.0.0.1", 0)
            self.direct_port = self._server.sockets[0].getsockname()[1]
        await asyncio.gather(*(self._join(i) for i in range(len(self._directories))))

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        links = [*self._dir_links.values(), *self._direct_links]
        for link in links:
            link.close()
            if link.task is not None:
                link.task.cancel()
        await asyncio.gather(*(link.task for link in links if link.task is not None),
                             return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _join(self, index: int) -> bool:
        """Connect and handshake with directory ``index``; announce offers on success."""
        if index in self._dir_links:
            return True
        host, port = self._directories[index]
        link = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                    self._connect_timeout)
            link = _Link(reader, writer, f"directory:{host}:{port}")
            link.send(MsgType.HANDSHAKE, self._own_handshake())
            reply = await asyncio.wait_for(link.next_envelope(), self._connect_timeout)
            if reply is None or reply.type != MsgType.DN_HANDSHAKE:
                raise HandshakeError(f"expected a DN_HANDSHAKE, got {reply!r}")
            check_directory_reply(parse_directory_handshake(reply.line), self.network)
        except (ProtocolError, OSError, TimeoutError):
            self._counters["directory_failures"] += 1
            if link is not None:
                link.close()
            return False
        self._dir_links[index] = link
        for body in self._logic.announcements():
            link.send(MsgType.PUBMSG, format_pubmsg(self.nick, body))
        link.task = asyncio.create_task(self._read_directory(index, link))
        return True

    async def _leave(self, index: int) -> None:
        link = self._dir_links.pop(index, None)
        if link is not None:
            link.close()
            if link.task is not None:
                link.task.cancel()
                await asyncio.gather(link.task, return_exceptions=True)

    async def _read_directory(self, index: int, link: _Link) -> None:
        try:
            while (envelope := await link.next_envelope()) is not None:
                if envelope.type == MsgType.PING and "ping" in self._features:
                    link.send(MsgType.PONG, "")
                elif envelope.type == MsgType.PUBMSG:
                    self._on_pubmsg(envelope.line, link, index)
                elif envelope.type == MsgType.PRIVMSG:
                    self._on_privmsg(envelope.line, link, index)
        except (ProtocolError, OSError):
            self._counters["directory_stream_errors"] += 1
        finally:
            link.close()
            if self._dir_links.get(index) is link:
                del self._dir_links[index]

    async def _serve_direct(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        link = _Link(reader, writer, "direct")
        link.task = asyncio.current_task()  # type: ignore[assignment]
        self._direct_links.add(link)
        try:
            if self.style == "ref":
                link.send(MsgType.HANDSHAKE, self._own_handshake())
            while (envelope := await link.next_envelope()) is not None:
                if envelope.type == MsgType.HANDSHAKE:
                    if not self._on_direct_handshake(link, envelope.line):
                        return
                elif link.peer_nick is None:
                    self._counters["dropped_before_handshake"] += 1
                elif envelope.type == MsgType.PING and "ping" in self._features:
                    link.send(MsgType.PONG, "")
                elif envelope.type == MsgType.PRIVMSG:
                    self._on_privmsg(envelope.line, link, None)
                elif envelope.type == MsgType.PUBMSG:
                    self._on_pubmsg(envelope.line, link, None)
        except (ProtocolError, OSError):
            self._counters["direct_stream_errors"] += 1
        except asyncio.CancelledError:
            # stop() with the link still open (over Tor, the onion-service tor closes its
            # side a moment after the taker). Ending normally, not cancelled: asyncio
            # before 3.12 logs a cancelled start_server handler as an unhandled error.
            pass
        finally:
            self._direct_links.discard(link)
            if link.peer_nick is not None and self._direct_by_nick.get(link.peer_nick) is link:
                del self._direct_by_nick[link.peer_nick]
            link.close()

    def _own_handshake(self) -> str:
        return build_peer_handshake(self.nick, self.network, self._features, self.location)

    def _on_direct_handshake(self, link: _Link, line: str) -> bool:
        """Accept a peer's 793 (later ones are ignored); False = drop the connection."""
        if link.peer_nick is not None:
            return True
        try:
            handshake = parse_peer_handshake(line)
            check_peer_handshake(handshake, self.network)
        except ProtocolError:
            self._counters["direct_handshake_rejected"] += 1
            return self.style == "ref"  # REF just never marks the peer handshaked
        link.peer_nick = handshake.nick
        self._direct_by_nick[handshake.nick] = link
        if self.style == "ng":
            link.send(MsgType.HANDSHAKE, self._own_handshake())
        return True

    # -- message handling -----------------------------------------------------------------

    def _record(self, command: str, channel: str, from_nick: str) -> None:
        with self._records_lock:
            self._records.append(Received(command, channel, from_nick))

    def _mark_seen(self, nick: str, index: int | None) -> None:
        if index is not None:
            self._seen.setdefault(nick, {})[index] = time.monotonic()

    def _on_pubmsg(self, line: str, link: _Link, index: int | None) -> None:
        try:
            jm = parse_jm_line(line)
            commands = [name for name, _args in split_commands(jm.body)]
        except ProtocolError:
            self._counters["dropped_malformed"] += 1
            return
        if jm.from_nick == self.nick or jm.to_nick != PUBLIC:
            return
        self._mark_seen(jm.from_nick, index)
        if commands.count("orderbook") != 1:  # REF ignores repeated !orderbook (#298)
            return
        if link.is_direct and jm.from_nick != (link.bound_nick or link.peer_nick):
            self._counters["dropped_wrong_nick"] += 1
            return
        self._record("orderbook", link.channel, jm.from_nick)
        self._answer_orderbook(jm.from_nick, link)

    def _answer_orderbook(self, taker: str, origin: _Link) -> None:
        if self.style == "ng":
            key, now = (taker, origin.is_direct), time.monotonic()
            last = self._orderbook_served.get(key)
            if last is not None and now - last < self._orderbook_interval:
                self._counters["orderbook_throttled"] += 1
                return
            self._orderbook_served[key] = now
        if origin.is_direct or self.style == "ref":
            targets = [origin]
        else:
            targets = list(self._dir_links.values())
        replies = self._logic.orderbook_replies(taker)
        if self._orderbook_delay > 0:
            asyncio.get_running_loop().call_later(self._orderbook_delay, self._send, taker,
                                                  replies, targets)
        else:
            self._send(taker, replies, targets)

    def _on_privmsg(self, line: str, link: _Link, index: int | None) -> None:
        try:
            msg = parse_and_verify_privmsg(line)
        except ProtocolError:
            self._counters["dropped_unverified"] += 1
            return
        if msg.to_nick != self.nick:
            return
        if link.is_direct:
            link.bound_nick = link.bound_nick or msg.from_nick
            if msg.from_nick != link.bound_nick:
                self._counters["dropped_wrong_nick"] += 1
                return
        self._mark_seen(msg.from_nick, index)
        self._record(msg.command, link.channel, msg.from_nick)
        replies = self._logic.on_privmsg(msg)
        if replies:
            self._send(msg.from_nick, replies, self._reply_targets(msg.from_nick, link))

    def _reply_targets(self, taker: str, origin: _Link) -> list[_Link]:
        if self.style == "ng":
            return list(self._dir_links.values())
        direct = self._direct_by_nick.get(taker)
        if direct is not None:
            return [direct]
        if not origin.is_direct and origin in self._dir_links.values():
            return [origin]
        seen = sorted(self._seen.get(taker, {}).items(), key=lambda item: item[1])
        return [self._dir_links[i] for i, _when in seen if i in self._dir_links][-1:]

    def _send(self, taker: str, replies: list[Reply], targets: list[_Link]) -> None:
        """Sign each reply once and send the same line through every target."""
        for command, data in replies:
            line = self.identity.build_privmsg(taker, command, data)
            for link in targets:
                link.send(MsgType.PRIVMSG, line)
            self._counters["privmsgs_sent"] += len(targets)
