"""The onion SOCKS5 gateway, driven by real SOCKS clients over loopback sockets.

Each test goes through the same client code production uses (python-socks with remote
DNS, and ``actors.net.transport.dial`` itself) or through PySocks, to a small echo server,
so a mismatch between the gateway and what Tor would answer shows up as a wrong error
class in the client, not only as a wrong byte.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import socks
from python_socks import ProxyError, ProxyType
from python_socks.sync import Proxy

import localnet.socks_gateway as gateway_module
from actors.errors import (
    DestinationRefusedError,
    DestinationUnreachableError,
    ProxyAuthError,
    ProxyProtocolError,
    ProxyUnreachableError,
)
from actors.net.transport import (
    CATEGORY_DIRECTORY,
    CATEGORY_PEER,
    PROCESS_ISOLATION_TOKEN,
    SocketTransport,
    SocksConfig,
    dial,
)
from localnet.socks_gateway import (
    REP_REFUSED,
    ConnectionRecord,
    OnionSocksGateway,
    SocksRefusal,
    _parse_map,
)
from tests.helpers.polling import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 5.0


def make_onion(seed: str) -> str:
    """A valid v3 onion name (key, checksum, version), deterministic per seed."""
    pubkey = hashlib.sha256(seed.encode()).digest()
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


ONION_A = make_onion("directory-a")
ONION_B = make_onion("directory-b")
ONION_UNMAPPED = make_onion("nobody")


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass


class EchoServer(socketserver.ThreadingTCPServer):
    """Loopback echo server counting accepted connections (to prove none was made)."""

    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.accepted = 0

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        self.accepted += 1
        super().process_request(request, client_address)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()  # joins the handler threads
    thread.join()


@pytest.fixture
def gateway(echo: EchoServer, caplog: pytest.LogCaptureFixture) -> Iterator[OnionSocksGateway]:
    with OnionSocksGateway() as gw:
        gw.map(ONION_A, 80, echo.server_address)
        gw.map(ONION_B, 80, echo.server_address)
        yield gw
    assert_no_loop_errors(caplog)


def assert_no_loop_errors(caplog: pytest.LogCaptureFixture) -> None:
    """asyncio logs (rather than raises) errors in connection callbacks: fail on them."""
    errors = [r.getMessage() for r in caplog.records
              if r.name == "asyncio" and r.levelno >= logging.ERROR]
    assert not errors


def config(gw: OnionSocksGateway, isolation: bool = False) -> SocksConfig:
    host, port = gw.address
    return SocksConfig(host=host, port=port, stream_isolation=isolation)


def dial_via(gw: OnionSocksGateway, host: str = ONION_A, port: int = 80, isolation: bool = False,
             category: str = CATEGORY_DIRECTORY) -> SocketTransport:
    return dial(host, port, config(gw, isolation), category, timeout=TIMEOUT)


def python_socks_connect(gw: OnionSocksGateway, host: str, port: int = 80,
                         username: str | None = None, password: str | None = None) -> socket.socket:
    proxy = Proxy(ProxyType.SOCKS5, *gw.address, username=username, password=password, rdns=True)
    return proxy.connect(dest_host=host, dest_port=port, timeout=TIMEOUT)


def recv_exactly(recv: Callable[[int], bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = recv(size - len(data))
        assert chunk, f"stream closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def round_trip(transport: SocketTransport, payload: bytes) -> None:
    transport.send(payload)
    assert recv_exactly(transport.recv, len(payload)) == payload


def raw_socks(gw: OnionSocksGateway, request: bytes) -> bytes:
    """Greet with "no auth", send a raw request, return the 10-byte reply."""
    with socket.create_connection(gw.address, timeout=TIMEOUT) as sock:
        sock.sendall(b"\x05\x01\x00")
        assert recv_exactly(sock.recv, 2) == b"\x05\x00"
        sock.sendall(request)
        return recv_exactly(sock.recv, 10)


def domain_request(host: str, port: int, command: int = 1) -> bytes:
    name = host.encode()
    return bytes([5, command, 0, 3, len(name)]) + name + port.to_bytes(2, "big")


def assert_dropped(transport: SocketTransport) -> None:
    """The relay is gone: recv sees EOF or a reset (bounded, so a live relay fails fast)."""
    transport._sock.settimeout(TIMEOUT)  # the Transport API has no timeout of its own
    try:
        assert transport.recv(10) == b""
    except ConnectionResetError:
        pass


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until the peer closes; a reset counts as closed."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    return data


# -- third-party SOCKS clients ---------------------------------------------------------------


def test_python_socks_rdns_round_trip(gateway: OnionSocksGateway) -> None:
    with python_socks_connect(gateway, ONION_A) as sock:
        sock.sendall(b"ping")
        assert recv_exactly(sock.recv, 4) == b"ping"
    assert gateway.connections == (ConnectionRecord(None, None, ONION_A, 80, "ok", 3),)


def test_pysocks_rdns_round_trip(gateway: OnionSocksGateway) -> None:
    with socks.socksocket() as sock:
        sock.set_proxy(socks.SOCKS5, *gateway.address, rdns=True, username="u", password="p")
        sock.settimeout(TIMEOUT)
        sock.connect((ONION_B, 80))
        sock.sendall(b"hello")
        assert recv_exactly(sock.recv, 5) == b"hello"
    assert gateway.connections == (ConnectionRecord("u", "p", ONION_B, 80, "ok", 3),)


def test_pysocks_unmapped_onion_is_host_unreachable(gateway: OnionSocksGateway) -> None:
    with socks.socksocket() as sock:
        sock.set_proxy(socks.SOCKS5, *gateway.address, rdns=True)
        sock.settimeout(TIMEOUT)
        with pytest.raises(socks.ProxyError, match="0x04"):
            sock.connect((ONION_UNMAPPED, 80))


def test_non_onion_name_is_host_unreachable(gateway: OnionSocksGateway, echo: EchoServer) -> None:
    with pytest.raises(ProxyError) as raised:
        python_socks_connect(gateway, "localhost", echo.server_address[1])
    assert raised.value.error_code == 4
    assert gateway.connections[-1].outcome == "unmapped"
    assert echo.accepted == 0


@pytest.mark.parametrize("literal", ["127.0.0.1", "::1"])
def test_ip_literal_refused_and_never_dialled(gateway: OnionSocksGateway, echo: EchoServer,
                                              literal: str) -> None:
    with pytest.raises(ProxyError) as raised:
        python_socks_connect(gateway, literal, echo.server_address[1])
    assert raised.value.error_code == 2
    record = gateway.connections[-1]
    assert (record.outcome, record.dest_host, record.atyp) == (
        "ip-literal-refused", literal, 1 if "." in literal else 4)
    assert echo.accepted == 0


# -- the production dial path ---------------------------------------------------------------


def test_dial_round_trips_both_ways(gateway: OnionSocksGateway) -> None:
    transport = dial_via(gateway)
    try:
        round_trip(transport, b"client to server and back")
        round_trip(transport, bytes(range(256)) * 1000)  # bigger than one relay chunk
    finally:
        transport.close()
    assert [r.outcome for r in gateway.connections] == ["ok"]
    assert gateway.connections[0].username is None


def test_dial_unmapped_onion(gateway: OnionSocksGateway) -> None:
    with pytest.raises(DestinationUnreachableError):
        dial_via(gateway, ONION_UNMAPPED)
    with pytest.raises(DestinationUnreachableError):
        dial_via(gateway, ONION_A, 81)  # mapped name, unmapped port
    assert [r.outcome for r in gateway.connections] == ["unmapped", "unmapped"]


def test_dial_mapped_target_down(gateway: OnionSocksGateway) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        dead = placeholder.getsockname()
    gateway.map(ONION_A, 80, dead)
    with pytest.raises(DestinationRefusedError):
        dial_via(gateway)
    assert gateway.connections[-1].outcome == "refused"


def test_dial_malformed_onion_is_general_failure(gateway: OnionSocksGateway) -> None:
    with pytest.raises(DestinationUnreachableError, match="General SOCKS server failure"):
        dial_via(gateway, "tooshort.onion")
    with pytest.raises(DestinationUnreachableError, match="General SOCKS server failure"):
        dial_via(gateway, ONION_A.replace(ONION_A[0], "1"))  # '1' is not base32
    assert [r.outcome for r in gateway.connections] == ["bad-onion", "bad-onion"]


def test_dial_accepts_case_trailing_dot_and_subdomains(gateway: OnionSocksGateway) -> None:
    for host in (ONION_A.upper(), ONION_A + ".", "www." + ONION_A):
        transport = dial_via(gateway, host)
        try:
            round_trip(transport, b"x")
        finally:
            transport.close()


def test_unmap_makes_onion_unreachable(gateway: OnionSocksGateway) -> None:
    gateway.unmap(ONION_A, 80)
    gateway.unmap(ONION_A, 80)  # absent: no-op
    with pytest.raises(DestinationUnreachableError):
        dial_via(gateway)


def test_require_auth_refuses_client_without_credentials(echo: EchoServer) -> None:
    with OnionSocksGateway(require_auth=True) as gw:
        gw.map(ONION_A, 80, echo.server_address)
        with pytest.raises(ProxyAuthError):
            dial_via(gw, isolation=False)
        assert gw.connections[-1].outcome == "auth-failed"
        dial_via(gw, isolation=True).close()  # any credentials do when none are configured


def test_wrong_password_is_auth_error(echo: EchoServer) -> None:
    credentials = {CATEGORY_DIRECTORY: PROCESS_ISOLATION_TOKEN}
    with OnionSocksGateway(require_auth=True, credentials=credentials) as gw:
        gw.map(ONION_A, 80, echo.server_address)
        dial_via(gw, isolation=True, category=CATEGORY_DIRECTORY).close()
        with pytest.raises(ProxyAuthError):
            dial(ONION_A, 80, SocksConfig(*gw.address, stream_isolation=True,
                                          isolation_token="0" * 32), CATEGORY_DIRECTORY, TIMEOUT)
        with pytest.raises(ProxyAuthError):
            dial_via(gw, isolation=True, category=CATEGORY_PEER)  # unknown user
    assert [r.outcome for r in gw.connections] == ["ok", "auth-failed", "auth-failed"]
    assert gw.connections[1].password == "0" * 32


def test_stream_isolation_credentials_are_recorded(gateway: OnionSocksGateway) -> None:
    for category in (CATEGORY_DIRECTORY, CATEGORY_PEER):
        dial_via(gateway, isolation=True, category=category).close()
    records = gateway.connections
    assert [r.username for r in records] == ["jm-directory", "jm-peer"]
    assert records[0].password == records[1].password == PROCESS_ISOLATION_TOKEN
    assert re.fullmatch(r"[0-9a-f]{32}", records[0].password or "")


def test_stopped_gateway_is_proxy_unreachable(echo: EchoServer) -> None:
    gw = OnionSocksGateway().start()
    gw.stop()
    with pytest.raises(ProxyUnreachableError):
        dial_via(gw)


# -- protocol edges ------------------------------------------------------------------------


def test_only_connect_is_supported(gateway: OnionSocksGateway) -> None:
    assert raw_socks(gateway, domain_request(ONION_A, 80, command=2))[1] == 7
    assert gateway.connections[-1].outcome == "bad-command"


def test_unknown_address_type(gateway: OnionSocksGateway) -> None:
    assert raw_socks(gateway, b"\x05\x01\x00\x09")[1] == 8
    assert gateway.connections[-1].outcome == "bad-request"


@pytest.mark.parametrize(("greeting", "outcome", "reply"), [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad-request", b""),
    (b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", "bad-request", b""),  # SOCKS4
    (b"\x05", "bad-request", b""),  # truncated, then EOF
    (b"\x05\x01\x01", "auth-failed", b"\x05\xff"),  # GSSAPI only
    (b"\x05\x00", "auth-failed", b"\x05\xff"),  # no methods at all
])
def test_garbage_greeting_is_dropped_and_gateway_keeps_serving(
        gateway: OnionSocksGateway, greeting: bytes, outcome: str, reply: bytes) -> None:
    with socket.create_connection(gateway.address, timeout=TIMEOUT) as sock:
        sock.sendall(greeting)
        sock.shutdown(socket.SHUT_WR)
        assert read_to_end(sock) == reply
    assert [r.outcome for r in gateway.connections] == [outcome]
    transport = dial_via(gateway)
    try:
        round_trip(transport, b"still serving")
    finally:
        transport.close()


def test_silent_client_times_out(gateway: OnionSocksGateway,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_module, "HANDSHAKE_TIMEOUT", 0.2)
    with socket.create_connection(gateway.address, timeout=TIMEOUT) as sock:
        assert read_to_end(sock) == b""
    assert [r.outcome for r in gateway.connections] == ["bad-request"]


def test_on_connect_hook_can_refuse(gateway: OnionSocksGateway) -> None:
    seen: list[ConnectionRecord] = []

    def refuse_b(info: ConnectionRecord) -> None:
        seen.append(info)
        if info.dest_host == ONION_B:
            raise SocksRefusal(REP_REFUSED)

    gateway.on_connect = refuse_b
    dial_via(gateway, ONION_A).close()
    with pytest.raises(DestinationRefusedError):
        dial_via(gateway, ONION_B)
    assert [(r.dest_host, r.outcome) for r in seen] == [(ONION_A, "pending"), (ONION_B, "pending")]
    assert gateway.connections[-1].outcome == "hook-refused"

    gateway.on_connect = lambda info: 1 / 0  # any other exception: general failure
    with pytest.raises(DestinationUnreachableError):
        dial_via(gateway, ONION_A)


def test_map_validation() -> None:
    gw = OnionSocksGateway()
    for target in [("10.0.0.1", 80), ("8.8.8.8", 80), ("localhost", 80), ("127.0.0.1", 0)]:
        with pytest.raises(ValueError):
            gw.map(ONION_A, 80, target)
    for onion in ["example.com", "abc.onion", ONION_A[:-6] + "x.onion"]:  # last: 57 chars
        with pytest.raises(ValueError):
            gw.map(onion, 80, ("127.0.0.1", 9))
    with pytest.raises(ValueError):
        OnionSocksGateway(host="0.0.0.0")
    gw.map(ONION_A.upper(), 80, ("::1", 9))  # names are case-insensitive, ::1 is loopback
    with pytest.raises(ValueError):
        gw.kill("not-an-onion")


# -- load, drops, lifecycle ------------------------------------------------------------------


def test_100_concurrent_connections_relay(gateway: OnionSocksGateway) -> None:
    def open_and_echo(index: int) -> SocketTransport:
        transport = dial_via(gateway, ONION_A if index % 2 else ONION_B)
        round_trip(transport, f"connection {index} ".encode() * 50)
        return transport

    with ThreadPoolExecutor(max_workers=100) as pool:
        transports = list(pool.map(open_and_echo, range(100)))
    try:
        assert gateway.active_connections() == 100
        with ThreadPoolExecutor(max_workers=100) as pool:
            list(pool.map(round_trip, transports, [b"second pass"] * 100))
    finally:
        for transport in transports:
            transport.close()
    wait_until(lambda: gateway.active_connections() == 0)
    assert len(gateway.connections) == 100


def test_kill_drops_live_relays_to_one_onion(gateway: OnionSocksGateway) -> None:
    doomed = [dial_via(gateway, ONION_A) for _ in range(2)]
    survivor = dial_via(gateway, ONION_B)
    try:
        assert gateway.kill(ONION_B, 81) == 0
        assert gateway.kill(ONION_A) == 2
        for transport in doomed:
            assert_dropped(transport)
        round_trip(survivor, b"unaffected")
        wait_until(lambda: gateway.active_connections() == 1)
    finally:
        for transport in [*doomed, survivor]:
            transport.close()


def test_stop_closes_relays_and_leaves_no_thread(echo: EchoServer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    before = set(threading.enumerate())
    gw = OnionSocksGateway()
    assert gw.start() is gw.start()  # idempotent
    gw.map(ONION_A, 80, echo.server_address)
    transport = dial_via(gw)
    try:
        round_trip(transport, b"alive")
        gw.stop()
        gw.stop()  # idempotent
        assert_dropped(transport)
    finally:
        transport.close()
    assert not [t for t in threading.enumerate()
                if t not in before and t.name == "onion-socks-gateway"]
    assert gw.active_connections() == 0 and gw.kill(ONION_A) == 0
    with pytest.raises(RuntimeError):
        gw.start()
    assert_no_loop_errors(caplog)


def test_clear_records(gateway: OnionSocksGateway) -> None:
    dial_via(gateway).close()
    gateway.clear_records()
    assert gateway.connections == ()


# -- CLI ------------------------------------------------------------------------------------


def test_parse_map() -> None:
    assert _parse_map(f"{ONION_A}:80=127.0.0.1:8080") == (ONION_A, 80, ("127.0.0.1", 8080))
    assert _parse_map(f"{ONION_A}:80=[::1]:8080") == (ONION_A, 80, ("::1", 8080))


def test_cli_serves_until_sigterm(echo: EchoServer) -> None:
    target = f"127.0.0.1:{echo.server_address[1]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "localnet.socks_gateway", "--map", f"{ONION_A}:80={target}"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        host, port = re.search(r"on (\S+):(\d+)", line).groups()  # type: ignore[union-attr]
        transport = dial(ONION_A, 80, SocksConfig(host, int(port)), CATEGORY_DIRECTORY, TIMEOUT)
        try:
            round_trip(transport, b"via the CLI")
        finally:
            transport.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_dial_maps_a_hostname_socks5_cannot_carry_to_a_typed_error(gateway: OnionSocksGateway):
    """A name over 255 bytes fails in python-socks with ValueError; callers get a TransportError."""
    with pytest.raises(ProxyProtocolError, match="cannot be requested through SOCKS5"):
        dial("a" * 300 + ".onion", 80, SocksConfig(port=gateway.port), "jm-directory", 5)
