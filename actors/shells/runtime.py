"""What the actors of one client share: counters, read-only views, and the address book.

* :class:`Stats` — thread-safe counters; every drop, refusal and forgery is counted here
  and exported as metrics by the standalone process.
* :class:`Views` — single-writer immutable snapshots. The NickRegistry and Router actors
  each own one attribute and replace it after a change; the facades' non-blocking
  methods (``is_nick_active``, ``bind_session``…) read them without a lock or an ask, so
  they can never block an event loop.
* :class:`AddressBook` — children are addressed by stable name, because a restart makes
  a new ``ActorRef``. A message to a child that is restarting is stashed (bounded) and
  delivered to the new incarnation; anything else that cannot be delivered is counted as
  a dead letter and logged, never silently lost.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future, InvalidStateError
from types import MappingProxyType
from typing import Any

import msgspec
import pykka
from loguru import logger

from actors.core.nicktracker import EMPTY_VIEW, RegistryView
from actors.core.supervision import Stash


def settle(future: Future, result: Any = None, error: BaseException | None = None) -> bool:
    """Resolve a reply future unless its caller already gave up (cancelled it) or it is done.

    Callers on the facade side cancel futures on timeouts; an actor resolving one later
    must not crash on ``InvalidStateError``. Returns whether this call resolved it.
    """
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
        return True
    except InvalidStateError:
        return False


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class PeerHandle(msgspec.Struct, frozen=True):
    """Read-only description of a handshaked direct connection (API.md points 12, 16)."""

    nick: str
    location: str
    features: frozenset[str]
    connected_since: float

    def supports_feature(self, name: str) -> bool:
        """Whether the maker advertised ``name`` in its handshake (joinmarket-ng's session
        asks this of ``get_connected_peer(nick)`` before ``!fill``)."""
        return name in self.features


class RouterView(msgspec.Struct, frozen=True):
    directories_up: tuple[str, ...] = ()  # in configuration order
    directory_features: MappingProxyType = MappingProxyType({})
    peers: MappingProxyType = MappingProxyType({})  # nick -> PeerHandle
    attempts: MappingProxyType = MappingProxyType({})  # nick -> Future[bool] (latest)
    connecting: frozenset[str] = frozenset()


class Views:
    def __init__(self) -> None:
        self.registry: RegistryView = EMPTY_VIEW
        self.router: RouterView = RouterView()
        #: name -> actors.core.dirhealth.DirectoryHealth; written by the Supervisor only
        self.directories: MappingProxyType = MappingProxyType({})


class AddressBook:
    def __init__(self, stats: Stats, stash_max: int = 1_000) -> None:
        self._lock = threading.Lock()
        self._refs: dict[str, pykka.ActorRef] = {}
        self._stashes: dict[str, Stash] = {}
        self._stats = stats
        self._stash_max = stash_max

    def bind(self, name: str, ref: pykka.ActorRef) -> None:
        """Point ``name`` at a (new) actor and hand it what was stashed meanwhile."""
        with self._lock:
            self._refs[name] = ref
            stash = self._stashes.pop(name, None)
        for message in stash.drain() if stash else ():
            ref.tell(message)

    def restarting(self, name: str) -> None:
        """``name`` is between incarnations: stash messages for it from now on."""
        with self._lock:
            self._refs.pop(name, None)
            self._stashes.setdefault(name, Stash(self._stash_max))

    def remove(self, name: str) -> None:
        with self._lock:
            self._refs.pop(name, None)
            dropped = len(self._stashes.pop(name, ()))
        if dropped:
            self._stats.inc("dead_letters", dropped)

    def get(self, name: str) -> pykka.ActorRef | None:
        return self._refs.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._refs)

    def tell(self, name: str, message: Any) -> bool:
        """Deliver, stash, or count a dead letter; True if delivered or stashed."""
        with self._lock:
            ref = self._refs.get(name)
            stash = self._stashes.get(name) if ref is None else None
            if stash is not None:
                if stash.push(message) is not None:
                    self._stats.inc("dead_letters")
                    logger.warning("stash for {} full; dropped {}", name, type(message).__name__)
                    return False
                return True
        if ref is not None:
            try:
                ref.tell(message)
                return True
            except pykka.ActorDeadError:
                pass
        self._stats.inc("dead_letters")
        logger.debug("dead letter to {}: {}", name, type(message).__name__)
        return False
