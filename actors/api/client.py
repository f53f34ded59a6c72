"""The thread-safe core behind both facades: starts the actor tree and speaks to it.

Every I/O method returns a ``concurrent.futures.Future`` that an actor resolves by push;
the asyncio facade bridges it into the event loop with ``asyncio.wrap_future`` (never
pykka's blocking ``__await__``), the blocking facade waits on it. The non-blocking
reads use the immutable views the Router and NickRegistry publish, so they never ask an
actor; the state-changing ``try_direct_connect`` and ``sync_nicks_with_peerlist`` wait
for one actor round trip so that every read after them sees their effect (API.md 15).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pykka
from loguru import logger

from actors.api.config import Limits, build_config, normalize_directory
from actors.api.context import SystemContext
from actors.core.dirhealth import DirectoryHealth, idle_view
from actors.core.routing import ChannelBinding, choose_binding, parse_force_channel, upgrade_channel
from actors.errors import ClientClosedError
from actors.core.messages import (AwaitFirstRound, DirectoryStatus, Escalated, NickLeft,
                             RegisterWait, SendPrivmsg, Shutdown, StartOrderbookFetch, SyncNicks,
                             TryDirectConnect)
from actors.shells.names import INBOX, REGISTRY, ROUTER
from actors.shells.runtime import PeerHandle
from actors.shells.supervisor_actor import Supervisor
from protocol.identity import SigningIdentity, build_privmsg, check_identity
from protocol.envelope import MsgType, encode_envelope
from protocol.errors import LocalProtocolError
from protocol.framing import frame
from protocol.handshake import NOT_SERVING

SHUTDOWN_DEADLINE = 10.0
#: how long a state-changing call waits for its actor to apply it (normally < 1 ms; more
#: only while that actor is restarting)
READ_YOUR_WRITES_WAIT = 5.0


class ClientCore:
    def __init__(self, directory_servers: Iterable[str], network: str,
                 nick_identity: SigningIdentity,
                 socks_host: str = "127.0.0.1", socks_port: int = 9050,
                 connection_timeout: float = 120.0, neutrino_compat: bool = False,
                 on_nick_leave: Callable[[str], None] | None = None,
                 prefer_direct_connections: bool = True, our_location: str = NOT_SERVING,
                 stream_isolation: bool = False, *, allow_clearnet: bool = False,
                 nick_auth_mode: str = "prefer_verified",
                 nick_auth_directory_ids: Mapping[str, str] | None = None,
                 limits: Limits | None = None,
                 fault_plan: Any = None, seed: int | None = None,
                 dispatch: Callable[[Callable[[], None]], None] | None = None) -> None:
        check_identity(nick_identity)  # ours or any object with joinmarket-ng's interface
        if on_nick_leave is not None and not callable(on_nick_leave):
            raise ValueError("on_nick_leave: must be callable or None")
        for name, flag in (("neutrino_compat", neutrino_compat),
                           ("stream_isolation", stream_isolation),
                           ("prefer_direct_connections", prefer_direct_connections),
                           ("allow_clearnet", allow_clearnet)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name}: expected True or False, got {flag!r}")
        if limits is not None and not isinstance(limits, Limits):
            raise ValueError("limits: expected actors.api.config.Limits, got "
                             f"{type(limits).__name__}")
        self.config = build_config(
            list(directory_servers) if not isinstance(directory_servers, str) else directory_servers,
            network, socks_host=socks_host, socks_port=socks_port,
            connection_timeout=connection_timeout, neutrino_compat=neutrino_compat,
            prefer_direct_connections=prefer_direct_connections, our_location=our_location,
            stream_isolation=stream_isolation, allow_clearnet=allow_clearnet,
            nick_auth_mode=nick_auth_mode, nick_auth_directory_ids=nick_auth_directory_ids,
            limits=limits)
        self.identity = nick_identity
        self.on_nick_leave = on_nick_leave
        self._dispatch = dispatch or (lambda fn: fn())
        self._fault_injector = _injector(fault_plan)
        self._seed = seed
        self._lock = threading.Lock()
        self._ctx: SystemContext | None = None
        self._supervisor: pykka.ActorRef | None = None
        self._closed = False
        self._ids = itertools.count(1)
        self.escalation: str | None = None
        self.listeners: list[Callable[[Any], None]] = []

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def ctx(self) -> SystemContext:
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client is closed")
            if self._ctx is None:
                self._ctx = SystemContext(self.config, self.identity, self._on_event,
                                          self._fault_injector, self._seed)
                self._supervisor = Supervisor.start(self._ctx)
            return self._ctx

    @property
    def started(self) -> bool:
        return self._ctx is not None and not self._closed

    def connect_all(self) -> Future:
        reply: Future = Future()
        self.ctx.book.tell(ROUTER, AwaitFirstRound(reply))
        return reply

    def connected_count(self) -> int:
        return len(self._ctx.views.router.directories_up) if self._ctx else 0

    def close(self) -> None:
        """Stop peers, then directories, then the rest; idempotent; no thread left."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ctx, supervisor = self._ctx, self._supervisor
        if ctx is None:
            return
        try:
            supervisor.ask(Shutdown(SHUTDOWN_DEADLINE), timeout=SHUTDOWN_DEADLINE + 5)
        except pykka.Timeout:
            logger.error("shutdown did not finish within {}s", SHUTDOWN_DEADLINE)
        except pykka.ActorDeadError:
            logger.error("the supervisor was already dead at shutdown")
        finally:
            supervisor.stop(block=True, timeout=5)
            ctx.close()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, NickLeft) and self.on_nick_leave is not None:
            callback, nick = self.on_nick_leave, event.nick
            self._dispatch(lambda: _guarded(callback, nick))
        elif isinstance(event, Escalated):
            self.escalation = event.reason
        for listener in list(self.listeners):
            _guarded(listener, event)

    # -- I/O ----------------------------------------------------------------------------------

    def fetch_orderbook(self, max_wait: float, min_wait: float, quiet_period: float) -> Future:
        reply: Future = Future()
        self.ctx.book.tell(INBOX, StartOrderbookFetch(next(self._ids), float(max_wait),
                                                        float(min_wait), float(quiet_period), reply))
        return reply

    def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                     force_channel: str | None = None) -> Future:
        if force_channel is not None:
            parse_force_channel(force_channel, self.config.directories)  # ValueError early
        try:  # signed and framed here: bad arguments are the caller's ValueError, not a crash
            line = build_privmsg(self.identity, recipient, command, data)
            framed = frame(encode_envelope(MsgType.PRIVMSG, line), self.config.limits.max_line)
        except LocalProtocolError as exc:
            raise ValueError(f"send_privmsg(recipient={recipient[:70]!r}, command={command!r}): "
                             f"{exc}") from None
        reply: Future = Future()
        self.ctx.book.tell(ROUTER, SendPrivmsg(recipient, command, framed, force_channel,
                                                 log_routing, reply))
        return reply

    def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                           timeout: float = 60.0,
                           expected_counts: dict[str, int] | None = None) -> Future:
        reply: Future = Future()
        nicks = tuple(expected_nicks)
        if not nicks:
            reply.set_result({})
            return reply
        counts = tuple(sorted((expected_counts or {}).items()))
        self.ctx.book.tell(INBOX, RegisterWait(next(self._ids), nicks, expected_command, counts,
                                                 float(timeout), reply))
        return reply

    # -- non-blocking reads -------------------------------------------------------------------

    def bind_session(self, nick: str) -> ChannelBinding | None:
        views = self.ctx.views
        return choose_binding(
            nick, direct_up=nick in views.router.peers, prefer_direct=self.config.prefer_direct,
            connected=views.router.directories_up,
            carrying=views.registry.present.get(nick, frozenset()),
            listing=views.registry.listed.get(nick, frozenset()),
            location=self.get_peer_location(nick))

    def upgrade_channel_prefer_direct(self, nick: str, current_channel: str) -> str:
        return upgrade_channel(current_channel, direct_up=nick in self.ctx.views.router.peers,
                               prefer_direct=self.config.prefer_direct)

    def try_direct_connect(self, nick: str) -> None:
        """Start an attempt; on return ``get_pending_connect_task(nick)`` already sees it.

        When the published views show the call is a no-op (direct links off, a link up or
        being dialled, no known location) nothing is asked; otherwise one Router round
        trip (API.md point 15), bounded by ``READ_YOUR_WRITES_WAIT``.
        """
        views = self.ctx.views
        if (not self.config.prefer_direct or nick in views.router.peers
                or nick in views.router.connecting or not views.registry.locations.get(nick)):
            return
        applied: Future = Future()
        self.ctx.book.tell(ROUTER, TryDirectConnect(nick, applied))
        try:
            applied.result(READ_YOUR_WRITES_WAIT)
        except FutureTimeout:
            logger.warning("try_direct_connect({}): the router did not answer within {}s",
                           nick, READ_YOUR_WRITES_WAIT)

    def get_peer_location(self, nick: str) -> str | None:
        location = self.ctx.views.registry.locations.get(nick)
        return None if location in (None, NOT_SERVING) else location

    def get_connected_peer(self, nick: str) -> PeerHandle | None:
        return self.ctx.views.router.peers.get(nick)

    def get_pending_connect_task(self, nick: str) -> Future | None:
        return self.ctx.views.router.attempts.get(nick)

    def is_nick_active(self, nick: str) -> bool:
        return self.ctx.views.registry.is_active(nick)

    def sync_nicks_with_peerlist(self, server: str, active_nicks: Iterable[str]) -> Future:
        applied: Future = Future()
        name = normalize_directory(server, allow_clearnet=True)
        self.ctx.book.tell(REGISTRY, SyncNicks(name, frozenset(active_nicks), applied))
        return applied

    def stats(self) -> dict[str, int]:
        return self._ctx.stats.snapshot() if self._ctx else {}

    def directory_status(self) -> dict[str, DirectoryHealth]:
        """Every configured directory's health, in configuration order; never blocks.

        Readable before start (all ``idle``) and after close (the last state seen).
        """
        ctx = self._ctx
        view = ctx.views.directories if ctx is not None and ctx.views.directories else \
            idle_view(self.config.directories)
        return {name: view[name] for name in self.config.directories}


def _guarded(callback: Callable[..., Any], *args: Any) -> None:
    try:
        callback(*args)
    except Exception:  # noqa: BLE001 - API.md point 10: never propagate into the actors
        logger.exception("callback {} raised", getattr(callback, "__name__", callback))


def _injector(plan: Any) -> Any:
    if plan is None:
        return None
    from actors.faults import FaultInjector, FaultPlan
    if isinstance(plan, FaultInjector):
        return plan
    if isinstance(plan, str):
        plan = FaultPlan.load(plan)
    if not isinstance(plan, FaultPlan):
        raise ValueError("fault_plan: expected None, a FaultPlan, a FaultInjector or a plan file "
                         f"path, got {type(plan).__name__}")
    return FaultInjector(plan)


__all__ = ["ClientCore", "DirectoryStatus"]
