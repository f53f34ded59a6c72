"""Fixtures shared by several tiers (e2e, compat, ...), loaded as a pytest plugin by the
root ``conftest.py``: a facade-agnostic client factory and LocalNets with custom layouts.

The factory and its adapters live in :mod:`tests.helpers.facades`.
"""

from __future__ import annotations

from typing import Any

import pytest

from localnet.network import LocalNet
from tests.helpers.facades import ClientFactory
from tests.helpers.process import Process

__all__ = ["client_factory", "localnet_factory", "spawn"]


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
def spawn(tmp_path):
    processes: list[Process] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Process:
        workdir = tmp_path / f"proc{len(processes)}"
        workdir.mkdir()
        processes.append(Process(list(args), workdir, env))
        return processes[-1]

    yield start
    for process in processes:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(10)
