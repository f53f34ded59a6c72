"""The two public facades of API.md: asyncio ``MultiDirectoryClient`` and a blocking twin.

Both are thin: every behaviour lives in :class:`actors.api.client.ClientCore` and the actors.
The asyncio facade awaits ``concurrent.futures.Future``s through ``asyncio.wrap_future``
(thread-safe, never blocks the loop) and runs ``close_all`` on a short-lived thread;
``on_nick_leave`` is called on the loop thread. The blocking facade waits on the same
futures and calls ``on_nick_leave`` on one internal dispatcher thread.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from enum import Enum
from typing import Any

from actors.api.client import ClientCore
from actors.api.config import Limits, NickAuthMode
from actors.api.handles import ConnectedDirectories
from actors.api.offers import Offer, caller_offers
from actors.core.dirhealth import DirectoryHealth
from actors.core.routing import ChannelBinding
from actors.shells.runtime import PeerHandle
from protocol.handshake import NOT_SERVING
from protocol.identity import SigningIdentity

__all__ = ["BlockingMultiDirectoryClient", "GRACE", "MultiDirectoryClient"]

GRACE = 5.0  # beyond an actor-side deadline, how long a facade waits before giving up


class _Common:
    """Construction (the contract's exact signature), attributes and the non-blocking methods.

    Every keyword the facades accept is in the signature below; a wrong one is a
    ``TypeError`` and a wrong value a ``ValueError``, both naming the public class and
    what is accepted, at construction.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            _INIT_SIGNATURE.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}(): {exc}; it accepts {', '.join(_KEYWORDS)}") from None
        return super().__new__(cls)

    def __init__(self, directory_servers: Iterable[str], network: str,
                 nick_identity: SigningIdentity, socks_host: str = "127.0.0.1",
                 socks_port: int = 9050, connection_timeout: float = 120.0,
                 neutrino_compat: bool = False,
                 on_nick_leave: Callable[[str], None] | None = None,
                 prefer_direct_connections: bool = True, our_location: str = NOT_SERVING,
                 stream_isolation: bool = False,
                 nick_auth_mode: str | Enum = NickAuthMode.PREFER_VERIFIED,
                 nick_auth_directory_ids: Mapping[str, str] | None = None, *,
                 allow_clearnet: bool = False, limits: Limits | None = None,
                 fault_plan: Any = None, seed: int | None = None) -> None:
        """Validate everything now; no thread or socket exists until first use.

        Args (API.md "Construction"):
            directory_servers: ``"host:port"`` strings (port 5222 when missing); ``.onion``
                hosts unless ``allow_clearnet``.
            network: ``mainnet``, ``testnet``, ``signet`` or ``regtest``.
            nick_identity: ours (``protocol.NickIdentity``) or any object with
                ``.nick``, ``.public_key_hex`` and ``.sign_message(message, hostid)``
                (joinmarket-ng's interface); every signature goes through it.
            socks_host, socks_port: the Tor SOCKS5 port every destination is dialled through.
            connection_timeout: seconds for one SOCKS dial plus handshake.
            neutrino_compat: advertise the ``neutrino_compat`` feature.
            on_nick_leave: ``callback(nick)`` once a nick left every directory.
            prefer_direct_connections: talk to makers over direct onion links when up.
            our_location: our own ``host:port`` onion, or ``NOT-SERVING-ONION``.
            stream_isolation: separate Tor circuits for directory and peer streams.
            nick_auth_mode: ``prefer_verified``, ``require_verified`` or ``disabled``, as a
                string or any str-valued enum member (joinmarket-ng's ``NickAuthMode``).
            nick_auth_directory_ids: ``{"host:port": directory id}`` pins; a directory that
                proves another id is rejected.
            allow_clearnet: beyond joinmarket-ng, for local testing only: dial non-onion
                hosts directly instead of refusing them.
            limits: resource caps (``actors.api.config.Limits``, docs/limits.md).
            fault_plan: a ``FaultPlan``/``FaultInjector`` or plan file, for fault tests.
            seed: seeds the client's randomness (relay shuffling), for reproducible tests.
        """
        self._prepare()
        try:
            self._core = ClientCore(
                directory_servers, network, nick_identity, socks_host, socks_port,
                connection_timeout, neutrino_compat, on_nick_leave, prefer_direct_connections,
                our_location, stream_isolation, allow_clearnet=allow_clearnet,
                nick_auth_mode=nick_auth_mode, nick_auth_directory_ids=nick_auth_directory_ids,
                limits=limits, fault_plan=fault_plan, seed=seed, dispatch=self._dispatch)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}: {exc}") from None
        core = self._core
        self._clients = ConnectedDirectories(lambda: core.ctx.views if core.started else None)

    def _prepare(self) -> None:
        """Facade-specific state that must exist before the core can call ``_dispatch``."""

    def _dispatch(self, fn: Callable[[], None]) -> None:
        raise NotImplementedError

    # -- attributes joinmarket-ng takers read (API.md drop-in rule) ---------------------------

    @property
    def nick(self) -> str:
        """Our nick, from the identity."""
        return self._core.identity.nick

    @property
    def directory_servers(self) -> list[str]:
        """The configured directories as ``host:port`` (a fresh list each time)."""
        return list(self._core.config.directories)

    @property
    def clients(self) -> ConnectedDirectories:
        """Read-only mapping ``host:port`` → handle (``.host``, ``.port``) of the directories
        connected right now."""
        return self._clients

    @property
    def prefer_direct_connections(self) -> bool:
        """Whether messages prefer a handshaked direct link to the maker."""
        return self._core.config.prefer_direct

    @property
    def neutrino_compat(self) -> bool:
        """Whether we advertise ``neutrino_compat`` in handshakes."""
        return self._core.config.neutrino_compat

    @property
    def our_location(self) -> str:
        """Our advertised location, ``NOT-SERVING-ONION`` for a taker."""
        return self._core.config.our_location

    @property
    def network(self) -> str:
        """The network sent in every handshake."""
        return self._core.config.network

    @property
    def connected_directories(self) -> tuple[str, ...]:
        """The directories usable as routes right now, in configuration order."""
        return self._core.ctx.views.router.directories_up if self._core.started else ()

    def stats(self) -> dict[str, int]:
        """Counters of every drop, refusal and forgery (docs/operations.md)."""
        return self._core.stats()

    def directory_status(self) -> dict[str, DirectoryHealth]:
        """Why each directory is (not) connected: ``{"host:port": DirectoryHealth}``.

        State (idle/connecting/up/retrying/stopped), the last error, since when and the
        next retry, in configuration order. Non-blocking; the library logs nothing by
        default, so this is where a ``connect_all`` that returned fewer than configured
        explains itself.
        """
        return self._core.directory_status()

    # -- non-blocking methods -----------------------------------------------------------------

    def bind_session(self, nick: str) -> ChannelBinding | None:
        """The channel for a CoinJoin session with ``nick`` (API.md "Channel selection")."""
        return self._core.bind_session(nick)

    def upgrade_channel_prefer_direct(self, nick: str, current_channel: str) -> str:
        """``"direct"`` once a direct link is up for a directory-pinned session, else unchanged."""
        return self._core.upgrade_channel_prefer_direct(nick, current_channel)

    def try_direct_connect(self, nick: str) -> None:
        """Start a background direct connection; on return the attempt is visible to
        ``get_pending_connect_task`` (at most one actor round trip)."""
        self._core.try_direct_connect(nick)

    def get_peer_location(self, nick: str) -> str | None:
        """The maker's ``host:port`` from any peerlist, or None."""
        return self._core.get_peer_location(nick)

    def get_connected_peer(self, nick: str) -> PeerHandle | None:
        """The handshaked direct link (``supports_feature(name)``, ``features``…) or None."""
        return self._core.get_connected_peer(nick)

    def is_nick_active(self, nick: str) -> bool:
        """Whether ``nick`` is present on at least one directory."""
        return self._core.is_nick_active(nick)

    def sync_nicks_with_peerlist(self, server: str, active_nicks: Iterable[str]) -> None:
        """Apply a peerlist for ``server``; on return ``is_nick_active`` and ``bind_session``
        see it (one actor round trip)."""
        self._core.sync_nicks_with_peerlist(server, active_nicks).result(GRACE)

    def _offers(self, offers: list) -> list[Offer]:
        """The fetched book as fresh caller-owned offers (API.md precise point 4)."""
        peers = self._core.ctx.views.router.peers
        return caller_offers(offers, lambda nick: nick in peers)



_INIT_SIGNATURE = inspect.signature(_Common.__init__)
_KEYWORDS = tuple(name for name in _INIT_SIGNATURE.parameters if name != "self")
#: what ``help()``/``inspect`` show for the public classes (not ``__new__``'s catch-all)
_Common.__signature__ = _INIT_SIGNATURE.replace(
    parameters=[p for p in _INIT_SIGNATURE.parameters.values() if p.name != "self"])


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
        """Connect and handshake every directory in parallel; return how many are up."""
        self._loop = asyncio.get_running_loop()
        try:
            return await self._await(self._core.connect_all(), self._core.config.connection_timeout + 1)
        except asyncio.TimeoutError:
            return self._core.connected_count()

    async def close_all(self) -> None:
        """Close direct links, then directories; idempotent; leaves no thread running."""
        done: Future = Future()

        def close() -> None:
            try:
                self._core.close()
            finally:
                done.set_result(None)
        threading.Thread(target=close, name="jm-close").start()
        await asyncio.wrap_future(done)

    async def fetch_orderbook(self, max_wait: float = 120.0, min_wait: float = 30.0,
                              quiet_period: float = 15.0) -> list[Offer]:
        """Every directory's book, deduplicated, as caller-owned offers (API.md "Orderbook")."""
        offers = await self._await(self._core.fetch_orderbook(max_wait, min_wait, quiet_period),
                                   max_wait + GRACE)
        return self._offers(offers)

    async def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                           force_channel: str | None = None) -> str:
        """Sign and send through exactly one channel; return the channel used."""
        future = self._core.send_privmsg(recipient, command, data, log_routing, force_channel)
        return await self._await(future, self._core.config.connection_timeout + GRACE)

    async def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                                 timeout: float = 60.0,
                                 expected_counts: dict[str, int] | None = None) -> dict[str, dict]:
        """Verified replies from every directory and direct link, by nick (API.md "Receiving")."""
        future = self._core.wait_for_responses(expected_nicks, expected_command, timeout,
                                               expected_counts)
        return await self._await(future, timeout + GRACE)

    async def wait_for_response(self, from_nick: str, expected_command: str,
                                timeout: float = 30.0) -> dict | None:
        """The one-nick form of ``wait_for_responses``; None on timeout."""
        results = await self.wait_for_responses([from_nick], expected_command, timeout)
        return results.get(from_nick)

    def get_pending_connect_task(self, nick: str) -> Any:
        """The latest direct-connection attempt as an awaitable future (True/False), or None."""
        future = self._core.get_pending_connect_task(nick)
        if future is None:
            return None
        try:
            return asyncio.wrap_future(future, loop=asyncio.get_running_loop())
        except RuntimeError:  # called outside a running loop
            return future

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
        """Connect and handshake every directory in parallel; return how many are up."""
        try:
            return self._core.connect_all().result(self._core.config.connection_timeout + 1)
        except TimeoutError:
            return self._core.connected_count()

    def close_all(self) -> None:
        """Close direct links, then directories; idempotent; leaves no thread running."""
        self._core.close()
        if self._callback_thread is not None:
            self._callbacks.put(None)
            self._callback_thread.join(timeout=5)

    def fetch_orderbook(self, max_wait: float = 120.0, min_wait: float = 30.0,
                        quiet_period: float = 15.0) -> list[Offer]:
        """Every directory's book, deduplicated, as caller-owned offers (API.md "Orderbook")."""
        future = self._core.fetch_orderbook(max_wait, min_wait, quiet_period)
        offers = future.result(max_wait + GRACE)
        return self._offers(offers)

    def send_privmsg(self, recipient: str, command: str, data: str, log_routing: bool = False,
                     force_channel: str | None = None) -> str:
        """Sign and send through exactly one channel; return the channel used."""
        future = self._core.send_privmsg(recipient, command, data, log_routing, force_channel)
        return future.result(self._core.config.connection_timeout + GRACE)

    def wait_for_responses(self, expected_nicks: Iterable[str], expected_command: str,
                           timeout: float = 60.0,
                           expected_counts: dict[str, int] | None = None) -> dict[str, dict]:
        """Verified replies from every directory and direct link, by nick (API.md "Receiving")."""
        future = self._core.wait_for_responses(expected_nicks, expected_command, timeout,
                                               expected_counts)
        return future.result(timeout + GRACE)

    def wait_for_response(self, from_nick: str, expected_command: str,
                          timeout: float = 30.0) -> dict | None:
        """The one-nick form of ``wait_for_responses``; None on timeout."""
        return self.wait_for_responses([from_nick], expected_command, timeout).get(from_nick)

    def get_pending_connect_task(self, nick: str) -> Future | None:
        """The latest direct-connection attempt (a future of True/False), or None."""
        return self._core.get_pending_connect_task(nick)

    def __enter__(self) -> BlockingMultiDirectoryClient:
        self.connect_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()
