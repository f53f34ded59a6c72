"""Hostile-input helpers: raw envelopes to inject, and this process's resident memory."""

from __future__ import annotations

import json
from pathlib import Path

from protocol.envelope import MsgType, encode_envelope


def rss_kb() -> int:
    """Resident set size of this process, from /proc/self/status (no psutil)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def env(msg_type: int, line: str) -> bytes:
    return encode_envelope(int(msg_type), line)


def privmsg_env(line: str) -> bytes:
    return env(MsgType.PRIVMSG, line)


def raw_json(obj) -> bytes:
    return json.dumps(obj).encode()
