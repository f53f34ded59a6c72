"""The narrow I/O edge: SOCKS5 dialling (remote DNS only), the dial loop thread, and one
line-framed connection with its reader thread.

Imports: ``protocol``, ``actors.core`` (messages) and ``actors.errors`` only. Nothing here
knows about actors, routing or the public API; shells hand it a callback and get lines back.
"""

from actors.net.connection import LineConnection
from actors.net.dialer import Dialer
from actors.net.transport import SocketTransport, SocksConfig, Transport, dial

__all__ = ["Dialer", "LineConnection", "SocketTransport", "SocksConfig", "Transport", "dial"]
