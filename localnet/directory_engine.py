"""Loop-side half of the fake directory: per-connection protocol, routing and hooks.

Everything in this module runs on the owning :class:`localnet.directory.DirectoryServer`'s
event-loop thread, so nothing here locks. Connections are plain ``asyncio.Protocol``
objects rather than stream reader tasks: a thousand peers then cost a thousand small
objects and no tasks, and a line is routed in the same callback that read it, which
keeps relay latency at one loop iteration. The behaviour follows PROTOCOL.md §11 for
the two profiles; comments cite the section a rule comes from.
"""

import asyncio
import functools
import itertools
import os
import socket
import time
from collections import deque
from dataclasses import dataclass

import msgspec

from protocol import framing, handshake, jmmessage, nickauth
from protocol.envelope import Envelope, MsgType, decode_envelope, encode_envelope
from protocol.errors import (
    EnvelopeError, FramingError, HandshakeError, LineTooLongError, MessageError, NickAuthError,
)
from protocol.peerlist import PeerlistEntry, format_peerlist, is_valid_nick

RECORD_LIMIT = 10_000  # lines kept per connection and direction
RELAYED_LIMIT = 100_000  # (from, to, command) tuples kept for relayed_privmsgs()
CLOSED_KEEP = 2_048  # closed connections whose recordings are still queryable
WRITE_HIGH_WATER = 256 * 1024  # transport buffer that pauses writing and starts the send timer
WRITE_HARD_CAP = 4 * 1024 * 1024  # a recipient this far behind is cut off at once
NICK_AUTH_TIMEOUT = 30.0  # NG's maximum nick_auth_timeout (§9.3)
NG_MOTD = "jm-multidir localnet directory (NG-like profile)"
REF_MOTD = "Default MOTD, replace with information for the directory."

NEW, AUTH, PENDING, LIVE, CLOSED = "new", "auth", "pending", "live", "closed"


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one directory (built by ``DirectoryServer``)."""

    ref: bool
    network: str
    nick: str
    location: str
    max_line: int
    features: frozenset[str]  # as advertised in our DN_HANDSHAKE
    nick_auth_id: str | None
    require_nick_auth: bool
    routable_delay: float
    rate_limit: tuple[float, int] | None
    handshake_timeout: float
    heartbeat: tuple[float, float, float, float] | None
    peerlist_chunk: int
    peerlist_chunk_delay: float
    send_timeout: float


class DirectoryStats(msgspec.Struct, frozen=True):
    """A snapshot of the directory's counters (``msgspec.structs.asdict`` for a dict)."""

    connections_accepted: int = 0
    handshakes_accepted: int = 0
    handshakes_rejected: int = 0
    privmsgs_relayed: int = 0
    pubmsgs_relayed: int = 0
    privmsgs_dropped_unknown_target: int = 0
    rate_limited: int = 0
    lines_too_long: int = 0
    bad_envelopes: int = 0
    pings_sent: int = 0
    pongs_received: int = 0
    getpeerlist_answered: int = 0


def _first_command(body: str) -> str:
    """The command word a relayed line starts with, for the relay log ('' if none)."""
    try:
        commands = jmmessage.split_commands(body)
    except MessageError:
        return ""
    return commands[0][0] if commands else ""


class Conn(asyncio.Protocol):
    """One accepted TCP connection and what the directory knows about its peer."""

    def __init__(self, hub: "Hub", cid: int):
        self.hub = hub
        self.cid = cid
        self.transport: asyncio.Transport | None = None
        self.buffer = framing.LineBuffer(hub.s.max_line)
        self.state = NEW
        self.nick: str | None = None  # as claimed by the handshake, even if later rejected
        self.location = handshake.NOT_SERVING
        self.features: frozenset[str] = frozenset()
        self.handshake_line = ""
        self.challenge: nickauth.NickAuthChallenge | None = None
        self.held: deque[bytes] = deque()  # lines read while PENDING, replayed once LIVE
        self.reading = True
        self.timer: asyncio.TimerHandle | None = None  # handshake deadline or routable delay
        self.write_timer: asyncio.TimerHandle | None = None
        self.last_seen = time.monotonic()
        self.ping_sent_at: float | None = None
        self.tokens = float(hub.s.rate_limit[1]) if hub.s.rate_limit else 0.0
        self.tokens_at = self.last_seen
        self.received: deque[tuple[int, bytes]] = deque(maxlen=RECORD_LIMIT)
        self.sent: deque[tuple[int, bytes]] = deque(maxlen=RECORD_LIMIT)

    @property
    def registered(self) -> bool:
        return self.state in (PENDING, LIVE)

    @property
    def serving(self) -> bool:
        return self.location != handshake.NOT_SERVING

    # -- asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.hub.on_connect(self)

    def data_received(self, data: bytes) -> None:
        try:
            lines = self.buffer.feed(data)
        except FramingError as exc:
            if isinstance(exc, LineTooLongError):
                self.hub.count("lines_too_long")
            self.hub.drop(self)
            return
        for line in lines:
            if self.state == CLOSED:
                return
            self.received.append((next(self.hub.seq), line))
            if self.state == PENDING or self.held:
                self.held.append(line)
            else:
                self.hub.handle(self, line)

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.transport_lost(self)

    def pause_writing(self) -> None:
        # NG removes a recipient it cannot write to within its per-send timeout (§10).
        self.write_timer = self.hub.loop.call_later(
            self.hub.s.send_timeout, self.hub.drop, self, True
        )

    def resume_writing(self) -> None:
        if self.write_timer is not None:
            self.write_timer.cancel()
            self.write_timer = None

    # -- helpers used by the hub

    def write(self, line: bytes, data: bytes) -> None:
        """Queue ``data`` (``line`` framed) without ever blocking the loop on this peer.

        A transport can already be closing (its socket failed) before ``connection_lost``
        has run; writing to it would only make asyncio log an error per write.
        """
        if self.state == CLOSED or self.transport.is_closing():
            return
        self.sent.append((next(self.hub.seq), line))
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > WRITE_HARD_CAP:
            self.hub.drop(self, abort=True)

    def update_reading(self) -> None:
        """Read unless the directory is stalled or this peer waits to become routable."""
        want = not self.hub.stalled and self.state != PENDING
        if self.state == CLOSED or want == self.reading:
            return
        self.reading = want
        if want:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    def take_token(self, now: float) -> bool:
        """Token bucket per connection (§10 ``message_rate_limit``/``message_burst_limit``)."""
        rate, burst = self.hub.s.rate_limit
        self.tokens = min(float(burst), self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def cancel_timers(self) -> None:
        for handle in (self.timer, self.write_timer):
            if handle is not None:
                handle.cancel()
        self.timer = self.write_timer = None


class Hub:
    """The directory's shared state: open connections, nick registry, counters, hooks."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.loop: asyncio.AbstractEventLoop | None = None
        self.conns: dict[int, Conn] = {}
        self.closed: deque[Conn] = deque(maxlen=CLOSED_KEEP)
        self.registered: dict[int, Conn] = {}  # handshaked peers in registration order
        self.by_nick: dict[str, Conn] = {}
        self.counts = dict.fromkeys(DirectoryStats.__struct_fields__, 0)
        self.relayed: deque[tuple[str, str, str]] = deque(maxlen=RELAYED_LIMIT)
        self.stalled = False
        self.relay_policy = None  # (type, from, to, command) -> "drop" | "duplicate" | delay
        self.seq = itertools.count()
        self._ids = itertools.count(1)
        self._unlost: set[Conn] = set()  # transports whose connection_lost has not run yet
        self._tasks: set[asyncio.Task] = set()
        self._dir_entry = PeerlistEntry(settings.nick, settings.location, False, frozenset())

    # -- lifecycle (called by DirectoryServer on the loop)

    def new_connection(self) -> Conn:
        return Conn(self, next(self._ids))

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        if self.s.heartbeat is not None:
            self._spawn(self._heartbeat(*self.s.heartbeat))

    async def shutdown(self) -> None:
        """Cut every connection without ``;D`` announcements and wait until sockets close."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self.conns.values()):
            self.drop(conn, abort=True, announce=False)
        while self._unlost:
            await asyncio.sleep(0)

    def count(self, name: str) -> None:
        self.counts[name] += 1

    def send(self, conn: Conn, msg_type: int, text: str) -> None:
        line = encode_envelope(msg_type, text)
        conn.write(line, framing.frame(line, self.s.max_line))

    def _spawn(self, coro) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- connection events

    def on_connect(self, conn: Conn) -> None:
        self.conns[conn.cid] = conn
        self._unlost.add(conn)
        self.count("connections_accepted")
        conn.update_reading()
        if not self.s.ref:  # §3.3: NG closes a connection that does not handshake in time
            conn.timer = self.loop.call_later(self.s.handshake_timeout, self._deadline, conn)

    def transport_lost(self, conn: Conn) -> None:
        self._unlost.discard(conn)
        self.drop(conn)

    def drop(self, conn: Conn, abort: bool = False, announce: bool = True) -> None:
        """Close ``conn`` (flushing unless ``abort``) and tell the others it left (§6.3)."""
        if conn.state == CLOSED:
            return
        was_registered = conn.registered
        conn.state = CLOSED
        conn.cancel_timers()
        conn.held.clear()
        if abort:
            conn.transport.abort()
        else:
            conn.transport.close()
        del self.conns[conn.cid]
        self.closed.append(conn)
        if not was_registered:
            return
        del self.registered[conn.cid]
        if self.by_nick.get(conn.nick) is conn:
            del self.by_nick[conn.nick]
            # REF accepts duplicate nicks; the newest remaining one takes over routing.
            for other in reversed(self.registered.values()):
                if other.nick == conn.nick:
                    self.by_nick[conn.nick] = other
                    break
        if announce:
            entries = [PeerlistEntry(conn.nick, conn.location, True, frozenset())]
            if self.s.ref:
                entries.append(self._dir_entry)
            self._fan_out(encode_envelope(MsgType.PEERLIST, format_peerlist(entries, False)))

    def _deadline(self, conn: Conn) -> None:
        """Handshake or nick-auth proof did not arrive in time: close (§3.3, §9.3)."""
        if self.stalled:  # a stalled directory answers nothing, not even with a close
            conn.timer = self.loop.call_later(self.s.handshake_timeout, self._deadline, conn)
            return
        if conn.state == AUTH:
            self.send(conn, MsgType.NICK_AUTH_RESULT, nickauth.build_result("expired"))
        if conn.state in (NEW, AUTH):
            self.count("handshakes_rejected")
            self.drop(conn)

    # -- per-line dispatch

    def handle(self, conn: Conn, line: bytes) -> None:
        now = time.monotonic()
        conn.last_seen = now
        try:
            env = decode_envelope(line)
        except EnvelopeError:  # §1.5: both profiles drop a connection sending a bad envelope
            self.count("bad_envelopes")
            self.drop(conn)
            return
        if conn.state == NEW and env.type == MsgType.HANDSHAKE:
            self._on_handshake(conn, env.line)
        elif conn.state == NEW and not self.s.ref:  # §11.4: NG wants 793 first
            self.count("handshakes_rejected")
            self.drop(conn)
        elif conn.state == AUTH:
            self._on_auth(conn, env)
        elif self.s.rate_limit is not None and not conn.take_token(now):
            self.count("rate_limited")
        else:
            self._route(conn, env, line)

    # -- handshake (§3.3, §11.4-9)

    def _rejection(self, hs: handshake.PeerHandshake) -> str | None:
        """Why ``hs`` cannot register here, or None; NG compares app-name case-insensitively."""
        app_name = hs.app_name if self.s.ref else hs.app_name.lower()
        if app_name != handshake.APP_NAME:
            return f"unsupported app-name {hs.app_name!r}"
        if hs.directory:
            return "directories cannot register as peers"
        if hs.proto_ver != handshake.PROTO_VER:
            return f"unsupported proto-ver {hs.proto_ver}"
        if hs.network != self.s.network:
            return f"network {hs.network!r} is not {self.s.network!r}"
        if not is_valid_nick(hs.nick):  # our peerlists could not carry it
            return f"invalid nick {hs.nick[:80]!r}"
        if self.s.ref and not handshake.is_valid_location(hs.location):
            return f"invalid location-string {hs.location[:80]!r}"
        if not self.s.ref and self._ng_location(hs.location) is None:
            return f"location {hs.location[:80]!r} is not a v3 onion"
        return None

    @staticmethod
    def _ng_location(location: str) -> str | None:
        """NG reads a garbled location as not-serving but refuses a non-onion host:port."""
        if location == handshake.NOT_SERVING or not handshake.is_valid_location(location):
            return handshake.NOT_SERVING
        host = location.rpartition(":")[0]
        return location if handshake.is_onion_v3_host(host) else None

    def _reply(self, conn: Conn, accepted: bool, motd: str) -> None:
        text = handshake.build_directory_handshake(
            self.s.nick, self.s.network, self.s.features, accepted, motd
        )
        self.send(conn, MsgType.DN_HANDSHAKE, text)

    def _refuse(self, conn: Conn, reason: str) -> None:
        """NG answers some rejections with ``accepted: false`` and then closes (§3.3)."""
        self.count("handshakes_rejected")
        self._reply(conn, False, f"Rejected: {reason}")
        self.drop(conn)

    def _on_handshake(self, conn: Conn, text: str) -> None:
        try:
            hs = handshake.parse_peer_handshake(text)
        except HandshakeError:
            if not self.s.ref:  # REF ignores an unparsable handshake and keeps the link
                self.count("handshakes_rejected")
                self.drop(conn)
            return
        conn.nick = hs.nick
        reason = self._rejection(hs)
        if reason is not None:
            self.count("handshakes_rejected")
            if self.s.ref:  # REF replies and leaves closing to the client
                self._reply(conn, False, f"Rejected: {reason}")
            else:
                self.drop(conn)
            return
        if self.s.require_nick_auth and "nick_auth" not in hs.features:
            self._refuse(conn, "verified nick authentication required")
            return
        authenticate = self.s.nick_auth_id is not None and "nick_auth" in hs.features
        if not self.s.ref and not authenticate and hs.nick in self.by_nick:
            self._refuse(conn, f"Peer nick already registered: {hs.nick}")
            return
        conn.location = hs.location if self.s.ref else self._ng_location(hs.location)
        conn.features = hs.features
        conn.handshake_line = text
        self._reply(conn, True, REF_MOTD if self.s.ref else NG_MOTD)
        if authenticate:
            self._challenge(conn)
        else:
            self._register(conn)

    def _challenge(self, conn: Conn) -> None:
        conn.state = AUTH
        conn.challenge = nickauth.NickAuthChallenge(os.urandom(32).hex(), self.s.nick_auth_id)
        text = nickauth.build_challenge(conn.challenge.challenge_hex, self.s.nick_auth_id)
        self.send(conn, MsgType.NICK_AUTH_CHALLENGE, text)
        if conn.timer is not None:
            conn.timer.cancel()
        timeout = min(self.s.handshake_timeout, NICK_AUTH_TIMEOUT)
        conn.timer = self.loop.call_later(timeout, self._deadline, conn)

    def _on_auth(self, conn: Conn, env: Envelope) -> None:
        """Check the 805 proof strictly; only ``ok`` registers the nick (§9.3)."""
        code = "malformed"
        if env.type == MsgType.NICK_AUTH_PROOF:
            try:
                proof = nickauth.parse_proof(env.line)
                code = "invalid"
                nickauth.verify_proof(proof, conn.challenge, conn.handshake_line, conn.nick)
                code = "ok"
            except NickAuthError:
                pass
        if code != "ok":
            self.count("handshakes_rejected")
            self.send(conn, MsgType.NICK_AUTH_RESULT, nickauth.build_result(code))
            self.drop(conn)
            return
        owner = self.by_nick.get(conn.nick)
        if owner is not None:  # a verified proof displaces the current owner (§9.3, §10)
            self.drop(owner, abort=True)
        self.send(conn, MsgType.NICK_AUTH_RESULT, nickauth.build_result("ok"))
        self._register(conn)

    def _register(self, conn: Conn) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        self.registered[conn.cid] = conn
        self.by_nick[conn.nick] = conn
        self.count("handshakes_accepted")
        if self.s.routable_delay > 0:  # P20: NG routes to a new peer only after ~50 ms
            conn.state = PENDING
            conn.update_reading()
            conn.timer = self.loop.call_later(self.s.routable_delay, self._make_routable, conn)
        else:
            conn.state = LIVE

    def _make_routable(self, conn: Conn) -> None:
        if conn.state != PENDING:
            return
        conn.timer = None
        conn.state = LIVE
        while conn.held and conn.state == LIVE:
            self.handle(conn, conn.held.popleft())
        conn.update_reading()

    # -- routing (§11.10-13)

    def _route(self, conn: Conn, env: Envelope, line: bytes) -> None:
        kind = env.type
        if kind == MsgType.PUBMSG:
            self._pubmsg(conn, env.line, line)
        elif kind == MsgType.PRIVMSG:
            self._privmsg(conn, env.line, line)
        elif self.s.ref:
            # REF asserts on 799/801 and misreads 797 as a local event: the link dies.
            if kind in (MsgType.REF_PING, MsgType.PONG, MsgType.DISCONNECT):
                self.drop(conn)
        elif kind == MsgType.GETPEERLIST:
            self.count("getpeerlist_answered")
            entries = [
                PeerlistEntry(p.nick, p.location, False, p.features)
                for p in self.registered.values()
            ]
            self._spawn(self._send_peerlist(conn, entries, "peerlist_features" in conn.features))
        elif kind == MsgType.PING:
            self.send(conn, MsgType.PONG, "")
        elif kind == MsgType.PONG:
            conn.ping_sent_at = None
            self.count("pongs_received")
        elif kind in (
            MsgType.NICK_AUTH_CHALLENGE, MsgType.NICK_AUTH_PROOF, MsgType.NICK_AUTH_RESULT
        ):  # §9.3: nick-auth messages outside the exchange close the connection
            self.drop(conn)

    def _deliver(self, msg_type: int, msg: jmmessage.JMLine, forward) -> bool:
        """Apply the test's relay policy (§11.17); False if the message is dropped."""
        action = None
        if self.relay_policy is not None:
            command = _first_command(msg.body)
            action = self.relay_policy(msg_type, msg.from_nick, msg.to_nick, command)
        if action == "drop":
            return False
        if isinstance(action, (int, float)) and not isinstance(action, bool):
            self.loop.call_later(action, forward)
            return True
        forward()
        if action == "duplicate":
            forward()
        return True

    def _fan_out(self, line: bytes, not_conn: Conn | None = None, not_nick: str | None = None):
        """Send ``line`` to every routable peer except ``not_conn`` and nick ``not_nick``."""
        data = framing.frame(line, self.s.max_line)
        for peer in list(self.registered.values()):
            if peer.state == LIVE and peer is not not_conn and peer.nick != not_nick:
                peer.write(line, data)

    def _pubmsg(self, conn: Conn, text: str, line: bytes) -> None:
        try:
            msg = jmmessage.parse_jm_line(text)
        except MessageError:
            return
        if msg.to_nick != jmmessage.PUBLIC:
            return
        if not self.s.ref and msg.from_nick != conn.nick:
            return
        if self.s.ref:  # REF skips peers by nick and checks nothing about the sender
            forward = functools.partial(self._fan_out, line, not_nick=msg.from_nick)
        else:
            forward = functools.partial(self._fan_out, line, not_conn=conn)
        if self._deliver(MsgType.PUBMSG, msg, forward):
            self.count("pubmsgs_relayed")

    def _privmsg(self, conn: Conn, text: str, line: bytes) -> None:
        try:
            msg = jmmessage.parse_jm_line(text)
        except MessageError:
            return
        if not self.s.ref and msg.from_nick != conn.nick:
            return
        target = self.by_nick.get(msg.to_nick)
        if target is None or target.state != LIVE:
            self.count("privmsgs_dropped_unknown_target")
            return
        # §6.3: after the message, tell the recipient where the sender can be reached.
        entries = []
        if conn.registered and conn.serving:
            entries.append(PeerlistEntry(conn.nick, conn.location, False, conn.features))
        if self.s.ref:
            entries.append(self._dir_entry)
        peerlist = format_peerlist(entries, not self.s.ref) if entries else None

        def forward() -> None:
            if target.state != LIVE:  # gone while a delayed message waited
                return
            target.write(line, framing.frame(line, self.s.max_line))
            if peerlist is not None:
                self.send(target, MsgType.PEERLIST, peerlist)

        if self._deliver(MsgType.PRIVMSG, msg, forward):
            self.count("privmsgs_relayed")
            self.relayed.append((msg.from_nick, msg.to_nick, _first_command(msg.body)))

    async def _send_peerlist(self, conn: Conn, entries: list, with_features: bool) -> None:
        """NG answers GETPEERLIST in chunks, pausing between them; empty list => one ""."""
        size = self.s.peerlist_chunk
        chunks = [entries[i:i + size] for i in range(0, len(entries), size)] or [[]]
        for index, chunk in enumerate(chunks):
            if index:
                await asyncio.sleep(self.s.peerlist_chunk_delay)
            if conn.state == CLOSED:
                return
            self.send(conn, MsgType.PEERLIST, format_peerlist(chunk, with_features))

    async def _heartbeat(self, sweep: float, idle: float, hard_evict: float, pong_wait: float):
        """NG's liveness sweep (§9.1) with test-sized timers."""
        probe = jmmessage.format_pubmsg(self.s.nick, "orderbook")
        while True:
            await asyncio.sleep(sweep)
            if self.stalled:
                continue
            now = time.monotonic()
            for peer in [p for p in self.registered.values() if p.state == LIVE]:
                silent = now - peer.last_seen
                if silent > hard_evict:
                    self.drop(peer)
                elif peer.ping_sent_at is not None:
                    if now - peer.ping_sent_at > pong_wait:
                        self.drop(peer)
                elif silent > idle and "ping" in peer.features:
                    peer.ping_sent_at = now
                    self.count("pings_sent")
                    self.send(peer, MsgType.PING, "")
                elif silent > idle and peer.serving:
                    self.send(peer, MsgType.PUBMSG, probe)

    # -- test hooks (called through DirectoryServer)

    def kill(self, nick: str) -> bool:
        conn = self.by_nick.get(nick)
        if conn is None:
            return False
        self.drop(conn, abort=True)
        return True

    def kill_all(self) -> None:
        for conn in list(self.conns.values()):
            self.drop(conn, abort=True)

    def inject(self, nick: str, raw_line: bytes) -> bool:
        conn = self.by_nick.get(nick)
        if conn is None:
            return False
        conn.write(raw_line, raw_line + b"\r\n")
        return True

    def set_relay_policy(self, policy) -> None:
        self.relay_policy = policy

    def stall(self, on: bool) -> None:
        self.stalled = on
        for conn in self.conns.values():
            conn.update_reading()

    def connected_nicks(self) -> frozenset[str]:
        return frozenset(conn.nick for conn in self.registered.values())

    def stats(self) -> DirectoryStats:
        return DirectoryStats(**self.counts)

    def lines(self, direction: str, nick: str | None) -> tuple[bytes, ...]:
        """Recorded lines of every (or ``nick``'s) connection, in the order they happened."""
        records = [
            item
            for conn in itertools.chain(self.closed, self.conns.values())
            if nick is None or conn.nick == nick
            for item in getattr(conn, direction)
        ]
        records.sort(key=lambda item: item[0])
        return tuple(line for _, line in records)
