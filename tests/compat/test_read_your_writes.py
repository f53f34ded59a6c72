"""Read-your-writes (API.md point 15): a read right after a state change sees it.

joinmarket-ng's session calls ``try_direct_connect`` and then at once
``get_pending_connect_task``; before this was fixed it got ``None``, skipped its 5 s
wait and sent ``!fill`` via the relay. The same holds for ``sync_nicks_with_peerlist``
followed by ``is_nick_active`` / ``bind_session``, on any thread.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from supervisor import BlockingMultiDirectoryClient, MultiDirectoryClient
from tests.helpers.compat import ng_client_kwargs
from tests.helpers.taker import wait_for_locations
from tests.helpers.ngstyle import NgStyleIdentity
from tests.helpers.taker import random_nick


def _on_other_thread(fn):
    result: list = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join(timeout=10)
    return result[0]


@pytest.mark.timeout(30)
def test_pending_attempt_visible_right_after_try_direct_connect_asyncio(ng_net):
    async def main():
        client = MultiDirectoryClient(**ng_client_kwargs(ng_net, NgStyleIdentity()))
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
def test_pending_attempt_visible_on_another_thread_blocking(ng_net):
    client = BlockingMultiDirectoryClient(**ng_client_kwargs(ng_net, NgStyleIdentity()))
    try:
        assert client.connect_all() == 3
        wait_for_locations(client, ng_net.makers)
        for maker in ng_net.makers:
            client.try_direct_connect(maker.nick)
            task = _on_other_thread(lambda: client.get_pending_connect_task(maker.nick))
            assert task is not None, f"no attempt visible for {maker.nick}"
            assert task.result(10) is True
    finally:
        client.close_all()


@pytest.mark.timeout(30)
def test_synced_nicks_are_seen_at_once_asyncio(ng_net):
    a, b, _ = ng_net.directory_servers
    on_both, only_b = random_nick(), random_nick()

    async def main():
        client = MultiDirectoryClient(**ng_client_kwargs(ng_net, NgStyleIdentity()))
        try:
            assert await client.connect_all() == 3
            client.sync_nicks_with_peerlist(a, {on_both})
            client.sync_nicks_with_peerlist(b, {on_both, only_b})
            return client.is_nick_active(on_both), client.bind_session(only_b)
        finally:
            await client.close_all()

    active, binding = asyncio.run(main())
    assert active
    assert binding is not None and binding.channel_id == f"directory:{b}"


@pytest.mark.timeout(30)
def test_synced_nicks_are_seen_at_once_on_another_thread_blocking(ng_net):
    a, b, _ = ng_net.directory_servers
    on_both, only_b = random_nick(), random_nick()
    client = BlockingMultiDirectoryClient(**ng_client_kwargs(ng_net, NgStyleIdentity()))
    try:
        assert client.connect_all() == 3
        _on_other_thread(lambda: client.sync_nicks_with_peerlist(a, {on_both}))
        client.sync_nicks_with_peerlist(b, {on_both, only_b})
        assert _on_other_thread(lambda: client.is_nick_active(on_both))
        binding = _on_other_thread(lambda: client.bind_session(only_b))
        assert binding is not None and binding.channel_id == f"directory:{b}"
    finally:
        client.close_all()
