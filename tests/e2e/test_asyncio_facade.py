"""What only the asyncio facade promises: coroutines that never block the loop, awaitable
connection attempts, callbacks on the loop thread — and a taker script using nothing else."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from localnet.network import LocalNet
from protocol import NickIdentity
from supervisor import MultiDirectoryClient
from tests.helpers.facades import IO_METHODS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "asyncio_taker.py"


def _client(net: LocalNet, **kwargs) -> MultiDirectoryClient:
    return MultiDirectoryClient(net.directory_servers, "regtest", NickIdentity(),
                                socks_host=net.socks_host, socks_port=net.socks_port,
                                connection_timeout=5, **kwargs)


def test_io_methods_are_coroutines_and_the_rest_are_plain():
    for name in IO_METHODS:
        assert inspect.iscoroutinefunction(getattr(MultiDirectoryClient, name)), name
    for name in ("bind_session", "upgrade_channel_prefer_direct", "try_direct_connect",
                 "get_peer_location", "get_connected_peer", "get_pending_connect_task",
                 "is_nick_active", "sync_nicks_with_peerlist"):
        assert not inspect.iscoroutinefunction(getattr(MultiDirectoryClient, name)), name


class Ticker:
    """A task that counts 10 ms ticks: it only advances while the loop is free."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    def delta(self, since: int) -> int:
        return self.ticks - since

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_event_loop_keeps_ticking_while_the_client_waits(net):
    async def scenario() -> dict[str, int]:
        ticker = Ticker()
        moved = {}
        async with _client(net) as client:
            start = ticker.ticks
            await client.wait_for_responses([net.makers[0].nick], "!pubkey", timeout=1.0)
            moved["wait_for_responses"] = ticker.delta(start)
            start = ticker.ticks
            await client.fetch_orderbook(max_wait=5, min_wait=1.0, quiet_period=0.3)
            moved["fetch_orderbook"] = ticker.delta(start)
        await ticker.stop()
        return moved

    moved = asyncio.run(scenario())
    # ~100 ticks each if the loop is free; a blocked loop manages at most one or two.
    assert all(ticks >= 20 for ticks in moved.values()), moved


def test_pending_connect_task_is_awaitable_in_the_loop(net):
    async def scenario() -> tuple[object, object]:
        async with _client(net) as client:
            maker = net.makers[0]
            await client.fetch_orderbook(max_wait=5, min_wait=0, quiet_period=0.3)
            await client.send_privmsg(maker.nick, "tx", "probe")
            task = client.get_pending_connect_task(maker.nick)
            assert isinstance(task, asyncio.Future)
            return await task, client.get_connected_peer(maker.nick)

    ok, handle = asyncio.run(scenario())
    assert ok is True and handle.nick == net.makers[0].nick


def test_on_nick_leave_runs_on_the_loop_thread(net):
    async def scenario() -> tuple[list, threading.Thread]:
        seen: list = []
        done = asyncio.Event()

        def on_leave(nick: str) -> None:
            seen.append((nick, threading.current_thread()))
            done.set()  # only legal on the loop thread
        async with _client(net, on_nick_leave=on_leave) as client:
            client.sync_nicks_with_peerlist(net.directory_servers[0], ["J5ghostNick00000"])
            client.sync_nicks_with_peerlist(net.directory_servers[0], [])
            await asyncio.wait_for(done.wait(), 10)
        return seen, threading.current_thread()

    seen, loop_thread = asyncio.run(scenario())
    assert seen == [("J5ghostNick00000", loop_thread)]


@pytest.mark.timeout(60)
def test_example_asyncio_taker_runs_a_round(localnet_factory):
    specs = [{"style": "ng", "inputs": 2}, {"style": "ref", "inputs": 3},
             {"style": "ng", "inputs": 1}]
    net = localnet_factory(directories=("ng", "ng", "ref"), makers=specs)
    source = EXAMPLE.read_text()
    assert "from supervisor import MultiDirectoryClient" in source
    assert "BlockingMultiDirectoryClient" not in source and "actors" not in source
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--socks-host", net.socks_host,
         "--socks-port", str(net.socks_port), "--makers", "3", "--timeout", "15",
         *net.directory_servers],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=50)
    summary_lines = [l for l in result.stdout.splitlines() if l.startswith("SUMMARY ")]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    summary = json.loads(summary_lines[-1].removeprefix("SUMMARY "))
    assert summary["connected"] == 3 and summary["offers"] == 6 and summary["complete"]
    inputs = {m.nick: spec["inputs"] for m, spec in zip(net.makers, specs)}
    assert {nick: m["sigs"] for nick, m in summary["makers"].items()} == inputs
    # the upgrade really happened: !auth and !tx went over direct links, not a directory
    assert {m["channel"] for m in summary["makers"].values()} == {"direct"}
    assert all(maker.received("auth")[0].channel.startswith("direct") for maker in net.makers)
    for maker in net.makers:
        fills = maker.received("fill")
        assert len(fills) == 1  # one !fill, through exactly one channel
        assert [r.command for r in maker.received() if r.command != "orderbook"] == \
            ["fill", "auth", "tx"]
