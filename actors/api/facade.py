"""The two public facades of API.md: asyncio ``MultiDirectoryClient`` and a blocking twin.

Both are thin: every behaviour lives in :class:`actors.api.client.ClientCore` and the actors.
The asyncio facade awaits ``concurrent.futures.Future``s through ``asyncio.wrap_future``
(thread-safe, never blocks the loop) and runs ``close_all`` on a short-lived thread;
``on_nick_leave`` is called on the loop thread. The blocking facade waits on the same
futures and calls ``on_nick_leave`` on one internal dispatcher thread.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from actors.api.client import ClientCore
from actors.core.dirhealth import DirectoryHealth
from actors.core.routing import ChannelBinding
from actors.shells.runtime import PeerHandle
from protocol.crypto import NickIdentity
from protocol.handshake import NOT_SERVING

__all__ = ["BlockingMultiDirectoryClient", "GRACE", "MultiDirectoryClient"]

GRACE = 5.0  # beyond an actor-side deadline, how long a facade waits before giving up


class _Common:
    """Construction (the contract's exact signature) and the non-blocking methods."""

    def __init__(self, directory_servers: Iterable[str], network: str, nick_identity: NickIdentity,
                 socks_host: str = "127.0.0.1", socks_port: int = 9050,
                 connection_timeout: float = 120.0, neutrino_compat: bool = False,
                 on_nick_leave: Callable[[str], None] | None = None,
                 prefer_direct_connections: bool = True, our_location: str = NOT_SERVING,
                 stream_isolation: bool = False, **extra: Any) -> None:
        self._prepare()
        self._core = ClientCore(
            directory_servers, network, nick_identity, socks_host, socks_port, connection_timeout,
            neutrino_compat, on_nick_leave, prefer_direct_connections, our_location,
            stream_isolation, dispatch=self._dispatch, **extra)

    def _prepare(self) -> None:
        """Facade-specific state that must exist before the core can call ``_dispatch``."""

    def _dispatch(self, fn: Callable[[], None]) -> None:
        raise NotImplementedError

    def bind_session(self, nick: str) -> ChannelBinding | None:
        return self._core.bind_session(nick)

    def upgrade_channel_prefer_direct(self, nick: str, current_channel: str) -> str:
        return self._core.upgrade_channel_prefer_direct(nick, current_channel)

    def try_direct_connect(self, nick: str) -> None:
        self._core.try_direct_connect(nick)

    def get_peer_location(self, nick: str) -> str | None:
        return self._core.get_peer_location(nick)

    def get_connected_peer(self, nick: str) -> PeerHandle | None:
        return self._core.get_connected_peer(nick)

    def is_nick_active(self, nick: str) -> bool:
        return self._core.is_nick_active(nick)

    @property
    def nick(self) -> str:
        return self._core.identity.nick

    @property
    def connected_directories(self) -> tuple[str, ...]:
        return self._core.ctx.views.router.directories_up if self._core.started else ()

    def stats(self) -> dict[str, int]:
        return self._core.stats()

    def directory_status(self) -> dict[str, DirectoryHealth]:
        """Why each directory is (not) connected: ``{"host:port": DirectoryHealth}``.

        State (idle/connecting/up/retrying/stopped), the last error, since when and the
        next retry, in configuration order. Non-blocking; the library logs nothing by
        default, so this is where a ``connect_all`` that returned fewer than configured
        explains itself.
        """
        return self._core.directory_status()


class MultiDirectoryClient(_Common):
    """asyncio facade: a drop-in for existing asyncio takers."""

    _loop: asyncio.AbstractEventLoop | None = None

    def _dispatch(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn)
        else:
            fn()

    async def _await(self, future: Future, timeout: float | None = None) -> Any:
        self._loop = asyncio.get_running_loop()
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)

    async def connect_all(self) -> int:
        self._loop = asyncio.get_running_loop()
        try:
            return await self._await(self._core.connect_all(), self._core.config.connection_timeout + 1)
        except asyncio.TimeoutError:
            return self._core.connected_count()

    async def close_all(self) -> None:
        done: Future = Future()

        def close() -> None:
            try:
                self._core.close()
            finally:
                done.set_result(None)
        threading.Thread(target=close, name="jm-close").start()
        await asyncio.wrap_future(done)

    async def fetch_orderbook(self, max_wait: float = 120.0, min_wait: float = 30.0,
                              quiet_period: float = 15.0) -> list:
        return await self._await(self._core.fetch_orderbook(max_wait, min_wait, quiet_period),
                                 max_wait + GRACE)

    async def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                           force_channel: str | None = None) -> str:
        future = self._core.send_privmsg(recipient, command, data, log_routing, force_channel)
        return await self._await(future, self._core.config.connection_timeout + GRACE)

    async def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                                 timeout: float = 60.0,
                                 expected_counts: dict[str, int] | None = None) -> dict[str, dict]:
        future = self._core.wait_for_responses(expected_nicks, expected_command, timeout,
                                               expected_counts)
        return await self._await(future, timeout + GRACE)

    async def wait_for_response(self, from_nick: str, expected_command: str,
                                timeout: float = 30.0) -> dict | None:
        results = await self.wait_for_responses([from_nick], expected_command, timeout)
        return results.get(from_nick)

    def get_pending_connect_task(self, nick: str) -> Any:
        future = self._core.get_pending_connect_task(nick)
        if future is None:
            return None
        try:
            return asyncio.wrap_future(future, loop=asyncio.get_running_loop())
        except RuntimeError:  # called outside a running loop
            return future

    def sync_nicks_with_peerlist(self, server: str, active_nicks: Iterable[str]) -> None:
        self._core.sync_nicks_with_peerlist(server, active_nicks)

    async def __aenter__(self) -> MultiDirectoryClient:
        await self.connect_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_all()


class BlockingMultiDirectoryClient(_Common):
    """Blocking facade with the same methods, for threaded takers and scripts."""

    def _prepare(self) -> None:
        self._callbacks: queue.SimpleQueue = queue.SimpleQueue()
        self._callback_thread: threading.Thread | None = None

    def _dispatch(self, fn: Callable[[], None]) -> None:
        if self._callback_thread is None:
            self._callback_thread = threading.Thread(target=self._run_callbacks,
                                                     name="jm-callbacks", daemon=True)
            self._callback_thread.start()
        self._callbacks.put(fn)

    def _run_callbacks(self) -> None:
        while (fn := self._callbacks.get()) is not None:
            fn()

    def connect_all(self) -> int:
        try:
            return self._core.connect_all().result(self._core.config.connection_timeout + 1)
        except TimeoutError:
            return self._core.connected_count()

    def close_all(self) -> None:
        self._core.close()
        if self._callback_thread is not None:
            self._callbacks.put(None)
            self._callback_thread.join(timeout=5)

    def fetch_orderbook(self, max_wait: float = 120.0, min_wait: float = 30.0,
                        quiet_period: float = 15.0) -> list:
        return self._core.fetch_orderbook(max_wait, min_wait, quiet_period).result(max_wait + GRACE)

    def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                     force_channel: str | None = None) -> str:
        future = self._core.send_privmsg(recipient, command, data, log_routing, force_channel)
        return future.result(self._core.config.connection_timeout + GRACE)

    def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                           timeout: float = 60.0,
                           expected_counts: dict[str, int] | None = None) -> dict[str, dict]:
        future = self._core.wait_for_responses(expected_nicks, expected_command, timeout,
                                               expected_counts)
        return future.result(timeout + GRACE)

    def wait_for_response(self, from_nick: str, expected_command: str,
                          timeout: float = 30.0) -> dict | None:
        return self.wait_for_responses([from_nick], expected_command, timeout).get(from_nick)

    def get_pending_connect_task(self, nick: str) -> Future | None:
        return self._core.get_pending_connect_task(nick)

    def sync_nicks_with_peerlist(self, server: str, active_nicks: Iterable[str]) -> None:
        self._core.sync_nicks_with_peerlist(server, active_nicks).result(GRACE)

    def __enter__(self) -> BlockingMultiDirectoryClient:
        self.connect_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()
