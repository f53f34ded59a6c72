"""Suite-wide fixtures: every test's teardown checks that it left no thread or actor.

The check waits briefly (threads that were told to stop may still be unwinding) and
then fails the test naming what is still alive, so a leak is pinned on the test that
caused it rather than on whichever test happens to run next.
"""

import threading
import time

import pykka
import pytest

pytest_plugins = ["tests.helpers.fixtures"]

LEAK_GRACE_SECONDS = 3.0


def _live_threads(baseline: set[int]) -> list[threading.Thread]:
    return [
        t for t in threading.enumerate()
        if t.ident not in baseline and t.is_alive() and not t.name.startswith("pytest_timeout")
    ]


@pytest.fixture(autouse=True)
def no_leaked_threads_or_actors():
    baseline = {t.ident for t in threading.enumerate()}
    actors_before = set(id(r) for r in pykka.ActorRegistry.get_all())
    yield
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    while True:
        threads = _live_threads(baseline)
        actors = [r for r in pykka.ActorRegistry.get_all() if id(r) not in actors_before]
        if not threads and not actors:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    for ref in actors:
        ref.stop(block=False)
    pytest.fail(
        "test leaked "
        + ", ".join([f"thread {t.name!r}" for t in threads] + [f"actor {r}" for r in actors])
    )
