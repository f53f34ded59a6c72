"""Construction, connect_all and close_all (API.md "Construction", "Lifecycle", point 7)."""

from __future__ import annotations

import threading

import pytest

from localnet.onion import random_onion_host
from tests.helpers.polling import wait_until
from tests.helpers.taker import wait_for_locations

ONION = random_onion_host()


@pytest.mark.parametrize("servers, kwargs, named", [
    ([], {}, "directory_servers"),
    ([f"{ONION}:notaport"], {}, "directory_servers"),
    ([f"{ONION}:0"], {}, "directory_servers"),
    ([f"{ONION}:5222"], {"network": "bitcoin"}, "network"),
    ([f"{ONION}:5222"], {"connection_timeout": 0}, "connection_timeout"),
    ([f"{ONION}:5222"], {"connection_timeout": -3.0}, "connection_timeout"),
    ([f"{ONION}:5222"], {"our_location": "nowhere"}, "our_location"),
    (["10.1.2.3:5222"], {}, "10.1.2.3"),
    ([f"{ONION}:5222", "example.com"], {}, "example.com"),
])
def test_invalid_construction_raises_value_error_naming_the_argument(client_factory, servers,
                                                                       kwargs, named):
    with pytest.raises(ValueError, match=named):
        client_factory(servers, **kwargs)


def test_port_defaults_to_5222(net, client_factory):
    bare = [server.removesuffix(":5222") for server in net.directory_servers]
    client = client_factory(net, directory_servers=bare)
    assert client.connect_all() == 3
    assert set(client.connected_directories) == set(net.directory_servers)


def test_connect_all_returns_the_number_connected(net, client_factory):
    client = client_factory(net)
    assert client.connect_all() == 3
    assert set(client.connected_directories) == set(net.directory_servers)


def test_unmapped_directory_fails_alone_and_is_retried(net, client_factory):
    dead = f"{random_onion_host()}:5222"
    client = client_factory(net, directory_servers=[*net.directory_servers, dead])
    assert client.connect_all() == 3
    assert dead not in client.connected_directories
    # Failed directories keep being retried in the background (backoff from 1 s).
    wait_until(lambda: sum(r.dest_host == dead.split(":")[0] for r in net.gateway.connections) >= 2,
               timeout=15, what="a background retry of the unreachable directory")


@pytest.mark.timeout(30)
def test_stalled_directory_does_not_delay_the_others(localnet_factory, client_factory):
    net = localnet_factory(directories=("ng", "ng", "ref", "ng"), makers=1)
    net.directories[3].stall(True)
    client = client_factory(net, connection_timeout=3)
    done = threading.Event()
    result: list[int] = []

    def connect() -> None:
        result.append(client.connect_all())
        done.set()
    thread = threading.Thread(target=connect)
    thread.start()
    try:
        wait_until(lambda: len(client.connected_directories) == 3, timeout=10,
                   what="the three healthy directories")
        # The healthy ones are up while connect_all still waits for the stalled one.
        assert not done.is_set()
    finally:
        thread.join(timeout=20)
    assert result == [3]
    assert net.directory_servers[3] not in client.connected_directories


def test_close_all_is_idempotent(net, client_factory):
    client = client_factory.connected(net)
    client.close_all()
    client.close_all()
    # The autouse leak check (tests/conftest.py) then proves no thread or actor is left.


def test_close_all_without_connect(client_factory):
    client = client_factory([f"{ONION}:5222"])
    client.close_all()
    client.close_all()


def test_close_all_tears_down_direct_connections_first(net, client_factory):
    client = client_factory.connected(net)
    maker = net.makers[0]
    wait_for_locations(client, [maker])
    client.send_privmsg(maker.nick, "tx", "probe")
    assert client.get_pending_connect_task(maker.nick).result(10) is True
    client.close_all()
    wait_until(lambda: net.gateway.active_connections() == 0, what="every relay to close")
