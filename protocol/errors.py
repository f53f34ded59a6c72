"""Typed errors of the sans-IO protocol layer.

Every parser in ``protocol`` raises a subclass of :class:`ProtocolError` on malformed
input, with a message that names what was wrong. Callers (actors, localnet servers)
catch ``ProtocolError`` alone and decide to ignore, count or disconnect; nothing
else may escape a parser.
"""


class ProtocolError(ValueError):
    """Base of every malformed-input error raised by ``protocol``."""


class FramingError(ProtocolError):
    """The byte stream cannot be split into lines (line too long, bad UTF-8)."""


class LineTooLongError(FramingError):
    """A line exceeded the configured maximum before its terminator arrived."""


class EnvelopeError(ProtocolError):
    """A line is not a JSON object with an integer ``type`` and a string ``line``."""


class HandshakeError(ProtocolError):
    """A handshake payload is unparsable or fails validation."""


class HandshakeRejectedError(HandshakeError):
    """The remote answered the handshake with ``accepted: false`` or a mismatch."""


class PeerlistError(ProtocolError):
    """A PEERLIST line or entry is malformed."""


class MessageError(ProtocolError):
    """A JoinMarket message line (``from!to!cmd args``) is malformed."""


class SignatureError(ProtocolError):
    """A signed private message's signature is missing or does not verify."""


class NickMismatchError(SignatureError):
    """The signing pubkey does not derive the sender nick the line claims."""


class OfferError(ProtocolError):
    """An offer segment violates the offer rules (PROTOCOL.md 7.3)."""


class BondError(ProtocolError):
    """A ``!tbond`` fidelity-bond proof is malformed or its signatures fail."""


class NickAuthError(ProtocolError):
    """A JMP-0005 nick-auth challenge, proof or result is malformed or invalid."""


class CryptoError(ProtocolError):
    """NaCl box decryption failed or a key is malformed."""
