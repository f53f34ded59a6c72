"""Line framing of the onion message channel byte stream (PROTOCOL.md 1.1, 1.3).

Peers send ``\\r\\n``-terminated lines; NG also accepts a bare ``\\n``, so we do too.
REF drops any line longer than 40 000 bytes and that is the network-wide limit we
enforce. The limit is checked *while* bytes arrive, so a peer streaming megabytes
without a newline costs us at most ``max_line`` bytes of memory, never the whole flood.
"""

from protocol.errors import LineTooLongError, LocalProtocolError

__all__ = [
    "DEFAULT_MAX_LINE", "LineBuffer", "frame",
]

DEFAULT_MAX_LINE = 40_000


class LineBuffer:
    """Incremental splitter: feed it raw chunks, get back complete lines.

    ``max_line`` bounds a line's length excluding its terminator. ``max_buffer``
    bounds the bytes held between feeds; it defaults to ``max_line + 1`` (one maximal
    line plus the ``\\r`` of a terminator split across chunks) and may be set lower to
    cap per-connection memory below the line limit.

    A :class:`LineTooLongError` means the stream is unusable (REF and NG both drop the
    connection), so the buffer is cleared and the caller should close.
    """

    __slots__ = ("_max_line", "_max_buffer", "_buf")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE, max_buffer: int | None = None):
        if max_line < 1:
            raise ValueError(f"max_line must be positive, got {max_line}")
        if max_buffer is not None and max_buffer < 1:
            raise ValueError(f"max_buffer must be positive, got {max_buffer}")
        self._max_line = max_line
        self._max_buffer = max_line + 1 if max_buffer is None else max_buffer
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes of an incomplete line currently held."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Return the lines completed by ``data`` (terminators stripped, empty lines skipped)."""
        lines: list[bytes] = []
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            if self._buf:
                line = bytes(self._buf) + data[pos:nl]
                self._buf.clear()
            else:
                line = data[pos:nl]
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self._max_line:
                self._fail(len(line), complete=True)
            if line:
                lines.append(line)
            pos = nl + 1
        rest = len(data) - pos
        if rest:
            self._check_pending(len(self._buf) + rest, data[-1:] == b"\r")
            self._buf += data[pos:]
        return lines

    def _check_pending(self, size: int, ends_with_cr: bool) -> None:
        """Reject a partial line before it is copied, once it cannot become a legal line."""
        line_part = size - 1 if ends_with_cr else size
        if line_part > self._max_line:
            self._fail(size, complete=False)
        if size > self._max_buffer:
            self._buf.clear()
            raise LineTooLongError(
                f"partial line of {size} bytes exceeds the {self._max_buffer}-byte buffer cap"
            )

    def _fail(self, size: int, complete: bool) -> None:
        self._buf.clear()
        what = "line" if complete else "partial line (no terminator yet)"
        raise LineTooLongError(
            f"{what} of {size} bytes exceeds max_line={self._max_line}"
        )


def frame(line: bytes, max_line: int = DEFAULT_MAX_LINE) -> bytes:
    """Terminate one outgoing line with ``\\r\\n`` (REF only recognises that delimiter)."""
    if b"\r" in line or b"\n" in line:
        raise LocalProtocolError("outgoing line contains a raw CR or LF byte")
    if len(line) > max_line:
        raise LocalProtocolError(f"outgoing line of {len(line)} bytes exceeds max_line={max_line}")
    return line + b"\r\n"
