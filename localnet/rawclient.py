"""RawTaker: a minimal blocking, protocol-level taker for tests and the demo tour.

It is deliberately *not* the project's client: no actors, no retries, no channel
policy — just what the wire needs, so tests can watch the localnet peers (and later the
real client) from the outside. Every connection goes through the SOCKS gateway with the
production dial path (:func:`actors.net.transport.dial`), to a directory or straight to a
maker onion, and gets one reader thread that answers PING and files every envelope
into one shared inbox tagged with its channel (``directory:<location>`` or
``direct:<location>``). Waiters pick matching envelopes out of the inbox; envelopes
nobody asked for stay there, so duplicates (one copy per shared directory) can be
counted afterwards. Sequence numbers (:meth:`RawTaker.mark`) separate one exchange
from stale copies of an earlier one.

The encrypted CoinJoin sequence itself lives in :mod:`localnet.rawsession`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from actors.net.transport import CATEGORY_DIRECTORY, CATEGORY_PEER, SocksConfig, Transport, dial
from protocol.crypto import NickIdentity, parse_and_verify_privmsg
from protocol.envelope import Envelope, MsgType, decode_envelope, encode_envelope
from protocol.errors import HandshakeRejectedError, ProtocolError
from protocol.framing import LineBuffer, frame
from protocol.handshake import (DirectoryHandshake, PeerHandshake, build_peer_handshake,
                                check_directory_reply, check_peer_handshake,
                                parse_directory_handshake, parse_peer_handshake)
from protocol.jmmessage import OFFER_TYPES, PUBLIC, PrivMsg, format_pubmsg, parse_jm_line
from protocol.offers import OfferSegment, parse_offer_body
from protocol.peerlist import PeerlistEntry, parse_peerlist

DEFAULT_FEATURES = frozenset({"peerlist_features", "ping"})
READ_CHUNK = 65536


class Inbound(NamedTuple):
    """One received envelope; ``privmsg`` is set only for verified PRIVMSGs to us."""

    seq: int
    channel: str
    type: int
    line: str
    privmsg: PrivMsg | None


class OfferReply(NamedTuple):
    """Offers from one line: a signed PRIVMSG reply, or an unsigned PUBMSG announcement."""

    channel: str
    maker_nick: str
    offers: tuple[OfferSegment, ...]
    tbond: str | None
    private: bool


class _Connection:
    """One blocking connection whose reader thread feeds the taker's inbox."""

    def __init__(self, taker: RawTaker, channel: str, transport: Transport) -> None:
        self.channel = channel
        self._taker = taker
        self._transport = transport
        self._send_lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True,
                                        name=f"rawtaker-{taker.nick}-{channel[:24]}")
        self._thread.start()

    def send(self, msg_type: int, line: str) -> None:
        with self._send_lock:
            self._transport.send(frame(encode_envelope(msg_type, line)))

    def _read(self) -> None:
        buffer = LineBuffer()
        try:
            while data := self._transport.recv(READ_CHUNK):
                for raw in buffer.feed(data):
                    envelope = decode_envelope(raw)
                    if envelope.type == MsgType.PING:
                        self.send(MsgType.PONG, "")
                    else:
                        self._taker._deliver(self.channel, envelope)
        except (OSError, ProtocolError):
            pass  # the connection is over either way; close() cleans up

    def close(self) -> None:
        self._transport.abort()
        self._thread.join()
        self._transport.close()


class RawTaker:
    """A blocking taker speaking the wire protocol through the SOCKS gateway."""

    def __init__(self, socks_host: str, socks_port: int, network: str = "regtest",
                 identity: NickIdentity | None = None,
                 features: Iterable[str] = DEFAULT_FEATURES, timeout: float = 5.0) -> None:
        self.identity = identity if identity is not None else NickIdentity()
        self.nick = self.identity.nick
        self.network = network
        self.features = frozenset(features)
        self.timeout = timeout
        self.directories: dict[str, DirectoryHandshake] = {}  # location -> its 795
        self.peers: dict[str, PeerHandshake | None] = {}      # maker location -> its 793
        self.unverified = 0
        self._socks = SocksConfig(host=socks_host, port=socks_port)
        self._conns: dict[str, _Connection] = {}
        self._cond = threading.Condition()
        self._inbox: list[Inbound] = []
        self._seq = 0

    def __enter__(self) -> RawTaker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection (direct first) and join every reader thread."""
        for channel in sorted(self._conns, key=lambda c: not c.startswith("direct:")):
            self._conns.pop(channel).close()

    def disconnect(self, channel: str) -> None:
        self._conns.pop(channel).close()

    # -- inbox -----------------------------------------------------------------------------

    def _deliver(self, channel: str, envelope: Envelope) -> None:
        privmsg, unverified = None, False
        if envelope.type == MsgType.PRIVMSG:
            try:
                msg = parse_and_verify_privmsg(envelope.line)
                privmsg = msg if msg.to_nick == self.nick else None
            except ProtocolError:
                unverified = True
        with self._cond:
            self.unverified += unverified
            self._seq += 1
            self._inbox.append(Inbound(self._seq, channel, envelope.type, envelope.line, privmsg))
            self._cond.notify_all()

    def mark(self) -> int:
        """The sequence number of the newest envelope; pass as ``after`` to ignore older ones."""
        with self._cond:
            return self._seq

    def take(self, match: Callable[[Inbound], bool], timeout: float | None = None,
             after: int = 0) -> Inbound:
        """Remove and return the first matching envelope newer than ``after``.

        Raises ``TimeoutError`` if none arrives within ``timeout`` (default: ours).
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                for i, item in enumerate(self._inbox):
                    if item.seq > after and match(item):
                        return self._inbox.pop(i)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.nick}: nothing matching arrived in time")
                self._cond.wait(remaining)

    def collect(self, match: Callable[[Inbound], bool], duration: float,
                after: int = 0) -> list[Inbound]:
        """Remove and return every matching envelope that arrives within ``duration``."""
        found = []
        deadline = time.monotonic() + duration
        while True:
            try:
                found.append(self.take(match, max(0.0, deadline - time.monotonic()), after))
            except TimeoutError:
                return found

    def take_privmsg(self, from_nick: str, commands: Iterable[str],
                     timeout: float | None = None, after: int = 0) -> Inbound:
        wanted = frozenset(commands)
        return self.take(lambda m: m.privmsg is not None and m.privmsg.from_nick == from_nick
                         and m.privmsg.command in wanted, timeout, after)

    # -- connections -----------------------------------------------------------------------

    def _dial(self, location: str, category: str, channel: str) -> _Connection:
        if channel in self._conns:
            raise ValueError(f"already connected: {channel}")
        host, _, port = location.rpartition(":")
        transport = dial(host, int(port), self._socks, category, self.timeout)
        conn = self._conns[channel] = _Connection(self, channel, transport)
        return conn

    def _own_handshake(self) -> str:
        return build_peer_handshake(self.nick, self.network, self.features)

    def connect_directory(self, location: str) -> DirectoryHandshake:
        """Dial ``<onion>:<port>``, handshake, and return the accepted DN_HANDSHAKE."""
        channel = f"directory:{location}"
        conn = self._dial(location, CATEGORY_DIRECTORY, channel)
        try:
            conn.send(MsgType.HANDSHAKE, self._own_handshake())
            reply = self.take(lambda m: m.channel == channel and m.type in (
                MsgType.DN_HANDSHAKE, MsgType.HANDSHAKE))
            if reply.type != MsgType.DN_HANDSHAKE:
                raise HandshakeRejectedError(f"{location} answered with a peer handshake")
            handshake = parse_directory_handshake(reply.line)
            check_directory_reply(handshake, self.network)
        except BaseException:
            self.disconnect(channel)
            raise
        self.directories[location] = handshake
        return handshake

    def connect_maker(self, location: str, send_first: bool = True,
                      reply_wait: float = 2.0) -> PeerHandshake | None:
        """Dial a maker onion directly and run the peer handshake in either order.

        ``send_first``: send our 793 at once and wait up to ``reply_wait`` for the
        maker's (None if it stays silent, as NG takers tolerate). Otherwise wait up to
        ``reply_wait`` for the maker to speak first (REF makers do; NG makers never do:
        ``TimeoutError``, and the connection is closed) and then answer.
        """
        channel = f"direct:{location}"
        conn = self._dial(location, CATEGORY_PEER, channel)
        is_handshake = lambda m: m.channel == channel and m.type == MsgType.HANDSHAKE  # noqa: E731
        try:
            if send_first:
                conn.send(MsgType.HANDSHAKE, self._own_handshake())
                try:
                    reply: Inbound | None = self.take(is_handshake, reply_wait)
                except TimeoutError:
                    reply = None
            else:
                reply = self.take(is_handshake, reply_wait)
                conn.send(MsgType.HANDSHAKE, self._own_handshake())
            handshake = parse_peer_handshake(reply.line) if reply is not None else None
            if handshake is not None:
                check_peer_handshake(handshake, self.network)
        except BaseException:
            self.disconnect(channel)
            raise
        self.peers[location] = handshake
        return handshake

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._conns)

    def send(self, channel: str, msg_type: int, line: str) -> None:
        self._conns[channel].send(msg_type, line)

    def send_privmsg(self, channel: str, to_nick: str, command: str, data: str) -> None:
        self.send(channel, MsgType.PRIVMSG, self.identity.build_privmsg(to_nick, command, data))

    # -- directory queries -----------------------------------------------------------------

    def get_peerlist(self, location: str, quiet: float = 0.3) -> tuple[PeerlistEntry, ...]:
        """GETPEERLIST, then accumulate PEERLIST chunks until ``quiet`` s pass without one."""
        if "peerlist_features" not in self.directories[location].features:
            raise ValueError(f"{location} does not advertise peerlist_features")
        channel = f"directory:{location}"
        is_peerlist = lambda m: m.channel == channel and m.type == MsgType.PEERLIST  # noqa: E731
        after = self.mark()
        self.send(channel, MsgType.GETPEERLIST, "")
        chunks = [self.take(is_peerlist, after=after)]
        while True:
            try:
                chunks.append(self.take(is_peerlist, quiet, after))
            except TimeoutError:
                return tuple(entry for chunk in chunks for entry in parse_peerlist(chunk.line))

    def request_orderbook(self, wait: float = 1.0,
                          channels: Iterable[str] | None = None) -> list[OfferReply]:
        """PUBMSG ``!orderbook`` on every directory (or ``channels``); collect offers."""
        targets = list(channels) if channels is not None else [
            c for c in self._conns if c.startswith("directory:")]
        after = self.mark()
        for channel in targets:
            self.send(channel, MsgType.PUBMSG, format_pubmsg(self.nick, "orderbook"))
        replies = []
        for item in self.collect(_is_offer_line, wait, after):
            if item.privmsg is not None:
                msg = item.privmsg
                body, nick, private = f"{msg.command} {msg.data}", msg.from_nick, True
            else:
                jm = parse_jm_line(item.line)
                body, nick, private = jm.body, jm.from_nick, False
            try:
                offers, tbond, _errors = parse_offer_body(body)
            except ProtocolError:
                continue  # a line with no usable command segment at all
            replies.append(OfferReply(item.channel, nick, offers, tbond, private))
        return replies


def _is_offer_line(item: Inbound) -> bool:
    if item.privmsg is not None:
        return item.privmsg.command in OFFER_TYPES
    if item.type != MsgType.PUBMSG:
        return False
    try:
        jm = parse_jm_line(item.line)
    except ProtocolError:
        return False
    return jm.to_nick == PUBLIC and jm.body.split(" ", 1)[0] in OFFER_TYPES
