"""Remote facades: the API.md client served by a daemon (:mod:`actors.daemon.server`) in another process.

:class:`RemoteMultiDirectoryClient` (asyncio) and :class:`BlockingRemoteMultiDirectoryClient`
have every method of the embedded facades, with the same coroutine/plain split, return
types (ChannelBinding, Offer/BondData, PeerHandle) and typed errors (re-raised from the
daemon's ``error_type``). Only the constructor differs: it names the daemon, not the network.

How the plain methods stay non-blocking: they cannot ask the daemon without a round trip,
so they read a local copy of the daemon's views (directories up, presence, peerlist
listings, locations, direct peers, connection attempts). The daemon pushes that copy as a
``state`` event the moment an actor publishes a new view, and again just before every
reply — so after any awaited call returns, reads reflect the daemon at least as of that
reply; in between they lag only by the socket's delivery time. ``get_pending_connect_task``
returns a future: resolved at once when the copy says the attempt finished, else completed
by a request the daemon answers when the attempt ends.

Read-your-writes (API.md point 15): after ``try_direct_connect`` or
``sync_nicks_with_peerlist`` returns, reads on any thread see it. The blocking facade makes
them round trips (the reply follows the state push that shows the change). The asyncio
facade's link runs on the caller's loop, so it must not wait: it sends the request and lays
it over the copy until the reply arrives (:mod:`actors.daemon.pending`). The binding
``bind_session`` records in the daemon is sent without waiting; a refusal is logged.

If the daemon goes away, calls in flight raise :class:`ClientClosedError` saying so, and
(with ``reconnect=True``) the link is re-established in the background with backoff; a
call made meanwhile waits up to ``RECONNECT_WAIT`` for it. A new session starts empty: in
per-session daemons it also has a new nick.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import msgspec
from loguru import logger

from actors.api.config import normalize_directory
from actors.api.offers import Offer, caller_offers
from actors.daemon.pending import PendingDial, PendingSync, PendingWrites
from actors.daemon.wire import (DAEMON_DECODER, MAX_CLIENT_NAME, MAX_DAEMON_LINE, METHODS,
                                 PROTOCOL_VERSION, CoreState, DaemonRefusedError, Error,
                                 ErrorResponse, Event, Hello, HelloOk, Request, Response,
                                 default_cookie_path, encode_line, format_tcp_address, make_error,
                                 parse_tcp_address)
from actors.core.dirhealth import DirectoryHealth
from actors.core.routing import ChannelBinding, choose_binding, upgrade_channel
from actors.errors import ClientClosedError, MultiDirectoryError
from actors.shells.runtime import PeerHandle

__all__ = ["BlockingRemoteMultiDirectoryClient", "RemoteMultiDirectoryClient"]

CALL_GRACE = 10.0  # beyond the daemon's own deadline for a wait or a fetch
HELLO_TIMEOUT = 10.0
RECONNECT_WAIT = 10.0
RECONNECT_MIN, RECONNECT_MAX = 0.05, 2.0
CLOSE_TIMEOUT = 30.0


class _Link:
    """The connection to the daemon, living on one event loop, with reconnection."""

    def __init__(self, socket_path: str | None, tcp_address: str | tuple[str, int] | None,
                 cookie_path: str | None, reconnect: bool, client_name: str,
                 on_nick_leave: Callable[[str], None] | None) -> None:
        if not socket_path and not tcp_address:
            raise ValueError("socket_path / tcp_address: need the daemon's address")
        if on_nick_leave is not None and not callable(on_nick_leave):
            raise ValueError("on_nick_leave: must be callable or None")
        if not isinstance(client_name, str) or len(client_name) > MAX_CLIENT_NAME:
            raise ValueError(f"client_name: a string of at most {MAX_CLIENT_NAME} characters "
                             "(the daemon caps the hello line)")
        self._socket_path = str(socket_path) if socket_path else None
        self._tcp = parse_tcp_address(tcp_address) if tcp_address else None
        self._cookie_path = str(cookie_path) if cookie_path else default_cookie_path(socket_path)
        self.where = self._socket_path or format_tcp_address(*self._tcp)
        self._reconnect = reconnect
        self._client_name = client_name
        self._on_nick_leave = on_nick_leave
        self.state = CoreState()
        self.stats: dict[str, int] = {}
        self.escalation: str | None = None
        self.session_id: int | None = None
        self.daemon_nick = ""
        self.closed = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._runner: asyncio.Task | None = None
        self._pending: dict[int, tuple[str, asyncio.Future]] = {}
        self._unawaited: dict[int, str] = {}  # id -> method of requests sent by notify()
        self.writes = PendingWrites()  # notify()'d writes reads must see before their reply
        self._ids = itertools.count(1)

    # -- connecting ------------------------------------------------------------------------

    async def _open(self) -> asyncio.StreamReader:
        """Connect and say hello; raise ClientClosedError / DaemonRefusedError on failure."""
        try:
            cookie = Path(self._cookie_path).read_text().strip()
            if self._socket_path:
                reader, writer = await asyncio.open_unix_connection(self._socket_path,
                                                                    limit=MAX_DAEMON_LINE)
            else:
                reader, writer = await asyncio.open_connection(*self._tcp, limit=MAX_DAEMON_LINE)
        except OSError as exc:
            raise ClientClosedError(f"cannot reach the daemon at {self.where}: {exc}") from exc
        try:
            writer.write(encode_line(Hello(PROTOCOL_VERSION, cookie, self._client_name)))
            line = await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT)
            reply = DAEMON_DECODER.decode(line) if line else None
        except (OSError, ValueError, TimeoutError) as exc:
            writer.close()
            raise ClientClosedError(f"no hello from the daemon at {self.where}: {exc}") from exc
        if not isinstance(reply, HelloOk):
            writer.close()
            if isinstance(reply, Error):
                raise make_error(reply.error_type,
                                 f"the daemon at {self.where} refused us: {reply.message}")
            raise ClientClosedError(f"the daemon at {self.where} hung up during hello")
        self._writer = writer
        self.session_id, self.daemon_nick = reply.session_id, reply.daemon_nick
        self._connected.set()
        return reader

    async def start(self) -> None:
        async with self._start_lock:
            if self.closed:
                raise ClientClosedError("the client is closed")
            if self._runner is None:
                self.loop = asyncio.get_running_loop()
                reader = await self._open()
                self._runner = self.loop.create_task(self._run(reader))

    async def _run(self, reader: asyncio.StreamReader) -> None:
        while True:
            self._lost(await self._read_until_lost(reader))
            if self.closed or not self._reconnect:
                return
            reader = await self._reconnect_forever()

    async def _read_until_lost(self, reader: asyncio.StreamReader) -> str:
        try:
            while line := await reader.readline():
                self._dispatch(DAEMON_DECODER.decode(line))
            return "the daemon closed the connection"
        except (OSError, ValueError) as exc:  # ValueError: undecodable or over-long line
            return str(exc) or type(exc).__name__

    def _lost(self, reason: str) -> None:
        self._connected.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        pending, self._pending = self._pending, {}
        for method, future in pending.values():
            if not future.done():
                future.set_exception(ClientClosedError(
                    f"{method}: the connection to the daemon at {self.where} was lost while "
                    f"the call was in flight ({reason})"))
        self._unawaited.clear()
        self.state = CoreState(nick=self.state.nick, prefer_direct=self.state.prefer_direct)
        self.writes.clear()
        if not self.closed:
            logger.warning("lost the daemon at {} ({}); {}", self.where, reason,
                           "reconnecting" if self._reconnect else "not reconnecting")

    async def _reconnect_forever(self) -> asyncio.StreamReader:
        delay = RECONNECT_MIN
        while True:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            try:
                reader = await self._open()
            except DaemonRefusedError as exc:
                logger.warning("reconnecting to the daemon: {}", exc)
            except ClientClosedError as exc:
                logger.debug("reconnecting to the daemon: {}", exc)
            else:
                logger.info("reconnected to the daemon at {} (session {}, nick {})", self.where,
                            self.session_id, self.daemon_nick)
                return reader
            delay = min(delay * 2, RECONNECT_MAX)

    async def _ready(self) -> None:
        if self.closed:
            raise ClientClosedError("the client is closed")
        await self.start()
        if self._connected.is_set():
            return
        if not self._reconnect or self._runner.done():
            raise ClientClosedError(f"the connection to the daemon at {self.where} was lost")
        try:
            await asyncio.wait_for(self._connected.wait(), RECONNECT_WAIT)
        except TimeoutError:
            raise ClientClosedError(
                f"not connected to the daemon at {self.where} (still reconnecting)") from None

    # -- traffic ---------------------------------------------------------------------------

    def _dispatch(self, message: Any) -> None:
        if isinstance(message, Response):
            entry = self._pending.pop(message.id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(message.result)
            self._unawaited.pop(message.id, None)
            self.writes.settle(message.id)  # the state pushed before this reply includes it
        elif isinstance(message, ErrorResponse):
            entry = self._pending.pop(message.id, None) if message.id is not None else None
            if entry is not None:
                if not entry[1].done():
                    entry[1].set_exception(make_error(message.error_type, message.message))
            else:
                method = self._unawaited.pop(message.id, "a request")
                self.writes.settle(message.id)
                logger.warning("the daemon refused {}: {}: {}", method, message.error_type,
                               message.message)
        elif isinstance(message, Event):
            self._event(message)
        elif isinstance(message, Error):
            logger.warning("the daemon is closing the connection: {}", message.message)

    def _event(self, event: Event) -> None:
        if event.kind == "state":
            self.state = msgspec.convert(event.payload, CoreState)
        elif event.kind == "stats":
            self.stats = dict(event.payload)
        elif event.kind == "nick_left" and self._on_nick_leave is not None:
            try:
                self._on_nick_leave(event.payload["nick"])
            except Exception:  # noqa: BLE001 - API.md point 10: log, never propagate
                logger.exception("on_nick_leave raised")
        elif event.kind == "escalated":
            self.escalation = event.payload["reason"]
            logger.error("the daemon's client escalated: {}", self.escalation)
        elif event.kind == "directory":
            logger.debug("daemon: directory {} is {}", event.payload["name"],
                         "up" if event.payload["up"] else "down")

    async def call(self, method: str, params: dict[str, Any], timeout: float | None) -> Any:
        """One request; its typed result, or the daemon's typed error re-raised."""
        await self._ready()
        request_id = next(self._ids)
        future = self.loop.create_future()
        self._pending[request_id] = (method, future)
        try:
            self._writer.write(encode_line(Request(request_id, method, params)))
            raw = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
        return msgspec.convert(raw, METHODS[method][1])

    def notify(self, method: str, params: dict[str, Any],
               write: PendingDial | PendingSync | None = None) -> None:
        """Send a request without waiting for its reply; callable from any thread.

        ``write`` is laid over the state copy from now until the reply arrives; it is
        recorded before the request can be sent, so its reply can never precede it.
        """
        loop = self.loop
        if loop is None or self.closed:
            return  # never connected: there is no daemon state to act on yet
        request_id = next(self._ids)
        if write is not None:
            self.writes.add(request_id, write)
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:  # write now, so it precedes any request this thread sends next
            self._notify_now(request_id, method, params)
        else:
            loop.call_soon_threadsafe(self._notify_now, request_id, method, params)

    def _notify_now(self, request_id: int, method: str, params: dict[str, Any]) -> None:
        if self._writer is None:
            logger.debug("not connected to the daemon; dropped {}", method)
            self.writes.settle(request_id)
            return
        self._unawaited[request_id] = method
        self._writer.write(encode_line(Request(request_id, method, params)))

    async def attempt_outcome(self, nick: str) -> bool:
        return bool(await self.call("get_pending_connect_task", {"nick": nick}, None))

    async def close(self) -> None:
        """End our session (the daemon keeps its directory links) and stop reconnecting."""
        if self.closed:
            return
        if self._connected.is_set():
            try:
                await self.call("close_all", {}, CLOSE_TIMEOUT)
            except (MultiDirectoryError, TimeoutError) as exc:
                logger.debug("close_all on the daemon: {}", exc)
        self.closed = True
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        self._lost("the client was closed")


class _RemoteCommon:
    """The plain (non-blocking) methods, answered from the pushed copy of the daemon's views."""

    _link: _Link

    def _view(self) -> CoreState:
        """The pushed copy with this client's pending writes laid over it."""
        if self._link.closed:
            raise ClientClosedError("the client is closed")
        link = self._link
        return link.writes.over(lambda: link.state)

    def bind_session(self, nick: str) -> ChannelBinding | None:
        state = self._view()
        binding = choose_binding(
            nick, direct_up=nick in state.peers, prefer_direct=state.prefer_direct,
            connected=state.directories_up, carrying=state.present.get(nick, frozenset()),
            listing=state.listed.get(nick, frozenset()), location=state.locations.get(nick))
        if binding is not None:
            self._link.notify("bind_session", {"nick": nick})  # the daemon records the binding
        return binding

    def upgrade_channel_prefer_direct(self, nick: str, current_channel: str) -> str:
        state = self._view()
        return upgrade_channel(current_channel, direct_up=nick in state.peers,
                               prefer_direct=state.prefer_direct)

    def _will_dial(self, nick: str) -> bool:
        """Whether the copy says ``try_direct_connect(nick)`` starts an attempt (the
        embedded rule: direct links on, no link up or being dialled, a location known)."""
        state = self._view()
        running = nick in state.attempts and state.attempts[nick] is None
        return (state.prefer_direct and nick not in state.peers and not running
                and bool(state.locations.get(nick)))

    def get_peer_location(self, nick: str) -> str | None:
        return self._view().locations.get(nick)

    def get_connected_peer(self, nick: str) -> PeerHandle | None:
        return self._view().peers.get(nick)

    def is_nick_active(self, nick: str) -> bool:
        return bool(self._view().present.get(nick))

    def _attempt_state(self, nick: str) -> tuple[bool, bool | None]:
        """(whether an attempt exists, its outcome or None while it runs).

        A dial the daemon has not answered yet counts as running: the caller then asks
        the daemon, which sees the dial first (requests start in order).
        """
        dialling = self._link.writes.dialling(nick)  # before the copy, as in _view
        attempts = self._view().attempts
        if dialling:
            return True, None
        return nick in attempts, attempts.get(nick)

    def _sync_params(self, server: str, active_nicks: Iterable[str]) -> dict[str, Any]:
        normalize_directory(server, allow_clearnet=True)  # the same ValueError as embedded
        self._view()
        return {"server": server, "active_nicks": list(active_nicks)}

    @property
    def nick(self) -> str:
        return self._link.state.nick or self._link.daemon_nick

    @property
    def connected_directories(self) -> tuple[str, ...]:
        return self._link.state.directories_up

    @property
    def session_id(self) -> int | None:
        return self._link.session_id

    def stats(self) -> dict[str, int]:
        return dict(self._link.stats)

    def directory_status(self) -> dict[str, DirectoryHealth]:
        """The daemon's per-directory health (see the embedded facades), as last pushed."""
        return dict(self._link.state.directories)


class RemoteMultiDirectoryClient(_RemoteCommon):
    """asyncio facade over a daemon; use from one event loop (the one that first awaits it)."""

    def __init__(self, socket_path: str | None = None,
                 tcp_address: str | tuple[str, int] | None = None, cookie_path: str | None = None,
                 reconnect: bool = True, on_nick_leave: Callable[[str], None] | None = None,
                 client_name: str = "remote-asyncio") -> None:
        self._link = _Link(socket_path, tcp_address, cookie_path, reconnect, client_name,
                           on_nick_leave)

    async def connect_all(self) -> int:
        return await self._link.call("connect_all", {}, None)  # the daemon bounds it

    async def close_all(self) -> None:
        await self._link.close()

    async def fetch_orderbook(self, max_wait: float = 120.0, min_wait: float = 30.0,
                              quiet_period: float = 15.0) -> list[Offer]:
        params = {"max_wait": max_wait, "min_wait": min_wait, "quiet_period": quiet_period}
        offers = await self._link.call("fetch_orderbook", params, max_wait + CALL_GRACE)
        return caller_offers(offers)

    async def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                           force_channel: str | None = None) -> str:
        params = {"recipient": recipient, "command": command, "data": data,
                  "log_routing": log_routing, "force_channel": force_channel}
        return await self._link.call("send_privmsg", params, None)  # the daemon bounds it

    async def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                                 timeout: float = 60.0,
                                 expected_counts: dict[str, int] | None = None) -> dict[str, dict]:
        nicks = list(expected_nicks)
        if not nicks:
            return {}
        params = {"expected_nicks": nicks, "expected_command": expected_command,
                  "timeout": timeout, "expected_counts": expected_counts}
        return await self._link.call("wait_for_responses", params, timeout + CALL_GRACE)

    async def wait_for_response(self, from_nick: str, expected_command: str,
                                timeout: float = 30.0) -> dict | None:
        params = {"from_nick": from_nick, "expected_command": expected_command, "timeout": timeout}
        return await self._link.call("wait_for_response", params, timeout + CALL_GRACE)

    def try_direct_connect(self, nick: str) -> None:
        """Start a background direct connection without waiting (the link shares this
        loop); until the daemon's reply arrives, ``get_pending_connect_task(nick)`` asks
        the daemon for the attempt (API.md point 15)."""
        write = PendingDial(nick) if self._will_dial(nick) else None
        self._link.notify("try_direct_connect", {"nick": nick}, write)

    def get_pending_connect_task(self, nick: str) -> asyncio.Future | None:
        exists, outcome = self._attempt_state(nick)
        if not exists:
            return None
        if outcome is None:
            return self._link.loop.create_task(self._link.attempt_outcome(nick))
        done = self._link.loop.create_future()
        done.set_result(outcome)
        return done

    def sync_nicks_with_peerlist(self, server: str, active_nicks: Iterable[str]) -> None:
        """Apply a peerlist for ``server`` without waiting; reads see it at once (it is
        laid over the state copy until the daemon's reply arrives, API.md point 15)."""
        params = self._sync_params(server, active_nicks)
        write = PendingSync(normalize_directory(server, allow_clearnet=True),
                            frozenset(params["active_nicks"]))
        self._link.notify("sync_nicks_with_peerlist", params, write)

    async def __aenter__(self) -> RemoteMultiDirectoryClient:
        await self.connect_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_all()


class BlockingRemoteMultiDirectoryClient(_RemoteCommon):
    """Blocking facade over a daemon; its link runs on one internal thread (``on_nick_leave``
    is called there), started by the first call and stopped by ``close_all``."""

    def __init__(self, socket_path: str | None = None,
                 tcp_address: str | tuple[str, int] | None = None, cookie_path: str | None = None,
                 reconnect: bool = True, on_nick_leave: Callable[[str], None] | None = None,
                 client_name: str = "remote-blocking") -> None:
        self._link = _Link(socket_path, tcp_address, cookie_path, reconnect, client_name,
                           on_nick_leave)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _submit(self, coro: Coroutine) -> Future:
        with self._lock:
            if self._link.closed:
                coro.close()
                raise ClientClosedError("the client is closed")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever,
                                                name="jm-remote", daemon=True)
                self._thread.start()
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(self, method: str, params: dict[str, Any], timeout: float | None) -> Any:
        return self._submit(self._link.call(method, params, timeout)).result()

    def _write(self, method: str, params: dict[str, Any]) -> None:
        """A state change as one round trip: its reply follows the state push that shows
        it, so reads on any thread see it once this returns (API.md point 15). On the
        link's own thread (an ``on_nick_leave`` callback) waiting would deadlock, so there
        the request is only sent."""
        if threading.current_thread() is self._thread:
            self._link.notify(method, params)
        else:
            self._call(method, params, None)

    def connect_all(self) -> int:
        return self._call("connect_all", {}, None)

    def close_all(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            self._link.closed = True
            return
        asyncio.run_coroutine_threadsafe(self._link.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

    def fetch_orderbook(self, max_wait: float = 120.0, min_wait: float = 30.0,
                        quiet_period: float = 15.0) -> list[Offer]:
        params = {"max_wait": max_wait, "min_wait": min_wait, "quiet_period": quiet_period}
        return caller_offers(self._call("fetch_orderbook", params, max_wait + CALL_GRACE))

    def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                     force_channel: str | None = None) -> str:
        params = {"recipient": recipient, "command": command, "data": data,
                  "log_routing": log_routing, "force_channel": force_channel}
        return self._call("send_privmsg", params, None)

    def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                           timeout: float = 60.0,
                           expected_counts: dict[str, int] | None = None) -> dict[str, dict]:
        nicks = list(expected_nicks)
        if not nicks:
            return {}
        params = {"expected_nicks": nicks, "expected_command": expected_command,
                  "timeout": timeout, "expected_counts": expected_counts}
        return self._call("wait_for_responses", params, timeout + CALL_GRACE)

    def wait_for_response(self, from_nick: str, expected_command: str,
                          timeout: float = 30.0) -> dict | None:
        params = {"from_nick": from_nick, "expected_command": expected_command, "timeout": timeout}
        return self._call("wait_for_response", params, timeout + CALL_GRACE)

    def try_direct_connect(self, nick: str) -> None:
        """Start a background direct connection; on return the attempt is visible to
        ``get_pending_connect_task`` on any thread (one daemon round trip). A refusal or
        a lost link is logged, never raised, as in the embedded facade."""
        self._view()
        try:
            self._write("try_direct_connect", {"nick": nick})
        except MultiDirectoryError as exc:
            logger.warning("try_direct_connect({}): {}", nick, exc)

    def get_pending_connect_task(self, nick: str) -> Future | None:
        exists, outcome = self._attempt_state(nick)
        if not exists:
            return None
        if outcome is None:
            return self._submit(self._link.attempt_outcome(nick))
        done: Future = Future()
        done.set_result(outcome)
        return done

    def sync_nicks_with_peerlist(self, server: str, active_nicks: Iterable[str]) -> None:
        """Apply a peerlist for ``server``; on return reads on any thread see it."""
        self._write("sync_nicks_with_peerlist", self._sync_params(server, active_nicks))

    def __enter__(self) -> BlockingRemoteMultiDirectoryClient:
        self.connect_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()
