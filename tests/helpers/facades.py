"""A facade-agnostic client factory for end-to-end tests (fixtures: tests/e2e/conftest.py).

Every test talks to real directory servers and makers over loopback sockets through the
SOCKS5 gateway, exactly as a taker would over Tor; nothing of our transport is mocked.

The ``client_factory`` fixture is parametrized by facade. Each param maps to a builder in
``FACADES`` returning an adapter with the *blocking* shape of API.md (I/O methods return
their result; the rest are plain calls), so one test body covers every facade. A further
facade (e.g. a daemon subprocess behind a remote client) is added by registering one
more builder and naming it in the fixture's ``params``.
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

from actors.api.client import ClientCore
from actors.daemon.server import DaemonServer
from localnet.network import LocalNet
from protocol import NickIdentity
from supervisor import (BlockingMultiDirectoryClient, MultiDirectoryClient,
                        RemoteMultiDirectoryClient)

IO_METHODS = frozenset({"connect_all", "close_all", "fetch_orderbook", "send_privmsg",
                        "wait_for_responses", "wait_for_response"})
CONNECTION_TIMEOUT = 5.0
CALL_TIMEOUT = 60.0


# -- adapters ---------------------------------------------------------------------------


class _LoopThread:
    """An asyncio event loop on a helper thread: the 'application loop' of an asyncio taker."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-asyncio-loop",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = CALL_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a plain method on the loop thread, where an asyncio taker would call it."""
        async def invoke() -> Any:
            return fn(*args, **kwargs)
        return self.run(invoke())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class AsyncioAdapter:
    """Blocking-style view of ``MultiDirectoryClient``: coroutines run on the loop thread."""

    facade = "asyncio"

    def __init__(self, client: MultiDirectoryClient) -> None:
        self.client = client
        self.runner = _LoopThread()
        self.callback_thread: threading.Thread | None = self.runner.thread

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name in IO_METHODS:
            assert inspect.iscoroutinefunction(attr), f"{name} must be a coroutine (API.md)"
            return lambda *a, **kw: self.runner.run(attr(*a, **kw))
        if callable(attr):
            return lambda *a, **kw: self.runner.call(attr, *a, **kw)
        return attr

    def get_pending_connect_task(self, nick: str) -> Any:
        """The attempt as a concurrent future; on the loop it must be an awaitable."""
        task = self.runner.call(self.client.get_pending_connect_task, nick)
        if task is None:
            return None
        assert inspect.isawaitable(task), "asyncio facade: the attempt must be awaitable"

        async def outcome() -> Any:
            return await task
        return asyncio.run_coroutine_threadsafe(outcome(), self.runner.loop)

    def close(self) -> None:
        try:
            self.runner.run(self.client.close_all())
        finally:
            self.runner.stop()


class BlockingAdapter:
    facade = "blocking"
    callback_thread: threading.Thread | None = None  # an internal thread, not ours

    def __init__(self, client: BlockingMultiDirectoryClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def close(self) -> None:
        self.client.close_all()


def _asyncio(directory_servers: Any, network: str, identity: NickIdentity, **kwargs: Any):
    return AsyncioAdapter(MultiDirectoryClient(directory_servers, network, identity, **kwargs))


def _blocking(directory_servers: Any, network: str, identity: NickIdentity, **kwargs: Any):
    return BlockingAdapter(BlockingMultiDirectoryClient(directory_servers, network, identity,
                                                        **kwargs))


class RemoteAdapter(AsyncioAdapter):
    """The asyncio remote facade against an in-process daemon serving an embedded core.

    The daemon (shared identity: the test's nick) lives and dies with this client, so
    ``close_all`` here tears down the whole stack, as the embedded ``close_all`` does.
    """

    facade = "remote"

    def __init__(self, client: Any, server: Any, core: Any, tmp: Any) -> None:
        super().__init__(client)
        self.server, self.core, self.tmp = server, core, tmp

    def close_all(self) -> None:
        try:
            self.runner.run(self.client.close_all())
        finally:
            self.server.stop()
            self.core.close()

    def close(self) -> None:
        try:
            self.close_all()
        finally:
            self.runner.stop()
            self.tmp.cleanup()


def _remote(directory_servers: Any, network: str, identity: NickIdentity,
            on_nick_leave: Any = None, **kwargs: Any):
    core = ClientCore(directory_servers, network, identity, **kwargs)
    tmp = tempfile.TemporaryDirectory(prefix="jmd")
    server = DaemonServer(core, socket_path=f"{tmp.name}/d.sock").start()
    return RemoteAdapter(RemoteMultiDirectoryClient(**server.address, on_nick_leave=on_nick_leave),
                         server, core, tmp)


FACADES: dict[str, Callable[..., Any]] = {"asyncio": _asyncio, "blocking": _blocking,
                                          "remote": _remote}


class ClientFactory:
    """``factory(net_or_servers, **kwargs)`` → adapter; every client is closed at teardown."""

    def __init__(self, facade: str) -> None:
        self.facade = facade
        self.clients: list[Any] = []

    def __call__(self, net: LocalNet | Iterable[str], network: str = "regtest",
                 identity: NickIdentity | None = None, **kwargs: Any) -> Any:
        if isinstance(net, LocalNet):
            servers = kwargs.pop("directory_servers", net.directory_servers)
            kwargs.setdefault("socks_host", net.socks_host)
            kwargs.setdefault("socks_port", net.socks_port)
        else:
            servers = net
        kwargs.setdefault("connection_timeout", CONNECTION_TIMEOUT)
        client = FACADES[self.facade](servers, network, identity or NickIdentity(), **kwargs)
        self.clients.append(client)
        return client

    def connected(self, net: LocalNet, **kwargs: Any) -> Any:
        """A client connected to every directory of ``net``."""
        client = self(net, **kwargs)
        assert client.connect_all() == len(net.directories)
        return client

    def close_all(self) -> None:
        for client in reversed(self.clients):
            client.close()
