"""Every actor's address in the address book, built and parsed in one place.

The core actors have fixed names; a DirectoryActor is named by its directory's
normalised ``host:port`` (the same string as in the client config, so messages about a
directory carry its name); a PeerActor by ``peer:<nick>``. Channel ids (``direct``,
``directory:<host:port>``) are a different namespace, part of the public API, and live in
``actors.core.routing``.
"""

from __future__ import annotations

__all__ = [
    "CORE_ACTORS", "INBOX", "REGISTRY", "ROUTER", "SUPERVISOR", "directory_name",
    "is_peer_name", "peer_name",
]

SUPERVISOR = "supervisor"
REGISTRY = "registry"
INBOX = "inbox"
ROUTER = "router"
#: The permanent core children, in the order the Supervisor starts them.
CORE_ACTORS = (REGISTRY, INBOX, ROUTER)

_PEER_PREFIX = "peer:"


def directory_name(directory: str) -> str:
    """The actor name of the DirectoryActor for a configured ``host:port``."""
    return directory


def peer_name(nick: str) -> str:
    """The actor name of the PeerActor for ``nick``."""
    return _PEER_PREFIX + nick


def is_peer_name(name: str) -> bool:
    """Whether ``name`` addresses a PeerActor (a restarted Router re-asks those)."""
    return name.startswith(_PEER_PREFIX)
