"""Fault injection: every fault kind over an in-memory pair and a loopback socket pair.

The client side is the wrapped transport (``faulty``); the remote side (``remote``) is
the plain other end. "in" faults are observed by reading ``faulty``, "out" faults by
reading ``remote``. Timing checks are lower bounds only.
"""

import json
import random
import socket
import threading
import time
import typing

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.core.supervision import FailureKind
from actors.shells.base import classify
from actors.faults import (
    CRASH_POINTS, Bandwidth, Corrupt, Crash, CrashInjected, CrashPoints, Drop, Duplicate, Fault,
    FaultInjector, FaultPlan, FaultRule, FaultyTransport, Latency, LimitData, Partition,
    Reorder, Reset, Slice, Stall, Trace, fault_plan_report, line_commands, plan_from_env,
    replay_hint,
)
from actors.faults.injector import EFFECTS
from actors.faults.testing import memory_pair
from actors.net.transport import SocketTransport

TARGET = ("directory", "d1.onion:5222")


def line(cmd: str, n: int = 0) -> bytes:
    return b'{"type": 685, "line": "J5taker!J5maker!%s %d x"}\r\n' % (cmd.encode(), n)


def read_all(transport) -> bytes:
    chunks = []
    while chunk := transport.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def read_lines(transport) -> list[bytes]:
    return read_all(transport).splitlines(keepends=True)


@pytest.fixture(params=["memory", "socket"])
def make_pair(request):
    """Returns a factory ``(rules, seed) -> (faulty, remote, trace)``; closes at teardown."""
    opened = []

    def factory(*rules, seed=1):
        if request.param == "memory":
            local, remote = memory_pair()
        else:
            a, b = socket.socketpair()
            local, remote = SocketTransport(a), SocketTransport(b)
        injector = FaultInjector(FaultPlan(seed=seed, rules=tuple(rules)))
        faulty = injector.wrap(local, *TARGET)
        assert isinstance(faulty, FaultyTransport)
        opened.extend([faulty, remote])
        return faulty, remote, injector.trace

    yield factory
    for transport in opened:
        transport.close()


def send_and_close(transport, *data: bytes) -> None:
    for chunk in data:
        transport.send(chunk)
    transport.close()


def fault_kinds(trace) -> list[str]:
    return [e.kind for e in trace.events("fault.")]


# --- byte-level faults ----------------------------------------------------------------

def test_latency_delays_incoming_data(make_pair):
    faulty, remote, trace = make_pair(FaultRule(fault=Latency(latency=80), direction="in"))
    start = time.monotonic()
    send_and_close(remote, line("pubkey"))
    assert read_all(faulty) == line("pubkey")
    assert time.monotonic() - start >= 0.075
    assert fault_kinds(trace) == ["fault.latency"]


def test_latency_delays_outgoing_data(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Latency(latency=80, jitter=10), direction="out"))
    start = time.monotonic()
    send_and_close(faulty, line("fill"))
    assert time.monotonic() - start >= 0.065
    assert read_all(remote) == line("fill")


def test_bandwidth_limits_throughput(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Bandwidth(rate=20), direction="out"))
    data = b"x" * 3000 + b"\r\n"
    start = time.monotonic()
    send_and_close(faulty, data)
    assert time.monotonic() - start >= 0.14  # 3002 bytes at 20 KB/s = 0.15 s
    assert read_all(remote) == data


def test_stall_in_blocks_recv_until_abort(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Stall(), direction="in", after_lines=1))
    remote.send(line("a") + line("b") + line("c"))
    received = []
    reader = threading.Thread(target=lambda: received.append(read_all(faulty)))
    reader.start()
    time.sleep(0.15)
    assert reader.is_alive()
    faulty.abort()
    reader.join(5)
    assert received == [line("a")]


def test_stall_with_timeout_closes_the_connection(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Stall(timeout=60), direction="in"))
    remote.send(line("a"))
    start = time.monotonic()
    assert faulty.recv(4096) == b""
    assert time.monotonic() - start >= 0.055
    with pytest.raises(ConnectionResetError):
        faulty.send(line("b"))


def test_stall_out_swallows_data(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Stall(), direction="out", after_lines=1))
    send_and_close(faulty, line("a"), line("b"), line("c"))
    assert read_all(remote) == line("a")


def test_reset_in_ends_stream_and_fails_sends(make_pair):
    faulty, remote, trace = make_pair(FaultRule(fault=Reset(), direction="in", after_lines=2))
    send_and_close(remote, line("a"), line("b"), line("c"), line("d"))
    assert read_lines(faulty) == [line("a"), line("b")]
    with pytest.raises(ConnectionResetError):
        faulty.send(line("x"))
    assert fault_kinds(trace) == ["fault.reset"]


def test_reset_out_fails_the_triggering_send_and_closes_remote(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Reset(), direction="out", command="tx"))
    faulty.send(line("auth"))
    with pytest.raises(ConnectionResetError):
        faulty.send(line("tx"))
    with pytest.raises(ConnectionResetError):
        faulty.send(line("push"))
    assert read_all(remote) == line("auth")
    assert faulty.recv(4096) == b""


def test_slice_in_splits_data_into_small_chunks(make_pair):
    faulty, remote, _ = make_pair(
        FaultRule(fault=Slice(average_size=10, size_variation=3), direction="in"))
    data = line("sig") * 3
    send_and_close(remote, data)
    chunks = []
    while chunk := faulty.recv(4096):
        chunks.append(chunk)
    assert b"".join(chunks) == data
    assert len(chunks) >= len(data) // 13 and max(map(len, chunks)) <= 13


def test_slice_out_delivers_intact_with_delays(make_pair):
    faulty, remote, _ = make_pair(
        FaultRule(fault=Slice(average_size=8, delay=5000), direction="out"))
    data = line("fill")
    start = time.monotonic()
    send_and_close(faulty, data)
    assert time.monotonic() - start >= (len(data) // 8 - 1) * 0.005 * 0.9
    assert read_all(remote) == data


def test_limit_data_in_closes_after_the_limit(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=LimitData(bytes=50), direction="in"))
    remote.send(line("a") * 5)
    assert read_all(faulty) == (line("a") * 5)[:50]
    with pytest.raises(BrokenPipeError):
        faulty.send(line("b"))


def test_limit_data_out_closes_after_the_limit(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=LimitData(bytes=70), direction="out"))
    faulty.send(line("a"))
    with pytest.raises(BrokenPipeError):
        faulty.send(line("b"))  # crosses the limit: delivered up to it, then closed
    with pytest.raises(BrokenPipeError):
        faulty.send(line("c"))
    assert read_all(remote) == (line("a") + line("b"))[:70]


def test_partition_stops_both_directions_then_resumes(make_pair):
    faulty, remote, trace = make_pair(
        FaultRule(fault=Partition(duration=150), direction="out", command="fill", count=1))
    start = time.monotonic()
    sender = threading.Thread(target=faulty.send, args=(line("fill"),))
    sender.start()
    time.sleep(0.02)
    remote.send(line("pubkey"))
    assert faulty.recv(4096) == line("pubkey")
    assert time.monotonic() - start >= 0.14
    sender.join(5)
    faulty.send(line("auth"))  # healed: immediate
    faulty.close()
    assert read_all(remote) == line("fill") + line("auth")
    assert fault_kinds(trace) == ["fault.partition"]


# --- line-level faults ----------------------------------------------------------------

@pytest.mark.parametrize("direction", ["in", "out"])
def test_drop_loses_only_matching_lines(make_pair, direction):
    faulty, remote, trace = make_pair(FaultRule(fault=Drop(), direction=direction, command="sig"))
    writer, reader = (remote, faulty) if direction == "in" else (faulty, remote)
    send_and_close(writer, line("ioauth") + line("sig", 1) + line("sig", 2), line("push"))
    assert read_lines(reader) == [line("ioauth"), line("push")]
    assert fault_kinds(trace) == ["fault.drop", "fault.drop"]


@pytest.mark.parametrize("direction", ["in", "out"])
def test_duplicate_delivers_matching_line_twice(make_pair, direction):
    faulty, remote, _ = make_pair(FaultRule(fault=Duplicate(), direction=direction, command="685",
                                            after_lines=1, count=1))
    writer, reader = (remote, faulty) if direction == "in" else (faulty, remote)
    send_and_close(writer, line("a"), line("b"), line("c"))
    assert read_lines(reader) == [line("a"), line("b"), line("b"), line("c")]


@pytest.mark.parametrize("direction", ["in", "out"])
def test_reorder_delivers_matching_line_after_the_next(make_pair, direction):
    faulty, remote, _ = make_pair(FaultRule(fault=Reorder(), direction=direction, command="!tx"))
    writer, reader = (remote, faulty) if direction == "in" else (faulty, remote)
    send_and_close(writer, line("auth") + line("tx") + line("sig") + line("push"))
    assert read_lines(reader) == [line("auth"), line("sig"), line("tx"), line("push")]


@pytest.mark.parametrize("direction", ["in", "out"])
def test_corrupt_changes_bytes_but_keeps_framing(make_pair, direction):
    faulty, remote, _ = make_pair(FaultRule(fault=Corrupt(flips=3), direction=direction, count=1))
    writer, reader = (remote, faulty) if direction == "in" else (faulty, remote)
    send_and_close(writer, line("pubkey") + line("auth"))
    first, second = read_lines(reader)
    original = line("pubkey")
    assert len(first) == len(original) and first.endswith(b"\r\n") and first != original
    assert 1 <= sum(x != y for x, y in zip(first, original)) <= 3
    assert second == line("auth")


def test_line_rules_work_on_lines_split_across_reads(make_pair):
    faulty, remote, _ = make_pair(FaultRule(fault=Drop(), direction="in", command="sig"))
    data = line("a") + line("sig") + line("b")
    for i in range(0, len(data), 7):
        remote.send(data[i:i + 7])
    remote.close()
    assert read_lines(faulty) == [line("a"), line("b")]


def test_rules_apply_in_plan_order_and_a_dropped_line_ends_the_pass(make_pair):
    faulty, remote, trace = make_pair(
        FaultRule(fault=Drop(), direction="in", command="sig"),
        FaultRule(fault=Duplicate(), direction="in"))
    send_and_close(remote, line("a") + line("sig"))
    assert read_lines(faulty) == [line("a"), line("a")]
    assert fault_kinds(trace) == ["fault.duplicate", "fault.drop"]


def test_line_commands_reads_envelope_type_and_jm_command():
    assert line_commands(line("sig")) == {"685", "sig"}
    pubmsg = b'{"type": 687, "line": "J5a!PUBLIC!!orderbook"}\r\n'
    assert line_commands(pubmsg) == {"687", "orderbook"}
    assert line_commands(b'{"type": 789, "line": "J5a;x.onion:5222"}\r\n') == {"789"}
    assert line_commands(b"not json\r\n") == frozenset()


# --- counts, targets, determinism -----------------------------------------------------

def test_count_spans_reconnections_to_the_same_target():
    injector = FaultInjector(FaultPlan(seed=0, rules=(
        FaultRule(fault=Reset(), target="directory", direction="in", count=1),)))
    outcomes = []
    for _ in range(2):
        local, remote = memory_pair()
        faulty = injector.wrap(local, *TARGET)
        send_and_close(remote, line("a"))
        outcomes.append(read_all(faulty))
        faulty.close()
    assert outcomes == [b"", line("a")]


def test_rules_match_target_kind_and_name_glob():
    plan = FaultPlan(seed=0, rules=(
        FaultRule(fault=Drop(), target="peer", name="J5mak*"),
        FaultRule(fault=Crash(point="router.*"), target="router")))
    injector = FaultInjector(plan)
    local, _ = memory_pair()
    assert isinstance(injector.wrap(local, "peer", "J5maker"), FaultyTransport)
    assert injector.wrap(local, "peer", "J5other") is local
    assert injector.wrap(local, "directory", "J5maker") is local


def test_wrap_is_zero_cost_without_a_matching_rule():
    local, _ = memory_pair()
    assert FaultInjector().wrap(local, *TARGET) is local
    crash_only = FaultPlan(seed=0, rules=(FaultRule(fault=Crash(point="directory.on_line")),))
    assert FaultInjector(crash_only).wrap(local, *TARGET) is local
    FaultInjector().crash_points.maybe_crash("directory", "directory.on_line", "x")


def deliver_through(plan: FaultPlan, lines: list[bytes], chunking: int):
    injector = FaultInjector(plan)
    local, remote = memory_pair()
    faulty = injector.wrap(local, *TARGET)
    data = b"".join(lines)
    for i in range(0, len(data), chunking):
        remote.send(data[i:i + chunking])
    remote.close()
    received = read_all(faulty)
    faulty.close()
    faults = [(e.source, e.kind, e.detail) for e in injector.trace.events("fault.")]
    return received, faults


PROBABILISTIC = (
    FaultRule(fault=Drop(), direction="in", probability=0.3),
    FaultRule(fault=Corrupt(), direction="in", command="sig", probability=0.5),
    FaultRule(fault=Duplicate(), direction="in", probability=0.1),
    FaultRule(fault=Reorder(), direction="in", probability=0.1),
)


def test_same_seed_gives_identical_faults_regardless_of_chunking():
    lines = [line(["sig", "pubkey", "ioauth"][i % 3], i) for i in range(300)]
    plan = FaultPlan(seed=1234, rules=PROBABILISTIC)
    first = deliver_through(plan, lines, chunking=len(b"".join(lines)))
    second = deliver_through(plan, lines, chunking=37)
    assert first == second
    assert len(first[1]) > 50  # the rules really fired


def test_different_seed_gives_different_faults():
    lines = [line("sig", i) for i in range(200)]
    a = deliver_through(FaultPlan(seed=1, rules=PROBABILISTIC), lines, 4096)
    b = deliver_through(FaultPlan(seed=2, rules=PROBABILISTIC), lines, 4096)
    assert a[1] != b[1]


def test_each_direction_has_its_own_random_sequence():
    # Interleaving of reads and writes must not change either direction's faults.
    plan = FaultPlan(seed=9, rules=(FaultRule(fault=Drop(), probability=0.5),))

    def run(interleave: bool):
        injector = FaultInjector(plan)
        local, remote = memory_pair()
        faulty = injector.wrap(local, *TARGET)
        for i in range(50):
            if interleave:
                faulty.send(line("out", i))
            remote.send(line("in", i))
        if not interleave:
            for i in range(50):
                faulty.send(line("out", i))
        remote.close()
        received = read_all(faulty)
        faulty.close()
        return received, sorted(e.detail for e in injector.trace.events("fault."))

    assert run(True) == run(False)


def test_concurrent_reader_and_writer_over_a_socket():
    plan = FaultPlan(seed=3, rules=(
        FaultRule(fault=Drop(), direction="in", command="sig"),
        FaultRule(fault=Duplicate(), direction="out", command="fill"),
        FaultRule(fault=Latency(latency=1), direction="both")))
    a, b = socket.socketpair()
    faulty = FaultInjector(plan).wrap(SocketTransport(a), *TARGET)
    remote = SocketTransport(b)
    received = []
    reader = threading.Thread(target=lambda: received.append(read_all(faulty)))
    reader.start()
    writer = threading.Thread(target=lambda: [remote.send(line(c, i)) for i in range(100)
                                              for c in ("sig", "ok")])
    writer.start()
    for i in range(100):
        faulty.send(line("fill", i))
    writer.join(10)
    b.shutdown(socket.SHUT_WR)
    reader.join(10)
    faulty.abort()
    out = read_all(remote)
    faulty.close()
    remote.close()
    assert received == [b"".join(line("ok", i) for i in range(100))]
    assert out == b"".join(line("fill", i) * 2 for i in range(100))


# --- crash points ---------------------------------------------------------------------

def test_crash_point_raises_after_n_passes_at_most_count_times():
    trace = Trace()
    points = CrashPoints(FaultPlan(seed=0, rules=(FaultRule(
        fault=Crash(point="directory.on_line"), target="directory", after_lines=2, count=1),)),
        trace)
    points.maybe_crash("directory", "directory.on_line", "d1:5222")
    points.maybe_crash("directory", "directory.on_line", "d1:5222")
    points.maybe_crash("directory", "directory.on_send", "d1:5222")
    points.maybe_crash("peer", "directory.on_line", "d1:5222")
    with pytest.raises(CrashInjected) as info:
        points.maybe_crash("directory", "directory.on_line", "d1:5222")
    assert info.value.point == "directory.on_line"
    assert classify(info.value, owns_remote=True) is FailureKind.LOCAL_BUG
    points.maybe_crash("directory", "directory.on_line", "d1:5222")  # count exhausted
    assert [(e.kind, e.detail) for e in trace.events("fault.")] == [
        ("fault.crash", "directory.on_line pass=3 rule=0")]


def test_crash_point_glob_and_probability_are_seeded():
    plan = FaultPlan(seed=5, rules=(FaultRule(fault=Crash(point="peer.*"), target="peer",
                                              probability=0.5),))

    def run():
        points = CrashPoints(plan, Trace())
        outcome = []
        for _ in range(40):
            try:
                points.maybe_crash("peer", "peer.on_line", "J5maker")
                outcome.append(0)
            except CrashInjected:
                outcome.append(1)
        return outcome

    assert run() == run() and 0 < sum(run()) < 40


def test_documented_crash_points_are_named_by_actor_kind():
    kinds = {point.split(".")[0] for point in CRASH_POINTS}
    assert kinds == {"directory", "peer", "router", "registry"}


# --- plans: serialisation and replay --------------------------------------------------

EXAMPLE_TOML = """
seed = 42
name = "flaky directory"

[[rules]]
target = "directory"
name = "*.onion:5222"
direction = "in"
fault = { type = "latency", latency = 300, jitter = 50 }

[[rules]]
target = "peer"
command = "sig"
after_lines = 1
probability = 0.5
count = 2
fault = { type = "drop" }

[[rules]]
target = "directory"
fault = { type = "crash", point = "directory.on_line" }
"""


def test_plan_round_trips_through_toml_and_json(tmp_path):
    plan = FaultPlan.from_toml(EXAMPLE_TOML)
    assert plan.seed == 42 and plan.rules[0].fault == Latency(latency=300, jitter=50)
    assert plan.rules[1].count == 2 and plan.rules[2].fault == Crash(point="directory.on_line")
    assert FaultPlan.from_json(plan.to_json()) == plan
    (tmp_path / "plan.toml").write_text(EXAMPLE_TOML)
    (tmp_path / "plan.json").write_text(plan.to_json())
    assert FaultPlan.load(tmp_path / "plan.toml") == FaultPlan.load(tmp_path / "plan.json") == plan


@pytest.mark.parametrize("bad", [
    '{"seed": 1, "rules": [{"fault": {"type": "drop"}, "probability": 1.5}]}',
    '{"seed": 1, "rules": [{"fault": {"type": "explode"}}]}',
    '{"seed": 1, "rules": [{"fault": {"type": "latency", "latncy": 5}}]}',
    '{"seed": 1, "rules": [{"fault": {"type": "drop"}, "direction": "sideways"}]}',
    '{"rules": []}',
])
def test_invalid_plans_are_rejected(bad):
    with pytest.raises(msgspec.ValidationError):
        FaultPlan.from_json(bad)


ms = st.integers(0, 10**6)
faults = st.one_of(
    st.builds(Latency, latency=ms, jitter=ms),
    st.builds(Bandwidth, rate=st.floats(0.001, 1e6)),
    st.builds(Stall, timeout=ms), st.just(Reset()),
    st.builds(Slice, average_size=st.integers(1, 1 << 16), size_variation=ms, delay=ms),
    st.builds(LimitData, bytes=ms), st.just(Drop()), st.just(Duplicate()), st.just(Reorder()),
    st.builds(Corrupt, flips=st.integers(1, 100)), st.builds(Partition, duration=ms),
    st.builds(Crash, point=st.sampled_from(CRASH_POINTS)),
)
rules = st.builds(
    FaultRule, fault=faults,
    target=st.sampled_from(["directory", "peer", "router", "registry", "any"]),
    name=st.text(max_size=20), direction=st.sampled_from(["in", "out", "both"]),
    command=st.none() | st.text(max_size=10), after_lines=st.integers(0, 1000),
    probability=st.floats(0, 1), count=st.none() | st.integers(1, 1000))
plans = st.builds(FaultPlan, seed=st.integers(0, 2**63 - 1),
                  rules=st.lists(rules, max_size=5).map(tuple), name=st.text(max_size=20))


@settings(max_examples=150, deadline=None)
@given(plans)
def test_any_plan_round_trips_through_json(plan):
    assert FaultPlan.from_json(plan.to_json()) == plan


def test_plan_from_env_reads_file_or_inline_json_and_seed_override(tmp_path):
    plan = FaultPlan.from_toml(EXAMPLE_TOML)
    path = tmp_path / "p.toml"
    path.write_text(EXAMPLE_TOML)
    assert plan_from_env({}) is None
    assert plan_from_env({"JM_FAULT_PLAN": str(path)}) == plan
    assert plan_from_env({"JM_FAULT_PLAN": plan.to_json(), "JM_FAULT_SEED": "7"}).seed == 7


def test_replay_hint_carries_seed_and_plan():
    plan = FaultPlan.from_toml(EXAMPLE_TOML)
    hint = replay_hint(plan)
    assert "seed=42" in hint and "JM_FAULT_PLAN" in hint
    embedded = hint.split("plan=", 1)[1].split("; rerun", 1)[0]
    assert FaultPlan.from_json(embedded) == plan


def test_fault_plan_report_shows_hint_and_trace_tail():
    trace = Trace()
    for i in range(5):
        trace.record("directory:d1", "privmsg.sent", f"n={i}")
    report = fault_plan_report(FaultPlan(seed=3), trace, last=2)
    assert "seed=3" in report and "n=4" in report and "n=2" not in report


# --- trace ----------------------------------------------------------------------------

def test_trace_is_bounded_and_counts_dropped_events():
    trace = Trace(max_events=3)
    for i in range(5):
        trace.record("directory:d1", "fault.drop" if i % 2 else "directory.connected", str(i))
    assert len(trace) == 3 and trace.dropped == 2
    assert [e.detail for e in trace.events()] == ["2", "3", "4"]
    assert [e.detail for e in trace.events("fault.")] == ["3"]
    connected = trace.events("directory.connected", source="directory:")
    assert [e.detail for e in connected] == ["2", "4"]
    dumped = json.loads(trace.dump_json())
    assert dumped["dropped"] == 2 and dumped["events"][0]["detail"] == "2"


def test_trace_is_safe_to_append_from_many_threads():
    trace = Trace()
    threads = [threading.Thread(target=lambda: [trace.record("s", "k") for _ in range(1000)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(trace) == 8000


# --- the in-memory transport itself ---------------------------------------------------

def test_memory_pair_carries_bytes_and_eof():
    a, b = memory_pair()
    a.send(b"hello ")
    a.send(b"world")
    assert b.recv(3) == b"hel"
    a.close()
    assert read_all(b) == b"lo world"
    with pytest.raises(BrokenPipeError):
        a.send(b"x")
    b.close()


def test_memory_abort_unblocks_a_blocked_recv():
    a, b = memory_pair()
    result = []
    reader = threading.Thread(target=lambda: result.append(a.recv(10)))
    reader.start()
    time.sleep(0.05)
    a.abort()
    reader.join(5)
    assert result == [b""]
    assert b.recv(10) == b""
    b.close()


def test_faulty_transport_passes_data_untouched_when_no_rule_fires():
    injector = FaultInjector(FaultPlan(seed=0, rules=(
        FaultRule(fault=Drop(), direction="in", command="never"),)))
    local, remote = memory_pair()
    faulty = injector.wrap(local, *TARGET)
    payload = bytes(random.Random(0).randrange(256) for _ in range(5000))
    faulty.send(payload)
    assert remote.recv(10000) == payload
    send_and_close(remote, payload)
    assert read_all(faulty) == payload
    faulty.close()


def test_every_transport_fault_has_exactly_one_effect():
    """The plan's fault types and the injector's table agree: a new fault cannot be
    added to the schema and silently do nothing (crashes fire at crash points instead)."""
    assert set(EFFECTS) == set(typing.get_args(Fault)) - {Crash}
