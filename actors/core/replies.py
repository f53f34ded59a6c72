"""Attribution of verified replies to waits (API.md "Receiving", precise points 3 and 11).

Pure and single-threaded: the Inbox actor feeds it verified replies and registrations
and performs the completions it returns. Guarantees:

* a reply is attributed only to its verified sender nick, and handed out once;
* the same reply relayed by several directories counts once (content key dedup);
* ``!sig`` replies accumulate, distinct by content, until ``expected_counts`` are met;
* a verified ``!error`` from an expected nick completes that nick;
* replies that arrive while no wait wants them are kept (bounded, ``replay_ttl``) and
  handed to the next matching wait; concurrent waits never steal each other's replies
  (a reply goes to the earliest-registered wait that wants it).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import msgspec

ERROR = "error"
SIG = "sig"


def bare_command(command: str) -> str:
    """``"!pubkey"`` and ``"pubkey"`` are the same command (API.md precise point 1)."""
    return command[1:] if command.startswith("!") else command


class Reply(msgspec.Struct, frozen=True):
    nick: str
    command: str
    data: str  # everything after the command word as on the wire (args + pubkey + sig)
    args: str  # the verified arguments alone
    channel: str


class Completion(msgspec.Struct, frozen=True):
    wait_id: int
    complete: bool
    missing: tuple[str, ...]


class _Wait:
    __slots__ = ("wait_id", "nicks", "command", "counts", "results")

    def __init__(self, wait_id: int, nicks: tuple[str, ...], command: str,
                 counts: dict[str, int]) -> None:
        self.wait_id = wait_id
        self.nicks = nicks
        self.command = command
        self.counts = counts
        self.results: dict[str, dict[str, Any]] = {}

    def wants(self, reply: Reply) -> bool:
        if reply.nick not in self.nicks or self._nick_done(reply.nick):
            return False
        return reply.command == self.command or reply.command == ERROR

    def take(self, reply: Reply) -> None:
        if reply.command == ERROR and self.command != ERROR:
            self.results[reply.nick] = {"error": True, "data": reply.args, "channel": reply.channel}
        elif self.command == SIG:
            entry = self.results.setdefault(
                reply.nick, {"data": [], "args": [], "channel": reply.channel})
            entry["data"].append(reply.data)
            entry["args"].append(reply.args)
        else:
            self.results[reply.nick] = {"data": reply.data, "args": reply.args,
                                        "channel": reply.channel}

    def _nick_done(self, nick: str) -> bool:
        entry = self.results.get(nick)
        if entry is None:
            return False
        if entry.get("error") or self.command != SIG:
            return True
        return len(entry["data"]) >= self.counts.get(nick, 1)

    def missing(self) -> tuple[str, ...]:
        out = []
        for nick in self.nicks:
            if not self._nick_done(nick):
                if self.command == SIG and nick in self.results:
                    have = len(self.results[nick]["data"])
                    out.append(f"{nick} ({have}/{self.counts.get(nick, 1)} signatures)")
                else:
                    out.append(nick)
        return tuple(out)

    def complete(self) -> bool:
        return all(self._nick_done(n) for n in self.nicks)


class ReplyBook:
    """Waits, the replay buffer and the duplicate filter."""

    def __init__(self, replay_ttl: float = 60.0, replay_max: int = 2_000,
                 seen_max: int = 20_000, max_waits: int = 1_000) -> None:
        self.replay_ttl = replay_ttl
        self.replay_max = replay_max
        self.seen_max = seen_max
        self.max_waits = max_waits
        self._waits: dict[int, _Wait] = {}
        self._finished: dict[int, _Wait] = {}
        self._replay: OrderedDict[int, tuple[float, Reply]] = OrderedDict()
        self._replay_seq = 0
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self.duplicates = 0
        self.replay_evicted = 0

    def register(self, wait_id: int, nicks: tuple[str, ...], command: str,
                 counts: dict[str, int], now: float) -> Completion | None:
        """Add a wait and feed it matching buffered replies; a Completion if already done."""
        if len(self._waits) >= self.max_waits:
            raise OverflowError(f"too many pending waits ({self.max_waits})")
        wait = _Wait(wait_id, tuple(dict.fromkeys(nicks)), bare_command(command), dict(counts))
        self._waits[wait_id] = wait
        self._expire_replay(now)
        for seq, (_, reply) in list(self._replay.items()):
            if wait.wants(reply):
                wait.take(reply)
                del self._replay[seq]
        return self._finish(wait) if wait.complete() else None

    def deliver(self, reply: Reply, now: float) -> list[Completion]:
        """Hand a verified reply to the earliest wait that wants it, or buffer it."""
        key = (reply.nick, reply.command, reply.data)
        if self._is_duplicate(key, now):
            self.duplicates += 1
            return []
        for wait in self._waits.values():
            if wait.wants(reply):
                wait.take(reply)
                return [self._finish(wait)] if wait.complete() else []
        self._buffer(reply, now)
        return []

    def expire(self, wait_id: int) -> Completion | None:
        """The wait's timeout: complete it with whatever arrived."""
        wait = self._waits.get(wait_id)
        return self._finish(wait) if wait is not None else None

    def results(self, wait_id: int) -> dict[str, dict[str, Any]]:
        wait = self._finished.pop(wait_id, None)
        return wait.results if wait is not None else {}

    @property
    def pending(self) -> int:
        return len(self._waits)

    @property
    def buffered(self) -> int:
        return len(self._replay)

    # -- internals ----------------------------------------------------------------------

    def _finish(self, wait: _Wait) -> Completion:
        del self._waits[wait.wait_id]
        self._finished[wait.wait_id] = wait
        return Completion(wait.wait_id, wait.complete(), wait.missing())

    def _is_duplicate(self, key: tuple[str, str, str], now: float) -> bool:
        seen = self._seen
        while seen:
            oldest_key, t = next(iter(seen.items()))
            if now - t <= self.replay_ttl and len(seen) <= self.seen_max:
                break
            del seen[oldest_key]
        if key in seen:
            return True
        seen[key] = now
        return False

    def _buffer(self, reply: Reply, now: float) -> None:
        self._expire_replay(now)
        self._replay_seq += 1
        self._replay[self._replay_seq] = (now, reply)
        while len(self._replay) > self.replay_max:
            self._replay.popitem(last=False)
            self.replay_evicted += 1

    def _expire_replay(self, now: float) -> None:
        while self._replay:
            seq, (t, _) = next(iter(self._replay.items()))
            if now - t <= self.replay_ttl:
                break
            del self._replay[seq]
            self.replay_evicted += 1
