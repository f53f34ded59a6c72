"""Channel selection and sending (API.md "Channel selection", "Sending", "Direct peer
connections", points 5, 8, 12, 13)."""

from __future__ import annotations

import re

import pytest

from localnet.onion import random_onion_host
from supervisor import (AllRoutesFailedError, ChannelBinding, DirectoryNotConnectedError,
                        MultiDirectoryError, NoDirectConnectionError)
from tests.helpers.polling import wait_until
from tests.helpers.taker import (directory_index, random_nick, relayed_count,
                                 wait_for_locations)


def _direct_link(client, maker) -> None:
    """Trigger and await the background direct connection to ``maker``."""
    wait_for_locations(client, [maker])
    channel = client.send_privmsg(maker.nick, "tx", "first")
    assert channel.startswith("directory:")  # the first message is relayed
    task = client.get_pending_connect_task(maker.nick)
    assert task is not None
    assert task.result(10) is True
    wait_until(lambda: client.get_connected_peer(maker.nick), what="the direct link")


# -- bind_session ---------------------------------------------------------------------------


def test_bind_session_prefers_a_handshaked_direct_connection(net, client_factory):
    client = client_factory.connected(net)
    maker = net.makers[0]
    _direct_link(client, maker)
    binding = client.bind_session(maker.nick)
    assert binding == ChannelBinding(maker.nick, "direct", maker.location)
    assert binding.is_direct


def test_bind_session_picks_a_directory_tracking_the_nick(net, client_factory):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[0]
    client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
    maker.leave(0)
    maker.leave(1)
    # Configuration order would pick directory 0 ("any connected"); tracking says 2.
    only = f"directory:{net.directory_servers[2]}"
    wait_until(lambda: client.bind_session(maker.nick).channel_id == only,
               what="the binding to follow nick tracking")
    assert client.is_nick_active(maker.nick)
    assert not client.bind_session(maker.nick).is_direct


def test_bind_session_falls_back_to_any_connected_directory(net, client_factory):
    client = client_factory.connected(net)
    binding = client.bind_session(random_nick())
    assert binding is not None and binding.channel_id.removeprefix("directory:") in \
        net.directory_servers
    assert binding.peer_location is None


def test_bind_session_is_none_without_a_connected_directory(client_factory, net):
    client = client_factory(net, directory_servers=[f"{random_onion_host()}:5222"])
    assert client.connect_all() == 0
    assert client.bind_session(net.makers[0].nick) is None
    with pytest.raises(AllRoutesFailedError, match=net.makers[0].nick) as info:
        client.send_privmsg(net.makers[0].nick, "fill", "0 1 2 3")
    assert isinstance(info.value, MultiDirectoryError) and isinstance(info.value, RuntimeError)
    assert "fill" in str(info.value)


# -- upgrade_channel_prefer_direct ------------------------------------------------------------


def test_upgrade_only_directory_to_direct_never_down(net, client_factory):
    client = client_factory.connected(net)
    maker = net.makers[1]
    pinned = f"directory:{net.directory_servers[0]}"
    assert client.upgrade_channel_prefer_direct(maker.nick, pinned) == pinned
    _direct_link(client, maker)
    assert client.upgrade_channel_prefer_direct(maker.nick, pinned) == "direct"
    assert client.upgrade_channel_prefer_direct(maker.nick, "direct") == "direct"
    net.gateway.kill(maker.onion_host)
    wait_until(lambda: client.get_connected_peer(maker.nick) is None, what="the link to drop")
    assert client.upgrade_channel_prefer_direct(maker.nick, "direct") == "direct"
    assert client.upgrade_channel_prefer_direct(maker.nick, pinned) == pinned


def test_upgrade_respects_prefer_direct_false(net, client_factory):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[0]
    wait_for_locations(client, [maker])
    pinned = f"directory:{net.directory_servers[1]}"
    assert client.send_privmsg(maker.nick, "tx", "x").startswith("directory:")
    assert client.get_pending_connect_task(maker.nick) is None
    assert client.upgrade_channel_prefer_direct(maker.nick, pinned) == pinned


# -- force_channel ------------------------------------------------------------------------------


def test_force_channel_errors(net, client_factory):
    down = f"{random_onion_host()}:5222"
    client = client_factory(net, directory_servers=[*net.directory_servers, down],
                            prefer_direct_connections=False)
    assert client.connect_all() == 3
    nick = net.makers[0].nick
    with pytest.raises(NoDirectConnectionError, match=nick):
        client.send_privmsg(nick, "fill", "x", force_channel="direct")
    with pytest.raises(DirectoryNotConnectedError, match=re.escape(down)):
        client.send_privmsg(nick, "fill", "x", force_channel=f"directory:{down}")
    for bad in ("bogus", "directory:", "DIRECT", ""):
        with pytest.raises(ValueError):
            client.send_privmsg(nick, "fill", "x", force_channel=bad)
    assert sum(relayed_count(net, client.nick, nick, "fill")) == 0


@pytest.mark.parametrize("recipient, command, data", [
    ("bad!nick", "fill", "x"), ("", "fill", "x"), ("has space", "fill", "x"),
    ("J5" + "x" * 80, "fill", "x"), ("OK", "fi!ll", "x"), ("OK", "fill", ""),
    ("OK", "fill", "two\nlines"), ("OK", "fill", "x" * 50_000),
])
def test_invalid_send_arguments_are_value_errors_and_routing_survives(
        net, client_factory, recipient, command, data):
    """Caller mistakes are the caller's ValueError, raised at the call; the actors never see
    them (they once crashed the Router, and four of them in 30 s escalated the client)."""
    client = client_factory.connected(net)
    maker = net.makers[0].nick
    with pytest.raises(ValueError):
        client.send_privmsg(maker if recipient == "OK" else recipient, command, data)
    channel = client.send_privmsg(maker, "fill", "0 1 2 3")
    assert channel.startswith("directory:") or channel == "direct"


@pytest.mark.parametrize("index", [0, 2])
def test_force_channel_directory_uses_exactly_that_directory(net, client_factory, index):
    client = client_factory.connected(net)
    maker = net.makers[0]
    channel = f"directory:{net.directory_servers[index]}"
    for _ in range(3):
        assert client.send_privmsg(maker.nick, "tx", "x", force_channel=channel) == channel
    expected = [0, 0, 0]
    expected[index] = 3
    wait_until(lambda: relayed_count(net, client.nick, maker.nick, "tx") == expected,
               what=f"three relays via directory {index} only")


def test_force_channel_direct_goes_over_the_link(net, client_factory):
    client = client_factory.connected(net)
    maker = net.makers[1]
    _direct_link(client, maker)
    assert client.send_privmsg(maker.nick, "tx", "y", force_channel="direct") == "direct"
    wait_until(lambda: [r.channel for r in maker.received("tx")][-1:] == ["direct"],
               what="the maker to get the forced direct message")


# -- exactly one directory -------------------------------------------------------------------


@pytest.mark.parametrize("maker_index", [0, 1], ids=["ng-maker", "ref-maker"])
def test_each_relayed_message_goes_through_exactly_one_directory(net, client_factory,
                                                                 maker_index):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[maker_index]
    client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
    sends = 12
    used = [0, 0, 0]
    for i in range(sends):
        used[directory_index(net, client.send_privmsg(maker.nick, "tx", f"m{i}"))] += 1
    wait_until(lambda: len(maker.received("tx")) >= sends, what="every message at the maker")
    assert len(maker.received("tx")) == sends
    assert relayed_count(net, client.nick, maker.nick, "tx") == used
    assert sum(1 for n in used if n) >= 2  # shuffled across the directories carrying the nick


@pytest.mark.timeout(30)
def test_send_avoids_dead_directories_and_they_come_back(net, client_factory):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[0]
    client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
    for directory in net.directories[:2]:
        directory.stall(True)  # a reconnect then hangs in its handshake: stays down
        assert directory.kill(client.nick)
    alive = f"directory:{net.directory_servers[2]}"
    wait_until(lambda: client.connected_directories == (net.directory_servers[2],),
               what="the killed directories to be down")
    assert client.bind_session(maker.nick).channel_id == alive
    for i in range(4):
        assert client.send_privmsg(maker.nick, "tx", f"d{i}") == alive
    wait_until(lambda: relayed_count(net, client.nick, maker.nick, "tx") == [0, 0, 4],
               what="all four relays via the surviving directory")
    for directory in net.directories[:2]:
        directory.stall(False)
    wait_until(lambda: len(client.connected_directories) == 3, timeout=20,
               what="the killed directories to reconnect")
    assert client.is_nick_active(maker.nick)


@pytest.mark.timeout(30)
def test_gateway_drop_makes_a_directory_unroutable_until_it_reconnects(net, client_factory):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[0]
    client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
    victim = net.directories[0]
    victim.stall(True)
    assert net.gateway.kill(victim.onion_host) >= 1
    wait_until(lambda: net.directory_servers[0] not in client.connected_directories,
               what="the dropped directory to be down")
    for i in range(6):
        assert client.send_privmsg(maker.nick, "tx", f"g{i}") != f"directory:{victim.location}"
    victim.stall(False)
    wait_until(lambda: net.directory_servers[0] in client.connected_directories, timeout=20,
               what="the dropped directory to reconnect")
    channel = f"directory:{victim.location}"
    assert client.send_privmsg(maker.nick, "tx", "back", force_channel=channel) == channel


# -- direct connections ------------------------------------------------------------------------


@pytest.mark.parametrize("maker_index", [0, 1], ids=["ng-maker", "ref-maker"])
def test_first_send_starts_a_direct_connection_and_later_sends_use_it(net, client_factory,
                                                                      maker_index):
    client = client_factory.connected(net)
    maker = net.makers[maker_index]
    assert client.get_pending_connect_task(maker.nick) is None
    assert client.get_connected_peer(maker.nick) is None
    _direct_link(client, maker)
    handle = client.get_connected_peer(maker.nick)
    assert (handle.nick, handle.location) == (maker.nick, maker.location)
    client.try_direct_connect(maker.nick)  # a no-op while connected
    assert client.send_privmsg(maker.nick, "tx", "second") == "direct"
    wait_until(lambda: [r.channel for r in maker.received("tx")] == [r.channel for r in
               maker.received("tx")][:1] + ["direct"], what="the second message to go direct")
    assert maker.received("tx")[0].channel.startswith("directory:")
    attempts = [r for r in net.gateway.connections if r.dest_host == maker.onion_host]
    assert len(attempts) == 1


def test_try_direct_connect_and_peer_location(net, client_factory):
    client = client_factory.connected(net)
    maker = net.makers[2]
    assert client.get_peer_location(random_nick()) is None
    wait_for_locations(client, [maker])
    client.try_direct_connect(random_nick())  # no location: a no-op
    client.try_direct_connect(maker.nick)
    client.try_direct_connect(maker.nick)
    task = wait_until(lambda: client.get_pending_connect_task(maker.nick), what="an attempt")
    assert task.result(10) is True
    assert client.get_connected_peer(maker.nick).nick == maker.nick
    assert len([r for r in net.gateway.connections if r.dest_host == maker.onion_host]) == 1


def test_stream_isolation_credentials(net, client_factory):
    client = client_factory.connected(net, stream_isolation=True)
    maker = net.makers[0]
    _direct_link(client, maker)
    records = [r for r in net.gateway.connections if r.outcome == "ok"]
    directory_hosts = {d.onion_host for d in net.directories}
    dirs = [r for r in records if r.dest_host in directory_hosts]
    peers = [r for r in records if r.dest_host == maker.onion_host]
    assert len(dirs) == 3 and len(peers) == 1
    assert {r.username for r in dirs} == {"jm-directory"}
    assert {r.username for r in peers} == {"jm-peer"}
    passwords = {r.password for r in records}
    assert len(passwords) == 1 and re.fullmatch(r"[0-9a-f]{32}", passwords.pop())
    assert {r.atyp for r in records} == {3}  # onion names resolved by the proxy


def test_no_socks_credentials_without_stream_isolation(net, client_factory):
    client_factory.connected(net)
    assert {(r.username, r.password) for r in net.gateway.connections} == {(None, None)}


def test_failed_direct_attempt_falls_back_to_relay_and_is_retried(net, client_factory):
    client = client_factory.connected(net)
    maker = net.makers[0]
    wait_for_locations(client, [maker])
    net.gateway.unmap(maker.onion_host, 5222)  # its onion service is unreachable
    assert client.send_privmsg(maker.nick, "tx", "a").startswith("directory:")
    assert client.get_pending_connect_task(maker.nick).result(10) is False
    assert client.get_connected_peer(maker.nick) is None
    assert client.bind_session(maker.nick).channel_id.startswith("directory:")
    net.gateway.map(maker.onion_host, 5222, ("127.0.0.1", maker.direct_port))
    assert client.send_privmsg(maker.nick, "tx", "b").startswith("directory:")
    assert client.get_pending_connect_task(maker.nick).result(10) is True  # a fresh attempt
    assert client.send_privmsg(maker.nick, "tx", "c") == "direct"
    wait_until(lambda: len(maker.received("tx")) == 3, what="all three messages")
    assert [r.channel == "direct" for r in maker.received("tx")] == [False, False, True]
