"""The per-directory health book (actors.core.dirhealth): transitions and descriptions."""

import pytest

from actors.core.dirhealth import (CONNECTING, IDLE, RETRYING, STOPPED, UP, DirectoryHealth,
                                   HealthBook, idle_view)


def test_idle_until_started_in_configuration_order():
    view = idle_view(["b:1", "a:1"])
    assert list(view) == ["b:1", "a:1"]
    assert all(h.state == IDLE and h.since is None for h in view.values())
    assert "not started" in view["b:1"].describe(now=0.0)


def test_failure_records_error_retry_time_and_count():
    book = HealthBook(["d:1"])
    book.connecting("d:1", now=100.0)
    book.failed("d:1", "ProxyError: SOCKS5 proxy 127.0.0.1:9050 unreachable", now=101.0,
                retry_in=4.0)
    health = book.view()["d:1"]
    assert (health.state, health.since, health.next_retry, health.failures) == \
        (RETRYING, 101.0, 105.0, 1)
    assert health.describe(now=102.0) == (
        "retrying in 3s after 1 failed attempt: "
        "ProxyError: SOCKS5 proxy 127.0.0.1:9050 unreachable")
    book.connecting("d:1", now=105.0)
    book.failed("d:1", "again", now=106.0, retry_in=8.0)
    assert book.view()["d:1"].failures == 2
    assert book.view()["d:1"].state == RETRYING


def test_up_clears_retry_and_count_but_keeps_the_last_error():
    book = HealthBook(["d:1"])
    book.failed("d:1", "boom", now=1.0, retry_in=1.0)
    book.connecting("d:1", now=2.0)
    assert book.view()["d:1"].state == CONNECTING and book.view()["d:1"].next_retry is None
    assert book.view()["d:1"].describe(now=5.0) == "connecting for 3s after 1 failed attempt: boom"
    book.up("d:1", now=3.0)
    health = book.view()["d:1"]
    assert (health.state, health.failures, health.next_retry, health.last_error) == \
        (UP, 0, None, "boom")
    assert health.describe(now=15.0) == "up for 12s"


def test_no_retry_means_stopped():
    book = HealthBook(["d:1"])
    book.failed("d:1", "rejected our handshake", now=5.0, retry_in=None)
    health = book.view()["d:1"]
    assert health.state == STOPPED and health.next_retry is None
    assert health.describe(now=6.0).startswith("stopped after 1 failed attempt: rejected")


def test_unknown_names_are_ignored_and_the_view_is_read_only():
    book = HealthBook(["d:1"])
    book.up("other:1", now=1.0)
    book.failed("other:1", "x", now=1.0, retry_in=1.0)
    view = book.view()
    assert list(view) == ["d:1"] and "other:1" not in book
    with pytest.raises(TypeError):
        view["d:1"] = DirectoryHealth("d:1")  # type: ignore[index]
