"""Nick tracking, the all-directories-gone rule (API.md "Nick tracking", points 8-10)."""

from __future__ import annotations

import threading

import pytest

from tests.helpers.polling import wait_until
from tests.helpers.taker import random_nick


class Leaves:
    """Records on_nick_leave calls and the thread each ran on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, threading.Thread]] = []
        self._lock = threading.Lock()

    def __call__(self, nick: str) -> None:
        with self._lock:
            self.calls.append((nick, threading.current_thread()))

    def nicks(self) -> list[str]:
        with self._lock:
            return [nick for nick, _ in self.calls]


def _check_callback_thread(client, leaves: Leaves) -> None:
    threads = {thread for _, thread in leaves.calls}
    if client.callback_thread is not None:  # asyncio: the event loop thread
        assert threads == {client.callback_thread}
    else:  # blocking: an internal thread, never the caller's
        assert threading.main_thread() not in threads


@pytest.mark.timeout(30)
def test_maker_leaving_one_directory_stays_active_leaving_all_fires_once(net, client_factory):
    leaves = Leaves()
    client = client_factory.connected(net, on_nick_leave=leaves)
    maker = net.makers[0]  # NG: reaches us through all three directories
    client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
    maker.leave(0)
    maker.leave(2)
    wait_until(lambda: client.bind_session(maker.nick).channel_id
               == f"directory:{net.directory_servers[1]}", what="the two ;D to be applied")
    assert client.is_nick_active(maker.nick)
    assert leaves.nicks() == []
    maker.leave(1)
    wait_until(lambda: leaves.nicks(), what="on_nick_leave")
    assert not client.is_nick_active(maker.nick)
    assert client.get_peer_location(maker.nick) is None
    # A barrier through the same actor: anything that would follow has been delivered.
    barrier = random_nick()
    client.sync_nicks_with_peerlist(net.directory_servers[0], [barrier])
    client.sync_nicks_with_peerlist(net.directory_servers[0], [])
    wait_until(lambda: barrier in leaves.nicks(), what="the barrier nick to leave")
    assert leaves.nicks() == [maker.nick, barrier]
    assert all(client.is_nick_active(m.nick) for m in net.makers[1:])
    _check_callback_thread(client, leaves)


def test_sync_nicks_with_peerlist_semantics(net, client_factory):
    leaves = Leaves()
    client = client_factory.connected(net, on_nick_leave=leaves)
    d0, d1, d2 = net.directory_servers
    a, b, c = random_nick(), random_nick(), random_nick()

    def settle() -> None:
        """Wait until every earlier sync is applied (they run in order in one actor)."""
        marker = random_nick()
        client.sync_nicks_with_peerlist(d2, [marker])
        client.sync_nicks_with_peerlist(d2, [])
        wait_until(lambda: marker in leaves.nicks(), what="the settle marker")

    client.sync_nicks_with_peerlist(d0, [a, b])
    client.sync_nicks_with_peerlist(d1.removesuffix(":5222"), [a])  # default port filled in
    settle()
    assert client.is_nick_active(a) and client.is_nick_active(b)
    client.sync_nicks_with_peerlist(d0, [a])  # b was seen only on d0: gone
    settle()
    assert b in leaves.nicks() and not client.is_nick_active(b)
    client.sync_nicks_with_peerlist(d0, [])  # a is still on d1
    settle()
    assert client.is_nick_active(a) and a not in leaves.nicks()
    client.sync_nicks_with_peerlist(d0, [a])  # back on d0: present again
    client.sync_nicks_with_peerlist(d1, [])
    settle()
    assert client.is_nick_active(a) and a not in leaves.nicks()
    client.sync_nicks_with_peerlist(d0, [c])  # a absent on both now
    settle()
    assert client.is_nick_active(c)
    assert [n for n in leaves.nicks() if n in (a, b, c)] == [b, a]
    _check_callback_thread(client, leaves)


@pytest.mark.timeout(30)
def test_losing_every_directory_declares_no_nick_gone(net, client_factory):
    leaves = Leaves()
    client = client_factory.connected(net, on_nick_leave=leaves)
    client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
    for directory in net.directories:
        directory.stall(True)
        directory.kill(client.nick)
    wait_until(lambda: client.connected_directories == (), what="every directory to drop")
    assert client.bind_session(net.makers[0].nick) is None
    assert all(client.is_nick_active(m.nick) for m in net.makers)
    for directory in net.directories:
        directory.stall(False)
    wait_until(lambda: len(client.connected_directories) == 3, timeout=20,
               what="every directory to reconnect")
    assert client.bind_session(net.makers[0].nick) is not None
    assert leaves.nicks() == []


def test_callback_exception_is_contained(net, client_factory):
    def explode(nick: str) -> None:
        raise RuntimeError(f"taker bug on {nick}")
    client = client_factory.connected(net, on_nick_leave=explode)
    gone = random_nick()
    client.sync_nicks_with_peerlist(net.directory_servers[0], [gone])
    client.sync_nicks_with_peerlist(net.directory_servers[0], [])
    wait_until(lambda: not client.is_nick_active(gone), what="the nick to leave")
    assert len(client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)) == 6
