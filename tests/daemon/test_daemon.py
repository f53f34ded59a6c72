"""Daemon mode: the control protocol, its guards, and the remote facades against localnet.

In-process daemons (fast) cover the protocol and the facades; ``python -m
actors.app.daemon_localnet`` subprocesses cover what only a real process shows: SIGTERM while a client waits, a
restart the remote facade reconnects to, and a client process SIGKILLed mid-wait.
"""

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from actors.api.client import ClientCore
from actors.daemon.wire import (MAX_CONSECUTIVE_GARBAGE, MAX_REQUEST_LINE, PROTOCOL_VERSION,
                                 ControlProtocolError, DaemonRefusedError)
from actors.daemon.server import DaemonServer
from actors.shells.runtime import PeerHandle
from localnet.coinjoin import (build_auth_revelation, commitment_of, parse_auth_revelation,
                               random_utxo)
from localnet.network import LocalNet
from protocol.naclbox import NaclKeypair
from supervisor import (BlockingRemoteMultiDirectoryClient, ChannelBinding,
                        ClientClosedError, DirectoryNotConnectedError, Offer,
                        RemoteMultiDirectoryClient)
from tests.helpers.daemon import RawConn
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]
NOBODY = "J5nobodyAtAllXXX"


@pytest.fixture(scope="module")
def net():
    with LocalNet(makers=2) as running:
        yield running


def core_factory(net):
    return lambda identity: ClientCore(net.directory_servers, net.network, identity,
                                       net.socks_host, net.socks_port, connection_timeout=5.0)


@pytest.fixture
def daemon(net, tmp_path, request):
    shared = getattr(request, "param", True)
    with DaemonServer(core_factory(net), socket_path=str(tmp_path / "d.sock"),
                      tcp_address="127.0.0.1:0", shared_identity=shared) as server:
        yield server


def fill_data() -> str:
    commitment = commitment_of(parse_auth_revelation(build_auth_revelation(random_utxo())))
    return f"0 5000000 {NaclKeypair.generate().public_hex} {commitment}"


def start_daemon(tmp_path, *extra):
    """``python -m actors.app.daemon_localnet``; returns the process and its ``ready`` line."""
    log = open(tmp_path / "daemon.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.app.daemon_localnet", "--socket", str(tmp_path / "d.sock"),
         "--cookie", str(tmp_path / "cookie"), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
    log.close()
    line = proc.stdout.readline()
    assert line.startswith("ready "), f"daemon did not start: {line!r}"
    return proc, json.loads(line[len("ready "):])


def stop_daemon(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    proc.stdout.close()


def client_kwargs(info):
    return {"socket_path": info["socket_path"], "cookie_path": info["cookie_path"]}


# -- files, addresses, authentication -----------------------------------------------------

def test_socket_and_cookie_are_0600_and_tcp_is_loopback_only(daemon, net, tmp_path):
    address = daemon.address
    for path in (address["socket_path"], address["cookie_path"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_ISSOCK(os.stat(address["socket_path"]).st_mode)
    assert len(Path(address["cookie_path"]).read_text().strip()) == 64
    assert address["tcp_address"].startswith("127.0.0.1:")
    for bad in ("0.0.0.0:0", "192.168.1.10:9000", "example.com:1"):
        with pytest.raises(ValueError, match="tcp_address"):
            DaemonServer(core_factory(net), tcp_address=bad, cookie_path=str(tmp_path / "c"))
    with pytest.raises(RuntimeError, match="already listening"):
        DaemonServer(core_factory(net), socket_path=address["socket_path"],
                     cookie_path=str(tmp_path / "other.cookie")).start()
    daemon.stop()
    assert not os.path.exists(address["socket_path"]) and not os.path.exists(address["cookie_path"])


@pytest.mark.parametrize("cookie, version, reason", [
    ("", PROTOCOL_VERSION, "cookie"), ("ab" * 32, PROTOCOL_VERSION, "cookie"),
    (None, PROTOCOL_VERSION + 1, "version")])
def test_bad_hello_gets_an_error_and_is_closed(daemon, cookie, version, reason):
    conn = RawConn(daemon.address)
    reply = conn.hello(cookie, version)
    assert reply["type"] == "error" and reply["error_type"] == "DaemonRefusedError"
    assert reason in reply["message"]
    assert conn.recv() is None  # closed
    conn.close()
    assert daemon.stats()["refused"] == 1 and daemon.stats()["sessions_total"] == 0


def test_remote_facade_with_a_wrong_cookie_raises_typed(daemon, tmp_path):
    wrong = tmp_path / "wrong.cookie"
    wrong.write_text("00" * 32)
    client = BlockingRemoteMultiDirectoryClient(daemon.address["socket_path"],
                                                cookie_path=str(wrong))
    with pytest.raises(DaemonRefusedError, match="cookie"):
        client.connect_all()
    client.close_all()


# -- protocol robustness ------------------------------------------------------------------

def test_malformed_oversized_and_unknown_requests_get_typed_errors(daemon):
    conn = RawConn(daemon.address)
    assert conn.hello()["type"] == "hello_ok"
    conn.send(b"this is not json")
    reply = conn.recv()
    assert (reply["type"], reply["id"], reply["error_type"]) == (
        "error_response", None, "ControlProtocolError")
    conn.send({"type": "request", "id": 5, "method": "format_disk", "params": {}})
    reply = conn.recv()
    assert (reply["id"], reply["error_type"]) == (5, "ControlProtocolError")
    assert "unknown method" in reply["message"]
    conn.send({"type": "request", "id": 6, "method": "wait_for_responses",
               "params": {"expected_nicks": "not-a-list", "expected_command": "!pubkey"}})
    reply = conn.recv()
    assert (reply["id"], reply["error_type"]) == (6, "ValueError")
    conn.send({"type": "request", "id": 7, "method": "send_privmsg",
               "params": {"recipient": NOBODY, "command": "fill", "data": "x",
                          "force_channel": "sideways"}})
    assert conn.recv()["error_type"] == "ValueError"  # raised by the core, sent typed
    conn.send(b'{"type":"request","id":8,"method":"stats","params":{"pad":"'
              + b"x" * MAX_REQUEST_LINE + b'"}}')
    reply = conn.recv()
    assert (reply["id"], reply["error_type"]) == (None, "ControlProtocolError")
    assert "1 MiB" in reply["message"]
    conn.send({"type": "request", "id": 9, "method": "is_nick_active", "params": {"nick": NOBODY}})
    assert conn.recv() == {"type": "response", "id": 9, "result": False}  # still serving
    for _ in range(MAX_CONSECUTIVE_GARBAGE):
        conn.send(b"{garbage")
    replies = [conn.recv() for _ in range(MAX_CONSECUTIVE_GARBAGE + 1)]
    assert [r["type"] for r in replies] == ["error_response"] * MAX_CONSECUTIVE_GARBAGE + ["error"]
    assert conn.recv() is None
    conn.close()


def test_remote_errors_are_reraised_with_their_types_over_tcp(daemon, net):
    address = daemon.address
    with BlockingRemoteMultiDirectoryClient(tcp_address=address["tcp_address"],
                                            cookie_path=address["cookie_path"]) as client:
        with pytest.raises(ValueError, match="force_channel"):
            client.send_privmsg(NOBODY, "fill", "x", force_channel="sideways")
        with pytest.raises(DirectoryNotConnectedError, match="nowhere.onion"):
            client.send_privmsg(NOBODY, "fill", "x", force_channel="directory:nowhere.onion:5222")
        with pytest.raises(ValueError):
            client.sync_nicks_with_peerlist("", [])
    assert issubclass(ControlProtocolError, ValueError)  # protocol misuse reads as ValueError


# -- the remote facades against localnet makers -------------------------------------------

def test_asyncio_remote_full_flow(daemon, net):
    left = []

    async def flow():
        client = RemoteMultiDirectoryClient(**daemon.address, on_nick_leave=left.append)
        assert client.bind_session(NOBODY) is None  # nothing known before the first call
        assert await client.connect_all() == 3
        offers = await client.fetch_orderbook(max_wait=3.0, min_wait=0.3, quiet_period=0.2)
        assert {o.counterparty for o in offers} == {m.nick for m in net.makers[:2]}
        assert all(isinstance(o, Offer) and isinstance(o.fidelity_bond_data, (dict, type(None)))
                   for o in offers)
        maker = net.makers[0].nick
        binding = client.bind_session(maker)
        assert isinstance(binding, ChannelBinding) and not binding.is_direct
        assert client.is_nick_active(maker)
        assert client.get_peer_location(maker) == net.makers[0].location
        channel = await client.send_privmsg(maker, "fill", fill_data())
        assert channel.startswith("directory:")
        replies = await client.wait_for_responses([maker], "!pubkey", timeout=5.0)
        assert len(replies[maker]["args"].split()[0]) == 64
        attempt = client.get_pending_connect_task(maker)  # started by the relayed send
        assert attempt is not None and await attempt is True
        await asyncio.sleep(0.3)
        assert isinstance(client.get_connected_peer(maker), PeerHandle)
        assert client.upgrade_channel_prefer_direct(maker, channel) == "direct"
        assert client.bind_session(maker).is_direct
        assert await client.send_privmsg(maker, "fill", fill_data()) == "direct"
        reply = await client.wait_for_response(maker, "!pubkey", timeout=5.0)
        assert reply is not None and "data" in reply
        extra = net.add_maker()
        await asyncio.sleep(0.5)
        net.remove_maker(extra.nick)
        for _ in range(100):
            if left:
                break
            await asyncio.sleep(0.05)
        assert left == [extra.nick]
        await client.close_all()
        await client.close_all()  # idempotent
        with pytest.raises(ClientClosedError):
            await client.connect_all()
        with pytest.raises(ClientClosedError):
            client.is_nick_active(maker)

    asyncio.run(flow())
    wait_until(lambda: daemon.stats()["sessions"] == 0)


@pytest.mark.parametrize("daemon", [True, False], ids=["shared", "per-session"], indirect=True)
def test_two_clients_wait_concurrently_on_different_makers(daemon, net):
    makers = [m.nick for m in net.makers[:2]]

    async def one(client, maker):
        await client.send_privmsg(maker, "fill", fill_data())
        return await client.wait_for_responses([maker], "!pubkey", timeout=5.0)

    async def both():
        clients = [RemoteMultiDirectoryClient(**daemon.address) for _ in makers]
        for client in clients:
            assert await client.connect_all() == 3
        if not daemon.shared_identity:
            assert clients[0].nick != clients[1].nick
            assert daemon.stats()["session_cores"] == 2
        results = await asyncio.gather(*(one(c, m) for c, m in zip(clients, makers)))
        for client in clients:
            await client.close_all()
        return results

    results = asyncio.run(both())
    assert [set(r) for r in results] == [{makers[0]}, {makers[1]}]
    wait_until(lambda: daemon.stats()["sessions"] == 0)
    assert daemon.stats()["session_cores"] == 0


CLIENT_SCRIPT = textwrap.dedent("""
    import sys
    from supervisor import BlockingRemoteMultiDirectoryClient
    client = BlockingRemoteMultiDirectoryClient(sys.argv[1], cookie_path=sys.argv[2])
    client.connect_all()
    print("waiting", flush=True)
    client.wait_for_responses([sys.argv[3]], "!pubkey", timeout=30.0)
""")


def test_client_killed_mid_wait_leaves_no_pending_request(daemon, net):
    address = daemon.address
    proc = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, address["socket_path"],
                             address["cookie_path"], NOBODY],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "waiting"
        wait_until(lambda: daemon.stats()["pending_requests"] == 1)
        proc.kill()
        proc.wait(timeout=5)
    finally:
        proc.stdout.close()
    wait_until(lambda: daemon.stats()["sessions"] == 0 and daemon.stats()["pending_requests"] == 0)
    inbox = daemon.shared_core.ctx.book.get("inbox").proxy()
    wait_until(lambda: inbox.book.get().pending == 0)  # the core's wait was dropped too
    with BlockingRemoteMultiDirectoryClient(**address) as client:  # still serving
        maker = net.makers[1].nick
        client.send_privmsg(maker, "fill", fill_data())
        assert maker in client.wait_for_responses([maker], "!pubkey", timeout=5.0)


# -- a daemon process ----------------------------------------------------------------------

def test_subprocess_daemon_full_flow_over_blocking_remote(tmp_path):
    proc, info = start_daemon(tmp_path, "--makers", "1")
    try:
        with BlockingRemoteMultiDirectoryClient(**client_kwargs(info)) as client:
            offers = client.fetch_orderbook(max_wait=3.0, min_wait=0.3, quiet_period=0.2)
            assert {o.counterparty for o in offers} == set(info["makers"])
            maker = info["makers"][0]
            client.send_privmsg(maker, "fill", fill_data())
            assert maker in client.wait_for_responses([maker], "!pubkey", timeout=5.0)
            assert client.get_peer_location(maker) is not None
    finally:
        stop_daemon(proc)


def test_sigterm_fails_the_wait_fast_and_a_restart_is_reconnected(tmp_path):
    proc, info = start_daemon(tmp_path, "--makers", "0")

    async def scenario():
        client = RemoteMultiDirectoryClient(**client_kwargs(info), reconnect=True)
        assert await client.connect_all() == 3
        first_nick = client.nick
        wait = asyncio.ensure_future(client.wait_for_responses([NOBODY], "!pubkey", timeout=30.0))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(ClientClosedError, match="lost while the call was in flight"):
            await wait
        assert time.monotonic() - started < 3.0
        assert await asyncio.to_thread(proc.wait, 20) == 0
        restarted, _ = await asyncio.to_thread(start_daemon, tmp_path, "--makers", "0")
        try:
            assert await client.connect_all() == 3  # waits for the background reconnect
            assert client.nick != first_nick  # a new daemon process, a new identity
            await client.close_all()
        finally:
            await asyncio.to_thread(stop_daemon, restarted)

    try:
        asyncio.run(scenario())
    finally:
        proc.stdout.close()
