"""Polling with a deadline, for tests that wait on real sockets (never a bare sleep)."""

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
               interval: float = 0.02, fail: Callable[[str], Any] = pytest.fail) -> Any:
    """Poll ``predicate`` until truthy (returned); at the deadline ``fail`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
