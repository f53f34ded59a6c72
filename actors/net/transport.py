"""Byte-stream transports and the production dial path (SOCKS5 with remote DNS).

A :class:`Transport` is the only thing actors read from and write to. The production
one wraps a socket dialled through the SOCKS5 proxy with the hostname resolved by the
proxy (``rdns=True``), so ``.onion`` names never touch a local resolver. Fault
injection wraps a Transport (see ``actors.faults.injector``) without the actors knowing.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from typing import Protocol

import msgspec
from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.async_.asyncio import Proxy as AsyncProxy
from python_socks.sync import Proxy

from actors.errors import (
    DestinationRefusedError,
    DestinationUnreachableError,
    DialTimeoutError,
    ProxyAuthError,
    ProxyProtocolError,
    ProxyUnreachableError,
    RefusedDestinationError,
    TransportError,
)

__all__ = ["CATEGORY_DIRECTORY", "CATEGORY_PEER", "PROCESS_ISOLATION_TOKEN", "SocketTransport",
           "SocksConfig", "Transport", "credentials_for", "dial", "is_onion_host"]

#: SOCKS5 usernames per connection category (PROTOCOL.md 2.3; Tor IsolateSOCKSAuth).
CATEGORY_DIRECTORY = "jm-directory"
CATEGORY_PEER = "jm-peer"

#: One random isolation password per process, as Tor's IsolateSOCKSAuth expects.
PROCESS_ISOLATION_TOKEN = secrets.token_hex(16)


class Transport(Protocol):
    """A connected, bidirectional byte stream."""

    def send(self, data: bytes) -> None:
        """Write all of ``data``; raise ``OSError`` on failure."""

    def recv(self, bufsize: int) -> bytes:
        """Block for up to ``bufsize`` bytes; ``b""`` means the peer closed."""

    def close(self) -> None:
        """Close gracefully; idempotent."""

    def abort(self) -> None:
        """Shut the stream down both ways so a blocked ``recv`` returns at once."""


class SocketTransport:
    """A :class:`Transport` over a connected socket."""

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        self._sock = sock
        self._closed = False

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def recv(self, bufsize: int) -> bytes:
        return self._sock.recv(bufsize)

    def abort(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.abort()
            self._sock.close()


class SocksConfig(msgspec.Struct, frozen=True):
    """Where the SOCKS5 proxy is and whether streams are isolated per category."""

    host: str = "127.0.0.1"
    port: int = 9050
    stream_isolation: bool = False
    isolation_token: str = PROCESS_ISOLATION_TOKEN
    allow_clearnet: bool = False


def is_onion_host(host: str) -> bool:
    return host.lower().rstrip(".").endswith(".onion")


def credentials_for(config: SocksConfig, category: str) -> tuple[str | None, str | None]:
    """SOCKS5 username/password for a connection category (``None`` when not isolating)."""
    if not config.stream_isolation:
        return None, None
    return category, config.isolation_token


def _map_reply_error(exc: ProxyError, host: str, port: int) -> TransportError:
    code = getattr(exc, "error_code", None)
    where = f"{host}:{port}"
    if code == 5:
        return DestinationRefusedError(f"{where}: connection refused by destination ({exc})")
    if code in (1, 3, 4, 6):
        return DestinationUnreachableError(f"{where}: unreachable through the proxy ({exc})")
    text = str(exc).lower()
    if "auth" in text or "acceptable authentication" in text:
        return ProxyAuthError(f"SOCKS5 proxy rejected authentication ({exc})")
    return ProxyProtocolError(f"{where}: SOCKS5 error ({exc})")


def _check_policy(host: str, config: SocksConfig) -> None:
    if not is_onion_host(host) and not config.allow_clearnet:
        raise RefusedDestinationError(
            f"refusing to dial non-onion host {host!r} (allow_clearnet is off)")


def _map_dial_error(exc: BaseException, host: str, port: int, config: SocksConfig,
                    timeout: float) -> BaseException:
    """One typed :class:`TransportError` per cause, whatever library raised it."""
    where = f"{host}:{port}"
    if isinstance(exc, (ProxyTimeoutError, TimeoutError)):
        return DialTimeoutError(f"{where}: dial timed out after {timeout}s")
    if isinstance(exc, ProxyConnectionError):
        return ProxyUnreachableError(f"SOCKS5 proxy {config.host}:{config.port} unreachable ({exc})")
    if isinstance(exc, ProxyError):
        return _map_reply_error(exc, host, port)
    if isinstance(exc, ConnectionRefusedError):
        return DestinationRefusedError(f"{where}: connection refused")
    if isinstance(exc, OSError) and not isinstance(exc, TransportError):
        return DestinationUnreachableError(f"{where}: {exc}")
    if isinstance(exc, ValueError):  # e.g. a hostname SOCKS5 cannot carry (> 255 bytes)
        return ProxyProtocolError(f"{where[:80]}: cannot be requested through SOCKS5 ({exc})")
    return exc


def dial(host: str, port: int, config: SocksConfig, category: str, timeout: float) -> SocketTransport:
    """Connect to ``host:port``: onions through the proxy, others only if allowed.

    Blocking; used by scripts and tests. The actors dial through :func:`dial_async` on
    the client's dialer loop, which can be cancelled at shutdown. Non-onion hosts are
    refused unless ``config.allow_clearnet`` (local testing), and then dialled directly;
    onion names are resolved by the proxy (``rdns=True``), never locally.
    """
    _check_policy(host, config)
    try:
        if not is_onion_host(host):
            return SocketTransport(socket.create_connection((host, port), timeout=timeout))
        username, password = credentials_for(config, category)
        proxy = Proxy(ProxyType.SOCKS5, config.host, config.port, username=username,
                      password=password, rdns=True)
        return SocketTransport(proxy.connect(dest_host=host, dest_port=port, timeout=timeout))
    except Exception as exc:
        raise _map_dial_error(exc, host, port, config, timeout) from exc


async def _connect_tcp(host: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    family, kind, proto, _, addr = (await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))[0]
    sock = socket.socket(family, kind, proto)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, addr)
    except BaseException:
        sock.close()
        raise
    return sock


async def dial_async(host: str, port: int, config: SocksConfig, category: str,
                     timeout: float) -> SocketTransport:
    """:func:`dial` as a coroutine (python-socks asyncio), cancellable at any point."""
    _check_policy(host, config)
    try:
        async with asyncio.timeout(timeout):
            if not is_onion_host(host):
                sock = await _connect_tcp(host, port)
            else:
                username, password = credentials_for(config, category)
                proxy = AsyncProxy(ProxyType.SOCKS5, config.host, config.port, username=username,
                                   password=password, rdns=True)
                sock = await proxy.connect(dest_host=host, dest_port=port)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise _map_dial_error(exc, host, port, config, timeout) from exc
    sock.setblocking(True)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return SocketTransport(sock)
