"""End-to-end fixtures: the default LocalNet layout.

``client_factory`` and ``localnet_factory`` are suite-wide (:mod:`tests.helpers.fixtures`);
protocol helpers for the tests (a toy CoinJoin round, relay counts) are in
:mod:`tests.helpers.taker`.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def net(localnet_factory):
    """Two NG directories and one REF directory; makers ng, ref, ng (each on all three)."""
    return localnet_factory(directories=("ng", "ng", "ref"), makers=3)
