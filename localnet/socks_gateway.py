"""A SOCKS5 server that answers like Tor's SOCKS port for onion names, on loopback only.

Tests and the demo must run the client's real production dial path (python-socks with
remote DNS, SOCKS reply codes mapped to typed errors) without Tor and without a network.
This gateway speaks RFC 1928 / RFC 1929 the way Tor does for ``.onion`` destinations but
relays each mapped ``(onion, port)`` to a loopback target. It never dials anything else:
IP literals are refused and unknown names are "host unreachable", so nothing a test does
through it can leave the machine.

One asyncio loop in one background thread serves every connection: hundreds of relays
cost no threads, and ``stop()`` has exactly one thread to join.

CLI: ``python -m localnet.socks_gateway --map <onion>:<port>=127.0.0.1:<port> ...``
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import ipaddress
import re
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

SOCKS_VERSION = 0x05
AUTH_VERSION = 0x01
METHOD_NO_AUTH = 0x00
METHOD_USER_PASS = 0x02
METHOD_NONE_ACCEPTABLE = 0xFF
CMD_CONNECT = 0x01
ATYP_IPV4 = 0x01
ATYP_DOMAIN = 0x03
ATYP_IPV6 = 0x04

REP_SUCCEEDED = 0x00
REP_GENERAL_FAILURE = 0x01
REP_NOT_ALLOWED = 0x02
REP_HOST_UNREACHABLE = 0x04
REP_REFUSED = 0x05
REP_COMMAND_NOT_SUPPORTED = 0x07
REP_ATYP_NOT_SUPPORTED = 0x08

#: A client that stalls mid-handshake must not hold a connection open forever.
HANDSHAKE_TIMEOUT = 10.0
#: Loopback targets answer at once; this only bounds a wedged one.
TARGET_CONNECT_TIMEOUT = 5.0
#: Deep enough for a burst of several hundred simultaneous dials.
LISTEN_BACKLOG = 1024
RELAY_CHUNK = 65536

_V3_ONION_LABEL = re.compile(r"[a-z2-7]{56}")

T = TypeVar("T")


class ConnectionRecord(msgspec.Struct, frozen=True):
    """One SOCKS session as the gateway saw it, for tests to assert on.

    ``outcome`` is one of: ``ok``, ``refused`` (target refused), ``unreachable`` (target
    dial failed otherwise), ``unmapped``, ``bad-onion``, ``ip-literal-refused``,
    ``bad-command``, ``auth-failed``, ``bad-request``, ``hook-refused``; the
    ``on_connect`` hook sees ``pending``. Fields the client never sent are ``None``.
    """

    username: str | None
    password: str | None
    dest_host: str | None
    dest_port: int | None
    outcome: str
    atyp: int | None


class SocksRefusal(Exception):
    """Raised by an ``on_connect`` hook to refuse a dial with a chosen SOCKS reply code.

    Any other exception from the hook refuses with "general failure".
    """

    def __init__(self, reply: int = REP_GENERAL_FAILURE) -> None:
        super().__init__(f"refused by the on_connect hook with SOCKS reply {reply}")
        self.reply = reply


def canonical_onion(host: str) -> str | None:
    """``<56 base32>.onion`` for a v3 onion name (subdomains ignored, as Tor does), else None."""
    host = host.lower().rstrip(".")
    if not host.endswith(".onion"):
        return None
    label = host[: -len(".onion")].rpartition(".")[2]
    return f"{label}.onion" if _V3_ONION_LABEL.fullmatch(label) else None


def _require_loopback(address: tuple[str, int], what: str) -> tuple[str, int]:
    """Validate an IP-literal loopback ``(host, port)``: names would need a resolver."""
    host, port = address
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{what} must be a loopback IP literal, got {host!r}")
    _require_port(port, what)
    return host, port


def _require_port(port: int, what: str, allow_zero: bool = False) -> None:
    if not isinstance(port, int) or not (0 if allow_zero else 1) <= port <= 65535:
        raise ValueError(f"{what}: invalid port {port!r}")


def _text(raw: bytes) -> str:
    """Client-supplied bytes as text; never raises, so odd input is recorded, not fatal."""
    return raw.decode("utf-8", "replace")


def _reply(code: int) -> bytes:
    """A CONNECT reply; bound address 0.0.0.0:0 as Tor sends for onion streams."""
    return bytes([SOCKS_VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0])


def _set_nodelay(writer: asyncio.StreamWriter) -> None:
    """Relayed protocol messages are small; Nagle would add tens of ms per round trip."""
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Session:
    """What the gateway knows about one client connection while it is being served."""

    def __init__(self, task: asyncio.Task[Any], client: asyncio.StreamWriter) -> None:
        self.task = task
        self.client = client
        self.target: asyncio.StreamWriter | None = None
        self.onion: str | None = None
        self.username: str | None = None
        self.password: str | None = None
        self.dest_host: str | None = None
        self.dest_port: int | None = None
        self.atyp: int | None = None

    def record(self, outcome: str) -> ConnectionRecord:
        return ConnectionRecord(self.username, self.password, self.dest_host, self.dest_port,
                                outcome, self.atyp)

    def abort(self) -> None:
        """Drop both legs at once, unflushed data included: a network failure, not a close."""
        for writer in (self.client, self.target):
            if writer is not None:
                writer.transport.abort()


class OnionSocksGateway:
    """SOCKS5 server on loopback mapping v3 onion names to loopback targets, like Tor would.

    Replies mirror Tor's: unknown or non-onion name → 4 (host unreachable), malformed v3
    onion → 1 (general failure), target refused → 5, IP literal → 2 (not allowed), command
    other than CONNECT → 7. Username/password (RFC 1929) is preferred whenever offered and
    the credentials are recorded, so stream-isolation categories can be checked.

    ``require_auth`` refuses clients that offer only "no auth". ``credentials``, if given,
    are the only accepted ``{username: password}`` pairs. ``on_connect`` runs on the
    gateway's loop before each mapped dial with a ``pending`` :class:`ConnectionRecord`;
    raising refuses the dial (see :class:`SocksRefusal`). It must not block.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, require_auth: bool = False,
                 credentials: dict[str, str] | None = None,
                 on_connect: Callable[[ConnectionRecord], None] | None = None) -> None:
        _require_loopback((host, 1), "gateway host")
        _require_port(port, "gateway", allow_zero=True)
        self._host = host
        self._requested_port = port
        self._require_auth = require_auth
        self._credentials = dict(credentials) if credentials is not None else None
        self.on_connect = on_connect
        self._lock = threading.Lock()  # guards _mappings and _records, shared with callers
        self._mappings: dict[tuple[str, int], tuple[str, int]] = {}
        self._records: list[ConnectionRecord] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._sessions: set[_Session] = set()  # touched only on the loop thread
        self._port: int | None = None
        self._startup_error: OSError | None = None
        self._ready = threading.Event()  # set once bound (or binding failed)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> OnionSocksGateway:
        """Bind and serve in a background thread; calling it again while running is a no-op."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=asyncio.run, args=(self._main(),),
                                                name="onion-socks-gateway", daemon=True)
                self._thread.start()
            elif self._ready.is_set() and not self._thread.is_alive():
                raise RuntimeError("a stopped gateway cannot be restarted; create a new one")
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and join the thread; idempotent."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None:
            return
        try:
            loop.call_soon_threadsafe(stopping.set)
        except RuntimeError:  # the loop already finished
            pass
        thread.join()

    def __enter__(self) -> OnionSocksGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect (stays valid after stop, so tests can dial a dead proxy)."""
        if self._port is None:
            raise RuntimeError("gateway not started")
        return self._host, self._port

    @property
    def port(self) -> int:
        return self.address[1]

    # -- mappings and observation --------------------------------------------------------

    def map(self, onion_host: str, onion_port: int, target: tuple[str, int]) -> None:
        """Route ``onion_host:onion_port`` to a loopback ``target``; replaces any earlier one."""
        key = (self._onion_key(onion_host), onion_port)
        _require_port(onion_port, "onion")
        target = _require_loopback(tuple(target), "map target")  # type: ignore[arg-type]
        with self._lock:
            self._mappings[key] = target

    def unmap(self, onion_host: str, onion_port: int) -> None:
        """Forget a mapping (no-op if absent); live relays to it are left alone."""
        with self._lock:
            self._mappings.pop((self._onion_key(onion_host), onion_port), None)

    @property
    def connections(self) -> tuple[ConnectionRecord, ...]:
        """One record per client connection handled so far, in completion order."""
        with self._lock:
            return tuple(self._records)

    def clear_records(self) -> None:
        with self._lock:
            self._records.clear()

    def active_connections(self) -> int:
        """How many connections are being relayed right now."""
        return self._on_loop(lambda: sum(s.target is not None for s in self._sessions), 0)

    def kill(self, onion_host: str, onion_port: int | None = None) -> int:
        """Abort every live relay to ``onion_host`` (any port if None), as a network drop
        would; returns how many were aborted."""
        onion = self._onion_key(onion_host)

        def abort_matching() -> int:
            doomed = [s for s in self._sessions if s.target is not None and s.onion == onion
                      and onion_port in (None, s.dest_port)]
            for session in doomed:
                session.abort()
            return len(doomed)

        return self._on_loop(abort_matching, 0)

    @staticmethod
    def _onion_key(onion_host: str) -> str:
        onion = canonical_onion(onion_host)
        if onion is None:
            raise ValueError(f"not a v3 onion name: {onion_host!r}")
        return onion

    def _on_loop(self, fn: Callable[[], T], default: T) -> T:
        """Run ``fn`` on the gateway loop and wait for it, so loop state needs no lock.

        ``default`` when the gateway is not running, or stops before ``fn`` gets to run.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return default
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop is closed
            return default
        while True:
            try:
                return future.result(timeout=0.1)
            except concurrent.futures.TimeoutError:
                if not thread.is_alive():
                    return default

    def _record(self, session: _Session, outcome: str) -> None:
        """Store the record before replying, so a client that sees the reply sees it too."""
        with self._lock:
            self._records.append(session.record(outcome))

    # -- the loop thread -------------------------------------------------------------------

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._serve, self._host, self._requested_port,
                                                backlog=LISTEN_BACKLOG)
            self._port = server.sockets[0].getsockname()[1]
        except OSError as exc:
            self._startup_error = exc
            return
        finally:
            self._ready.set()
        await self._stopping.wait()
        server.close()
        sessions = list(self._sessions)
        for session in sessions:
            session.abort()
            session.task.cancel()
        await asyncio.gather(*(s.task for s in sessions), return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        session = _Session(task, writer)
        self._sessions.add(session)
        try:
            _set_nodelay(writer)
            try:
                target_reader = await asyncio.wait_for(
                    self._handshake(reader, writer, session), HANDSHAKE_TIMEOUT)
            except (asyncio.IncompleteReadError, TimeoutError, OSError):
                self._record(session, "bad-request")
                return
            if target_reader is not None and session.target is not None:
                await asyncio.gather(_pump(reader, session.target),
                                     _pump(target_reader, writer))
        except asyncio.CancelledError:
            # Only stop() cancels. End normally: on Python 3.11 start_server's done-callback
            # calls task.exception(), which raises for a cancelled task and logs a traceback.
            pass
        finally:
            self._sessions.discard(session)
            writer.close()
            if session.target is not None:
                session.target.close()

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         session: _Session) -> asyncio.StreamReader | None:
        """Negotiate and dial (setting ``session.target``); the target's reader, or None
        once a refusal was sent."""
        version, nmethods = await reader.readexactly(2)
        if version != SOCKS_VERSION:
            self._record(session, "bad-request")  # not SOCKS5 at all: just hang up
            return None
        methods = await reader.readexactly(nmethods)
        if not await self._authenticate(reader, writer, session, methods):
            return None

        version, command, _reserved, session.atyp = await reader.readexactly(4)
        if version != SOCKS_VERSION:
            return self._refuse(writer, session, "bad-request", REP_GENERAL_FAILURE)
        if session.atyp == ATYP_DOMAIN:
            (length,) = await reader.readexactly(1)
            session.dest_host = _text(await reader.readexactly(length))
        elif session.atyp in (ATYP_IPV4, ATYP_IPV6):
            packed = await reader.readexactly(4 if session.atyp == ATYP_IPV4 else 16)
            session.dest_host = str(ipaddress.ip_address(packed))
        else:
            return self._refuse(writer, session, "bad-request", REP_ATYP_NOT_SUPPORTED)
        session.dest_port = int.from_bytes(await reader.readexactly(2), "big")

        if command != CMD_CONNECT:
            return self._refuse(writer, session, "bad-command", REP_COMMAND_NOT_SUPPORTED)
        if session.atyp != ATYP_DOMAIN:
            return self._refuse(writer, session, "ip-literal-refused", REP_NOT_ALLOWED)
        if not session.dest_host.lower().rstrip(".").endswith(".onion"):
            return self._refuse(writer, session, "unmapped", REP_HOST_UNREACHABLE)
        session.onion = canonical_onion(session.dest_host)
        if session.onion is None:
            return self._refuse(writer, session, "bad-onion", REP_GENERAL_FAILURE)
        with self._lock:
            target = self._mappings.get((session.onion, session.dest_port))
        if target is None:
            return self._refuse(writer, session, "unmapped", REP_HOST_UNREACHABLE)

        if self.on_connect is not None:
            try:
                self.on_connect(session.record("pending"))
            except Exception as exc:
                code = exc.reply if isinstance(exc, SocksRefusal) else REP_GENERAL_FAILURE
                return self._refuse(writer, session, "hook-refused", code)
        try:
            target_reader, session.target = await asyncio.wait_for(
                asyncio.open_connection(*target), TARGET_CONNECT_TIMEOUT)
        except ConnectionRefusedError:
            return self._refuse(writer, session, "refused", REP_REFUSED)
        except (OSError, TimeoutError):
            return self._refuse(writer, session, "unreachable", REP_HOST_UNREACHABLE)
        _set_nodelay(session.target)
        self._record(session, "ok")  # counted as active before the client hears success
        writer.write(_reply(REP_SUCCEEDED))
        return target_reader

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            session: _Session, methods: bytes) -> bool:
        """Pick a method and run RFC 1929 if chosen; False once a refusal was sent."""
        if METHOD_USER_PASS in methods:
            writer.write(bytes([SOCKS_VERSION, METHOD_USER_PASS]))
            version, username_length = await reader.readexactly(2)
            session.username = _text(await reader.readexactly(username_length))
            (password_length,) = await reader.readexactly(1)
            session.password = _text(await reader.readexactly(password_length))
            accepted = version == AUTH_VERSION and (
                self._credentials is None
                or self._credentials.get(session.username) == session.password)
            if not accepted:
                self._record(session, "auth-failed")
            writer.write(bytes([AUTH_VERSION, 0x00 if accepted else 0x01]))
            return accepted
        if METHOD_NO_AUTH in methods and not self._require_auth:
            writer.write(bytes([SOCKS_VERSION, METHOD_NO_AUTH]))
            return True
        self._record(session, "auth-failed")
        writer.write(bytes([SOCKS_VERSION, METHOD_NONE_ACCEPTABLE]))
        return False

    def _refuse(self, writer: asyncio.StreamWriter, session: _Session, outcome: str,
                code: int) -> None:
        self._record(session, outcome)
        writer.write(_reply(code))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until EOF, then close the other leg.

    Closing ends the opposite pump too: like a Tor stream, a relay ends as a whole.
    """
    try:
        while data := await reader.read(RELAY_CHUNK):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def _parse_map(spec: str) -> tuple[str, int, tuple[str, int]]:
    """``<onion>:<port>=<loopback ip>:<port>`` (``[::1]`` brackets optional)."""
    source, _, target = spec.partition("=")
    onion, _, onion_port = source.rpartition(":")
    host, _, port = target.rpartition(":")
    return onion, int(onion_port), (host.strip("[]"), int(port))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localnet.socks_gateway",
                                     description="Tor-like SOCKS5 gateway for onions on loopback.")
    parser.add_argument("--port", type=int, default=0, help="listen port (default: a free one)")
    parser.add_argument("--map", action="append", default=[], type=_parse_map,
                        metavar="ONION:PORT=127.0.0.1:PORT")
    parser.add_argument("--require-auth", action="store_true")
    args = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with OnionSocksGateway(port=args.port, require_auth=args.require_auth) as gateway:
        for onion, onion_port, target in args.map:
            try:
                gateway.map(onion, onion_port, target)
            except ValueError as exc:
                parser.error(str(exc))
        host, port = gateway.address
        print(f"SOCKS5 gateway listening on {host}:{port}", flush=True)
        done.wait()


if __name__ == "__main__":
    main()
