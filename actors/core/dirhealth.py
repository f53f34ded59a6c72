"""Per-directory health: what each configured directory is doing and why, for people.

``connect_all`` returns a count; when it is smaller than the number of directories
configured, the user needs the reason without turning on logging (the library keeps its
loguru output disabled until the application opts in). The Supervisor sees every
attempt begin, succeed and end — with the exception that ended it and the retry delay it
chose — so it feeds this book and publishes the result as a read-only view. The book
is pure: the caller passes the wall-clock time, so tests drive it without a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import msgspec

IDLE, CONNECTING, UP, RETRYING, STOPPED = "idle", "connecting", "up", "retrying", "stopped"
STATES = (IDLE, CONNECTING, UP, RETRYING, STOPPED)


class DirectoryHealth(msgspec.Struct, frozen=True):
    """One directory's state, the last error and when things happened (epoch seconds).

    * ``state`` — ``idle`` (the client has not started), ``connecting`` (dialling,
      handshaking, or waiting for the directory to make us routable), ``up`` (a route),
      ``retrying`` (the last attempt failed; another follows at ``next_retry``) or
      ``stopped`` (no further attempts; with the default policy a directory never gets
      here: every failure is retried, API.md point 7).
    * ``since`` — when the directory entered ``state`` (None while idle).
    * ``last_error`` — why the latest attempt ended, "" if none has failed yet; it is
      kept when the directory comes up again, so a flapping link still shows its cause.
    * ``next_retry`` — when the next attempt starts, only while ``retrying``.
    * ``failures`` — attempts that ended since the directory was last up.
    """

    name: str
    state: str = IDLE
    since: float | None = None
    last_error: str = ""
    next_retry: float | None = None
    failures: int = 0

    def describe(self, now: float) -> str:
        """One human line: ``retrying in 4s after 1 failed attempt: <error>``, ``up for 12s``,
        ``connecting for 3s``."""
        if self.state == IDLE:
            return "idle (the client has not started)"
        if self.state == UP:
            return f"up for {_span(now - (self.since or now))}"
        text = self.state
        if self.state == CONNECTING and self.since is not None:
            text += f" for {_span(max(0.0, now - self.since))}"
        if self.state == RETRYING and self.next_retry is not None:
            text += f" in {_span(max(0.0, self.next_retry - now))}"
        if self.last_error:
            text += f" after {self.failures} failed attempt{'s' * (self.failures != 1)}: " \
                    f"{self.last_error}"
        return text


def _span(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}min"


class HealthBook:
    """The Supervisor's record of every configured directory, in configuration order."""

    def __init__(self, names: Iterable[str]) -> None:
        self._entries = {name: DirectoryHealth(name) for name in names}

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def connecting(self, name: str, now: float) -> None:
        self._set(name, state=CONNECTING, since=now, next_retry=None)

    def up(self, name: str, now: float) -> None:
        self._set(name, state=UP, since=now, next_retry=None, failures=0)

    def failed(self, name: str, error: str, now: float, retry_in: float | None) -> None:
        """An attempt ended with ``error``; ``retry_in`` None means no further attempt."""
        entry = self._entries.get(name)
        if entry is None:
            return
        self._entries[name] = msgspec.structs.replace(
            entry, state=STOPPED if retry_in is None else RETRYING, since=now,
            last_error=error, next_retry=None if retry_in is None else now + retry_in,
            failures=entry.failures + 1)

    def view(self) -> Mapping[str, DirectoryHealth]:
        return MappingProxyType(dict(self._entries))

    def _set(self, name: str, **changes: object) -> None:
        entry = self._entries.get(name)
        if entry is not None:
            self._entries[name] = msgspec.structs.replace(entry, **changes)


def idle_view(names: Iterable[str]) -> Mapping[str, DirectoryHealth]:
    """What the facades report before the client has started."""
    return HealthBook(names).view()
