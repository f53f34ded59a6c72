"""Fixtures for the joinmarket-ng compatibility tests: NG-style makers on a LocalNet.

``localnet_factory`` is the suite-wide one (real sockets through the SOCKS5 gateway;
nothing of our transport is mocked); the tests' helpers are in :mod:`tests.helpers.compat`.
"""

from __future__ import annotations

import pytest

from tests.helpers.compat import NG_MAKERS


@pytest.fixture
def ng_net(localnet_factory):
    """Three directories (two NG, one REF) and three NG-style makers on all of them."""
    return localnet_factory(directories=("ng", "ng", "ref"), makers=NG_MAKERS)
