"""Typed errors of the sans-IO protocol layer: whose fault each one is.

Like h11, every error says which side broke the rules:

* :class:`LocalProtocolError` — *our* data is invalid: an outgoing line we were asked to
  frame, a handshake we were asked to build from our own config, our own key. It is a
  ``ValueError`` raised at the call; an actor that meets one has a bug (or was built
  from an unchecked config) and must never blame the remote for it.
* :class:`RemoteProtocolError` — what a peer *sent* is invalid: every parser and
  verifier raises a subclass of it, with a message that names what was wrong. Callers
  (actors, localnet servers) catch it and decide to ignore, count or disconnect.

Both derive from :class:`ProtocolError`, so code that only needs "the protocol layer
refused this" keeps one ``except``. Every raise site in ``protocol`` picks a side.
"""

__all__ = [
    "BondError", "CryptoError", "EnvelopeError", "FramingError", "HandshakeError",
    "HandshakeRejectedError", "LineTooLongError", "LocalProtocolError", "MessageError",
    "NickAuthError", "NickMismatchError", "OfferError", "PeerlistError", "ProtocolError",
    "RemoteProtocolError", "SignatureError",
]


class ProtocolError(ValueError):
    """Common base of :class:`LocalProtocolError` and :class:`RemoteProtocolError`."""


class LocalProtocolError(ProtocolError):
    """We tried to send or build something the protocol forbids (our input, our config)."""


class RemoteProtocolError(ProtocolError):
    """A peer sent something the protocol forbids (the base of every parser error)."""


class FramingError(RemoteProtocolError):
    """The received byte stream cannot be split into lines."""


class LineTooLongError(FramingError):
    """A received line exceeded the configured maximum before its terminator arrived."""


class EnvelopeError(RemoteProtocolError):
    """A line is not a JSON object with an integer ``type`` and a string ``line``."""


class HandshakeError(RemoteProtocolError):
    """A received handshake payload is unparsable or fails validation."""


class HandshakeRejectedError(HandshakeError):
    """The remote answered the handshake with ``accepted: false`` or a mismatch."""


class PeerlistError(RemoteProtocolError):
    """A PEERLIST line or entry is malformed."""


class MessageError(RemoteProtocolError):
    """A JoinMarket message line (``from!to!cmd args``) is malformed."""


class SignatureError(RemoteProtocolError):
    """A signed private message's signature is missing or does not verify."""


class NickMismatchError(SignatureError):
    """The signing pubkey does not derive the sender nick the line claims."""


class OfferError(RemoteProtocolError):
    """An offer segment violates the offer rules (PROTOCOL.md 7.3)."""


class BondError(RemoteProtocolError):
    """A ``!tbond`` fidelity-bond proof is malformed or its signatures fail."""


class NickAuthError(RemoteProtocolError):
    """A JMP-0005 nick-auth challenge, proof or result is malformed or invalid."""


class CryptoError(RemoteProtocolError):
    """NaCl box decryption failed or a peer's key is malformed."""
