"""The local fake directory over real loopback sockets, both profiles (PROTOCOL.md §11).

Clients here are deliberately dumb blocking sockets that speak the wire format through
``protocol`` only, so a test failure points at the directory, not at a client library.
"""

import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import pytest

from localnet.directory import DirectoryServer
from protocol import nickauth
from protocol.crypto import NickIdentity
from protocol.envelope import Envelope, MsgType, decode_envelope, encode_envelope
from protocol.framing import LineBuffer
from protocol.handshake import NOT_SERVING, build_peer_handshake, parse_directory_handshake
from protocol.jmmessage import format_pubmsg
from protocol.peerlist import parse_peerlist

REPO = Path(__file__).resolve().parents[2]
MAKER_ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:5222"
NG_FEATURES = ("peerlist_features", "ping")
DN_KEYS = {"app-name", "directory", "proto-ver-min", "proto-ver-max", "features", "accepted",
           "nick", "network", "motd"}


class Closed(Exception):
    """The directory closed (or reset) the connection."""


class Client:
    """A blocking line client: one socket, one LineBuffer, nothing clever."""

    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=2.0)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = LineBuffer(max_line=1_000_000)
        self.lines: deque[bytes] = deque()
        self.handshake_line = ""

    def send_raw(self, raw: bytes) -> None:
        self.sock.sendall(raw + b"\r\n")

    def send(self, msg_type: int, line: str = "") -> None:
        self.send_raw(encode_envelope(msg_type, line))

    def recv_raw(self, timeout: float = 2.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not self.lines:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("nothing received")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionError as exc:
                raise Closed() from exc
            if not data:
                raise Closed()
            self.lines.extend(self.buffer.feed(data))
        return self.lines.popleft()

    def recv(self, timeout: float = 2.0) -> Envelope:
        return decode_envelope(self.recv_raw(timeout))

    def expect(self, msg_type: int, timeout: float = 2.0) -> Envelope:
        env = self.recv(timeout)
        assert env.type == msg_type, env
        return env

    def silent(self, period: float = 0.2) -> bool:
        """True if nothing arrives (and the link stays open) for ``period`` seconds."""
        try:
            self.recv_raw(period)
        except TimeoutError:
            return True
        return False

    def is_closed(self, timeout: float = 2.0) -> bool:
        """Wait for EOF, discarding whatever arrives before it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.recv_raw(deadline - time.monotonic())
            except Closed:
                return True
            except TimeoutError:
                return False
        return False

    def hello(self, nick, network="regtest", features=NG_FEATURES, location=NOT_SERVING):
        self.handshake_line = build_peer_handshake(nick, network, features, location)
        self.send(MsgType.HANDSHAKE, self.handshake_line)

    def join(self, nick, **kwargs):
        """Handshake and return the parsed, accepted DN_HANDSHAKE."""
        self.hello(nick, **kwargs)
        reply = parse_directory_handshake(self.expect(MsgType.DN_HANDSHAKE).line)
        assert reply.accepted, reply.motd
        return reply

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve():
    started = []

    def start(**kwargs) -> DirectoryServer:
        kwargs.setdefault("routable_delay", 0)
        directory = DirectoryServer(**kwargs).start()
        started.append(directory)
        return directory

    yield start
    for directory in started:
        directory.stop()


@pytest.fixture
def connect():
    clients = []

    def make(directory) -> Client:
        client = Client(directory.address)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def wait_for(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- handshake


@pytest.mark.parametrize("profile", ["ng", "ref"])
def test_handshake_accepted_with_exact_reply_keys(serve, connect, profile):
    d = serve(profile=profile)
    c = connect(d)
    c.hello("J5alice")
    env = c.expect(MsgType.DN_HANDSHAKE)
    body = json.loads(env.line)
    assert set(body) == DN_KEYS
    assert body["accepted"] is True and body["directory"] is True
    assert body["nick"] == d.nick and body["network"] == "regtest"
    assert (body["proto-ver-min"], body["proto-ver-max"]) == (5, 5)
    expected = {"peerlist_features": True, "ping": True} if profile == "ng" else {}
    assert body["features"] == expected
    assert d.connected_nicks() == {"J5alice"}
    assert d.location == f"{d.onion_host}:5222" and len(d.onion_host) == 62


def test_ng_rejects_duplicate_live_nick(serve, connect):
    d = serve()
    connect(d).join("J5alice")
    dup = connect(d)
    dup.hello("J5alice")
    reply = parse_directory_handshake(dup.expect(MsgType.DN_HANDSHAKE).line)
    assert not reply.accepted
    assert reply.motd == "Rejected: Peer nick already registered: J5alice"
    assert dup.is_closed()
    assert d.stats().handshakes_rejected == 1


def test_ref_accepts_duplicate_nick(serve, connect):
    d = serve(profile="ref")
    connect(d).join("J5alice")
    connect(d).join("J5alice")


_GOOD = build_peer_handshake("J5bad", "regtest")
BAD_HANDSHAKES = {
    "network": build_peer_handshake("J5bad", "mainnet"),
    "app-name": _GOOD.replace('"joinmarket"', '"other"'),
    "proto-ver": _GOOD.replace('"proto-ver": 5', '"proto-ver": 4'),
    "directory": _GOOD.replace('"directory": false', '"directory": true'),
    "clearnet-location": build_peer_handshake("J5bad", "regtest", location="127.0.0.1:5222"),
}


@pytest.mark.parametrize("case", sorted(BAD_HANDSHAKES))
def test_ng_closes_silently_on_invalid_handshake(serve, connect, case):
    d = serve()
    c = connect(d)
    c.send(MsgType.HANDSHAKE, BAD_HANDSHAKES[case])
    with pytest.raises(Closed):
        c.recv()
    assert d.stats().handshakes_rejected == 1 and not d.connected_nicks()


@pytest.mark.parametrize("first", [
    (MsgType.PUBMSG, "J5bad!PUBLIC!orderbook"), (MsgType.HANDSHAKE, "{not json"),
])
def test_ng_closes_silently_on_bad_first_line(serve, connect, first):
    c = connect(serve())
    c.send(*first)
    with pytest.raises(Closed):
        c.recv()


@pytest.mark.parametrize("case", ["network", "app-name", "proto-ver", "directory"])
def test_ref_replies_not_accepted_and_keeps_link(serve, connect, case):
    d = serve(profile="ref")
    c = connect(d)
    c.send(MsgType.HANDSHAKE, BAD_HANDSHAKES[case])
    reply = parse_directory_handshake(c.expect(MsgType.DN_HANDSHAKE).line)
    assert not reply.accepted
    c.join("J5good")  # the link survived; a corrected handshake is accepted


def test_ng_handshake_timeout_closes_a_silent_connection(serve, connect):
    d = serve(handshake_timeout=0.2)
    idle = connect(d)
    assert idle.is_closed(10.0)
    assert d.connected_nicks() == frozenset()


def test_ng_routable_delay_drops_then_holds(serve, connect):
    """P20, ordered by messages rather than by sleeping against the directory's timer.

    A PING sent while pending is held with the rest, so its PONG proves the sender is
    routable. The delay only has to outlast two local sends, not a scheduler hiccup race.
    """
    d = serve(routable_delay=1.0)
    alice, bob = connect(d), connect(d)
    alice.join("J5alice")
    alice.send(MsgType.PING)
    alice.expect(MsgType.PONG, timeout=10.0)  # alice is routable now
    bob.join("J5bob")
    # bob is not routable yet, so this privmsg is dropped ...
    alice.send(MsgType.PRIVMSG, "J5alice!J5bob!hello 1 pub sig")
    # ... while bob's own early line is held and handled once he is routable.
    bob.send(MsgType.PRIVMSG, "J5bob!J5alice!hello 2 pub sig")
    assert alice.expect(MsgType.PRIVMSG, timeout=10.0).line == "J5bob!J5alice!hello 2 pub sig"
    assert d.stats().privmsgs_dropped_unknown_target == 1
    assert d.relayed_privmsgs() == (("J5bob", "J5alice", "hello"),)


# -- peerlists


def test_getpeerlist_chunks_and_features(serve, connect):
    d = serve(peerlist_chunk_delay=0.02)
    for i in range(43):
        connect(d).join(f"J5peer{i:02d}", location=MAKER_ONION if i % 2 else NOT_SERVING)
    plain = connect(d)
    plain.join("J5plain", features=())
    asker = connect(d)
    asker.join("J5asker")
    asker.send(MsgType.GETPEERLIST)
    chunks = [parse_peerlist(asker.expect(MsgType.PEERLIST).line) for _ in range(3)]
    assert [len(chunk) for chunk in chunks] == [20, 20, 5]
    assert asker.silent(0.15)
    entries = {e.nick: e for chunk in chunks for e in chunk}
    assert len(entries) == 45 and d.nick not in entries
    assert entries["J5asker"].features == set(NG_FEATURES)
    assert entries["J5peer01"].location == MAKER_ONION
    assert entries["J5peer00"].location == NOT_SERVING
    assert entries["J5plain"].features == frozenset()
    plain.send(MsgType.GETPEERLIST)
    lines = [plain.expect(MsgType.PEERLIST).line for _ in range(3)]
    assert not any(";F:" in line for line in lines)
    assert d.stats().getpeerlist_answered == 2


def test_getpeerlist_lists_requester_in_one_chunk(serve, connect):
    c = connect(serve())
    c.join("J5alone")
    c.send(MsgType.GETPEERLIST)
    assert c.expect(MsgType.PEERLIST).line == "J5alone;NOT-SERVING-ONION;F:peerlist_features+ping"
    assert c.silent(0.15)


def test_ref_never_answers_getpeerlist_and_ignores_ping(serve, connect):
    d = serve(profile="ref")
    c = connect(d)
    c.join("J5alice", features=())
    c.send(MsgType.GETPEERLIST)
    c.send(MsgType.PING)
    assert c.silent(0.3)
    assert d.stats().getpeerlist_answered == 0


# -- routing


@pytest.mark.parametrize("profile", ["ng", "ref"])
def test_privmsg_relay_then_peerlist(serve, connect, profile):
    d = serve(profile=profile)
    maker, taker = connect(d), connect(d)
    maker.join("J5maker", location=MAKER_ONION, features=("neutrino_compat",))
    taker.join("J5taker")
    line = "J5maker!J5taker!sw0reloffer 0 27300 1000000 0 0.00002 pub sig"
    maker.send(MsgType.PRIVMSG, line)
    assert taker.expect(MsgType.PRIVMSG).line == line
    peerlist = taker.expect(MsgType.PEERLIST).line
    dir_entry = f"{d.nick};{d.location}"
    if profile == "ng":
        assert peerlist == f"J5maker;{MAKER_ONION};F:neutrino_compat"
    else:
        assert peerlist == f"J5maker;{MAKER_ONION},{dir_entry}"
    # The taker serves no onion: NG sends no peerlist, REF still sends its own entry.
    taker.send(MsgType.PRIVMSG, "J5taker!J5maker!fill 0 5000000 aa bb pub sig")
    assert maker.expect(MsgType.PRIVMSG).line.startswith("J5taker!J5maker!fill ")
    if profile == "ng":
        assert maker.silent(0.15)
    else:
        assert maker.expect(MsgType.PEERLIST).line == dir_entry
    assert d.relayed_privmsgs() == (("J5maker", "J5taker", "sw0reloffer"),
                                    ("J5taker", "J5maker", "fill"))
    assert d.stats().privmsgs_relayed == 2


def test_privmsg_to_unknown_nick_dropped_and_counted(serve, connect):
    d = serve()
    c = connect(d)
    c.join("J5alice")
    c.send(MsgType.PRIVMSG, "J5alice!J5nobody!fill 1 2 pub sig")
    wait_for(lambda: d.stats().privmsgs_dropped_unknown_target == 1)
    assert d.relayed_privmsgs() == () and c.silent(0.1)


def test_pubmsg_fanout_and_ng_sender_checks(serve, connect):
    d = serve()
    alice, bob, carol = connect(d), connect(d), connect(d)
    for client, nick in ((alice, "J5alice"), (bob, "J5bob"), (carol, "J5carol")):
        client.join(nick)
    alice.send(MsgType.PUBMSG, "J5carol!PUBLIC!orderbook")  # spoofed sender: dropped
    alice.send(MsgType.PUBMSG, "J5alice!J5bob!orderbook")  # not PUBLIC: dropped
    raw = b'{"type":687,"line":"J5alice!PUBLIC!orderbook","extra":1}'
    alice.send_raw(raw)
    assert bob.recv_raw() == raw and carol.recv_raw() == raw  # forwarded unchanged
    assert alice.silent(0.1) and bob.silent(0.05)
    assert d.stats().pubmsgs_relayed == 1


def test_ref_relays_without_sender_checks(serve, connect):
    d = serve(profile="ref")
    alice, bob = connect(d), connect(d)
    alice.join("J5alice", features=())
    bob.join("J5bob", features=())
    alice.send(MsgType.PUBMSG, "J5mallory!PUBLIC!orderbook")
    assert bob.expect(MsgType.PUBMSG).line == "J5mallory!PUBLIC!orderbook"
    assert alice.expect(MsgType.PUBMSG).line == "J5mallory!PUBLIC!orderbook"


@pytest.mark.parametrize("profile", ["ng", "ref"])
def test_kill_broadcasts_disconnect(serve, connect, profile):
    d = serve(profile=profile)
    maker, taker = connect(d), connect(d)
    maker.join("J5maker", location=MAKER_ONION)
    taker.join("J5taker")
    assert d.kill("J5maker") and not d.kill("J5nobody")
    assert maker.is_closed()
    suffix = "" if profile == "ng" else f",{d.nick};{d.location}"
    assert taker.expect(MsgType.PEERLIST).line == f"J5maker;{MAKER_ONION};D{suffix}"
    assert d.connected_nicks() == {"J5taker"}
    taker.close()
    wait_for(lambda: not d.connected_nicks())


def test_mass_disconnect_is_quiet(serve, caplog):
    """``;D`` broadcasts must skip peers whose sockets died but are not yet reaped."""
    d = serve()
    clients = [Client(d.address) for _ in range(40)]
    for i, client in enumerate(clients):
        client.join(f"J5peer{i:02d}")
    for client in clients:
        client.close()
    wait_for(lambda: not d.connected_nicks())
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_ping_pong_and_ref_closes_on_pong(serve, connect):
    d = serve()
    c = connect(d)
    c.join("J5alice")
    c.send(MsgType.PING)
    assert c.expect(MsgType.PONG).line == ""
    r = connect(serve(profile="ref"))
    r.join("J5alice", features=())
    r.send(MsgType.PONG)
    assert r.is_closed()


def test_heartbeat_pings_probes_and_evicts(serve, connect):
    d = serve(heartbeat=(0.05, 0.2, 1.0, 0.2))
    answering, mute, maker, taker = (connect(d) for _ in range(4))
    answering.join("J5answer")
    mute.join("J5mute")
    maker.join("J5maker", features=(), location=MAKER_ONION)
    taker.join("J5taker", features=())
    answering.expect(MsgType.PING, timeout=1.0)
    answering.send(MsgType.PONG)
    mute.expect(MsgType.PING, timeout=1.0)
    assert maker.expect(MsgType.PUBMSG, timeout=1.0).line == format_pubmsg(d.nick, "orderbook")
    assert mute.is_closed(1.0)  # no PONG within pong_wait
    assert "J5answer" in d.connected_nicks()
    assert taker.is_closed(2.0) and maker.is_closed(1.0)  # hard eviction
    stats = d.stats()
    assert stats.pings_sent >= 2 and stats.pongs_received >= 1


# -- limits


def test_line_too_long_and_bad_envelope_close(serve, connect):
    d = serve(max_line=1000)
    long = connect(d)
    long.join("J5long")
    long.send(MsgType.PUBMSG, "J5long!PUBLIC!" + "x" * 1000)
    assert long.is_closed()
    garbage = connect(d)
    garbage.join("J5garbage")
    garbage.send_raw(b'{"type": "687", "line": "J5garbage!PUBLIC!orderbook"}')
    assert garbage.is_closed()
    stats = d.stats()
    assert (stats.lines_too_long, stats.bad_envelopes) == (1, 1)


def test_rate_limit_drops_excess(serve, connect):
    d = serve(rate_limit=(1.0, 3))
    sender, receiver = connect(d), connect(d)
    sender.join("J5sender")
    receiver.join("J5receiver")
    for i in range(10):
        sender.send(MsgType.PUBMSG, f"J5sender!PUBLIC!orderbook {i}")
    got = [receiver.expect(MsgType.PUBMSG).line for _ in range(3)]
    assert got == [f"J5sender!PUBLIC!orderbook {i}" for i in range(3)]
    assert receiver.silent(0.2)
    assert d.stats().rate_limited == 7


def test_slow_reader_is_removed_without_stalling_others(serve, connect):
    d = serve(send_timeout=0.3)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(d.address)
    try:
        slow.sendall(encode_envelope(MsgType.HANDSHAKE, build_peer_handshake("J5slow", "regtest"))
                     + b"\r\n")
        wait_for(lambda: "J5slow" in d.connected_nicks())
        sender, other = connect(d), connect(d)
        sender.join("J5sender")
        other.join("J5other")
        big = "J5sender!J5slow!push " + "x" * 60_000 + " pub sig"
        for _ in range(120):  # ~7 MB that J5slow never reads
            sender.send(MsgType.PRIVMSG, big)
        other.send(MsgType.PRIVMSG, "J5other!J5sender!hello 1 pub sig")
        got = {sender.recv(timeout=3.0) for _ in range(2)}  # their order depends on timing
        assert got == {Envelope(MsgType.PRIVMSG, "J5other!J5sender!hello 1 pub sig"),
                       Envelope(MsgType.PEERLIST, "J5slow;NOT-SERVING-ONION;D")}
        assert "J5slow" not in d.connected_nicks()
    finally:
        slow.close()


# -- nick-auth


def _auth_start(d, connect, identity):
    c = connect(d)
    c.hello(identity.nick, features=NG_FEATURES + ("nick_auth",))
    reply = parse_directory_handshake(c.expect(MsgType.DN_HANDSHAKE).line)
    assert reply.accepted and "nick_auth" in reply.features
    challenge = nickauth.parse_challenge(c.expect(MsgType.NICK_AUTH_CHALLENGE).line)
    assert challenge.directory_id == "test:directory"
    return c, challenge


def test_nick_auth_ok_displaces_unverified_owner(serve, connect):
    d = serve(nick_auth_directory_id="test:directory")
    identity = NickIdentity()
    squatter, witness = connect(d), connect(d)
    squatter.join(identity.nick)
    witness.join("J5witness")
    c, challenge = _auth_start(d, connect, identity)
    c.send(MsgType.NICK_AUTH_PROOF, nickauth.build_proof(identity, challenge, c.handshake_line))
    assert nickauth.parse_result(c.expect(MsgType.NICK_AUTH_RESULT).line).code == "ok"
    assert squatter.is_closed()
    assert witness.expect(MsgType.PEERLIST).line == f"{identity.nick};NOT-SERVING-ONION;D"
    c.send(MsgType.PING)
    c.expect(MsgType.PONG)
    assert d.connected_nicks() == {identity.nick, "J5witness"}


@pytest.mark.parametrize("proof, code", [("wrong-key", "invalid"), ('{"pubkey":1}', "malformed")])
def test_nick_auth_bad_proof_closes(serve, connect, proof, code):
    d = serve(nick_auth_directory_id="test:directory")
    identity = NickIdentity()
    c, challenge = _auth_start(d, connect, identity)
    if proof == "wrong-key":
        proof = nickauth.build_proof(NickIdentity(), challenge, c.handshake_line)
    c.send(MsgType.NICK_AUTH_PROOF, proof)
    result = nickauth.parse_result(c.expect(MsgType.NICK_AUTH_RESULT).line)
    assert (result.code, result.verified) == (code, False)
    assert c.is_closed() and not d.connected_nicks()


def test_nick_auth_required(serve, connect):
    d = serve(nick_auth_directory_id="test:directory", require_nick_auth=True)
    c = connect(d)
    c.hello("J5legacy")
    reply = parse_directory_handshake(c.expect(MsgType.DN_HANDSHAKE).line)
    assert not reply.accepted
    assert reply.motd == "Rejected: verified nick authentication required"
    assert c.is_closed()


# -- test hooks and lifecycle


def test_inject_and_recordings(serve, connect):
    d = serve()
    c = connect(d)
    c.join("J5alice")
    assert d.inject("J5alice", b"not even json") and not d.inject("J5nobody", b"x")
    assert c.recv_raw() == b"not even json"
    assert d.received_lines("J5alice") == (encode_envelope(MsgType.HANDSHAKE, c.handshake_line),)
    sent = d.sent_lines("J5alice")
    assert [decode_envelope(sent[0]).type, sent[1]] == [MsgType.DN_HANDSHAKE, b"not even json"]
    assert d.sent_lines() == sent and d.received_lines("J5nobody") == ()


def test_relay_policy_drops_duplicates_and_delays(serve, connect):
    d = serve()
    alice, bob = connect(d), connect(d)
    alice.join("J5alice")
    bob.join("J5bob")
    actions = {"drop": "drop", "dup": "duplicate", "late": 0.2}
    d.set_relay_policy(lambda kind, frm, to, cmd: actions.get(cmd))
    for command in ("late", "drop", "dup", "plain"):
        alice.send(MsgType.PRIVMSG, f"J5alice!J5bob!{command} x pub sig")
    got = [bob.expect(MsgType.PRIVMSG).line.split("!")[2].split()[0] for _ in range(4)]
    assert got == ["dup", "dup", "plain", "late"] and bob.silent(0.1)
    assert [r[2] for r in d.relayed_privmsgs()] == ["late", "dup", "plain"]
    d.set_relay_policy(lambda *_: d.stats() and None)  # hooks may call back into the server
    alice.send(MsgType.PUBMSG, "J5alice!PUBLIC!drop")
    assert bob.expect(MsgType.PUBMSG).line == "J5alice!PUBLIC!drop"


def test_stall_accepts_but_never_answers(serve, connect):
    d = serve()
    alice = connect(d)
    alice.join("J5alice")
    d.stall(True)
    late = connect(d)
    late.hello("J5late")
    alice.send(MsgType.PING)
    assert late.silent(0.3) and alice.silent(0.05)
    assert d.stats().connections_accepted == 2
    d.stall(False)
    late.expect(MsgType.DN_HANDSHAKE)
    alice.expect(MsgType.PONG)


def test_stop_is_idempotent_closes_clients_and_restarts_on_same_port(connect):
    d = DirectoryServer(routable_delay=0)
    with d:
        c = connect(d)
        c.join("J5alice")
        port = d.port
    assert c.is_closed()
    assert not [t for t in threading.enumerate() if t.name.startswith("directory-")]
    d.stop()
    with d:
        assert d.port == port
        connect(d).join("J5alice")
        assert d.stats().handshakes_accepted == 2


def test_cli_serves_until_sigterm(connect):
    command = [sys.executable, "-m", "localnet.directory", "--profile", "ref", "--port", "0"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as proc:
        try:
            host, port = proc.stdout.readline().split()[0].rsplit(":", 1)
            c = Client((host, int(port)))
            c.join("J5alice", features=())
            c.close()
            proc.terminate()
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
