"""The client's dialer: one asyncio loop thread on which every outbound dial runs.

Dialling with python-socks' blocking API cannot be interrupted from another thread, so
``close_all`` would wait up to ``connection_timeout`` for a dial to a dead onion. Here
each dial is a task on one loop thread: cancellable at shutdown, and one thread serves
hundreds of concurrent dials instead of one thread each.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from actors.errors import ClientClosedError
from actors.net.transport import SocketTransport, SocksConfig, dial_async

__all__ = ["Dialer"]


class Dialer:
    def __init__(self, config: SocksConfig, name: str = "jm-dialer") -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def dial(self, host: str, port: int, category: str, timeout: float) -> Future[SocketTransport]:
        """Start a dial; the future resolves to a transport or a typed TransportError."""
        with self._lock:
            if self._closed:
                failed: Future[SocketTransport] = Future()
                failed.set_exception(ClientClosedError("client is closed"))
                return failed
            return asyncio.run_coroutine_threadsafe(
                dial_async(host, port, self.config, category, timeout), self._loop)

    def close(self) -> None:
        """Cancel every dial in flight and stop the loop thread; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
