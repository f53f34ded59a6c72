"""The health book's exact lines and boundaries: what a user reads in directory_health."""

import pytest

from actors.core.dirhealth import (CONNECTING, IDLE, RETRYING, STATES, STOPPED, UP,
                                   DirectoryHealth, HealthBook, idle_view)


def test_the_states_in_order():
    assert STATES == (IDLE, CONNECTING, UP, RETRYING, STOPPED) == (
        "idle", "connecting", "up", "retrying", "stopped")


def test_every_entry_carries_its_own_name_and_starts_idle():
    book = HealthBook(["x:1", "y:2"])
    assert "x:1" in book and "y:2" in book and "z:3" not in book
    assert [(h.name, h.state, h.since, h.last_error, h.next_retry, h.failures)
            for h in book.view().values()] == [("x:1", IDLE, None, "", None, 0),
                                               ("y:2", IDLE, None, "", None, 0)]
    assert idle_view(["x:1"])["x:1"] == DirectoryHealth("x:1")


def test_the_idle_line():
    assert DirectoryHealth("d").describe(now=50.0) == "idle (the client has not started)"


def test_connecting_just_now_or_with_a_clock_behind_reads_zero_seconds():
    book = HealthBook(["d"])
    book.connecting("d", now=10.0)
    assert book.view()["d"].describe(now=10.0) == "connecting for 0s"
    assert book.view()["d"].describe(now=9.0) == "connecting for 0s"
    assert book.view()["d"].describe(now=10.4) == "connecting for 0s"


def test_a_retry_already_due_reads_in_zero_seconds():
    book = HealthBook(["d"])
    book.failed("d", "boom", now=10.0, retry_in=2.0)
    assert book.view()["d"].describe(now=12.0) == "retrying in 0s after 1 failed attempt: boom"
    assert book.view()["d"].describe(now=30.0) == "retrying in 0s after 1 failed attempt: boom"


def test_failures_are_counted_and_pluralised():
    book = HealthBook(["d"])
    for n, expected in ((1, "attempt"), (2, "attempts"), (3, "attempts")):
        book.failed("d", "boom", now=float(n), retry_in=None)
        assert book.view()["d"].failures == n
        line = book.view()["d"].describe(now=float(n))
        assert line == f"stopped after {n} failed {expected}: boom"


def test_a_next_retry_outside_retrying_is_not_shown():
    assert DirectoryHealth("d", state=STOPPED, since=1.0, last_error="e", next_retry=9.0,
                           failures=1).describe(now=2.0) == "stopped after 1 failed attempt: e"
    assert DirectoryHealth("d", state=CONNECTING, since=1.0, next_retry=9.0).describe(
        now=2.0) == "connecting for 1s"


def test_a_retrying_entry_without_a_time_says_only_retrying():
    assert DirectoryHealth("d", state=RETRYING, since=1.0).describe(now=2.0) == "retrying"


@pytest.mark.parametrize("seconds, text", [
    (0.0, "0s"), (59.0, "59s"), (119.0, "119s"), (119.4, "119s"),
    (120.0, "2min"), (120.5, "2min"), (150.0, "2min"), (3600.0, "60min"), (7260.0, "121min"),
])
def test_spans_switch_from_seconds_to_minutes_at_two_minutes(seconds, text):
    assert DirectoryHealth("d", state=UP, since=1000.0).describe(now=1000.0 + seconds) == \
        f"up for {text}"


def test_up_straight_after_a_failure_clears_the_retry_time():
    book = HealthBook(["d"])
    book.failed("d", "boom", now=1.0, retry_in=5.0)
    book.up("d", now=2.0)
    assert book.view()["d"] == DirectoryHealth("d", state=UP, since=2.0, last_error="boom",
                                               next_retry=None, failures=0)


def test_connecting_keeps_the_error_and_count_but_not_the_retry_time():
    book = HealthBook(["d"])
    book.failed("d", "boom", now=1.0, retry_in=5.0)
    book.connecting("d", now=6.0)
    assert book.view()["d"] == DirectoryHealth("d", state=CONNECTING, since=6.0,
                                               last_error="boom", next_retry=None, failures=1)


def test_the_view_is_a_snapshot():
    book = HealthBook(["d"])
    before = book.view()
    book.up("d", now=1.0)
    assert before["d"].state == IDLE and book.view()["d"].state == UP
