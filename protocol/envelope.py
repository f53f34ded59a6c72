"""The JSON envelope around every line: ``{"type": <int>, "line": <str>}`` (PROTOCOL.md 1.2).

Decoding is on the hot path of every connection, so it goes through one module-level
msgspec decoder straight into the frozen :class:`Envelope`; msgspec already rejects a
bool or float ``type`` and ignores extra keys, exactly as REF and NG do.
Encoding reproduces ``json.dumps`` defaults byte-for-byte (``", "``/``": "`` separators,
ASCII escapes) because that is what every real peer sends.
"""

from enum import IntEnum
from json.encoder import encode_basestring_ascii

import msgspec

from protocol.errors import EnvelopeError


class MsgType(IntEnum):
    """Envelope type numbers (PROTOCOL.md 1.4). 797 and 801 exist but must never be sent."""

    PRIVMSG = 685
    PUBMSG = 687
    PEERLIST = 789
    GETPEERLIST = 791
    HANDSHAKE = 793
    DN_HANDSHAKE = 795
    REF_PING = 797
    PING = 798
    PONG = 799
    DISCONNECT = 801
    NICK_AUTH_CHALLENGE = 803
    NICK_AUTH_PROOF = 805
    NICK_AUTH_RESULT = 807


class Envelope(msgspec.Struct, frozen=True):
    """One decoded line; ``type`` is kept as a plain int so unknown types can be ignored."""

    type: int
    line: str


_DECODER = msgspec.json.Decoder(Envelope)


def decode_envelope(raw: bytes | str) -> Envelope:
    """Parse one framed line; any defect raises :class:`EnvelopeError` naming it."""
    try:
        return _DECODER.decode(raw)
    except msgspec.DecodeError as exc:  # includes ValidationError (wrong/missing keys)
        raise EnvelopeError(f"invalid envelope: {exc}") from None
    except UnicodeError:
        raise EnvelopeError("invalid envelope: text contains unencodable surrogates") from None
    except RecursionError:
        raise EnvelopeError("invalid envelope: JSON nested too deeply") from None


def encode_envelope(type: int, line: str) -> bytes:
    """Serialise like ``json.dumps({"type": type, "line": line})``, without a terminator."""
    if not isinstance(type, int) or isinstance(type, bool):
        raise EnvelopeError(f"envelope type must be an int, got {type!r}")
    if not isinstance(line, str):
        raise EnvelopeError(f"envelope line must be a str, got {line.__class__.__name__}")
    return b'{"type": %d, "line": %s}' % (type, encode_basestring_ascii(line).encode("ascii"))
