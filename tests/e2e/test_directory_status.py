"""Every way connect_all can end short leaves a reason in ``directory_status()``.

The library logs nothing by default, so these failures must explain themselves through
the public status: a wrong network (an NG directory just hangs up; a REF one refuses),
an unreachable SOCKS proxy, an unreachable directory. Real sockets, real LocalNet.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from localnet.onion import random_onion_host
from supervisor import BlockingMultiDirectoryClient, DirectoryHealth, MultiDirectoryClient
from protocol import NickIdentity
from tests.helpers.polling import wait_until


@pytest.fixture
def make_client():
    clients: list[BlockingMultiDirectoryClient] = []

    def make(servers, network="regtest", **kwargs):
        kwargs.setdefault("connection_timeout", 5.0)
        client = BlockingMultiDirectoryClient(servers, network, NickIdentity(), **kwargs)
        clients.append(client)
        return client
    yield make
    for client in clients:
        client.close_all()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_idle_before_connect_and_up_after(localnet_factory, make_client):
    net = localnet_factory(directories=("ng", "ref"), makers=0)
    client = make_client(net.directory_servers, socks_port=net.socks_port)
    assert [h.state for h in client.directory_status().values()] == ["idle", "idle"]
    assert client.connect_all() == 2
    status = client.directory_status()
    assert list(status) == list(net.directory_servers)
    assert all(isinstance(h, DirectoryHealth) and h.state == "up" and h.since for h in
               status.values())


def test_wrong_network_says_what_we_sent(localnet_factory, make_client):
    net = localnet_factory(directories=("ng", "ref"), makers=0)  # regtest
    ng, ref = net.directory_servers
    client = make_client(net.directory_servers, "mainnet", socks_port=net.socks_port)
    assert client.connect_all() == 0
    status = client.directory_status()
    # NG closes without a word: we say what we sent as the likely cause, and retry later.
    assert status[ng].state == "retrying" and status[ng].next_retry > status[ng].since
    assert "right after our handshake" in status[ng].last_error
    assert "network 'mainnet'" in status[ng].last_error
    assert "protocol version 5" in status[ng].last_error
    # REF answers accepted=false naming the network: a refusal, retried on the slow
    # violation backoff (10 s at first; nothing is permanent, API.md point 7).
    assert status[ref].state == "retrying"
    assert status[ref].next_retry - status[ref].since >= 10.0
    assert "regtest" in status[ref].last_error and "rejected" in status[ref].last_error


def test_unreachable_socks_proxy_is_named(make_client):
    port = _free_port()  # nothing listens here
    client = make_client([f"{random_onion_host()}:5222"], socks_port=port)
    assert client.connect_all() == 0
    (health,) = client.directory_status().values()
    assert health.state == "retrying" and health.failures >= 1
    assert f"127.0.0.1:{port}" in health.last_error


def test_one_dead_directory_keeps_its_reason_while_the_others_are_up(localnet_factory,
                                                                       make_client):
    net = localnet_factory(directories=("ng", "ng"), makers=0)
    dead = f"{random_onion_host()}:5222"
    client = make_client([*net.directory_servers, dead], socks_port=net.socks_port)
    assert client.connect_all() == 2
    health = client.directory_status()[dead]
    assert health.state == "retrying" and health.last_error
    # The retry really happens: the failure count grows while the others stay up.
    wait_until(lambda: client.directory_status()[dead].failures >= 2, timeout=15,
               what="a second failed attempt on the dead directory")
    assert [client.directory_status()[d].state for d in net.directory_servers] == ["up", "up"]
    assert client.directory_status()[dead].describe(time.time()).startswith(("retrying",
                                                                              "connecting"))


def test_asyncio_facade_reports_the_same_reason(localnet_factory):
    net = localnet_factory(directories=("ng",), makers=0)
    (ng,) = net.directory_servers

    async def scenario():
        client = MultiDirectoryClient([ng], "mainnet", NickIdentity(), socks_port=net.socks_port,
                                      connection_timeout=5.0)
        try:
            assert client.directory_status()[ng].state == "idle"
            assert await client.connect_all() == 0
            return client.directory_status()[ng]  # a plain call on the loop: never blocks
        finally:
            await client.close_all()

    health = asyncio.run(scenario())
    assert health.state == "retrying" and "we sent network 'mainnet'" in health.last_error


def test_every_facade_explains_a_wrong_network(localnet_factory, client_factory):
    """The same reason through the asyncio, blocking and remote (daemon) facades."""
    net = localnet_factory(directories=("ng", "ref"), makers=0)
    ng, ref = net.directory_servers
    client = client_factory(net, network="mainnet")
    assert client.connect_all() == 0
    wait_until(lambda: client.directory_status()[ng].failures >= 1
               and client.directory_status()[ref].failures >= 1,
               what=f"both failures visible through the {client_factory.facade} facade")
    status = client.directory_status()
    assert list(status) == [ng, ref]
    assert "we sent network 'mainnet'" in status[ng].last_error
    assert status[ref].state == "retrying" and "rejected" in status[ref].last_error
