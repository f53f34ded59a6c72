"""PEERLIST (789) lines: ``nick;location[;D][;F:f1+f2],...`` (PROTOCOL.md 6.2).

Peerlists are incremental hints from one directory, so one bad entry must not cost us
the good ones next to it: :func:`parse_peerlist_lenient` returns both, and
:func:`parse_peerlist` only fails when nothing on the line was usable.
"""

from collections.abc import Iterable

import msgspec

from protocol.errors import LocalProtocolError, PeerlistError
from protocol.handshake import is_valid_location
from protocol.jmmessage import MAX_NICK_LENGTH

__all__ = [
    "PeerlistEntry", "format_peerlist", "is_valid_nick", "parse_peerlist",
    "parse_peerlist_lenient",
]

_DISCONNECTED = "D"
_FEATURES_PREFIX = "F:"
_FEATURE_SEPARATOR = "+"
_NICK_FORBIDDEN = frozenset(",;!")
_FEATURE_FORBIDDEN = frozenset(",;+")


class PeerlistEntry(msgspec.Struct, frozen=True):
    """One peer as one directory sees it; ``disconnected`` means gone from *that* directory."""

    nick: str
    location: str
    disconnected: bool
    features: frozenset[str]


def is_valid_nick(nick: str) -> bool:
    """Non-empty, at most 64 characters, and free of the grammar's separators."""
    return (
        0 < len(nick) <= MAX_NICK_LENGTH
        and not any(c in _NICK_FORBIDDEN or c.isspace() for c in nick)
    )


def _parse_entry(text: str) -> tuple[PeerlistEntry, bool]:
    """Parse one ``;``-separated entry; also say whether its F: list can absorb a legacy ``,``."""
    nick, location, *flags = text.split(";")
    if not is_valid_nick(nick):
        raise PeerlistError(f"invalid nick {nick!r}")
    if not is_valid_location(location):
        raise PeerlistError(f"invalid location {location!r} for nick {nick!r}")
    disconnected = False
    features: list[str] = []
    open_features = False
    for flag in flags:
        if flag == _DISCONNECTED:
            disconnected = True
        elif flag.startswith(_FEATURES_PREFIX):
            body = flag[len(_FEATURES_PREFIX):]
            features.extend(f for f in body.split(_FEATURE_SEPARATOR) if f)
            open_features = bool(body) and _FEATURE_SEPARATOR not in body
        # Other flags are ignored: a future extension must not hide a maker's location.
    entry = PeerlistEntry(nick, location, disconnected, frozenset(features))
    return entry, open_features


def parse_peerlist_lenient(line: str) -> tuple[tuple[PeerlistEntry, ...], tuple[str, ...]]:
    """Return the usable entries and one error string per malformed entry.

    A ``,``-piece without ``;`` is metadata and skipped, except right after an entry
    whose ``F:`` list used no ``+``: NG's legacy form separated features with ``,``.
    """
    entries: list[PeerlistEntry] = []
    errors: list[str] = []
    legacy_owner: int | None = None  # index in entries whose F: may continue
    for index, piece in enumerate(line.split(",") if line else ()):
        if ";" not in piece:
            if legacy_owner is not None and piece:
                owner = entries[legacy_owner]
                entries[legacy_owner] = msgspec.structs.replace(
                    owner, features=owner.features | {piece}
                )
            continue
        try:
            entry, open_features = _parse_entry(piece)
        except PeerlistError as exc:
            errors.append(f"entry {index}: {exc}")
            legacy_owner = None
            continue
        entries.append(entry)
        legacy_owner = len(entries) - 1 if open_features else None
    return tuple(entries), tuple(errors)


def parse_peerlist(line: str) -> tuple[PeerlistEntry, ...]:
    """Good entries of a PEERLIST line; raises only if every entry on it was malformed."""
    entries, errors = parse_peerlist_lenient(line)
    if errors and not entries:
        raise PeerlistError("unusable peerlist: " + "; ".join(errors))
    return entries


def _format_entry(entry: PeerlistEntry, include_features: bool) -> str:
    if not is_valid_nick(entry.nick):
        raise LocalProtocolError(f"cannot format invalid nick {entry.nick!r}")
    if not is_valid_location(entry.location):
        raise LocalProtocolError(f"cannot format invalid location {entry.location!r}")
    text = f"{entry.nick};{entry.location}"
    if entry.disconnected:
        text += ";" + _DISCONNECTED
    if include_features and entry.features:
        for feature in entry.features:
            if not feature or any(c in _FEATURE_FORBIDDEN for c in feature):
                raise LocalProtocolError(f"cannot format feature name {feature!r}")
        text += ";" + _FEATURES_PREFIX + _FEATURE_SEPARATOR.join(sorted(entry.features))
    return text


def format_peerlist(entries: Iterable[PeerlistEntry], include_features: bool) -> str:
    """Serialise as NG directories do (features sorted, ``F:`` only when requested)."""
    return ",".join(_format_entry(e, include_features) for e in entries)
