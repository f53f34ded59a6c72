"""The all-directories-gone rule as a pure state machine (API.md "Nick tracking").

State per nick: the directories it is present on. A nick is *gone* only when it is
absent on every directory it was seen on; then it is reported exactly once and
forgotten. Locations and features learned from peerlists are kept alongside (features
are cumulative: never downgraded, PROTOCOL.md P28).

Trust rules (ARCHITECTURE.md 9.4, docs/limits.md):

* Every directory has its own share of ``max_nicks`` (``max_nicks // directories``). A
  (nick, directory) pair counts against that directory's share only, so a directory
  listing 100,000 invented nicks fills its own share and nobody else's: a maker listed by
  an honest directory is always tracked, whatever another directory sends.
* A lost directory's pairs are dropped by :meth:`forget_directory` (the shell calls it
  once the directory has been down for ``lost_directory_ttl``).
* Locations are per directory. The published location is the one most directories
  agree on; when no location has a strict plurality there is none (no direct dial,
  relays still work), so one directory can never override the others. Disagreements
  are counted and queued in ``conflicts`` for the shell to log.
"""

from __future__ import annotations

from collections import Counter
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

    def __init__(self, ignored_locations: Iterable[str] = (), max_nicks: int = 100_000,
                 directories: int = 1) -> None:
        self._presence: dict[str, set[str]] = {}
        self._per_directory: Counter[str] = Counter()
        self._listed: dict[str, set[str]] = {}
        self._claims: dict[str, dict[str, str]] = {}  # nick -> {directory: location}
        self._locations: dict[str, str] = {}
        self._features: dict[str, frozenset[str]] = {}
        self._ignored_locations = frozenset(loc.lower() for loc in ignored_locations)
        self.max_nicks = max_nicks
        self.share = max(1, max_nicks // max(1, directories))
        self.refused_nicks = 0
        self.location_conflicts = 0
        self.conflicts: list[tuple[str, dict[str, str]]] = []
        self._version = 0
        self._view = EMPTY_VIEW

    # -- inputs -------------------------------------------------------------------------

    def mark_present(self, nick: str, directory: str) -> bool:
        """Record that ``nick`` is on ``directory``; return whether anything changed.

        Refused (and counted) when ``directory`` already holds its share of nicks.
        """
        dirs = self._presence.get(nick)
        if dirs is not None and directory in dirs:
            return False
        if self._per_directory[directory] >= self.share:
            self.refused_nicks += 1
            return False
        if dirs is None:
            dirs = self._presence[nick] = set()
        dirs.add(directory)
        self._per_directory[directory] += 1
        return self._changed()

    def mark_absent(self, nick: str, directory: str) -> bool:
        """Record that ``nick`` left ``directory``; return True if it is now gone everywhere."""
        listed = self._listed.get(nick)
        if listed is not None:
            listed.discard(directory)
            if not listed:
                del self._listed[nick]
        self._withdraw_location(nick, directory)
        dirs = self._presence.get(nick)
        if dirs is None or directory not in dirs:
            return False
        dirs.discard(directory)
        self._per_directory[directory] -= 1
        self._changed()
        if dirs:
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
            self.mark_present(entry.nick, directory)
            if directory not in self._presence.get(entry.nick, ()):
                continue  # refused: this directory's share is full
            self._listed.setdefault(entry.nick, set()).add(directory)
            if entry.location != NOT_SERVING:
                self._claim_location(entry.nick, directory, entry.location)
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
        for nick in [n for n, d in self._presence.items() if directory in d and n not in active]:
            if self.mark_absent(nick, directory):
                gone.append(nick)
        return gone

    def forget_directory(self, directory: str) -> list[str]:
        """Drop everything ``directory`` told us (it has been lost too long); nicks now gone."""
        nicks = {n for n, d in self._presence.items() if directory in d}
        nicks |= {n for n, d in self._listed.items() if directory in d}
        nicks |= {n for n, c in self._claims.items() if directory in c}
        return [nick for nick in sorted(nicks) if self.mark_absent(nick, directory)]

    # -- reads ----------------------------------------------------------------------------

    def is_active(self, nick: str) -> bool:
        return bool(self._presence.get(nick))

    def count(self, directory: str) -> int:
        """How much of its share ``directory`` uses."""
        return self._per_directory[directory]

    def view(self) -> RegistryView:
        """The current snapshot, rebuilt only when something changed since the last call."""
        if self._view.version != self._version:
            self._view = RegistryView(
                present=MappingProxyType({n: frozenset(d) for n, d in self._presence.items()}),
                listed=MappingProxyType({n: frozenset(d) for n, d in self._listed.items() if d}),
                locations=MappingProxyType(dict(self._locations)),
                features=MappingProxyType(dict(self._features)),
                version=self._version,
            )
        return self._view

    def __len__(self) -> int:
        return len(self._presence)

    # -- internals --------------------------------------------------------------------------

    def _claim_location(self, nick: str, directory: str, location: str) -> None:
        claims = self._claims.setdefault(nick, {})
        if claims.get(directory) == location:
            return
        claims[directory] = location
        if len(set(claims.values())) > 1:
            self.location_conflicts += 1
            self.conflicts.append((nick, dict(claims)))
        self._elect_location(nick)

    def _withdraw_location(self, nick: str, directory: str) -> None:
        claims = self._claims.get(nick)
        if claims is None or claims.pop(directory, None) is None:
            return
        if not claims:
            del self._claims[nick]
        self._elect_location(nick)

    def _elect_location(self, nick: str) -> None:
        """The location with a strict plurality of directories, else none."""
        ranked = Counter(self._claims.get(nick, {}).values()).most_common(2)
        winner = ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) \
            else None
        if winner == self._locations.get(nick):
            return
        if winner is None:
            del self._locations[nick]
        else:
            self._locations[nick] = winner
        self._changed()

    def _changed(self) -> bool:
        self._version += 1
        return True

    def _forget(self, nick: str) -> None:
        self._presence.pop(nick, None)
        self._listed.pop(nick, None)
        self._claims.pop(nick, None)
        self._locations.pop(nick, None)
        self._features.pop(nick, None)
        self._changed()
