"""Daemon mode: one long-running process serves the API.md client to takers in other processes.

Why: directory handshakes, peerlists and direct links are slow to build over Tor; a
daemon keeps them warm while takers come and go, and several takers can share them.
The daemon speaks :mod:`actors.daemon.wire` over a Unix socket (mode 0600) and,
optionally, loopback TCP. This module is the listener: it owns the files
(:mod:`actors.daemon.files`), admits and authenticates connections
(:mod:`actors.daemon.auth`, which also bounds what unauthenticated ones cost) and hands
each authenticated one to a :class:`~actors.daemon.session.Session`, which dispatches
requests through :data:`actors.daemon.methods.DISPATCH`.

Threading: ONE background thread runs an asyncio loop that serves every session. Each
request is its own task (responses may go out of order). ClientCore futures are bridged
with ``asyncio.wrap_future``: when a client goes away its request tasks are cancelled,
which cancels the core futures too, and the Inbox drops a cancelled wait at once (the
actors settle futures race-free, so a late resolution of a cancelled one is harmless).

Identity: with ``shared_identity=True`` every session uses the daemon's one ClientCore
(one nick); otherwise each session gets its own NickIdentity and ClientCore, created on
the session's first call (normally ``connect_all``) and closed when the session ends.

The test harness that runs a daemon over a LocalNet is :mod:`actors.app.daemon_localnet`;
this module never imports ``localnet``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import msgspec
from loguru import logger

from actors.api.client import ClientCore
from actors.core.messages import DirectoryStatus, Escalated, NickLeft, ViewsChanged
from actors.daemon.auth import (HELLO_TIMEOUT, MAX_HELLO_LINE, Cookie, StrangerGate,
                                hello_refusal)
from actors.daemon.files import bind_unix, owned, remove_owned
from actors.daemon.session import CoreFactory, Cores, Counters, Session, refuse
from actors.daemon.wire import (CLIENT_DECODER, PROTOCOL_VERSION, Event, HelloOk,
                                RequestFramer, default_cookie_path, format_tcp_address,
                                parse_tcp_address)
from protocol.crypto import NickIdentity
from protocol.errors import LineTooLongError
from protocol.framing import LineBuffer

__all__ = ["CoreFactory", "DaemonServer", "serve_from_settings"]

READ_CHUNK = 1 << 16  # also the StreamReader limit: it pauses reading beyond 2 × this
START_TIMEOUT = 10.0


class DaemonServer:
    """Serves ClientCore(s) on a control socket; see the module docstring."""

    def __init__(self, core_factory_or_core: ClientCore | CoreFactory,
                 socket_path: str | None = None, tcp_address: str | tuple[str, int] | None = None,
                 cookie_path: str | None = None, shared_identity: bool = True) -> None:
        if not socket_path and not tcp_address:
            raise ValueError("socket_path / tcp_address: need at least one place to listen")
        self._tcp = parse_tcp_address(tcp_address) if tcp_address else None
        self._socket_path = os.fspath(socket_path) if socket_path else None
        self._cookie = Cookie(os.fspath(cookie_path) if cookie_path else default_cookie_path(
            self._socket_path))
        if isinstance(core_factory_or_core, ClientCore):
            self._given_core: ClientCore | None = core_factory_or_core
            factory = _sibling_factory(core_factory_or_core)
        elif callable(core_factory_or_core):
            self._given_core, factory = None, core_factory_or_core
        else:
            raise ValueError("core_factory_or_core: expected a ClientCore or a factory")
        self.shared_identity = bool(shared_identity)
        self._factory = factory
        self._cores = Cores(factory, self._listener_for)
        self._shared_listener: Callable[[Any], None] | None = None
        self._owned_files: list[tuple[str, int]] = []  # (path, inode) we created
        self._bound_tcp: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._sessions: set[Session] = set()
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._session_ids = itertools.count(1)
        self._gate = StrangerGate()
        self._gate_full_logged = False
        self._counts = Counters()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> DaemonServer:
        if self._thread is not None:
            return self
        if self.shared_identity:
            shared = self._given_core or self._factory(NickIdentity())
            self._cores.shared = shared
            self._shared_listener = self._listener_for(None)
            shared.listeners.append(self._shared_listener)
            shared.connect_all()  # keep the directory links warm, client or not
        self._owned_files.append(self._cookie.create())
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
        shared, self._cores.shared = self._cores.shared, None
        if shared is not None:
            if self._shared_listener in shared.listeners:
                shared.listeners.remove(self._shared_listener)
            if self._given_core is None:
                shared.close()
        remove_owned(self._owned_files)
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
                "cookie_path": self._cookie.path}

    @property
    def shared_core(self) -> ClientCore | None:
        """The core every session uses in shared-identity mode (``None`` otherwise)."""
        return self._cores.shared

    def stats(self) -> dict[str, int]:
        """Daemon-level counters; ``pending_requests`` is what the sessions still wait on."""
        sessions = list(self._sessions)
        return {**self._counts, "sessions": len(sessions),
                "unauthenticated": self._gate.waiting,
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
                sock = bind_unix(self._socket_path)
                self._owned_files.append(owned(self._socket_path))
                servers.append(await asyncio.start_unix_server(
                    self._connection, sock=sock, limit=READ_CHUNK))
            if self._tcp:
                server = await asyncio.start_server(self._connection, *self._tcp,
                                                    limit=READ_CHUNK)
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
        session: Session | None = None
        try:
            if not self._gate.enter():
                self._refuse_over_cap(writer)
                return
            try:
                session, rest = await self._authenticate(reader, writer)
            finally:
                self._gate.leave()
            if session is not None:
                await self._serve_session(reader, session, rest)
        except (ConnectionError, OSError):
            pass
        finally:
            if session is not None:
                self._sessions.discard(session)
                await session.release()
                logger.info("daemon session {} ended", session.id)
            writer.close()
            self._connections.pop(asyncio.current_task(), None)

    def _refuse_over_cap(self, writer: asyncio.StreamWriter) -> None:
        self._counts.bump("refused_over_cap")
        if not self._gate_full_logged:  # once per episode: a flood must not flood the log
            self._gate_full_logged = True
            logger.warning("daemon: {} connections are waiting to authenticate; refusing more "
                           "(counted in refused_over_cap)", self._gate.limit)
        refuse(writer, f"too many connections waiting to authenticate "
                       f"(limit {self._gate.limit}); try again")

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                            ) -> tuple[Session | None, bytes]:
        """Read the hello (at most MAX_HELLO_LINE bytes, within HELLO_TIMEOUT).

        Returns the new session and the bytes that followed the hello in its last read.
        """
        buffer = LineBuffer(MAX_HELLO_LINE)
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                while True:
                    chunk = await reader.read(MAX_HELLO_LINE)
                    if not chunk:
                        return None, b""
                    line, rest = _first_line(buffer, chunk)
                    if line is not None:
                        break
        except TimeoutError:
            refuse(writer, f"no hello within {HELLO_TIMEOUT:g} s")
            return None, b""
        except LineTooLongError:
            self._refuse_hello(writer, f"hello line exceeds {MAX_HELLO_LINE} bytes")
            return None, b""
        try:
            hello = CLIENT_DECODER.decode(line)
        except msgspec.DecodeError:
            hello = None
        reason = hello_refusal(hello, self._cookie)
        if reason is not None:
            self._refuse_hello(writer, reason)
            return None, b""
        self._gate_full_logged = False
        identity = None if self.shared_identity else NickIdentity()
        session = Session(self._cores, self._counts, next(self._session_ids), writer,
                          hello.client_name, identity)  # hello_refusal: it is a Hello
        self._sessions.add(session)
        self._counts.bump("sessions_total")
        session.send(HelloOk(PROTOCOL_VERSION, session.nick, session.id))
        logger.info("daemon session {} opened ({})", session.id, hello.client_name or "unnamed")
        return session, rest

    def _refuse_hello(self, writer: asyncio.StreamWriter, reason: str) -> None:
        self._counts.bump("refused")
        logger.warning("daemon refused a connection: {}", reason)
        refuse(writer, reason)

    async def _serve_session(self, reader: asyncio.StreamReader, session: Session,
                             rest: bytes) -> None:
        framer = RequestFramer()
        lines = framer.feed(rest)
        while True:
            for line in lines:
                if not session.on_line(line):
                    return
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                return
            lines = framer.feed(chunk)

    # -- events from cores -----------------------------------------------------------------

    def _listener_for(self, session: Session | None) -> Callable[[Any], None]:
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

    def _deliver(self, session: Session | None, event: Any) -> None:
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


def _first_line(buffer: LineBuffer, chunk: bytes) -> tuple[bytes | None, bytes]:
    """Feed ``chunk`` up to the first complete line: (that line, the bytes after it).

    What follows the hello is left for the session's framer, whose line cap is larger.
    Raises LineTooLongError once the pending line exceeds the buffer's cap.
    """
    pos = 0
    while pos < len(chunk):
        newline = chunk.find(b"\n", pos)
        end = len(chunk) if newline < 0 else newline + 1
        lines = buffer.feed(chunk[pos:end])
        pos = end
        if lines:
            return lines[0], chunk[pos:]
    return None, b""


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
