"""One shared asyncio loop thread for every in-process localnet peer.

Hundreds of makers must fit in one test process: a thread per maker (or per
connection) would not scale, but one loop serves thousands of sockets. The loop is
reference counted: the first :meth:`LocalLoop.acquire` starts the thread, the last
:meth:`LocalLoop.release` cancels whatever is left on it and joins the thread, so a
stopped network leaves no thread behind (tests/conftest.py checks that).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LocalLoop:
    """Process-wide, reference-counted asyncio loop on a daemon thread."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _users = 0

    @classmethod
    def acquire(cls) -> asyncio.AbstractEventLoop:
        """Return the running shared loop, starting its thread for the first user."""
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="localnet-loop",
                                          daemon=True)
                thread.start()
                cls._loop, cls._thread = loop, thread
            cls._users += 1
            return cls._loop

    @classmethod
    def release(cls) -> None:
        """Drop one user; the last one cancels leftover tasks, stops and joins the thread."""
        with cls._lock:
            if cls._users == 0:
                return
            cls._users -= 1
            if cls._users:
                return
            loop, thread = cls._loop, cls._thread
            cls._loop = cls._thread = None
        assert loop is not None and thread is not None
        asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    @staticmethod
    def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T],
            timeout: float | None = None) -> T:
        """Run ``coro`` on ``loop`` from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
