"""LineBuffer/frame rules that a mutation run showed unpinned: exact limits and error texts.

The error text is part of the contract ("bad input always gets a clear typed error"): it
names what was wrong and the limit, and tells a complete line from a partial one.
"""

import re

import pytest

from protocol.errors import LineTooLongError, LocalProtocolError
from protocol.framing import LineBuffer, frame


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_smallest_limits_are_legal():
    buf = LineBuffer(max_line=1, max_buffer=1)
    assert buf.feed(b"a\n") == [b"a"]
    assert buf.feed(b"b") == [] and buf.pending == 1
    assert buf.feed(b"\n") == [b"b"]


@pytest.mark.parametrize("bad", [0, -3])
def test_nonpositive_limits_are_named_in_the_error(bad):
    with pytest.raises(ValueError, match=_exact(f"max_line must be positive, got {bad}")):
        LineBuffer(max_line=bad)
    with pytest.raises(ValueError, match=_exact(f"max_buffer must be positive, got {bad}")):
        LineBuffer(max_buffer=bad)


def test_complete_line_over_limit_is_reported_as_a_line():
    with pytest.raises(LineTooLongError, match=_exact("line of 6 bytes exceeds max_line=5")):
        LineBuffer(max_line=5).feed(b"123456\r\n")


def test_partial_line_over_limit_is_reported_as_partial_with_its_size():
    buf = LineBuffer(max_line=5)
    buf.feed(b"123")
    with pytest.raises(LineTooLongError, match=_exact(
            "partial line (no terminator yet) of 6 bytes exceeds max_line=5")):
        buf.feed(b"456")


def test_a_trailing_cr_excuses_exactly_one_byte():
    """``12345\\r`` may still become a legal 5-byte line; ``123456\\r`` cannot."""
    assert LineBuffer(max_line=5).feed(b"12345\r") == []
    with pytest.raises(LineTooLongError, match=_exact(
            "partial line (no terminator yet) of 7 bytes exceeds max_line=5")):
        LineBuffer(max_line=5).feed(b"123456\r")


def test_buffer_cap_error_names_size_and_cap_and_clears():
    buf = LineBuffer(max_line=100, max_buffer=4)
    buf.feed(b"abc")
    with pytest.raises(LineTooLongError, match=_exact(
            "partial line of 5 bytes exceeds the 4-byte buffer cap")):
        buf.feed(b"de")
    assert buf.pending == 0


def test_frame_errors_are_exact():
    with pytest.raises(LocalProtocolError, match=_exact(
            "outgoing line contains a raw CR or LF byte")):
        frame(b"a\nb")
    with pytest.raises(LocalProtocolError, match=_exact(
            "outgoing line of 6 bytes exceeds max_line=5")):
        frame(b"x" * 6, max_line=5)
