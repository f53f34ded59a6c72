"""Telling a relay's own defect from a defect of the line it relays (ARCHITECTURE.md 9.2).

A directory forwards PRIVMSG/PUBMSG lines written by anyone. NG and REF both re-encode a
relayed line with Python's ``json.dumps``, which happily emits things our strict decoder
refuses, such as a lone surrogate escape (``"\\ud800"``: Python's json accepts and
produces it, msgspec rejects it). Such a line is still a well-formed frame *from the
directory*: the defect belongs to the peer that wrote it. This module answers, for a
line the strict decoder refused, whether it is such a relayed line, so the caller can
drop that line alone instead of holding it against the directory.
"""

from __future__ import annotations

import json

__all__ = ["RELAYED_TYPES", "relayed_line_type"]

#: Envelope types whose ``line`` a directory relays from other peers (PROTOCOL.md 1.4).
RELAYED_TYPES = frozenset({685, 687})


def relayed_line_type(raw: bytes) -> int | None:
    """The envelope type of ``raw`` if it is a relayed frame with bad content, else None.

    ``raw`` is one line the strict envelope decoder refused. It counts as relayed when the
    lenient standard-library parser reads it as a JSON object with an integer ``type`` in
    :data:`RELAYED_TYPES` and a string ``line`` — i.e. the directory framed it correctly
    and only the relayed text is unusable. Anything else (not JSON, wrong shape, invalid
    UTF-8, absurd nesting) is the directory's own framing failing.
    """
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if not isinstance(obj, dict):
        return None
    msg_type, line = obj.get("type"), obj.get("line")
    if type(msg_type) is not int or msg_type not in RELAYED_TYPES or not isinstance(line, str):
        return None
    return msg_type
