"""Daemon mode: one long-running process serves the API.md client to takers in other processes.

Why: directory handshakes, peerlists and direct links are slow to build over Tor; a
daemon keeps them warm while takers come and go, and several takers can share them.
The daemon speaks :mod:`actors.daemon.wire` over a Unix socket (mode 0600) and,
optionally, loopback TCP; a cookie file (32 random bytes as hex, mode 0600, rewritten at
every start, like Tor's control cookie) authenticates each connection.

Threading: ONE background thread runs an asyncio loop that serves every session. Each
request is its own task (responses may go out of order). ClientCore futures are bridged
with ``asyncio.wrap_future``: when a client goes away its request tasks are cancelled,
which cancels the core futures too, and the Inbox drops a cancelled wait at once (the
actors settle futures race-free, so a late resolution of a cancelled one is harmless).

Identity: with ``shared_identity=True`` every session uses the daemon's one ClientCore
(one nick); otherwise each session gets its own NickIdentity and ClientCore, created on
the session's first call (normally ``connect_all``) and closed when the session ends.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import itertools
import json
import os
import secrets
import signal
import socket
import stat
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import msgspec
from loguru import logger

from actors.api.client import ClientCore
from actors.daemon.wire import (CLIENT_DECODER, MAX_CONSECUTIVE_GARBAGE, METHODS,
                                 PROTOCOL_VERSION, ControlMessage, CoreState, DaemonRefusedError,
                                 Error, ErrorResponse, Event, Hello, HelloOk, Request,
                                 RequestFramer, Response, default_cookie_path, encode_line,
                                 error_type_of, format_tcp_address, parse_tcp_address)
from actors.errors import ClientClosedError
from actors.core.messages import DirectoryStatus, Escalated, NickLeft, ViewsChanged
from protocol.crypto import NickIdentity
from protocol.handshake import NOT_SERVING

GRACE = 5.0  # beyond an actor-side deadline, how long a request may wait for its future
HELLO_TIMEOUT = 10.0
MAX_PENDING_PER_SESSION = 256
MAX_WRITE_BUFFER = 32 << 20  # a client that stops reading is dropped beyond this
READ_CHUNK = 1 << 16
START_TIMEOUT = 10.0

CoreFactory = Callable[[NickIdentity], ClientCore]


class DaemonServer:
    """Serves ClientCore(s) on a control socket; see the module docstring."""

    def __init__(self, core_factory_or_core: ClientCore | CoreFactory,
                 socket_path: str | None = None, tcp_address: str | tuple[str, int] | None = None,
                 cookie_path: str | None = None, shared_identity: bool = True) -> None:
        if not socket_path and not tcp_address:
            raise ValueError("socket_path / tcp_address: need at least one place to listen")
        self._tcp = parse_tcp_address(tcp_address) if tcp_address else None
        self._socket_path = os.fspath(socket_path) if socket_path else None
        self._cookie_path = os.fspath(cookie_path) if cookie_path else default_cookie_path(
            self._socket_path)
        if isinstance(core_factory_or_core, ClientCore):
            self._given_core: ClientCore | None = core_factory_or_core
            self._factory = _sibling_factory(core_factory_or_core)
        elif callable(core_factory_or_core):
            self._given_core, self._factory = None, core_factory_or_core
        else:
            raise ValueError("core_factory_or_core: expected a ClientCore or a factory")
        self.shared_identity = bool(shared_identity)
        self._shared: ClientCore | None = None
        self._shared_listener: Callable[[Any], None] | None = None
        self._cookie = ""
        self._owned_files: list[tuple[str, int]] = []  # (path, inode) we created
        self._bound_tcp: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._sessions: set[_Session] = set()
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._session_ids = itertools.count(1)
        self._counts = {"sessions_total": 0, "refused": 0, "requests": 0, "request_errors": 0}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> DaemonServer:
        if self._thread is not None:
            return self
        if self.shared_identity:
            self._shared = self._given_core or self._factory(NickIdentity())
            self._shared_listener = self._listener_for(None)
            self._shared.listeners.append(self._shared_listener)
            self._shared.connect_all()  # keep the directory links warm, client or not
        self._cookie = secrets.token_hex(32)
        self._owned_files.append(_write_private(self._cookie_path, self._cookie + "\n"))
        ready: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="jm-daemon")
        self._thread.start()
        try:
            ready.result(START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        logger.info("daemon listening on {}", self.address)
        return self

    def stop(self) -> None:
        """Hang up every client (their in-flight calls fail at once), then release cores."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # loop already finished (start failed)
                pass
        thread.join(timeout=30)
        self._thread = None
        shared, self._shared = self._shared, None
        if shared is not None:
            if self._shared_listener in shared.listeners:
                shared.listeners.remove(self._shared_listener)
            if self._given_core is None:
                shared.close()
        for path, inode in self._owned_files:
            try:
                if os.lstat(path).st_ino == inode:
                    os.unlink(path)
            except OSError:
                pass
        self._owned_files.clear()

    def __enter__(self) -> DaemonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> dict[str, str | None]:
        """Keyword arguments for the remote facades: ``RemoteMultiDirectoryClient(**address)``."""
        tcp = self._bound_tcp or self._tcp
        return {"socket_path": self._socket_path,
                "tcp_address": format_tcp_address(*tcp) if tcp else None,
                "cookie_path": self._cookie_path}

    def stats(self) -> dict[str, int]:
        """Daemon-level counters; ``pending_requests`` is what the sessions still wait on."""
        sessions = list(self._sessions)
        return {**self._counts, "sessions": len(sessions),
                "pending_requests": sum(len(s.tasks) for s in sessions),
                "session_cores": sum(s.own_core is not None for s in sessions)}

    # -- the loop thread -------------------------------------------------------------------

    def _run(self, ready: Future) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # noqa: BLE001 - reported to start() through ready
            if not ready.done():
                ready.set_exception(exc)
            else:
                logger.exception("daemon loop failed")
        finally:
            loop.close()

    async def _serve(self, ready: Future) -> None:
        self._stopping = asyncio.Event()
        servers = []
        try:
            if self._socket_path:
                sock = _bind_unix(self._socket_path)
                self._owned_files.append((self._socket_path, os.lstat(self._socket_path).st_ino))
                servers.append(await asyncio.start_unix_server(self._connection, sock=sock))
            if self._tcp:
                server = await asyncio.start_server(self._connection, *self._tcp)
                self._bound_tcp = server.sockets[0].getsockname()[:2]
                servers.append(server)
        except BaseException:
            for server in servers:
                server.close()
            raise
        ready.set_result(None)
        await self._stopping.wait()
        for server in servers:
            server.close()
        for writer in self._connections.values():
            writer.close()  # clients see EOF now; their calls fail fast
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=20)

    # -- one connection --------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        self._connections[asyncio.current_task()] = writer
        framer = RequestFramer()
        session: _Session | None = None
        deadline = asyncio.get_running_loop().time() + HELLO_TIMEOUT
        try:
            while True:
                timeout = None if session else deadline - asyncio.get_running_loop().time()
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
                if not chunk:
                    return
                for line in framer.feed(chunk):
                    if session is None:
                        session = self._hello(line, writer)
                        if session is None:
                            return
                    elif not session.on_line(line):
                        return
        except TimeoutError:
            _refuse(writer, f"no hello within {HELLO_TIMEOUT:g} s")
        except (ConnectionError, OSError):
            pass
        finally:
            if session is not None:
                self._sessions.discard(session)
                await session.release()
                logger.info("daemon session {} ended", session.id)
            writer.close()
            self._connections.pop(asyncio.current_task(), None)

    def _hello(self, line: bytes | None, writer: asyncio.StreamWriter) -> _Session | None:
        try:
            hello = CLIENT_DECODER.decode(line) if line is not None else None
        except msgspec.DecodeError:
            hello = None
        reason = None
        if not isinstance(hello, Hello):
            reason = "expected a hello first"
        elif hello.version != PROTOCOL_VERSION:
            reason = (f"protocol version {hello.version} is not supported "
                      f"(this daemon speaks {PROTOCOL_VERSION})")
        elif not hmac.compare_digest(hello.cookie_hex.strip().lower().encode(),
                                     self._cookie.encode()):
            reason = "wrong or missing cookie"
        if reason is not None:
            self._counts["refused"] += 1
            logger.warning("daemon refused a connection: {}", reason)
            _refuse(writer, reason)
            return None
        identity = None if self.shared_identity else NickIdentity()
        session = _Session(self, next(self._session_ids), writer, hello.client_name, identity)
        self._sessions.add(session)
        self._counts["sessions_total"] += 1
        session.send(HelloOk(PROTOCOL_VERSION, session.nick, session.id))
        logger.info("daemon session {} opened ({})", session.id, hello.client_name or "unnamed")
        return session

    # -- events from cores -----------------------------------------------------------------

    def _listener_for(self, session: _Session | None) -> Callable[[Any], None]:
        """A core listener (runs on actor threads) that hands events to the loop thread."""
        def listener(event: Any) -> None:
            loop = self._loop
            if loop is None:
                return
            try:
                loop.call_soon_threadsafe(self._deliver, session, event)
            except RuntimeError:  # the loop has closed: nobody left to tell
                pass
        return listener

    def _deliver(self, session: _Session | None, event: Any) -> None:
        targets = [session] if session is not None else [
            s for s in self._sessions if s.identity is None]
        if isinstance(event, ViewsChanged):  # pushed when it happens, never polled
            for target in targets:
                target.push_changes()
            return
        if isinstance(event, NickLeft):
            message = Event("nick_left", {"nick": event.nick})
        elif isinstance(event, DirectoryStatus):
            message = Event("directory", {"name": event.name, "up": event.up})
        elif isinstance(event, Escalated):
            message = Event("escalated", {"reason": event.reason})
        else:
            return
        for target in targets:
            target.push_changes()
            target.send(message)


class _Session:
    """One authenticated client connection and the requests it has in flight."""

    def __init__(self, server: DaemonServer, session_id: int, writer: asyncio.StreamWriter,
                 client_name: str, identity: NickIdentity | None) -> None:
        self.server, self.id, self.writer = server, session_id, writer
        self.client_name = client_name
        self.identity = identity
        self.own_core: ClientCore | None = None
        self.tasks: dict[int, asyncio.Task] = {}
        self.garbage = 0
        self.closed = False  # close_all was called: refuse further calls
        self._seen_views: tuple[Any, Any] = (None, None)
        self._seen_stats: dict[str, int] | None = None
        self._handlers: dict[str, Callable[[Any], Awaitable[Any]]] = {
            name: getattr(self, "_do_" + name) for name in METHODS}

    @property
    def nick(self) -> str:
        identity = self.identity or self.server._shared.identity
        return identity.nick

    def core(self) -> ClientCore:
        if self.closed:
            raise ClientClosedError("this session was closed by close_all")
        if self.identity is None:
            return self.server._shared
        if self.own_core is None:
            self.own_core = self.server._factory(self.identity)
            self.own_core.listeners.append(self.server._listener_for(self))
        return self.own_core

    # -- output ----------------------------------------------------------------------------

    def send(self, message: ControlMessage) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(encode_line(message))
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            logger.warning("daemon session {} does not read its replies; dropping it", self.id)
            self.writer.transport.abort()

    def push_changes(self) -> None:
        """Send ``state`` when the core's views changed and ``stats`` when counters did.

        Called on every ``ViewsChanged`` event and before every reply, so a client's
        reads after any call return see state at least as fresh as that reply.
        """
        core = self.server._shared if self.identity is None else self.own_core
        if core is None or not core.started:
            return
        try:
            views = core.ctx.views
        except ClientClosedError:
            return
        router, registry = views.router, views.registry
        if router is not self._seen_views[0] or registry is not self._seen_views[1]:
            self._seen_views = (router, registry)
            self.send(Event("state", _state(core, self.nick, router, registry)))
        counters = core.stats()
        if counters != self._seen_stats:
            self._seen_stats = counters
            self.send(Event("stats", counters))

    # -- input -----------------------------------------------------------------------------

    def on_line(self, line: bytes | None) -> bool:
        """Handle one line; False when the connection should be closed."""
        if line is None:
            return self._garbage(None, "request line exceeds the 1 MiB limit")
        try:
            message = CLIENT_DECODER.decode(line)
        except msgspec.DecodeError as exc:
            return self._garbage(_salvage_id(line), f"malformed request: {exc}")
        self.garbage = 0
        if isinstance(message, Hello):
            self._error(None, "ControlProtocolError", "already authenticated")
            return True
        self.server._counts["requests"] += 1
        spec = METHODS.get(message.method)
        if spec is None:
            self._error(message.id, "ControlProtocolError", f"unknown method {message.method!r}")
        elif message.id in self.tasks:
            self._error(message.id, "ControlProtocolError", f"request id {message.id} is in use")
        elif len(self.tasks) >= MAX_PENDING_PER_SESSION:
            self._error(message.id, "OverflowError",
                        f"more than {MAX_PENDING_PER_SESSION} requests in flight")
        else:
            try:
                params = msgspec.convert(message.params, spec[0])
            except msgspec.ValidationError as exc:
                self._error(message.id, "ValueError", f"{message.method}: {exc}")
                return True
            self.tasks[message.id] = asyncio.get_running_loop().create_task(
                self._run(message, params))
        return True

    def _garbage(self, request_id: int | None, reason: str) -> bool:
        self.garbage += 1
        self._error(request_id, "ControlProtocolError", reason)
        if self.garbage < MAX_CONSECUTIVE_GARBAGE:
            return True
        _refuse(self.writer, f"{self.garbage} malformed lines in a row", "ControlProtocolError")
        return False

    def _error(self, request_id: int | None, error_type: str, message: str) -> None:
        self.server._counts["request_errors"] += 1
        self.send(ErrorResponse(request_id, error_type, message))

    async def _run(self, request: Request, params: Any) -> None:
        try:
            result = await self._handlers[request.method](params)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure goes back typed
            self._error(request.id, error_type_of(exc), str(exc) or type(exc).__name__)
        else:
            self.push_changes()  # reads after this reply see fresh state
            self.send(Response(request.id, result))
        finally:
            self.tasks.pop(request.id, None)

    async def release(self) -> None:
        """Cancel this session's requests (except the caller) and close its own core."""
        current = asyncio.current_task()
        tasks = [t for t in self.tasks.values() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        core, self.own_core = self.own_core, None
        if core is not None:
            await _in_thread(core.close)

    # -- methods (one per ClientCore call; params are validated Structs) --------------------

    async def _do_connect_all(self, p: Any) -> int:
        core = self.core()
        try:
            return await _bridge(core.connect_all(), core.config.connection_timeout + 1)
        except TimeoutError:
            return core.connected_count()

    async def _do_close_all(self, p: Any) -> None:
        """Ends only this session: the daemon's shared directory links stay up."""
        self.closed = True
        await self.release()

    async def _do_stats(self, p: Any) -> dict[str, int]:
        return self.core().stats()

    async def _do_fetch_orderbook(self, p: Any) -> list:
        future = self.core().fetch_orderbook(p.max_wait, p.min_wait, p.quiet_period)
        return await _bridge(future, p.max_wait + GRACE)

    async def _do_send_privmsg(self, p: Any) -> str:
        core = self.core()
        future = core.send_privmsg(p.recipient, p.command, p.data, p.log_routing, p.force_channel)
        return await _bridge(future, core.config.connection_timeout + GRACE)

    async def _do_wait_for_responses(self, p: Any) -> dict[str, dict]:
        future = self.core().wait_for_responses(p.expected_nicks, p.expected_command, p.timeout,
                                                 p.expected_counts)
        return await _bridge(future, p.timeout + GRACE)

    async def _do_wait_for_response(self, p: Any) -> dict | None:
        future = self.core().wait_for_responses([p.from_nick], p.expected_command, p.timeout)
        return (await _bridge(future, p.timeout + GRACE)).get(p.from_nick)

    async def _do_bind_session(self, p: Any) -> Any:
        return self.core().bind_session(p.nick)

    async def _do_upgrade_channel_prefer_direct(self, p: Any) -> str:
        return self.core().upgrade_channel_prefer_direct(p.nick, p.current_channel)

    async def _do_try_direct_connect(self, p: Any) -> None:
        self.core().try_direct_connect(p.nick)

    async def _do_get_peer_location(self, p: Any) -> str | None:
        return self.core().get_peer_location(p.nick)

    async def _do_get_connected_peer(self, p: Any) -> Any:
        return self.core().get_connected_peer(p.nick)

    async def _do_get_pending_connect_task(self, p: Any) -> bool | None:
        core = self.core()
        attempt = core.get_pending_connect_task(p.nick)
        if attempt is None:
            return None
        return bool(await _bridge(attempt, core.config.connection_timeout + GRACE))

    async def _do_is_nick_active(self, p: Any) -> bool:
        return self.core().is_nick_active(p.nick)

    async def _do_sync_nicks_with_peerlist(self, p: Any) -> None:
        await _bridge(self.core().sync_nicks_with_peerlist(p.server, p.active_nicks), GRACE)


# -- helpers ------------------------------------------------------------------------------

async def _bridge(future: Future, timeout: float) -> Any:
    """Await a core future from the loop; cancelling the request cancels it (module docstring)."""
    return await asyncio.wait_for(asyncio.wrap_future(future), timeout)


async def _in_thread(fn: Callable[[], None]) -> None:
    """Run a blocking close on a short-lived thread so the loop keeps serving others."""
    done: Future = Future()

    def run() -> None:
        try:
            fn()
        except Exception:  # noqa: BLE001 - a failed close is logged, never fatal to the daemon
            logger.exception("closing a session core failed")
        finally:
            done.set_result(None)
    threading.Thread(target=run, name="jm-daemon-close").start()
    await asyncio.wrap_future(done)


def _state(core: ClientCore, nick: str, router: Any, registry: Any) -> CoreState:
    return CoreState(
        nick=nick, prefer_direct=core.config.prefer_direct,
        directories_up=tuple(router.directories_up), present=dict(registry.present),
        listed=dict(registry.listed),
        locations={n: loc for n, loc in registry.locations.items() if loc != NOT_SERVING},
        peers=dict(router.peers),
        attempts={n: (_outcome(f) if f.done() else None) for n, f in router.attempts.items()},
        directories=core.directory_status())


def _outcome(future: Future) -> bool:
    return not future.cancelled() and future.exception() is None and bool(future.result())


def _refuse(writer: asyncio.StreamWriter, reason: str,
            error_type: str = DaemonRefusedError.__name__) -> None:
    if not writer.is_closing():
        writer.write(encode_line(Error(error_type, reason)))
        writer.close()


def _salvage_id(line: bytes) -> int | None:
    """The ``id`` of a request that failed validation, so its caller is answered."""
    try:
        raw = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None
    request_id = raw.get("id") if isinstance(raw, dict) else None
    return request_id if type(request_id) is int else None


def _sibling_factory(template: ClientCore) -> CoreFactory:
    """Cores configured like ``template`` but with their own identity (per-session mode)."""
    config = template.config

    def factory(identity: NickIdentity) -> ClientCore:
        return ClientCore(
            config.directories, config.network, identity, config.socks.host, config.socks.port,
            config.connection_timeout, config.neutrino_compat, None, config.prefer_direct,
            config.our_location, config.socks.stream_isolation,
            allow_clearnet=config.socks.allow_clearnet, nick_auth_mode=config.nick_auth_mode,
            limits=config.limits)
    return factory


def _write_private(path: str, text: str) -> tuple[str, int]:
    """Write ``path`` atomically with mode 0600; return (path, inode) for removal at stop."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path, os.lstat(path).st_ino


def _bind_unix(path: str) -> socket.socket:
    """Bind under a temporary name, chmod 0600, then rename: never reachable with wider mode."""
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ValueError(f"socket_path: {path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            pass  # stale socket of a dead daemon: replaced below
        else:
            raise RuntimeError(f"socket_path: a daemon is already listening on {path}")
        finally:
            probe.close()
    tmp = f"{path}.{os.getpid()}.tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        sock.listen(64)
    except BaseException:
        sock.close()
        raise
    return sock


# -- integration points -------------------------------------------------------------------

def serve_from_settings(core: ClientCore, daemon_settings: Any) -> DaemonServer | None:
    """For the CLI: start a daemon for ``core`` if the settings enable one (else ``None``).

    ``daemon_settings`` has ``socket`` (path, "" = off), ``tcp`` ("127.0.0.1:port", "" = off),
    ``cookie`` (path, "" = next to the socket) and ``shared_identity``. The caller stops the
    returned server before closing ``core``.
    """
    if not daemon_settings.socket and not daemon_settings.tcp:
        return None
    return DaemonServer(core, socket_path=daemon_settings.socket or None,
                        tcp_address=daemon_settings.tcp or None,
                        cookie_path=daemon_settings.cookie or None,
                        shared_identity=bool(daemon_settings.shared_identity)).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m actors.daemon.server --localnet``: a daemon over a loopback network, for tests."""
    parser = argparse.ArgumentParser(prog="python -m actors.daemon.server")
    parser.add_argument("--socket", default=None)
    parser.add_argument("--tcp", default=None, help="127.0.0.1:PORT (0 picks a free port)")
    parser.add_argument("--cookie", default=None)
    parser.add_argument("--localnet", action="store_true", required=True,
                        help="serve a LocalNet (the real network is served by jm-multidir)")
    parser.add_argument("--makers", type=int, default=2)
    parser.add_argument("--per-session", action="store_true", help="shared_identity=False")
    args = parser.parse_args(argv)
    from localnet.network import LocalNet

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with LocalNet(makers=args.makers) as net:
        def factory(identity: NickIdentity) -> ClientCore:
            return ClientCore(net.directory_servers, net.network, identity, net.socks_host,
                              net.socks_port, connection_timeout=5.0)
        with DaemonServer(factory, socket_path=args.socket, tcp_address=args.tcp,
                          cookie_path=args.cookie, shared_identity=not args.per_session) as server:
            print("ready", json.dumps({**server.address, "makers": [m.nick for m in net.makers]}),
                  flush=True)
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
