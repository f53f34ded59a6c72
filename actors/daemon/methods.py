"""The daemon's request table: method name → typed parameters → handler.

Why a table: the set of remote calls is the API, so it is written down once, here, with
the parameter Struct each handler receives already validated (``msgspec.convert`` against
``Method.params``). Nothing is looked up by building attribute names from client input.
``tests/daemon/test_preauth.py`` checks that this table and the wire schema
(:data:`actors.daemon.wire.METHODS`) name the same methods with the same parameter types.

Handlers run on the daemon's loop thread; they reach the session only through
:class:`MethodTarget`. ClientCore futures are awaited with :func:`bridge`, so cancelling
the request (the client went away) cancels the core's future too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

import msgspec

from actors.api.client import ClientCore
from actors.core.orderbook import Offer
from actors.core.routing import ChannelBinding
from actors.daemon.wire import (FetchOrderbookParams, NickParams, NoParams, SendPrivmsgParams,
                                SyncNicksParams, UpgradeChannelParams, WaitForResponseParams,
                                WaitForResponsesParams)
from actors.shells.runtime import PeerHandle

__all__ = ["DISPATCH", "GRACE", "Method", "MethodTarget", "bridge"]

GRACE = 5.0  # beyond an actor-side deadline, how long a request may wait for its future


class MethodTarget(Protocol):
    """What a handler may use of the session that received the request."""

    def core(self) -> ClientCore:
        """The session's core; raises ClientClosedError after ``close_all``."""

    async def end(self) -> None:
        """``close_all``: end this session (the daemon's shared links stay up)."""


class Method(NamedTuple):
    params: type[msgspec.Struct]
    run: Callable[[MethodTarget, Any], Awaitable[Any]]


async def bridge(future: Future, timeout: float) -> Any:
    """Await a core future from the loop; cancelling the caller cancels the future."""
    return await asyncio.wait_for(asyncio.wrap_future(future), timeout)


async def connect_all(s: MethodTarget, p: NoParams) -> int:
    core = s.core()
    try:
        return await bridge(core.connect_all(), core.config.connection_timeout + 1)
    except TimeoutError:
        return core.connected_count()


async def close_all(s: MethodTarget, p: NoParams) -> None:
    await s.end()


async def stats(s: MethodTarget, p: NoParams) -> dict[str, int]:
    return s.core().stats()


async def fetch_orderbook(s: MethodTarget, p: FetchOrderbookParams) -> list[Offer]:
    future = s.core().fetch_orderbook(p.max_wait, p.min_wait, p.quiet_period)
    return await bridge(future, p.max_wait + GRACE)


async def send_privmsg(s: MethodTarget, p: SendPrivmsgParams) -> str:
    core = s.core()
    future = core.send_privmsg(p.recipient, p.command, p.data, p.log_routing, p.force_channel)
    return await bridge(future, core.config.connection_timeout + GRACE)


async def wait_for_responses(s: MethodTarget, p: WaitForResponsesParams) -> dict[str, dict]:
    future = s.core().wait_for_responses(p.expected_nicks, p.expected_command, p.timeout,
                                         p.expected_counts)
    return await bridge(future, p.timeout + GRACE)


async def wait_for_response(s: MethodTarget, p: WaitForResponseParams) -> dict | None:
    future = s.core().wait_for_responses([p.from_nick], p.expected_command, p.timeout)
    return (await bridge(future, p.timeout + GRACE)).get(p.from_nick)


async def bind_session(s: MethodTarget, p: NickParams) -> ChannelBinding | None:
    return s.core().bind_session(p.nick)


async def upgrade_channel_prefer_direct(s: MethodTarget, p: UpgradeChannelParams) -> str:
    return s.core().upgrade_channel_prefer_direct(p.nick, p.current_channel)


async def try_direct_connect(s: MethodTarget, p: NickParams) -> None:
    s.core().try_direct_connect(p.nick)


async def get_peer_location(s: MethodTarget, p: NickParams) -> str | None:
    return s.core().get_peer_location(p.nick)


async def get_connected_peer(s: MethodTarget, p: NickParams) -> PeerHandle | None:
    return s.core().get_connected_peer(p.nick)


async def get_pending_connect_task(s: MethodTarget, p: NickParams) -> bool | None:
    """Answers when the attempt ends: ``None`` if none was started, else its outcome."""
    core = s.core()
    attempt = core.get_pending_connect_task(p.nick)
    if attempt is None:
        return None
    return bool(await bridge(attempt, core.config.connection_timeout + GRACE))


async def is_nick_active(s: MethodTarget, p: NickParams) -> bool:
    return s.core().is_nick_active(p.nick)


async def sync_nicks_with_peerlist(s: MethodTarget, p: SyncNicksParams) -> None:
    await bridge(s.core().sync_nicks_with_peerlist(p.server, p.active_nicks), GRACE)


DISPATCH: Mapping[str, Method] = MappingProxyType({
    "connect_all": Method(NoParams, connect_all),
    "close_all": Method(NoParams, close_all),
    "stats": Method(NoParams, stats),
    "fetch_orderbook": Method(FetchOrderbookParams, fetch_orderbook),
    "send_privmsg": Method(SendPrivmsgParams, send_privmsg),
    "wait_for_responses": Method(WaitForResponsesParams, wait_for_responses),
    "wait_for_response": Method(WaitForResponseParams, wait_for_response),
    "bind_session": Method(NickParams, bind_session),
    "upgrade_channel_prefer_direct": Method(UpgradeChannelParams, upgrade_channel_prefer_direct),
    "try_direct_connect": Method(NickParams, try_direct_connect),
    "get_peer_location": Method(NickParams, get_peer_location),
    "get_connected_peer": Method(NickParams, get_connected_peer),
    "get_pending_connect_task": Method(NickParams, get_pending_connect_task),
    "is_nick_active": Method(NickParams, is_nick_active),
    "sync_nicks_with_peerlist": Method(SyncNicksParams, sync_nicks_with_peerlist),
})
