"""Writes a remote facade sent to the daemon whose replies have not arrived yet.

Why: the asyncio remote facade must not block its event loop, so ``try_direct_connect``
and ``sync_nicks_with_peerlist`` send their request and return at once. Yet a read right
after them must see their effect (API.md point 15). The daemon pushes ``state`` before
every reply, so once a write's reply has arrived the pushed copy includes it; until then
the facade answers reads from the copy with its own pending writes laid over it.

* A pending dial tells ``get_pending_connect_task`` to ask the daemon (whose answer comes
  when the attempt ends; requests on one connection start in order, so the daemon sees
  the dial first) instead of trusting a copy that may not show the attempt yet.
* A pending sync is replayed on the copy's presence the way the daemon's
  :class:`~actors.core.nicktracker.NickTracker` applies it: the synced directory carries
  exactly the given nicks; a nick left on no directory loses its listing and location.
  Laid over a copy that already includes the sync it changes nothing the daemon has not
  changed since. Two effects wait for the push: a nick refused because its directory's
  share is full, and a location that changes because one directory's claim was withdrawn
  (per-directory claims are not in the copy).

Thread-safe: writes are added on the caller's thread and settled on the link's loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from actors.daemon.wire import CoreState

__all__ = ["PendingDial", "PendingSync", "PendingWrites"]


class PendingDial(NamedTuple):
    nick: str


class PendingSync(NamedTuple):
    directory: str  # normalized, as the pushed state names directories
    nicks: frozenset[str]


class PendingWrites:
    """Request id → write, from sending the request until its reply (or the link's loss)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: dict[int, PendingDial | PendingSync] = {}

    def __len__(self) -> int:
        return len(self._writes)

    def add(self, request_id: int, write: PendingDial | PendingSync) -> None:
        with self._lock:
            self._writes[request_id] = write

    def settle(self, request_id: int | None) -> None:
        """The reply to ``request_id`` arrived (after the state push that includes it)."""
        with self._lock:
            self._writes.pop(request_id, None)

    def clear(self) -> None:
        """The link was lost: the copy is reset and nothing is pending any more."""
        with self._lock:
            self._writes.clear()

    def dialling(self, nick: str) -> bool:
        with self._lock:
            return PendingDial(nick) in self._writes.values()

    def over(self, current: Callable[[], CoreState]) -> CoreState:
        """The copy ``current()`` as it reads once the pending syncs are applied, in order.

        The writes are read before the copy: a write settles only after the push that
        includes it was stored, so a write missing here is always in the copy.
        """
        with self._lock:
            syncs = [w for w in self._writes.values() if isinstance(w, PendingSync)]
        state = current()
        if not syncs:
            return state
        present, listed = dict(state.present), dict(state.listed)
        locations = dict(state.locations)
        for sync in syncs:
            for nick in sync.nicks:
                present[nick] = present.get(nick, frozenset()) | {sync.directory}
            for nick in [n for n, d in present.items()
                         if sync.directory in d and n not in sync.nicks]:
                _drop(present, nick, sync.directory)
                _drop(listed, nick, sync.directory)
                if nick not in present:
                    locations.pop(nick, None)
        return msgspec.structs.replace(state, present=present, listed=listed, locations=locations)


def _drop(where: dict[str, frozenset[str]], nick: str, directory: str) -> None:
    rest = where.get(nick, frozenset()) - {directory}
    if rest:
        where[nick] = rest
    else:
        where.pop(nick, None)
