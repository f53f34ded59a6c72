"""Helpers for the joinmarket-ng compatibility tests (tests/compat)."""

from __future__ import annotations

from typing import Any

from localnet.network import LocalNet

__all__ = ["NG_MAKERS", "locations_known", "ng_client_kwargs"]

#: NG makers that answer every !orderbook (NG throttles to one per 10 s per taker)
NG_MAKERS = [{"style": "ng", "orderbook_interval": 0.0} for _ in range(3)]


def ng_client_kwargs(net: LocalNet, identity: Any, **extra: Any) -> dict[str, Any]:
    """Exactly the keywords joinmarket-ng's ``Taker.__init__`` passes (by keyword)."""
    from tests.helpers.ngstyle import NgNickAuthMode
    kwargs = dict(directory_servers=net.directory_servers, network="regtest",
                  nick_identity=identity, socks_host=net.socks_host, socks_port=net.socks_port,
                  connection_timeout=5.0, nick_auth_mode=NgNickAuthMode.PREFER_VERIFIED,
                  nick_auth_directory_ids={}, neutrino_compat=False, stream_isolation=False)
    kwargs.update(extra)
    return kwargs


def locations_known(client: Any, net: LocalNet) -> bool:
    return all(client.get_peer_location(m.nick) == m.location for m in net.makers)

