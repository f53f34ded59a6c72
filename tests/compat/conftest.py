"""Fixtures for the joinmarket-ng compatibility tests: NG-style makers on a LocalNet.

The facade-parametrized ``client_factory`` and ``localnet_factory`` are the e2e ones
(real sockets through the SOCKS5 gateway; nothing of our transport is mocked).
"""

from __future__ import annotations

from typing import Any

import pytest

from localnet.network import LocalNet
from tests.e2e.conftest import client_factory, localnet_factory  # noqa: F401 - fixtures
from tests.polling import wait_until

#: NG makers that answer every !orderbook (NG throttles to one per 10 s per taker)
NG_MAKERS = [{"style": "ng", "orderbook_interval": 0.0} for _ in range(3)]


@pytest.fixture
def ng_net(localnet_factory):  # noqa: F811 - the imported fixture
    """Three directories (two NG, one REF) and three NG-style makers on all of them."""
    return localnet_factory(directories=("ng", "ng", "ref"), makers=NG_MAKERS)


def ng_client_kwargs(net: LocalNet, identity: Any, **extra: Any) -> dict[str, Any]:
    """Exactly the keywords joinmarket-ng's ``Taker.__init__`` passes (by keyword)."""
    from tests.compat.ngstyle import NgNickAuthMode
    kwargs = dict(directory_servers=net.directory_servers, network="regtest",
                  nick_identity=identity, socks_host=net.socks_host, socks_port=net.socks_port,
                  connection_timeout=5.0, nick_auth_mode=NgNickAuthMode.PREFER_VERIFIED,
                  nick_auth_directory_ids={}, neutrino_compat=False, stream_isolation=False)
    kwargs.update(extra)
    return kwargs


def locations_known(client: Any, net: LocalNet) -> bool:
    return all(client.get_peer_location(m.nick) == m.location for m in net.makers)


def wait_for_locations(client: Any, net: LocalNet) -> None:
    wait_until(lambda: locations_known(client, net), what="every maker's location")
