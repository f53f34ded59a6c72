"""Read-your-writes (API.md point 15): a read right after a state change sees it, on the
embedded facades and on the remote ones (a daemon serving the core over its socket).

joinmarket-ng's session calls ``try_direct_connect`` and then at once
``get_pending_connect_task``; before this was fixed it got ``None``, skipped its 5 s
wait and sent ``!fill`` via the relay. The same holds for ``sync_nicks_with_peerlist``
followed by ``is_nick_active`` / ``bind_session``, on any thread. On the remote facades
those calls were notifications nobody waited for, so a read right after them saw the
daemon's previously pushed state.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from actors.api.client import ClientCore
from actors.daemon.server import DaemonServer
from supervisor import (BlockingMultiDirectoryClient, BlockingRemoteMultiDirectoryClient,
                        MultiDirectoryClient, RemoteMultiDirectoryClient)
from tests.helpers.compat import ng_client_kwargs
from tests.helpers.ngstyle import NgStyleIdentity
from tests.helpers.polling import wait_until
from tests.helpers.taker import random_nick, wait_for_locations

FACADES = ["embedded", "remote"]


@pytest.fixture
def daemon(ng_net, tmp_path):
    """A daemon (shared identity) serving a core on ``ng_net``."""
    def factory(identity):
        return ClientCore(ng_net.directory_servers, "regtest", identity, ng_net.socks_host,
                          ng_net.socks_port, connection_timeout=5.0)
    with DaemonServer(factory, socket_path=str(tmp_path / "d.sock")) as server:
        yield server


@pytest.fixture(params=FACADES)
def make_async(request, ng_net):
    """Builds the asyncio facade under test (call it inside the event loop)."""
    if request.param == "embedded":
        return lambda: MultiDirectoryClient(**ng_client_kwargs(ng_net, NgStyleIdentity()))
    server = request.getfixturevalue("daemon")
    return lambda: RemoteMultiDirectoryClient(**server.address)


@pytest.fixture(params=FACADES)
def blocking_client(request, ng_net):
    if request.param == "embedded":
        client = BlockingMultiDirectoryClient(**ng_client_kwargs(ng_net, NgStyleIdentity()))
    else:
        client = BlockingRemoteMultiDirectoryClient(**request.getfixturevalue("daemon").address)
    yield client
    client.close_all()


def _on_other_thread(fn):
    result: list = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join(timeout=10)
    return result[0]


@pytest.mark.timeout(30)
def test_pending_attempt_visible_right_after_try_direct_connect_asyncio(ng_net, make_async):
    async def main():
        client = make_async()
        try:
            assert await client.connect_all() == 3
            await asyncio.to_thread(wait_for_locations, client, ng_net.makers)
            seen = []
            for maker in ng_net.makers:
                client.try_direct_connect(maker.nick)
                task = client.get_pending_connect_task(maker.nick)
                seen.append(task is not None)
                if task is not None:
                    assert await asyncio.wait_for(task, 10) is True
            return seen
        finally:
            await client.close_all()

    assert asyncio.run(main()) == [True, True, True]


@pytest.mark.timeout(30)
def test_pending_attempt_visible_on_another_thread_blocking(ng_net, blocking_client):
    client = blocking_client
    assert client.connect_all() == 3
    wait_for_locations(client, ng_net.makers)
    for maker in ng_net.makers:
        client.try_direct_connect(maker.nick)
        task = _on_other_thread(lambda: client.get_pending_connect_task(maker.nick))
        assert task is not None, f"no attempt visible for {maker.nick}"
        assert task.result(10) is True


@pytest.mark.timeout(30)
def test_synced_nicks_are_seen_at_once_asyncio(ng_net, make_async):
    a, b, _ = ng_net.directory_servers
    on_both, only_b, dropped = random_nick(), random_nick(), random_nick()

    async def main():
        client = make_async()
        try:
            assert await client.connect_all() == 3
            client.sync_nicks_with_peerlist(a, {on_both, dropped})
            client.sync_nicks_with_peerlist(b, {on_both, only_b})
            client.sync_nicks_with_peerlist(a, {on_both})
            _check(client, on_both, dropped, only_b, b)  # at once
            if isinstance(client, RemoteMultiDirectoryClient):
                # once the daemon answered every write (its state push precedes each reply)
                await asyncio.to_thread(wait_until, lambda: not client._link.writes,
                                        what="the daemon's replies to the syncs")
                _check(client, on_both, dropped, only_b, b)  # from the pushed state
        finally:
            await client.close_all()

    asyncio.run(main())


def _check(client, active, gone, only_b, b):
    assert client.is_nick_active(active) and not client.is_nick_active(gone)
    binding = client.bind_session(only_b)
    assert binding is not None and binding.channel_id == f"directory:{b}"


@pytest.mark.timeout(30)
def test_synced_nicks_are_seen_at_once_on_another_thread_blocking(ng_net, blocking_client):
    a, b, _ = ng_net.directory_servers
    on_both, only_b = random_nick(), random_nick()
    client = blocking_client
    assert client.connect_all() == 3
    _on_other_thread(lambda: client.sync_nicks_with_peerlist(a, {on_both}))
    client.sync_nicks_with_peerlist(b, {on_both, only_b})
    assert _on_other_thread(lambda: client.is_nick_active(on_both))
    binding = _on_other_thread(lambda: client.bind_session(only_b))
    assert binding is not None and binding.channel_id == f"directory:{b}"
