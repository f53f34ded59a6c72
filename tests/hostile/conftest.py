"""Fixtures for hostile-input tests: a LocalNet and a blocking client that are always closed."""

from __future__ import annotations

import pytest

from localnet.network import LocalNet
from protocol import NickIdentity
from supervisor import BlockingMultiDirectoryClient


@pytest.fixture
def hostile():
    """``hostile(directories=..., makers=..., **client_kwargs)`` → (net, client)."""
    nets, clients = [], []

    def make(directories=("ng", "ng"), makers=1, identity=None, connect=True, **kwargs):
        net = LocalNet(directories=directories, makers=makers).start()
        nets.append(net)
        kwargs.setdefault("connection_timeout", 5)
        client = BlockingMultiDirectoryClient(net.directory_servers, "regtest",
                                              identity or NickIdentity(),
                                              socks_host=net.socks_host, socks_port=net.socks_port,
                                              **kwargs)
        clients.append(client)
        if connect:
            assert client.connect_all() == len(net.directories)
        return net, client
    yield make
    for client in clients:
        client.close_all()
    for net in nets:
        net.stop()
