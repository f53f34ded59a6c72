"""The all-directories-gone rule as a pure state machine (API.md "Nick tracking").

State per nick: the directories it has been seen on and, for each, whether it is present
there now. A nick is *gone* only when it is absent on every directory it was seen on;
then it is reported exactly once and forgotten. Locations and features learned from
peerlists are kept alongside (features are cumulative: never downgraded, PROTOCOL.md
P28).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

import msgspec

from protocol.handshake import NOT_SERVING
from protocol.peerlist import PeerlistEntry


class RegistryView(msgspec.Struct, frozen=True):
    """An immutable snapshot for lock-free readers (the facades' non-blocking methods)."""

    present: MappingProxyType  # nick -> frozenset of directories it is present on
    listed: MappingProxyType  # nick -> frozenset of directories whose peerlist lists it
    locations: MappingProxyType  # nick -> "host:port"
    features: MappingProxyType  # nick -> frozenset[str]
    version: int = 0

    def is_active(self, nick: str) -> bool:
        return bool(self.present.get(nick))


EMPTY_VIEW = RegistryView(*(MappingProxyType({}) for _ in range(4)))


class NickTracker:
    """Single-writer core of the NickRegistry actor."""

    def __init__(self, ignored_locations: Iterable[str] = (), max_nicks: int = 100_000) -> None:
        self._presence: dict[str, dict[str, bool]] = {}
        self._listed: dict[str, set[str]] = {}
        self._locations: dict[str, str] = {}
        self._features: dict[str, frozenset[str]] = {}
        self._ignored_locations = frozenset(loc.lower() for loc in ignored_locations)
        self.max_nicks = max_nicks
        self.refused_nicks = 0
        self._version = 0
        self._view = EMPTY_VIEW

    # -- inputs -------------------------------------------------------------------------

    def mark_present(self, nick: str, directory: str) -> bool:
        """Record that ``nick`` is on ``directory``; return whether anything changed."""
        dirs = self._presence.get(nick)
        if dirs is None:
            if len(self._presence) >= self.max_nicks:
                self.refused_nicks += 1
                return False
            self._presence[nick] = {directory: True}
            return self._changed()
        if dirs.get(directory) is True:
            return False
        dirs[directory] = True
        return self._changed()

    def mark_absent(self, nick: str, directory: str) -> bool:
        """Record that ``nick`` left ``directory``; return True if it is now gone everywhere."""
        dirs = self._presence.get(nick)
        listed = self._listed.get(nick)
        if listed is not None:
            listed.discard(directory)
        if dirs is None or directory not in dirs:
            return False
        dirs[directory] = False
        self._changed()
        if any(dirs.values()):
            return False
        self._forget(nick)
        return True

    def apply_peerlist(self, directory: str, entries: Iterable[PeerlistEntry]) -> list[str]:
        """Apply a (partial, incremental) PEERLIST from ``directory``; return nicks now gone."""
        gone = []
        for entry in entries:
            if entry.location.lower() in self._ignored_locations:
                continue  # a REF directory's own entry (PROTOCOL.md P25)
            if entry.disconnected:
                if self.mark_absent(entry.nick, directory):
                    gone.append(entry.nick)
                continue
            if not self.mark_present(entry.nick, directory) and entry.nick not in self._presence:
                continue  # refused by the cap
            self._listed.setdefault(entry.nick, set()).add(directory)
            if entry.location != NOT_SERVING and self._locations.get(entry.nick) != entry.location:
                self._locations[entry.nick] = entry.location
                self._changed()
            if entry.features:
                merged = self._features.get(entry.nick, frozenset()) | entry.features
                if merged != self._features.get(entry.nick):
                    self._features[entry.nick] = merged
                    self._changed()
        return gone

    def sync(self, directory: str, active: Iterable[str]) -> list[str]:
        """``sync_nicks_with_peerlist``: ``active`` is the full set present on ``directory``."""
        active = set(active)
        for nick in active:
            self.mark_present(nick, directory)
        gone = []
        for nick in [n for n, d in self._presence.items() if d.get(directory) and n not in active]:
            if self.mark_absent(nick, directory):
                gone.append(nick)
        return gone

    # -- reads ----------------------------------------------------------------------------

    def is_active(self, nick: str) -> bool:
        return any(self._presence.get(nick, {}).values())

    def view(self) -> RegistryView:
        """The current snapshot, rebuilt only when something changed since the last call."""
        if self._view.version != self._version:
            self._view = RegistryView(
                present=MappingProxyType({
                    n: frozenset(d for d, p in dirs.items() if p) for n, dirs in self._presence.items()
                }),
                listed=MappingProxyType({n: frozenset(d) for n, d in self._listed.items() if d}),
                locations=MappingProxyType(dict(self._locations)),
                features=MappingProxyType(dict(self._features)),
                version=self._version,
            )
        return self._view

    def __len__(self) -> int:
        return len(self._presence)

    # -- internals --------------------------------------------------------------------------

    def _changed(self) -> bool:
        self._version += 1
        return True

    def _forget(self, nick: str) -> None:
        self._presence.pop(nick, None)
        self._listed.pop(nick, None)
        self._locations.pop(nick, None)
        self._features.pop(nick, None)
        self._changed()
