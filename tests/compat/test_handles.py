"""``client.clients`` and direct-peer handles as joinmarket-ng's taker reads them (pure)."""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace

import pytest

from actors.api.handles import ConnectedDirectories
from actors.core.nicktracker import RegistryView
from actors.shells.runtime import PeerHandle, RouterView

A, B, C = "a.onion:5222", "b.onion:5222", "c.onion:5222"


def _views(up: tuple[str, ...]) -> SimpleNamespace:
    registry = RegistryView(present=MappingProxyType({}),
                            listed=MappingProxyType({"J5m": frozenset({B})}),
                            locations=MappingProxyType({"J5m": "m.onion:5222"}),
                            features=MappingProxyType({}))
    return SimpleNamespace(router=RouterView(directories_up=up), registry=registry)


def test_clients_is_a_live_read_only_mapping_of_connected_directories():
    state = {"views": _views((A, B))}
    clients = ConnectedDirectories(lambda: state["views"])
    assert len(clients) == 2 and list(clients.keys()) == [A, B]
    assert [(c.host, c.port) for c in clients.values()] == [("a.onion", 5222), ("b.onion", 5222)]
    assert clients[B]._active_peers.get("J5m") == "m.onion:5222"
    assert clients[A]._active_peers.get("J5m") is None and dict(clients[B]._active_peers) == {
        "J5m": "m.onion:5222"}
    state["views"] = _views((C,))  # a directory went down, another came up
    assert list(clients) == [C] and A not in clients
    with pytest.raises(KeyError):
        clients[A]
    with pytest.raises(TypeError):
        clients[A] = None  # read-only


def test_clients_before_start_is_empty():
    assert len(ConnectedDirectories(lambda: None)) == 0


def test_peer_handle_supports_feature():
    peer = PeerHandle("J5m", "m.onion:5222", frozenset({"neutrino_compat"}), 1.0)
    assert peer.supports_feature("neutrino_compat") is True
    assert peer.supports_feature("other") is False
    legacy = PeerHandle("J5m", "m.onion:5222", frozenset(), 1.0)
    assert legacy.supports_feature("neutrino_compat") is False
