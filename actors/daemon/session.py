"""One authenticated client connection: its requests in flight and what it is pushed.

A :class:`Session` gets everything it needs from the daemon explicitly: the
:class:`Cores` (the shared core, or a factory for its own) and the :class:`Counters`.
It parses request lines, validates parameters against :data:`actors.daemon.methods.DISPATCH`
and runs each request as its own task; replies go out in completion order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import msgspec
from loguru import logger

from actors.api.client import ClientCore
from actors.daemon.methods import DISPATCH, Method
from actors.daemon.wire import (CLIENT_DECODER, MAX_CONSECUTIVE_GARBAGE, ControlMessage,
                                CoreState, DaemonRefusedError, Error, ErrorResponse, Event, Hello,
                                Request, Response, encode_line, error_type_of)
from actors.errors import ClientClosedError
from protocol.crypto import NickIdentity
from protocol.handshake import NOT_SERVING

__all__ = ["CoreFactory", "Cores", "Counters", "MAX_PENDING_PER_SESSION", "MAX_WRITE_BUFFER",
           "Session", "refuse"]

MAX_PENDING_PER_SESSION = 256
MAX_WRITE_BUFFER = 32 << 20  # a client that stops reading is dropped beyond this

CoreFactory = Callable[[NickIdentity], ClientCore]
Listener = Callable[[Any], None]


class Counters(dict):
    """The daemon's counters (``stats()``), shared by the server and its sessions."""

    def __init__(self) -> None:
        super().__init__(sessions_total=0, refused=0, refused_over_cap=0, requests=0,
                         request_errors=0)

    def bump(self, key: str) -> None:
        self[key] += 1


class Cores:
    """The daemon's cores as sessions see them.

    ``shared`` is the one core of shared-identity mode (``None`` otherwise or after stop);
    :meth:`own` builds a per-session core with its events routed to that session.
    """

    def __init__(self, factory: CoreFactory,
                 listener_for: Callable[[Session | None], Listener]) -> None:
        self.shared: ClientCore | None = None
        self._factory = factory
        self._listener_for = listener_for

    def own(self, identity: NickIdentity, session: Session) -> ClientCore:
        core = self._factory(identity)
        core.listeners.append(self._listener_for(session))
        return core


class Session:
    """One authenticated client connection and the requests it has in flight."""

    def __init__(self, cores: Cores, counts: Counters, session_id: int,
                 writer: asyncio.StreamWriter, client_name: str,
                 identity: NickIdentity | None) -> None:
        self.cores, self.counts = cores, counts
        self.id, self.writer = session_id, writer
        self.client_name = client_name
        self.identity = identity  # None: the daemon's shared identity
        self.own_core: ClientCore | None = None
        self.tasks: dict[int, asyncio.Task] = {}
        self.garbage = 0
        self.closed = False  # close_all was called: refuse further calls
        self._seen_views: tuple[Any, Any] = (None, None)
        self._seen_stats: dict[str, int] | None = None

    @property
    def nick(self) -> str:
        identity = self.identity or self.cores.shared.identity
        return identity.nick

    # -- what handlers use (actors.daemon.methods.MethodTarget) ------------------------------

    def core(self) -> ClientCore:
        if self.closed:
            raise ClientClosedError("this session was closed by close_all")
        if self.identity is None:
            if self.cores.shared is None:
                raise ClientClosedError("the daemon is stopping")
            return self.cores.shared
        if self.own_core is None:
            self.own_core = self.cores.own(self.identity, self)
        return self.own_core

    async def end(self) -> None:
        """``close_all`` ends only this session: the daemon's shared links stay up."""
        self.closed = True
        await self.release()

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
        core = self.cores.shared if self.identity is None else self.own_core
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
        self.counts.bump("requests")
        method = DISPATCH.get(message.method)
        if method is None:
            self._error(message.id, "ControlProtocolError", f"unknown method {message.method!r}")
        elif message.id in self.tasks:
            self._error(message.id, "ControlProtocolError", f"request id {message.id} is in use")
        elif len(self.tasks) >= MAX_PENDING_PER_SESSION:
            self._error(message.id, "OverflowError",
                        f"more than {MAX_PENDING_PER_SESSION} requests in flight")
        else:
            try:
                params = msgspec.convert(message.params, method.params)
            except msgspec.ValidationError as exc:
                self._error(message.id, "ValueError", f"{message.method}: {exc}")
                return True
            self.tasks[message.id] = asyncio.get_running_loop().create_task(
                self._run(message, method, params))
        return True

    def _garbage(self, request_id: int | None, reason: str) -> bool:
        self.garbage += 1
        self._error(request_id, "ControlProtocolError", reason)
        if self.garbage < MAX_CONSECUTIVE_GARBAGE:
            return True
        refuse(self.writer, f"{self.garbage} malformed lines in a row", "ControlProtocolError")
        return False

    def _error(self, request_id: int | None, error_type: str, message: str) -> None:
        self.counts.bump("request_errors")
        self.send(ErrorResponse(request_id, error_type, message))

    async def _run(self, request: Request, method: Method, params: msgspec.Struct) -> None:
        try:
            result = await method.run(self, params)
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


# -- helpers ------------------------------------------------------------------------------

def refuse(writer: asyncio.StreamWriter, reason: str,
           error_type: str = DaemonRefusedError.__name__) -> None:
    """Send a connection-level ``error`` line and close."""
    if not writer.is_closing():
        writer.write(encode_line(Error(error_type, reason)))
        writer.close()


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


def _salvage_id(line: bytes) -> int | None:
    """The ``id`` of a request that failed validation, so its caller is answered."""
    try:
        raw = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None
    request_id = raw.get("id") if isinstance(raw, dict) else None
    return request_id if type(request_id) is int else None
