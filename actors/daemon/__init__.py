"""Daemon mode: the same API served to takers in other processes over a local socket. The
wire format, the server with its cookie authentication and sessions, and the remote facades.

Imports: ``actors.api`` and below. Never ``actors.app`` or ``localnet``.
"""

from actors.daemon.remote import BlockingRemoteMultiDirectoryClient, RemoteMultiDirectoryClient
from actors.daemon.server import DaemonServer, serve_from_settings
from actors.daemon.wire import ControlProtocolError, DaemonRefusedError

__all__ = ["BlockingRemoteMultiDirectoryClient", "ControlProtocolError", "DaemonRefusedError",
           "DaemonServer", "RemoteMultiDirectoryClient", "serve_from_settings"]
