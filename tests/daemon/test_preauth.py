"""What a connection that has not authenticated can cost the daemon (issue 12, item 5).

A stranger gets at most a 4 KiB hello line and one of 64 waiting slots; beyond either it
is refused and closed, while authenticated sessions keep being served. The request
table is checked against the wire schema here too.
"""

import json

import pytest

from actors.api.client import ClientCore
from actors.daemon.auth import MAX_HELLO_LINE, MAX_UNAUTHENTICATED
from actors.daemon.methods import DISPATCH
from actors.daemon.server import DaemonServer
from actors.daemon.wire import MAX_CLIENT_NAME, METHODS, PROTOCOL_VERSION, Hello, encode_line
from localnet.network import LocalNet
from supervisor import BlockingRemoteMultiDirectoryClient
from tests.helpers.daemon import RawConn
from tests.helpers.polling import wait_until

NOBODY = "J5nobodyAtAllXXX"


@pytest.fixture(scope="module")
def net():
    with LocalNet(makers=0) as running:
        yield running


@pytest.fixture
def daemon(net, tmp_path):
    def factory(identity):
        return ClientCore(net.directory_servers, net.network, identity, net.socks_host,
                          net.socks_port, connection_timeout=5.0)
    with DaemonServer(factory, socket_path=str(tmp_path / "d.sock")) as server:
        yield server


def test_the_request_table_matches_the_wire_schema():
    assert set(DISPATCH) == set(METHODS)
    for name, method in DISPATCH.items():
        assert method.params is METHODS[name][0], name


def test_an_oversize_hello_line_is_refused_and_closed(daemon):
    conn = RawConn(daemon.address)
    conn.sock.sendall(b"x" * (MAX_HELLO_LINE * 4))  # no newline: a hello that never ends
    reply = conn.recv()
    assert reply is not None and reply["type"] == "error"
    assert reply["error_type"] == "DaemonRefusedError" and "exceeds" in reply["message"]
    assert conn.recv() is None  # closed
    conn.close()
    assert daemon.stats()["refused"] == 1 and daemon.stats()["sessions_total"] == 0


def test_strangers_beyond_the_cap_are_refused_while_sessions_are_served(daemon):
    member = RawConn(daemon.address)
    member.sock.sendall(member.hello_line())
    assert member.recv()["type"] == "hello_ok"
    strangers = [RawConn(daemon.address) for _ in range(MAX_UNAUTHENTICATED)]
    try:
        for stranger in strangers:
            stranger.sock.sendall(b'{"type":"hel')  # a hello, started and never finished
        wait_until(lambda: daemon.stats()["unauthenticated"] == MAX_UNAUTHENTICATED,
                   what="every stranger admitted")
        extra = RawConn(daemon.address)
        reply = extra.recv()
        assert reply["type"] == "error" and "too many" in reply["message"]
        assert extra.recv() is None
        extra.close()
        assert daemon.stats()["refused_over_cap"] == 1

        member.sock.sendall(json.dumps({"type": "request", "id": 1, "method": "is_nick_active",
                                        "params": {"nick": NOBODY}}).encode() + b"\n")
        assert member.recv() == {"type": "response", "id": 1, "result": False}

        strangers.pop().close()  # a slot frees up: the next newcomer may authenticate
        wait_until(lambda: daemon.stats()["unauthenticated"] == MAX_UNAUTHENTICATED - 1,
                   what="the closed stranger leaving")
        late = RawConn(daemon.address)
        late.sock.sendall(late.hello_line())
        assert late.recv()["type"] == "hello_ok"
        late.close()
    finally:
        for stranger in strangers:
            stranger.close()
        member.close()
    wait_until(lambda: daemon.stats()["unauthenticated"] == 0, what="strangers gone")


def test_a_large_request_sent_with_the_hello_is_served(daemon):
    """The 4 KiB cap is for the hello only: a request in the same write keeps its 1 MiB."""
    conn = RawConn(daemon.address)
    nick = "J" * (MAX_HELLO_LINE * 3)
    request = json.dumps({"type": "request", "id": 2, "method": "is_nick_active",
                          "params": {"nick": nick}}).encode() + b"\n"
    conn.sock.sendall(conn.hello_line() + request)
    assert conn.recv()["type"] == "hello_ok"
    assert conn.recv() == {"type": "response", "id": 2, "result": False}
    conn.close()


def test_the_longest_client_name_fits_the_hello_cap_and_a_longer_one_is_refused_at_construction():
    worst = "\x01" * MAX_CLIENT_NAME  # every character \u-escaped in JSON: 6 bytes each
    line = encode_line(Hello(PROTOCOL_VERSION, "ab" * 32, worst))
    assert len(line) <= MAX_HELLO_LINE
    with pytest.raises(ValueError, match="client_name"):
        BlockingRemoteMultiDirectoryClient("/nonexistent.sock",
                                           client_name="x" * (MAX_CLIENT_NAME + 1))
