"""Seeded, replayable fault scenarios against LocalNet (issue 4, docs/fault-injection.md).

Each scenario states its invariants in its docstring. It injects faults — through a
FaultPlan the client applies to its own connections and actors, or through the LocalNet
test hooks (kill, stall, inject) — polls for a condition with a deadline, then asserts
the invariants over the trace (injected faults and the actors' protocol events, one log)
and over client state. Failures print the seed and plan JSON (see conftest.py).
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from actors.faults import (CRASH_POINTS, Bandwidth, Corrupt, Crash, Drop, Duplicate,
                           FaultInjector, FaultPlan, FaultRule, Latency, Partition, Reorder,
                           Reset, Stall, plan_from_env)
from actors.faults.testing import memory_pair
from localnet.directory import DirectoryServer
from localnet.maker_session import DEFAULT_OFFERS
from localnet.rawclient import RawTaker
from protocol.envelope import MsgType, encode_envelope
from protocol.handshake import build_directory_handshake
from supervisor import AllRoutesFailedError, MultiDirectoryError
from tests.helpers.scenario import CONNECTION_TIMEOUT, ScriptedDirectory
from tests.helpers.taker import TakerRound, random_nick

pytestmark = pytest.mark.timeout(45)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PING = encode_envelope(MsgType.PING, "")


# -- helpers ---------------------------------------------------------------------------------


def expected_offers(makers) -> set[tuple[str, int]]:
    return {(m.nick, seg.oid) for m in makers for seg in DEFAULT_OFFERS}


def genuine(offer) -> bool:
    """The offer is exactly what the maker published (nothing corrupted got through)."""
    seg = DEFAULT_OFFERS[offer.oid] if offer.oid < len(DEFAULT_OFFERS) else None
    return seg is not None and (offer.ordertype, offer.minsize, offer.maxsize, offer.txfee,
                                str(offer.cjfee)) == (seg.ordertype, seg.minsize, seg.maxsize,
                                                      seg.txfee, str(seg.cjfee))


class Leaves:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.nicks: list[str] = []

    def __call__(self, nick: str) -> None:
        with self._lock:
            self.nicks.append(nick)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.nicks)


def present_on(client, nick: str) -> frozenset[str]:
    return client._core.ctx.views.registry.present.get(nick, frozenset())


def settle_leaves(scenario, client, leaves: Leaves, directory: str) -> None:
    """A barrier through the NickRegistry: every earlier update has been applied."""
    barrier = random_nick()
    client.sync_nicks_with_peerlist(directory, [barrier])
    client.sync_nicks_with_peerlist(directory, [])
    scenario.wait(lambda: barrier in leaves.snapshot(), "the barrier nick to leave")


def full_round(scenario, client, makers, timeout: float = 15.0) -> TakerRound:
    """fill → !pubkey, auth → !ioauth, tx → !sig with expected_counts; all must answer."""
    rnd = TakerRound(client, makers)
    pubkeys = rnd.fill()
    scenario.check(set(pubkeys) == set(rnd.nicks) and not any(r.get("error") for r in pubkeys.values()),
                   f"every maker's !pubkey attributed to it: {sorted(pubkeys)}")
    ioauth = rnd.auth()
    scenario.check(set(ioauth) == set(rnd.nicks), f"every maker's !ioauth: {sorted(ioauth)}")
    sigs = rnd.tx(timeout=timeout)
    for nick in rnd.nicks:
        want = len(rnd.maker_utxos[nick])
        reply = sigs.get(nick)
        scenario.check(reply is not None, f"{nick} answered !sig")
        scenario.check(len(reply["data"]) == want and len(set(reply["data"])) == want,
                       f"{nick}: exactly {want} distinct signatures, got {len(reply['data'])}")
        # attribution: only that maker's session key decrypts what was attributed to it
        plain = rnd.plain_sigs(nick, reply)
        scenario.check(len(plain) == want, f"{nick}: every signature decrypts")
    return rnd


class RetryingSends:
    """A taker's retry policy around a client: a send whose every route failed is retried
    once a directory that did not fail is up. Failures are kept for the invariants."""

    def __init__(self, scenario, client, reply_timeout: float | None = None) -> None:
        self.scenario, self.client, self.failures = scenario, client, []
        self.reply_timeout = reply_timeout

    def wait_for_responses(self, nicks, command, timeout=60.0, expected_counts=None):
        if self.reply_timeout is not None:
            timeout = min(timeout, self.reply_timeout)
        return self.client.wait_for_responses(nicks, command, timeout=timeout,
                                              expected_counts=expected_counts)

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def send_privmsg(self, *args, **kwargs) -> str:
        for _ in range(10):
            try:
                return self.client.send_privmsg(*args, **kwargs)
            except AllRoutesFailedError as exc:
                failure = str(exc)
                self.failures.append(failure)
                self.scenario.wait(lambda: any(d not in failure for d in self.client.connected_directories),
                                   "a directory that did not fail", timeout=15)
        self.scenario.fail(f"a send failed 10 times: {self.failures}")


# -- directories -----------------------------------------------------------------------------


def test_directory_reset_mid_orderbook(scenario):
    """Reset d0 at the first offer it relays.

    Invariants: the fetch returns every maker's (genuine) offers via the other
    directories; exactly one reset was injected; d0's exit is a network failure that the
    supervisor restarts (generation 2) and d0 comes back up; no other directory exits;
    nothing crashes.
    """
    net = scenario.network(makers=2)
    d0 = net.directory_servers[0]
    client = scenario.connected(net, [FaultRule(target="directory", name=d0, direction="in",
                                                command="685", count=1, fault=Reset())])
    offers = client.fetch_orderbook(max_wait=6, min_wait=1, quiet_period=0.5)
    scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                   f"all offers despite the reset: {offers}")
    scenario.check(all(genuine(o) for o in offers), "offers are intact")
    scenario.check(len(scenario.faults("fault.reset", f"directory:{d0}")) == 1, "one reset of d0")
    scenario.wait(lambda: d0 in client.connected_directories and scenario.ups(d0) >= 2,
                  "d0 to reconnect", timeout=10)
    scenario.check([(e["kind"], e["decision"]) for e in scenario.exits(d0)] == [("network", "Restart")],
                   f"d0 exited once, as a network failure, and was restarted: {scenario.exits(d0)}")
    scenario.check(scenario.starts(d0) == [1, 2], "d0 generation 2 was started")
    for other in net.directory_servers[1:]:
        scenario.check(not scenario.exits(other), f"{other} never went down")


def test_stalled_directory_is_skipped_and_retried(scenario):
    """One directory accepts our connection and never answers (Stall on its incoming side).

    Invariants: connect_all returns the two others within connection_timeout (+1 s
    slack); the stalled one never comes up and keeps being retried (≥ 2 dials, each exit
    a network failure → Restart); a send goes through a healthy directory.
    """
    net = scenario.network(makers=1)
    stalled = net.directory_servers[2]
    client = scenario.client(net, [FaultRule(target="directory", name=stalled, direction="in",
                                             fault=Stall())])
    start = time.monotonic()
    connected = client.connect_all()
    elapsed = time.monotonic() - start
    scenario.check(connected == 2, f"connect_all returns the two healthy directories, got {connected}")
    scenario.check(elapsed < CONNECTION_TIMEOUT + 1.0, f"connect_all took {elapsed:.2f}s")
    scenario.check(set(client.connected_directories) == set(net.directory_servers[:2]),
                   "exactly the healthy ones are up")
    scenario.wait(lambda: len(scenario.events("directory.dialled", source=stalled)) >= 2
                  and len(scenario.faults("fault.stall", f"directory:{stalled}")) >= 2,
                  "the stalled directory to be dialled again", timeout=2 * CONNECTION_TIMEOUT + 4)
    scenario.check(scenario.ups(stalled) == 0, "the stalled directory never came up")
    exits = scenario.exits(stalled)
    scenario.check(exits and all((e["kind"], e["decision"]) == ("network", "Restart") for e in exits),
                   f"stall timeouts are network failures, always restarted: {exits}")
    channel = client.send_privmsg(net.makers[0].nick, "tx", "hello")
    scenario.check(channel.removeprefix("directory:") in net.directory_servers[:2],
                   f"the send used a healthy directory: {channel}")


def test_all_directories_down_then_back(scenario):
    """Every directory drops us and stalls; later they all answer again.

    Invariants: while none is up a send fails with AllRoutesFailedError (and is never
    delivered); every directory reconnects after it resumes; then a send succeeds and
    the maker receives exactly that one message; no nick is declared gone.
    """
    net = scenario.network(makers=1)
    maker = net.makers[0]
    leaves = Leaves()
    client = scenario.connected(net, prefer_direct_connections=False, on_nick_leave=leaves)
    for directory in net.directories:
        directory.stall(True)
        directory.kill(client.nick)
    scenario.wait(lambda: client.connected_directories == (), "every directory to drop")
    with pytest.raises(AllRoutesFailedError):
        client.send_privmsg(maker.nick, "tx", "while-down")
    for directory in net.directories:
        directory.stall(False)
    scenario.wait(lambda: len(client.connected_directories) == 3, "every directory to reconnect",
                  timeout=20)
    channel = client.send_privmsg(maker.nick, "tx", "after")
    scenario.check(channel.startswith("directory:"), f"relayed after reconnect: {channel}")
    scenario.wait(lambda: maker.received("tx"), "the maker to receive the message")
    scenario.check(len(maker.received("tx")) == 1, "the failed send was never delivered")
    for name in net.directory_servers:
        scenario.check(scenario.ups(name) >= 2, f"{name} came up again")
        scenario.check(all(e["kind"] == "network" and e["decision"] == "Restart"
                           for e in scenario.exits(name)), f"{name}: only restarts")
    scenario.check(leaves.snapshot() == [] and not scenario.events("nick.left"),
                   "losing directories declares no nick gone")


@pytest.mark.parametrize("garbage", [4, 5], ids=["four-ignored", "five-stop"])
def test_garbage_lines_from_a_directory(scenario, garbage):
    """A directory sends undecodable lines.

    Invariants: every one is counted (directory_bad_lines); fewer than 5 in a row are
    ignored (the connection survives and still answers a PING); 5 in a row are a
    protocol violation: that directory's connection ends and it is redialled only after
    the violation backoff (>= 10 s, so not within this test), while the others keep
    carrying sends. Nothing is stopped for good (API.md point 7).
    """
    net = scenario.network(makers=1)
    client = scenario.connected(net, prefer_direct_connections=False)
    d0 = net.directories[0]
    name = d0.location
    for round_ in range(2 if garbage < 5 else 1):
        for i in range(garbage):
            d0.inject(client.nick, b"garbage %d/%d \xff{" % (round_, i))
        if garbage < 5:
            pongs = d0.stats().pongs_received
            d0.inject(client.nick, PING)  # a good line resets the consecutive count
            scenario.wait(lambda: d0.stats().pongs_received > pongs, "the PONG to our PING")
    if garbage < 5:
        scenario.wait(lambda: client.stats().get("directory_bad_lines") == 2 * garbage,
                      "every garbage line to be counted")
        scenario.check(not scenario.exits(name), "the directory was not dropped")
        scenario.check(name in client.connected_directories, "still connected")
    else:
        scenario.wait(lambda: scenario.exits(name), "the directory to be dropped")
        scenario.check([(e["kind"], e["decision"]) for e in scenario.exits(name)]
                       == [("violation", "Restart")],
                       f"a protocol violation, retried: {scenario.exits(name)}")
        stats = client.stats()
        scenario.check(stats.get("directory_bad_lines") == 5, f"5 bad lines counted: {stats}")
        scenario.check(stats.get("stopped_directory", 0) == 0, f"never stopped for good: {stats}")
        scenario.wait(lambda: name not in client.connected_directories, "the directory to be unroutable")
        for i in range(4):
            channel = client.send_privmsg(net.makers[0].nick, "tx", f"m{i}")
            scenario.check(channel != f"directory:{name}", "sends avoid the stopped directory")
        scenario.check(scenario.starts(name) == [1], "not redialled before the violation backoff")


def test_oversize_line_drops_that_directory_until_the_violation_backoff(scenario):
    """A directory sends one line longer than the client's max_directory_line (200,000 B).

    Invariants: the line is counted (directory_oversize_lines); the connection ends as a
    protocol violation, redialled only after the violation backoff (>= 10 s); the other
    two stay up and a fetch still returns every offer.
    """
    net = scenario.network(makers=2)
    client = scenario.connected(net)
    d0 = net.directories[0]
    d0.inject(client.nick, b'{"type": 685, "line": "' + b"x" * 201_000 + b'"}')
    scenario.wait(lambda: scenario.exits(d0.location), "the directory to be dropped")
    scenario.check([(e["kind"], e["decision"]) for e in scenario.exits(d0.location)]
                   == [("violation", "Restart")], "a protocol violation, retried later")
    scenario.check(client.stats().get("directory_oversize_lines") == 1, "the oversize line is counted")
    offers = client.fetch_orderbook(max_wait=5, min_wait=1.5, quiet_period=0.3)
    scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                   "the other directories still deliver every offer")
    scenario.check(set(client.connected_directories) == set(net.directory_servers[1:]),
                   "the others stayed up")
    scenario.check(scenario.starts(d0.location) == [1], "not redialled before the backoff")


def test_handshake_rejected_directory_is_retried_with_the_long_backoff(scenario):
    """An extra (REF, testnet) directory answers our handshake with accepted=false.

    Invariants: the rejection is a protocol decision, retried only after the violation
    backoff (>= 10 s: dialled exactly once within this test), never stopped for good,
    while the three good directories connect and serve the orderbook.
    """
    net = scenario.network(makers=1)
    bad = scenario.add(DirectoryServer(profile="ref", network="testnet").start())
    net.gateway.map(bad.onion_host, 5222, bad.address)
    client = scenario.client(net, directory_servers=[*net.directory_servers, bad.location])
    scenario.check(client.connect_all() == 3, "the three good directories connect")
    scenario.wait(lambda: scenario.exits(bad.location), "the rejected directory's exit")
    scenario.check([(e["kind"], e["decision"]) for e in scenario.exits(bad.location)]
                   == [("rejected", "Restart")], "a rejection is retried with the long backoff")
    scenario.check(bad.stats().handshakes_rejected == 1, "the directory rejected us once")
    scenario.check(client.stats().get("stopped_directory", 0) == 0, "never stopped for good")
    offers = client.fetch_orderbook(max_wait=5, min_wait=1.5, quiet_period=0.3)
    scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                   "the good directories serve every offer")
    # the fetch lasted longer than the network backoff, shorter than the violation one
    scenario.check(scenario.starts(bad.location) == [1], "not redialled before the backoff")
    dials = [r for r in net.gateway.connections if r.dest_host == bad.onion_host]
    scenario.check(len(dials) == 1, f"dialled exactly once, got {len(dials)}")


def test_wrong_network_directory_is_retried_with_the_long_backoff(scenario):
    """An extra directory accepts us but says it is on testnet (we are on regtest).

    Invariants: the client refuses it (a protocol violation, retried only after the
    violation backoff), and the real directories are unaffected.
    """
    net = scenario.network(makers=1)
    host = hashlib.sha256(f"wrong-net:{scenario.seed}".encode()).digest()
    from localnet.onion import onion_host_for
    onion = onion_host_for(host)
    wrong = scenario.add(ScriptedDirectory(build_directory_handshake(
        random_nick(), "testnet", frozenset({"peerlist_features"}), True, "welcome")))
    net.gateway.map(onion, 5222, wrong.address)
    location = f"{onion}:5222"
    client = scenario.client(net, directory_servers=[*net.directory_servers, location])
    scenario.check(client.connect_all() == 3, "the real directories connect")
    scenario.wait(lambda: scenario.exits(location), "the wrong-network directory's exit")
    scenario.check([(e["kind"], e["decision"]) for e in scenario.exits(location)]
                   == [("rejected", "Restart")], "a wrong network is retried with the long backoff")
    scenario.check(client.stats().get("stopped_directory", 0) == 0, "never stopped for good")
    channel = client.send_privmsg(net.makers[0].nick, "tx", "x")
    scenario.check(channel.removeprefix("directory:") in net.directory_servers, "sends still work")
    scenario.check(wrong.accepted == 1 and scenario.starts(location) == [1],
                   "dialled once: not before the violation backoff")


def test_busy_nick_rejection_is_retried_until_free(scenario):
    """A directory refuses us because our nick is still registered there (an old session).

    Invariants: that refusal is a network-class failure (FailureKind.NETWORK): the
    supervisor restarts it with backoff, never stops it; once the old session is gone
    the directory comes up; the other directories were never affected.
    """
    net = scenario.network(makers=1)
    client = scenario.client(net)
    d0 = net.directory_servers[0]
    squatter = RawTaker(net.socks_host, net.socks_port, identity=client._core.identity)
    try:
        squatter.connect_directory(d0)
        scenario.check(client.connect_all() == 2, "the two free directories connect")
        scenario.wait(lambda: scenario.exits(d0), "the refused attempt to exit")
        scenario.check(net.directories[0].stats().handshakes_rejected >= 1, "the directory refused us")
    finally:
        squatter.close()
    scenario.wait(lambda: d0 in client.connected_directories, "d0 once our nick is free", timeout=12)
    exits = scenario.exits(d0)
    scenario.check(exits and all((e["kind"], e["decision"]) == ("network", "Restart") for e in exits),
                   f"a busy nick is retried, not stopped: {exits}")
    for other in net.directory_servers[1:]:
        scenario.check(not scenario.exits(other), f"{other} unaffected")


@pytest.mark.parametrize("mode", ["ignored", "dropped"])
def test_corrupt_bytes_on_one_directory(scenario, mode):
    """Bytes of lines from d0 are flipped (Corrupt, seeded).

    ``ignored``: one flip in each privmsg d0 relays. Invariants: no corrupted offer is
    ever accepted (every returned offer is genuine and all are present via the other
    directories); d0 is either still up or was stopped by the 5-consecutive-bad-lines
    rule (then ≥ 5 bad lines were counted and it is retried later).
    ``dropped``: PINGs from d0 are shredded (40 flips). Invariants: five in a row are
    counted as undecodable and d0's connection ends as a protocol violation (retried
    after the violation backoff); sends still work.
    """
    net = scenario.network(makers=2)
    d0 = net.directory_servers[0]
    if mode == "ignored":
        rule = FaultRule(target="directory", name=d0, direction="in", command="685", fault=Corrupt())
    else:
        rule = FaultRule(target="directory", name=d0, direction="in", command="798",
                         fault=Corrupt(flips=40))
    client = scenario.connected(net, [rule], prefer_direct_connections=False)
    if mode == "ignored":
        offers = client.fetch_orderbook(max_wait=6, min_wait=1.5, quiet_period=0.5)
        scenario.check(scenario.faults("fault.corrupt"), "some privmsg was corrupted")
        scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                       "every offer arrives intact via the other directories")
        scenario.check(all(genuine(o) and o.verified for o in offers), "no corrupted offer accepted")
        exits = scenario.exits(d0)
        stats = client.stats()
        scenario.check(not exits or ([(e["kind"], e["decision"]) for e in exits] == [("violation", "Restart")]
                                     and stats.get("directory_bad_lines", 0) >= 5),
                       f"d0 up, or stopped by the 5-consecutive rule: {exits} {stats}")
    else:
        for _ in range(5):
            net.directories[0].inject(client.nick, PING)
        scenario.wait(lambda: scenario.exits(d0), "d0 to be dropped")
        scenario.check(len(scenario.faults("fault.corrupt", f"directory:{d0}")) == 5, "5 PINGs corrupted")
        scenario.check([(e["kind"], e["decision"]) for e in scenario.exits(d0)] == [("violation", "Restart")],
                       "a protocol violation, retried later")
        scenario.check(client.stats().get("directory_bad_lines") == 5, "5 undecodable lines counted")
        channel = client.send_privmsg(net.makers[0].nick, "tx", "x")
        scenario.check(channel != f"directory:{d0}", "sends use the others")


def test_partition_of_one_directory(scenario):
    """d0 is partitioned for 1.5 s from the moment our !orderbook crosses it.

    Invariants: the fetch still returns every offer (via the others); d0's connection
    survives (no exit) and nothing sent into the partition is lost: the !orderbook and a
    forced send reach d0 once it heals, in order, and the forced send reports d0.
    """
    net = scenario.network(makers=2)
    d0 = net.directory_servers[0]
    maker = net.makers[0]
    client = scenario.connected(net, [FaultRule(target="directory", name=d0, direction="out",
                                                command="orderbook", count=1,
                                                fault=Partition(duration=1500))],
                                prefer_direct_connections=False)
    offers = client.fetch_orderbook(max_wait=6, min_wait=0.5, quiet_period=0.3)
    scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                   "all offers despite the partition")
    channel = client.send_privmsg(maker.nick, "tx", "into-the-partition", force_channel=f"directory:{d0}")
    scenario.check(channel == f"directory:{d0}", "the forced send completed through d0")
    partition = scenario.faults("fault.partition", f"directory:{d0}")
    scenario.check(len(partition) == 1, "one partition")
    scenario.wait(lambda: maker.received("tx"), "the maker to get the message")
    host, port = net.directories[0].address  # makers reach directories over loopback
    scenario.check([r.channel for r in maker.received("tx")] == [f"directory:{host}:{port}"],
                   f"delivered once, via d0: {maker.received('tx')}")
    sent = [line for line in net.directories[0].received_lines(client.nick)
            if b"orderbook" in line or b"into-the-partition" in line]
    scenario.check(len(sent) == 2 and b"orderbook" in sent[0], "d0 got the held !orderbook, then the send")
    scenario.check(not scenario.exits(d0), "the partition did not cost the connection")


# -- makers and peers ------------------------------------------------------------------------


def test_maker_flapping_between_directories(scenario):
    """A maker leaves and rejoins directories in a seeded order, always on at least one.

    Invariants: while it is on at least one directory it is never declared gone
    (on_nick_leave never fires, no nick.left in the trace, is_nick_active holds); when it
    leaves all of them on_nick_leave fires exactly once.
    """
    import random
    net = scenario.network(makers=1)
    maker = net.makers[0]
    servers = net.directory_servers
    leaves = Leaves()
    client = scenario.connected(net, on_nick_leave=leaves)
    client.fetch_orderbook(max_wait=4, min_wait=0, quiet_period=0.3)
    scenario.wait(lambda: present_on(client, maker.nick) == frozenset(servers), "presence on all three")
    rng = random.Random(scenario.seed)
    on = {0, 1, 2}
    for _ in range(8):
        if len(on) == 3 or (len(on) > 1 and rng.random() < 0.5):
            i = rng.choice(sorted(on))
            maker.leave(i)
            on.discard(i)
            scenario.wait(lambda: servers[i] not in present_on(client, maker.nick), f"the ;D on {i}")
        else:
            i = rng.choice(sorted({0, 1, 2} - on))
            scenario.check(maker.rejoin(i), f"the maker rejoined {i}")
            on.add(i)
            scenario.wait(lambda: servers[i] in present_on(client, maker.nick), f"presence on {i}")
        scenario.check(client.is_nick_active(maker.nick), f"active while on {sorted(on)}")
        scenario.check(leaves.snapshot() == [] and not scenario.events("nick.left"),
                       f"never declared gone while on {sorted(on)}")
    for i in sorted(on):
        maker.leave(i)
    scenario.wait(lambda: leaves.snapshot(), "on_nick_leave once it left every directory")
    settle_leaves(scenario, client, leaves, servers[0])
    scenario.check(leaves.snapshot()[:-1] == [maker.nick], f"fired exactly once: {leaves.snapshot()}")
    scenario.check(len([e for e in scenario.events("nick.left") if e.detail == maker.nick]) == 1,
                   "one nick.left in the trace")
    scenario.check(not client.is_nick_active(maker.nick), "gone after leaving all")


@pytest.mark.parametrize("how", ["wrong-nick", "reset"])
def test_peer_failing_its_handshake_falls_back_to_relay(scenario, how):
    """The maker's direct link fails its handshake: its onion answers with another
    maker's 793 (``wrong-nick``), or the link is reset on the first bytes (``reset``).

    Invariants: the direct attempt resolves False; the send that started it was relayed
    and delivered; the session's pinned directory channel is unchanged (bind_session and
    upgrade_channel_prefer_direct keep it); a send forced onto it still uses it; no peer
    ever came up, and the peer's exit is a Stop (temporary child), not a crash.
    """
    net = scenario.network(makers=2)
    target, other = net.makers
    rules = []
    if how == "wrong-nick":
        net.gateway.map(target.onion_host, 5222, ("127.0.0.1", other.direct_port))
    else:
        rules = [FaultRule(target="peer", name=target.nick, direction="in", fault=Reset())]
    client = scenario.connected(net, rules)
    scenario.wait(lambda: client.get_peer_location(target.nick) == target.location, "the location")
    pinned = client.bind_session(target.nick).channel_id
    scenario.check(pinned.startswith("directory:"), f"pinned to a directory: {pinned}")
    first = client.send_privmsg(target.nick, "tx", "a")
    scenario.check(first.startswith("directory:"), "the first send is relayed")
    attempt = scenario.wait(lambda: client.get_pending_connect_task(target.nick), "the direct attempt")
    scenario.check(attempt.result(10) is False, "the direct attempt resolves False")
    scenario.check(client.get_connected_peer(target.nick) is None, "no direct link")
    scenario.check(client.upgrade_channel_prefer_direct(target.nick, pinned) == pinned,
                   "the pinned channel is not upgraded")
    scenario.check(client.bind_session(target.nick).channel_id == pinned, "binding unchanged")
    scenario.check(client.send_privmsg(target.nick, "tx", "b", force_channel=pinned) == pinned,
                   "a forced send uses the pinned channel")
    scenario.wait(lambda: len(target.received("tx")) == 2, "both messages at the maker")
    scenario.check(all(r.channel != "direct" for r in target.received("tx")), "both relayed")
    peer = f"peer:{target.nick}"
    exits = scenario.exits(peer)
    want = "rejected" if how == "wrong-nick" else "network"
    scenario.check([(e["kind"], e["decision"]) for e in exits] == [(want, "Stop")],
                   f"the failed link is a {want} failure and stops: {exits}")
    scenario.check(not scenario.events("peer.up"), "no direct link ever came up")


# -- crashes ---------------------------------------------------------------------------------


def _send_until_crash(scenario, client, nick: str) -> None:
    """Relayed sends until the injected crash fired; every send must still succeed."""
    for i in range(30):
        channel = client.send_privmsg(nick, "tx", f"c{i}")
        scenario.check(channel.startswith("directory:"), f"send {i} relayed: {channel}")
        if scenario.faults("fault.crash"):
            return
    scenario.fail("the crash point was never reached")


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_point_restarts_the_child_and_the_client_keeps_working(scenario, point):
    """An injected crash (CrashInjected, a bug) at ``point`` in one actor, once.

    Invariants: exactly one crash is injected; the supervisor records the exit as a bug
    and restarts the child with a new generation (peers are temporary: stopped, and
    the next send starts a fresh incarnation with a higher generation); the client keeps
    working afterwards (sends, orderbook, direct links as applicable); no escalation.
    """
    scenario.expect_bugs = True
    kind = point.split(".")[0]
    # a fresh direct link proves itself by the maker answering !orderbook on it, which an
    # NG maker does at most once per orderbook_interval: none here, so the re-dial can
    net = scenario.network(makers=[{"orderbook_interval": 0.0}] if kind == "peer" else 1)
    maker = net.makers[0]
    d0 = net.directory_servers[0]
    name = {"directory": d0, "peer": maker.nick}.get(kind, kind)
    after = 1 if point == "directory.on_line" else 0
    client = scenario.client(net, [FaultRule(target=kind, name=name, after_lines=after, count=1,
                                             fault=Crash(point=point))],
                             prefer_direct_connections=(kind == "peer"))
    client.connect_all()
    child = f"peer:{maker.nick}" if kind == "peer" else name

    if kind == "directory":
        if point == "directory.on_send":
            scenario.wait(lambda: len(client.connected_directories) == 3, "all directories up")
            _send_until_crash(scenario, client, maker.nick)
        scenario.wait(lambda: scenario.faults("fault.crash"), "the crash")
        scenario.wait(lambda: d0 in client.connected_directories and 2 in scenario.starts(d0),
                      "d0 to come back as generation 2", timeout=10)
        offers = client.fetch_orderbook(max_wait=5, min_wait=0.5, quiet_period=0.3)
        scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                       "the orderbook still works")
    elif kind == "peer":
        scenario.wait(lambda: client.get_peer_location(maker.nick), "the maker's location")
        if point == "peer.on_send":
            client.send_privmsg(maker.nick, "tx", "open")
            scenario.check(client.get_pending_connect_task(maker.nick).result(10) is True, "link up")
            scenario.wait(lambda: client.get_connected_peer(maker.nick), "the direct link")
            channel = client.send_privmsg(maker.nick, "tx", "crash")  # direct first → crash
            scenario.check(channel.startswith("directory:"), f"fell back to a relay: {channel}")
        else:
            client.send_privmsg(maker.nick, "tx", "open")
            scenario.check(client.get_pending_connect_task(maker.nick).result(10) is False,
                           "the crashed attempt resolves False")
        scenario.wait(lambda: scenario.exits(child), "the peer's exit")
        scenario.wait(lambda: client.get_connected_peer(maker.nick) is None, "the link to be down")
        channel = client.send_privmsg(maker.nick, "tx", "retry")
        scenario.check(channel.startswith("directory:"), "relayed while reconnecting")
        scenario.check(client.get_pending_connect_task(maker.nick).result(10) is True,
                       "a fresh attempt connects")
        scenario.wait(lambda: client.get_connected_peer(maker.nick), "the new direct link")
        scenario.check(client.send_privmsg(maker.nick, "tx", "direct") == "direct", "direct again")
    elif kind == "router":
        scenario.wait(lambda: len(client.connected_directories) == 3, "all directories up")
        try:
            client.send_privmsg(maker.nick, "tx", "crash")
        except MultiDirectoryError:
            pass  # the send in flight when the router crashed fails with a typed error
        scenario.wait(lambda: 2 in scenario.starts("router"), "the router's restart")
        scenario.wait(lambda: len(client.connected_directories) == 3, "directories re-announced")
        channel = client.send_privmsg(maker.nick, "tx", "after")
        scenario.check(channel.startswith("directory:"), "sends work after the restart")
    else:  # registry
        scenario.wait(lambda: 2 in scenario.starts("registry"), "the registry's restart")
        offers = client.fetch_orderbook(max_wait=5, min_wait=0.5, quiet_period=0.3)
        scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                       "the orderbook still works")
        scenario.wait(lambda: client.is_nick_active(maker.nick), "the registry to be refilled")
        channel = client.send_privmsg(maker.nick, "tx", "after")
        scenario.check(channel.startswith("directory:"), "sends work after the restart")

    scenario.check(len(scenario.faults("fault.crash")) == 1, "exactly one crash injected")
    bugs = [e for e in scenario.exits() if e["kind"] == "bug"]
    decision = "Stop" if kind == "peer" else "Restart"
    scenario.check([(e["name"], e["gen"], e["decision"]) for e in bugs] == [(child, 1, decision)],
                   f"one bug exit of {child}#1 → {decision}: {bugs}")
    gens = scenario.starts(child)
    scenario.check(gens[:1] == [1] and max(gens) >= 2 and gens == sorted(set(gens)),
                   f"{child} restarted with a new generation: {gens}")


# -- slow, duplicated, reordered replies ------------------------------------------------------


def test_slow_consumer_directory(scenario):
    """d0's incoming side is slow: 200 ± 100 ms latency and 5 KB/s.

    Invariants: a full fill/auth/tx round completes; every reply is attributed to its
    maker (only that maker's session key decrypts it), each !sig counted exactly
    expected_counts times; latency was really injected on d0.
    """
    net = scenario.network(makers=2)
    d0 = net.directory_servers[0]
    client = scenario.connected(net, [
        FaultRule(target="directory", name=d0, direction="in", fault=Latency(latency=200, jitter=100)),
        FaultRule(target="directory", name=d0, direction="in", fault=Bandwidth(rate=5))],
        prefer_direct_connections=False)
    full_round(scenario, client, net.makers)
    scenario.check(scenario.faults("fault.latency", f"directory:{d0}"), "latency was injected")


def test_duplicated_and_reordered_sigs(scenario):
    """Every incoming !sig is duplicated; on d0 half of them are also reordered.

    Invariants: expected_counts are met and each signature is counted once (no
    duplicates in the results), all decrypt with the right maker's key.
    """
    net = scenario.network(makers=[{"style": "ng", "inputs": 3}, {"style": "ng", "inputs": 2}])
    d0 = net.directory_servers[0]
    client = scenario.connected(net, [
        FaultRule(target="directory", direction="in", command="sig", fault=Duplicate()),
        FaultRule(target="directory", name=d0, direction="in", command="sig", probability=0.5,
                  fault=Reorder())], prefer_direct_connections=False)
    full_round(scenario, client, net.makers)
    scenario.check(len(scenario.faults("fault.duplicate")) >= 5, "the sigs were duplicated")


# -- plans from files and the environment ---------------------------------------------------


def test_flaky_directory_example_plan(scenario):
    """docs/examples/flaky-directory.toml: latency on every directory, one reset per
    directory mid-stream, a third of privmsgs duplicated.

    Invariants: the orderbook is complete and genuine; a full round completes with
    counts met — a send fails only when every route's write failed on an injected reset
    (the taker retries it), a round is cut short only by an injected reset (the taker
    starts another), and once the plan's resets are spent a round completes; every reset
    directory comes back (all three up at the end); every exit
    is a network failure that was restarted.
    """
    plan = FaultPlan.load(EXAMPLES / "flaky-directory.toml")
    scenario.check(plan.rules, "the example plan has rules")
    net = scenario.network(makers=[{"style": "ng"}, {"style": "ng"}])
    client = scenario.connected(net, plan=plan, prefer_direct_connections=False)
    offers = client.fetch_orderbook(max_wait=6, min_wait=1, quiet_period=0.5)
    scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                   "complete orderbook")
    scenario.check(all(genuine(o) for o in offers), "genuine offers")
    sender = RetryingSends(scenario, client, reply_timeout=5)
    for attempt in range(4):  # a taker starts a new round when one was cut short
        resets = len(scenario.faults("fault.reset"))
        try:
            full_round(scenario, sender, net.makers, timeout=5)
            break
        except pytest.fail.Exception:
            # a reply may be lost only when a reset cut every path it was travelling on
            scenario.check(len(scenario.faults("fault.reset")) > resets,
                           f"round {attempt} incomplete without an injected reset")
            scenario.wait(lambda: len(client.connected_directories) == 3, "every directory back",
                          timeout=12)
    else:
        scenario.fail("no complete round after the plan's resets were spent")
    scenario.check(scenario.faults("fault.reset"), "the plan reset a directory")
    for failure in sender.failures:  # a send fails only when every route's write failed
        routes = failure.split("(", 1)[1].split("; ")
        scenario.check(all("reset by fault injection" in r or "not connected" in r or "closed" in r
                           for r in routes), f"only injected resets fail a send: {failure}")
    scenario.wait(lambda: len(client.connected_directories) == 3, "every directory back", timeout=12)
    exits = scenario.exits()
    scenario.check(all((e["kind"], e["decision"]) == ("network", "Restart") for e in exits),
                   f"only network failures, all restarted: {exits}")


def test_plan_from_environment(scenario, monkeypatch, tmp_path):
    """JM_FAULT_PLAN names a plan file, JM_FAULT_SEED replaces its seed.

    The plan drops our !orderbook on d0. Invariants: the seed override is applied; the
    drop fired exactly once and d0 never received the !orderbook; the fetch is complete
    through the other directories.
    """
    net = scenario.network(makers=2)
    d0 = net.directory_servers[0]
    written = FaultPlan(seed=1, name="env plan", rules=(
        FaultRule(target="directory", name=d0, direction="out", command="orderbook", fault=Drop()),))
    path = tmp_path / "plan.json"
    path.write_text(written.to_json())
    monkeypatch.setenv("JM_FAULT_PLAN", str(path))
    monkeypatch.setenv("JM_FAULT_SEED", str(scenario.seed))
    plan = plan_from_env()
    scenario.check(plan is not None and plan.seed == scenario.seed and plan.rules == written.rules,
                   f"plan from env with the seed replaced: {plan}")
    client = scenario.connected(net, plan=plan)
    offers = client.fetch_orderbook(max_wait=5, min_wait=1, quiet_period=0.3)
    scenario.check({(o.counterparty, o.oid) for o in offers} == expected_offers(net.makers),
                   "complete orderbook via the other directories")
    scenario.check(len(scenario.faults("fault.drop", f"directory:{d0}")) == 1, "one drop on d0")
    scenario.check(not any(b"orderbook" in line for line in net.directories[0].received_lines(client.nick)),
                   "d0 never saw our !orderbook")


# -- replay ------------------------------------------------------------------------------------


def _lines(n: int) -> list[bytes]:
    commands = ["sig", "pubkey", "ioauth", "orderbook"]
    out = []
    for i in range(n):
        kind = 687 if i % 7 == 0 else 685
        out.append(b'{"type": %d, "line": "J5maker%d!J5taker!%s data%d sig"}\r\n'
                   % (kind, i % 3, commands[i % 4].encode(), i))
    return out


def _run_once(plan: FaultPlan, lines: list[bytes], chunk_sizes: list[int]) -> tuple[bytes, bytes, list]:
    """Push ``lines`` both ways through FaultyTransports of one target; what arrived where
    and which faults fired."""
    injector = FaultInjector(plan)
    local_in, remote_in = memory_pair()
    incoming = injector.wrap(local_in, "directory", "d.onion:5222")
    stream = b"".join(lines)
    pos, i = 0, 0
    while pos < len(stream):  # incoming, in chunks of the given sizes
        size = chunk_sizes[i % len(chunk_sizes)]
        remote_in.send(stream[pos:pos + size])
        pos, i = pos + size, i + 1
    remote_in.close()
    received = bytearray()
    while chunk := incoming.recv(4096):
        received += chunk
    local_out, remote_out = memory_pair()
    outgoing = injector.wrap(local_out, "directory", "d.onion:5222")
    for line in lines:  # outgoing, a line per send
        outgoing.send(line)
    outgoing.close()
    sent = bytearray()
    while chunk := remote_out.recv(4096):
        sent += chunk
    events = [(e.source, e.kind, e.detail) for e in injector.trace.events("fault.")]
    return bytes(received), bytes(sent), events


def test_same_seeded_plan_over_the_same_lines_replays_the_same_faults():
    """Replay: the faults depend only on the plan and the lines, not on chunking or runs.

    Invariants: two runs of the same seeded plan over the same lines inject the same
    faults (kinds, lines, rules) and deliver the same bytes both ways — also when the
    network chunks the incoming stream differently; another seed injects other faults.
    """
    rules = (FaultRule(direction="in", command="sig", probability=0.5, fault=Drop()),
             FaultRule(probability=0.3, fault=Duplicate()),
             FaultRule(direction="in", probability=0.2, fault=Corrupt(flips=2)),
             FaultRule(direction="out", probability=0.2, fault=Reorder()),
             FaultRule(direction="out", command="orderbook", probability=0.5, fault=Drop()),
             FaultRule(probability=0.5, fault=Latency(latency=0, jitter=1)))
    plan = FaultPlan(seed=424242, name="replay", rules=rules)
    lines = _lines(120)
    first = _run_once(plan, lines, [4096])
    second = _run_once(plan, lines, [4096])
    rechunked = _run_once(plan, lines, [1, 7, 50, 333, 2])
    assert first[2], "the plan injected faults"
    assert {kind for _, kind, _ in first[2]} >= {"fault.drop", "fault.duplicate", "fault.corrupt",
                                                  "fault.reorder", "fault.latency"}
    assert first == second, "same plan, same lines: same faults and same bytes"
    assert rechunked == first, "chunking does not change which faults fire"
    other = _run_once(FaultPlan(seed=424243, name="replay", rules=rules), lines, [4096])
    assert other[2] != first[2], "another seed injects other faults"
    # and a plan round-trips through its JSON (what replay_hint prints)
    assert _run_once(FaultPlan.from_json(plan.to_json()), lines, [4096]) == first
