"""The daemon's control protocol: JSON lines, one tagged msgspec Struct per line.

Why its own module: the daemon (:mod:`actors.daemon.server`) and the remote facades
(:mod:`actors.daemon.remote`) must agree on every byte, and tests write raw lines against it.

Conversation (docs/daemon.md has the full description)::

    client: {"type":"hello","version":1,"cookie_hex":"…","client_name":"taker-1"}
    daemon: {"type":"hello_ok","version":1,"daemon_nick":"J5…","session_id":3}   | error
    client: {"type":"request","id":7,"method":"wait_for_responses","params":{…}}
    daemon: {"type":"response","id":7,"result":{…}}   | error_response (same id)
    daemon: {"type":"event","kind":"nick_left","payload":{"nick":"J5…"}}   (any time)

Responses may come out of order (each request runs on its own). ``error_type`` names an
exception class from :data:`ERROR_TYPES`, so the remote facade re-raises the same typed
error the embedded facade would have raised.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.core.dirhealth import DirectoryHealth
from actors.core.orderbook import Offer
from actors.core.routing import ChannelBinding
from actors.errors import (AllRoutesFailedError, ClientClosedError, DirectoryNotConnectedError,
                           HandshakeRejectedByRemoteError, MultiDirectoryError,
                           NoDirectConnectionError, RefusedDestinationError)
from actors.shells.runtime import PeerHandle
from protocol.errors import LineTooLongError
from protocol.framing import LineBuffer

__all__ = ["CLIENT_DECODER", "ControlMessage", "ControlProtocolError", "CoreState",
           "DAEMON_DECODER", "DaemonRefusedError", "ENCODER", "ERROR_TYPES", "Error",
           "ErrorResponse", "Event", "FetchOrderbookParams", "Hello", "HelloOk", "LOOPBACK_HOSTS",
           "MAX_CLIENT_NAME", "MAX_CONSECUTIVE_GARBAGE", "MAX_DAEMON_LINE", "MAX_REQUEST_LINE",
           "METHODS", "NickParams", "NoParams", "PROTOCOL_VERSION", "Request", "RequestFramer", "Response",
           "SendPrivmsgParams", "SyncNicksParams", "UpgradeChannelParams", "WaitForResponseParams",
           "WaitForResponsesParams", "default_cookie_path", "encode_line", "error_type_of",
           "format_tcp_address", "make_error", "parse_tcp_address"]

PROTOCOL_VERSION = 1
MAX_REQUEST_LINE = 1 << 20  # client -> daemon; a longer request is refused, the link kept
MAX_DAEMON_LINE = 64 << 20  # daemon -> client; a 20 000-offer orderbook is ~10 MB of JSON
MAX_CLIENT_NAME = 256  # characters; even fully \u-escaped the hello stays under the daemon's cap
MAX_CONSECUTIVE_GARBAGE = 5  # unparseable or oversized lines in a row before the daemon hangs up
LOOPBACK_HOSTS = ("127.0.0.1", "::1")


class ControlProtocolError(ValueError):
    """A control line was malformed, oversized, or named an unknown method."""


class DaemonRefusedError(MultiDirectoryError):
    """The daemon refused the session: wrong or missing cookie, or protocol version mismatch."""


# -- wire messages --------------------------------------------------------------------------

class ControlMessage(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of every line on the control socket."""


class Hello(ControlMessage, tag="hello"):
    version: int
    cookie_hex: str
    client_name: str = ""


class HelloOk(ControlMessage, tag="hello_ok"):
    version: int
    daemon_nick: str
    session_id: int


class Error(ControlMessage, tag="error"):
    """Connection-level refusal; the daemon closes the connection after sending it."""

    error_type: str
    message: str


class Request(ControlMessage, tag="request"):
    id: int
    method: str
    params: dict[str, Any] = {}


class Response(ControlMessage, tag="response"):
    id: int
    result: Any = None


class ErrorResponse(ControlMessage, tag="error_response"):
    """A failed request; ``id`` is ``None`` when the line was too broken to carry one."""

    id: int | None
    error_type: str
    message: str


class Event(ControlMessage, tag="event"):
    """Pushed by the daemon: ``nick_left``, ``directory``, ``escalated``, ``state``, ``stats``."""

    kind: str
    payload: Any = None


CLIENT_DECODER = msgspec.json.Decoder(Hello | Request)
DAEMON_DECODER = msgspec.json.Decoder(HelloOk | Error | Response | ErrorResponse | Event)
ENCODER = msgspec.json.Encoder()


def encode_line(message: ControlMessage) -> bytes:
    return ENCODER.encode(message) + b"\n"


class CoreState(msgspec.Struct, frozen=True):
    """What the non-blocking methods read, pushed as the ``state`` event whenever it changes.

    ``attempts`` maps a nick to its latest direct-connection attempt: ``None`` while it
    runs, then its outcome. ``locations`` omits ``NOT-SERVING-ONION``.
    """

    nick: str = ""
    prefer_direct: bool = True
    directories_up: tuple[str, ...] = ()
    present: dict[str, frozenset[str]] = {}
    listed: dict[str, frozenset[str]] = {}
    locations: dict[str, str] = {}
    peers: dict[str, PeerHandle] = {}
    attempts: dict[str, bool | None] = {}
    directories: dict[str, DirectoryHealth] = {}  # ClientCore.directory_status()


# -- methods: parameter schema and result type ----------------------------------------------

class _Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class NoParams(_Params):
    pass


class NickParams(_Params):
    nick: str


class FetchOrderbookParams(_Params):
    max_wait: float = 120.0
    min_wait: float = 30.0
    quiet_period: float = 15.0


class SendPrivmsgParams(_Params):
    recipient: str
    command: str
    data: str
    log_routing: bool = False
    force_channel: str | None = None


class WaitForResponsesParams(_Params):
    expected_nicks: list[str]
    expected_command: str
    timeout: float = 60.0
    expected_counts: dict[str, int] | None = None


class WaitForResponseParams(_Params):
    from_nick: str
    expected_command: str
    timeout: float = 30.0


class UpgradeChannelParams(_Params):
    nick: str
    current_channel: str


class SyncNicksParams(_Params):
    server: str
    active_nicks: list[str]


METHODS: dict[str, tuple[type[_Params], Any]] = {
    "connect_all": (NoParams, int),
    "close_all": (NoParams, None),
    "stats": (NoParams, dict[str, int]),
    "fetch_orderbook": (FetchOrderbookParams, list[Offer]),
    "send_privmsg": (SendPrivmsgParams, str),
    "wait_for_responses": (WaitForResponsesParams, dict[str, dict]),
    "wait_for_response": (WaitForResponseParams, dict | None),
    "bind_session": (NickParams, ChannelBinding | None),
    "upgrade_channel_prefer_direct": (UpgradeChannelParams, str),
    "try_direct_connect": (NickParams, None),
    "get_peer_location": (NickParams, str | None),
    "get_connected_peer": (NickParams, PeerHandle | None),
    "get_pending_connect_task": (NickParams, bool | None),  # resolves when the attempt ends
    "is_nick_active": (NickParams, bool),
    "sync_nicks_with_peerlist": (SyncNicksParams, None),
}


# -- typed errors ---------------------------------------------------------------------------

ERROR_TYPES: dict[str, type[BaseException]] = {cls.__name__: cls for cls in (
    ValueError, TypeError, KeyError, OverflowError, TimeoutError,
    MultiDirectoryError, DirectoryNotConnectedError, NoDirectConnectionError,
    AllRoutesFailedError, RefusedDestinationError, HandshakeRejectedByRemoteError,
    ClientClosedError, ControlProtocolError, DaemonRefusedError)}


def error_type_of(exc: BaseException) -> str:
    """The most specific name in :data:`ERROR_TYPES` that ``exc`` is an instance of."""
    for cls in type(exc).__mro__:
        if ERROR_TYPES.get(cls.__name__) is cls:
            return cls.__name__
    return MultiDirectoryError.__name__


def make_error(error_type: str, message: str) -> BaseException:
    """Rebuild a typed error; an unknown type becomes a MultiDirectoryError naming it."""
    cls = ERROR_TYPES.get(error_type)
    if cls is None:
        return MultiDirectoryError(f"{error_type}: {message}")
    return cls(message)


# -- framing and addresses ------------------------------------------------------------------

class RequestFramer:
    """Splits the client's byte stream into lines; an oversized line yields ``None``.

    :class:`protocol.framing.LineBuffer` treats an oversized line as fatal; here it is a
    request error, so the stream is fed one newline-terminated piece at a time (a line
    completed before the oversized one is never lost) and the rest of an oversized
    partial line is skipped up to its newline.
    """

    def __init__(self, max_line: int = MAX_REQUEST_LINE) -> None:
        self._buffer = LineBuffer(max_line)
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | None]:
        out: list[bytes | None] = []
        pieces = data.split(b"\n")
        for index, piece in enumerate(pieces):
            terminated = index < len(pieces) - 1
            if self._skipping:
                self._skipping = not terminated
                continue
            try:
                out.extend(self._buffer.feed(piece + b"\n" if terminated else piece))
            except LineTooLongError:
                out.append(None)
                self._skipping = not terminated
        return out


def parse_tcp_address(address: str | tuple[str, int]) -> tuple[str, int]:
    """``"127.0.0.1:port"`` / ``"[::1]:port"`` / a tuple → (host, port); loopback only."""
    if isinstance(address, tuple):
        host, port = address
    else:
        host, sep, port_text = str(address).rpartition(":")
        if not sep or not port_text.isdigit():
            raise ValueError(f"tcp_address: expected 'host:port', got {address!r}")
        port = int(port_text)
    host = str(host).strip("[]")
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"tcp_address: {host!r} is not loopback; the daemon only listens "
                         f"on {' or '.join(LOOPBACK_HOSTS)}")
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(f"tcp_address: invalid port {port!r}")
    return host, port


def format_tcp_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_cookie_path(socket_path: str | None) -> str:
    """The cookie sits next to the socket unless configured; TCP-only needs it explicitly."""
    if not socket_path:
        raise ValueError("cookie_path: required when there is no socket_path")
    return str(socket_path) + ".cookie"
