"""End-to-end fixtures: a LocalNet per test and a facade-agnostic client factory.

The factory and its adapters live in :mod:`tests.helpers.facades`; protocol helpers for
the tests (a toy CoinJoin round, relay counts) in :mod:`tests.helpers.taker`.
"""

from __future__ import annotations

from typing import Any

import pytest

from localnet.network import LocalNet
from tests.helpers.facades import ClientFactory


@pytest.fixture(params=["asyncio", "blocking", "remote"])
def client_factory(request):
    factory = ClientFactory(request.param)
    yield factory
    factory.close_all()


@pytest.fixture
def localnet_factory():
    """Start LocalNets with custom layouts; all are stopped at teardown."""
    nets: list[LocalNet] = []

    def make(**kwargs: Any) -> LocalNet:
        net = LocalNet(**kwargs).start()
        nets.append(net)
        return net
    yield make
    for net in reversed(nets):
        net.stop()


@pytest.fixture
def net(localnet_factory):
    """Two NG directories and one REF directory; makers ng, ref, ng (each on all three)."""
    return localnet_factory(directories=("ng", "ng", "ref"), makers=3)
