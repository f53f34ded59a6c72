"""LineBuffer/frame: CRLF and LF framing, and the max-line limit enforced before buffering."""

import pytest

from protocol.errors import LineTooLongError, LocalProtocolError
from protocol.framing import DEFAULT_MAX_LINE, LineBuffer, frame


def test_default_limit_is_refs_40000():
    assert DEFAULT_MAX_LINE == 40_000


def test_crlf_and_bare_lf_lines():
    buf = LineBuffer()
    assert buf.feed(b'a\r\nb\nc') == [b"a", b"b"]
    assert buf.pending == 1
    assert buf.feed(b"\r\n") == [b"c"]
    assert buf.pending == 0


def test_terminator_split_across_chunks():
    buf = LineBuffer()
    assert buf.feed(b"hello\r") == []
    assert buf.feed(b"\nworld\r") == [b"hello"]
    assert buf.feed(b"\n") == [b"world"]


def test_only_one_trailing_cr_is_stripped_and_inner_cr_kept():
    buf = LineBuffer()
    assert buf.feed(b"a\rb\r\r\n") == [b"a\rb\r"]


def test_empty_lines_are_skipped():
    assert LineBuffer().feed(b"\r\n\n\r\nx\n\n") == [b"x"]


def test_empty_feed_returns_nothing():
    buf = LineBuffer()
    assert buf.feed(b"") == []
    assert buf.pending == 0


def test_line_of_exactly_max_line_is_accepted_even_with_cr_pending():
    buf = LineBuffer(max_line=5)
    assert buf.feed(b"12345\r") == []
    assert buf.pending == 6
    assert buf.feed(b"\n") == [b"12345"]


def test_complete_line_over_limit_raises():
    with pytest.raises(LineTooLongError, match="6 bytes exceeds max_line=5"):
        LineBuffer(max_line=5).feed(b"123456\r\n")


def test_partial_line_over_limit_raises_before_buffering():
    buf = LineBuffer(max_line=5)
    buf.feed(b"123")
    with pytest.raises(LineTooLongError, match="partial line"):
        buf.feed(b"456")
    assert buf.pending == 0


def test_ten_megabyte_chunk_without_newline_is_rejected_without_holding_it():
    buf = LineBuffer()
    with pytest.raises(LineTooLongError):
        buf.feed(b"x" * 10_000_000)
    assert buf.pending == 0


def test_lines_before_a_flood_in_the_same_chunk_do_not_hide_it():
    buf = LineBuffer(max_line=10)
    with pytest.raises(LineTooLongError):
        buf.feed(b"ok\r\n" + b"y" * 11)


def test_max_buffer_caps_pending_bytes_below_max_line():
    buf = LineBuffer(max_line=100, max_buffer=4)
    assert buf.feed(b"abcd") == []
    with pytest.raises(LineTooLongError, match="buffer cap"):
        buf.feed(b"e")


def test_buffer_usable_after_error_is_reset():
    buf = LineBuffer(max_line=3)
    with pytest.raises(LineTooLongError):
        buf.feed(b"abcd")
    assert buf.feed(b"ab\n") == [b"ab"]


@pytest.mark.parametrize("bad", [0, -1])
def test_rejects_nonpositive_limits(bad):
    with pytest.raises(ValueError):
        LineBuffer(max_line=bad)
    with pytest.raises(ValueError):
        LineBuffer(max_buffer=bad)


def test_frame_appends_crlf():
    assert frame(b'{"type": 791, "line": ""}') == b'{"type": 791, "line": ""}\r\n'


@pytest.mark.parametrize("bad", [b"a\nb", b"a\r", b"\r\n"])
def test_frame_rejects_raw_newlines(bad):
    with pytest.raises(LocalProtocolError, match="CR or LF"):
        frame(bad)


def test_frame_rejects_too_long():
    assert frame(b"x" * 5, max_line=5) == b"xxxxx\r\n"
    with pytest.raises(LocalProtocolError):
        frame(b"x" * 6, max_line=5)


def test_frame_then_feed_round_trip():
    lines = [b"one", b"two", b"three"]
    wire = b"".join(frame(line) for line in lines)
    assert LineBuffer().feed(wire) == lines
