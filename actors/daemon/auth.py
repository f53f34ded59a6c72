"""Who may use the daemon, and what a stranger can cost before proving it.

Authentication is Tor's control-cookie scheme: 32 random bytes, hex, rewritten (mode 0600)
at every start; a client proves it may read that file by sending the cookie in its
``hello``. Until then a connection is a stranger, and strangers are cheap by rule:

* the pre-auth line is capped at :data:`MAX_HELLO_LINE` (a hello is ~150 bytes): a longer
  one is refused and the connection closed, so no stranger makes us buffer more;
* at most :data:`MAX_UNAUTHENTICATED` strangers at once: the next one is refused at
  once (authenticated sessions do not count, so they keep working);
* a stranger that sends no hello within :data:`HELLO_TIMEOUT` seconds is closed.

docs/limits.md ("Daemon") states the resulting worst case; bench/daemon_preauth.py
measures it.
"""

from __future__ import annotations

import hmac
import secrets

from actors.daemon.files import write_private
from actors.daemon.wire import PROTOCOL_VERSION, Hello

__all__ = ["Cookie", "HELLO_TIMEOUT", "MAX_HELLO_LINE", "MAX_UNAUTHENTICATED", "StrangerGate",
           "hello_refusal"]

MAX_HELLO_LINE = 4096  # a hello is ~150 bytes; 4 KiB leaves room for a long client_name
MAX_UNAUTHENTICATED = 64  # connections that have not sent a valid hello yet
HELLO_TIMEOUT = 10.0


class Cookie:
    """The daemon's secret, kept in memory and in a 0600 file next to the socket."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._hex = ""

    def create(self) -> tuple[str, int]:
        """A fresh cookie, written atomically; returns (path, inode) for removal at stop."""
        self._hex = secrets.token_hex(32)
        return write_private(self.path, self._hex + "\n")

    def matches(self, presented: str) -> bool:
        """Constant-time comparison; never true before :meth:`create`."""
        return bool(self._hex) and hmac.compare_digest(presented.strip().lower().encode(),
                                                       self._hex.encode())


def hello_refusal(hello: object, cookie: Cookie) -> str | None:
    """Why the first line does not authenticate (``None``: it does)."""
    if not isinstance(hello, Hello):
        return "expected a hello first"
    if hello.version != PROTOCOL_VERSION:
        return (f"protocol version {hello.version} is not supported "
                f"(this daemon speaks {PROTOCOL_VERSION})")
    if not cookie.matches(hello.cookie_hex):
        return "wrong or missing cookie"
    return None


class StrangerGate:
    """Counts connections that have not authenticated; used on the loop thread only."""

    def __init__(self, limit: int = MAX_UNAUTHENTICATED) -> None:
        self.limit = limit
        self.waiting = 0

    def enter(self) -> bool:
        """Admit one more stranger, or False when :attr:`limit` are already waiting."""
        if self.waiting >= self.limit:
            return False
        self.waiting += 1
        return True

    def leave(self) -> None:
        """The stranger authenticated, was refused or went away."""
        self.waiting -= 1
