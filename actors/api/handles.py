"""``client.clients``: the connected directories as joinmarket-ng's taker reads them.

joinmarket-ng's taker and status monitor read ``len(client.clients)``, ``.keys()``,
``.items()`` and, per handle, ``.host`` and ``.port`` (and, in its confirmation
callback, ``._active_peers.get(nick)``). Here that is a read-only :class:`Mapping`
computed from the Router's published view on each access, so it never goes stale and
never asks an actor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from protocol.handshake import NOT_SERVING

__all__ = ["ConnectedDirectories", "DirectoryHandle"]


class DirectoryHandle:
    """One connected directory, named by its configured ``host:port`` (read-only)."""

    __slots__ = ("host", "port", "_views")

    def __init__(self, host: str, port: int, views: Any) -> None:
        self.host, self.port, self._views = host, port, views

    def __repr__(self) -> str:
        return f"DirectoryHandle({self.node_id!r})"

    @property
    def node_id(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def _active_peers(self) -> Mapping[str, str]:
        """nick → location for nicks this directory's peerlist lists (read-only)."""
        return _ListedOn(self._views, self.node_id)


class _ListedOn(Mapping):
    """The nicks one directory lists, with their locations, read from the registry view."""

    def __init__(self, views: Any, directory: str) -> None:
        self._registry = views.registry
        self._directory = directory

    def __getitem__(self, nick: str) -> str:
        if self._directory not in self._registry.listed.get(nick, ()):
            raise KeyError(nick)
        return self._registry.locations.get(nick, NOT_SERVING)

    def __iter__(self) -> Iterator[str]:
        return (n for n, dirs in self._registry.listed.items() if self._directory in dirs)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ConnectedDirectories(Mapping):
    """Read-only ``host:port`` → :class:`DirectoryHandle` of the directories up right now."""

    def __init__(self, views: Callable[[], Any]) -> None:
        self._views = views

    def _up(self) -> tuple[Any, tuple[str, ...]]:
        views = self._views()
        return views, (views.router.directories_up if views is not None else ())

    def __getitem__(self, name: str) -> DirectoryHandle:
        views, up = self._up()
        if name not in up:
            raise KeyError(name)
        host, _, port = name.rpartition(":")
        return DirectoryHandle(host, int(port), views)

    def __iter__(self) -> Iterator[str]:
        return iter(self._up()[1])

    def __len__(self) -> int:
        return len(self._up()[1])

    def __repr__(self) -> str:
        return f"ConnectedDirectories({list(self)!r})"
