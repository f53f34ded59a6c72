"""Public error types of the client (API.md, precise point 5).

All derive from :class:`MultiDirectoryError`, itself a ``RuntimeError`` so that takers
written against the original client, which catch ``RuntimeError``, keep working.
Network-level failures of a single dial derive from :class:`TransportError` (an
``OSError``) so the supervisor's decider classifies them as network errors.
"""

__all__ = ["AllRoutesFailedError", "ClientClosedError", "DestinationRefusedError",
           "DestinationUnreachableError", "DialTimeoutError", "DirectoryNotConnectedError",
           "HandshakeRejectedByRemoteError", "MultiDirectoryError", "NoDirectConnectionError",
           "ProxyAuthError", "ProxyProtocolError", "ProxyUnreachableError",
           "RefusedDestinationError", "TransportError"]


class MultiDirectoryError(RuntimeError):
    """Base of every error the client raises to the application."""


class DirectoryNotConnectedError(MultiDirectoryError):
    """A forced directory channel is not connected (or not configured)."""


class NoDirectConnectionError(MultiDirectoryError):
    """``force_channel="direct"`` but no handshaked direct connection exists or it failed."""


class AllRoutesFailedError(MultiDirectoryError):
    """Every candidate channel failed, or no directory is connected at all."""


class RefusedDestinationError(MultiDirectoryError):
    """A destination was refused by policy (non-onion host without ``allow_clearnet``)."""


class HandshakeRejectedByRemoteError(MultiDirectoryError):
    """A directory or peer rejected our handshake or answered with an invalid one."""


class ClientClosedError(MultiDirectoryError):
    """The client was closed (or its daemon went away) while the call was in progress."""


class TransportError(OSError):
    """A dial or stream failure: SOCKS errors mapped to one class per cause."""


class ProxyUnreachableError(TransportError):
    """The SOCKS5 proxy itself could not be reached."""


class ProxyAuthError(TransportError):
    """The SOCKS5 proxy rejected our credentials or offered no acceptable method."""


class DestinationRefusedError(TransportError):
    """The proxy reached the destination, which refused the connection (SOCKS reply 5)."""


class DestinationUnreachableError(TransportError):
    """The proxy could not reach the destination (SOCKS replies 1, 3, 4, 6)."""


class ProxyProtocolError(TransportError):
    """The proxy answered with something that is not valid SOCKS5 (replies 2, 7, 8 too)."""


class DialTimeoutError(TransportError, TimeoutError):
    """The dial (proxy connect + SOCKS negotiation) did not finish in time."""
