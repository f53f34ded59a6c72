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


@pytest.fixture
def rogue_net():
    """``rogue_net(rogues=[HostileDirectory(), ...], directories=..., makers=..., **kw)`` →
    (net, client): a LocalNet, our own hostile servers (tests/hostile/servers.py) published
    on its gateway, and a client configured with every directory, honest ones first.
    Everything is closed at teardown, client first."""
    made = []

    def make(rogues=(), directories=("ng",), makers=1, connect=True, **kwargs):
        net = LocalNet(directories=directories, makers=makers).start()
        made.append(net)
        for server in rogues:
            server.start(net)
            made.append(server)
        kwargs.setdefault("connection_timeout", 5)
        servers = [*net.directory_servers,
                   *(s.location for s in rogues if hasattr(s, "handshakes"))]
        client = BlockingMultiDirectoryClient(servers, "regtest", NickIdentity(),
                                              socks_host=net.socks_host, socks_port=net.socks_port,
                                              **kwargs)
        made.append(client)
        if connect:
            client.connect_all()
        return net, client
    yield make
    for thing in reversed(made):
        if isinstance(thing, BlockingMultiDirectoryClient):
            thing.close_all()
        else:
            thing.stop()
