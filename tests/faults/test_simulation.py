"""Deterministic simulation of the pure cores (actors/core) over many seeds.

Each test drives one core with a seeded random schedule of inputs — the same inputs the
actors feed it — and checks its invariants after every step against a small reference
model. No threads, no sockets, no sleeping: time is a ManualClock. A failing seed is
named in the assertion message; rerun one seed with ``JM_SIM_SEED=<n>``.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from actors.core.clock import ManualClock, ManualScheduler
from actors.core.nicktracker import NickTracker
from actors.core.orderbook import Offer, OrderbookFetch
from actors.core.replies import ReplyBook, Reply
from actors.core.supervision import (Escalate, FailureKind, Ignore, Restart, RestartPolicy, Stop,
                                     SupervisorCore)
from protocol.peerlist import PeerlistEntry

SEEDS = [int(os.environ["JM_SIM_SEED"])] if os.environ.get("JM_SIM_SEED") else list(range(250))
BUDGET_SECONDS = 10.0  # for all four simulations together, on a slow CI machine

pytestmark = pytest.mark.timeout(30)
_spent: dict[str, float] = {}


def _timed(name: str, fn) -> None:
    start = time.monotonic()
    for seed in SEEDS:
        fn(seed)
    _spent[name] = time.monotonic() - start
    assert sum(_spent.values()) < BUDGET_SECONDS, f"simulation budget exceeded: {_spent}"


# -- NickTracker: the all-directories-gone rule ------------------------------------------------

DIRECTORIES = ("d0.onion:5222", "d1.onion:5222", "d2.onion:5222")
NICKS = ("J5alice", "J5bob", "J5carol", "J5dave")


def _nicktracker_run(seed: int) -> None:
    rng = random.Random(seed)
    tracker = NickTracker(ignored_locations=[DIRECTORIES[0]])
    model: dict[str, dict[str, bool]] = {}  # nick -> {directory: present}, like the tracker
    reported: list[str] = []
    departures: list[str] = []  # model transitions "present somewhere" → "absent everywhere"

    def model_present(nick: str, directory: str) -> None:
        model.setdefault(nick, {})[directory] = True

    def model_absent(nick: str, directory: str) -> None:
        dirs = model.get(nick)
        if dirs is None or directory not in dirs:
            return
        dirs[directory] = False
        if not any(dirs.values()):
            del model[nick]
            departures.append(nick)

    for step in range(150):
        op = rng.random()
        directory = rng.choice(DIRECTORIES)
        if op < 0.45:  # a peerlist chunk: joins and ;D for a few nicks
            entries = []
            for nick in rng.sample(NICKS, rng.randint(1, 3)):
                gone = rng.random() < 0.45
                entries.append(PeerlistEntry(nick, f"{nick.lower()}.onion:5222", gone, frozenset()))
            if rng.random() < 0.1:  # a REF directory lists itself: never a nick to track
                entries.append(PeerlistEntry("J5dir", DIRECTORIES[0], False, frozenset()))
            gone_now = tracker.apply_peerlist(directory, entries)
            for entry in entries:
                if entry.location == DIRECTORIES[0]:
                    continue
                (model_absent if entry.disconnected else model_present)(entry.nick, directory)
        elif op < 0.7:  # a verified message seen via a directory
            nick = rng.choice(NICKS)
            tracker.mark_present(nick, directory)
            model_present(nick, directory)
            gone_now = []
        else:  # sync_nicks_with_peerlist: the full set on one directory
            active = set(rng.sample(NICKS, rng.randint(0, 3)))
            gone_now = tracker.sync(directory, active)
            for nick in active:
                model_present(nick, directory)
            for nick in [n for n, d in model.items() if d.get(directory) and n not in active]:
                model_absent(nick, directory)
        reported.extend(gone_now)
        context = f"seed {seed} step {step}"
        # gone only when absent on every directory it was seen on, exactly once per departure
        assert reported == departures, f"{context}: reported {reported}, departures {departures}"
        assert "J5dir" not in tracker.view().present, f"{context}: a directory's own entry tracked"
        view = tracker.view()
        for nick in NICKS:
            want = frozenset(d for d, p in model.get(nick, {}).items() if p)
            assert view.present.get(nick, frozenset()) == want, f"{context}: presence of {nick}"
            assert tracker.is_active(nick) == bool(want), f"{context}: is_active({nick})"


def test_nicktracker_reports_each_departure_exactly_once():
    _timed("nicktracker", _nicktracker_run)


# -- ReplyBook: attribution and hand-out ---------------------------------------------------------

COMMANDS = ("pubkey", "ioauth", "sig")


def _replybook_run(seed: int) -> None:
    rng = random.Random(seed)
    book = ReplyBook(replay_ttl=5.0, replay_max=50)
    now = 0.0
    waits: dict[int, tuple[tuple[str, ...], str, dict[str, int]]] = {}
    order: list[int] = []
    handed: dict[tuple[str, str, str], int] = {}  # reply content -> wait it went to
    delivered: set[tuple[str, str, str]] = set()
    next_id = 1

    def collect(wait_id: int, complete: bool) -> None:
        nicks, command, counts = waits.pop(wait_id)
        order.remove(wait_id)
        results = book.results(wait_id)
        ctx = f"seed {seed} wait {wait_id}"
        for nick, entry in results.items():
            assert nick in nicks, f"{ctx}: result for {nick} it did not wait for"
            datas = entry["data"] if isinstance(entry["data"], list) else [entry["data"]]
            if command == "sig" and not entry.get("error"):
                assert len(datas) == len(set(datas)), f"{ctx}: a signature counted twice"
                assert len(datas) <= counts.get(nick, 1), f"{ctx}: more sigs than expected"
            got_command = "error" if entry.get("error") else command
            for data in datas if not entry.get("error") else [entry["data"] + "#e"]:
                key = (nick, got_command, data)
                # only replies actually delivered, from that verified nick, with that command
                assert key in delivered, f"{ctx}: {key} was never delivered"
                assert key not in handed, f"{ctx}: {key} handed out twice"
                handed[key] = wait_id
        if complete:
            for nick in nicks:
                entry = results.get(nick)
                assert entry is not None, f"{ctx}: complete without {nick}"
                if command == "sig" and not entry.get("error"):
                    assert len(entry["data"]) == counts.get(nick, 1), f"{ctx}: counts not met"

    recent: list[tuple[float, Reply]] = []
    for step in range(200):
        now += rng.random() * 0.5
        op = rng.random()
        if op < 0.25 and len(waits) < 6:
            nicks = tuple(rng.sample(NICKS, rng.randint(1, 3)))
            command = rng.choice(COMMANDS)
            counts = {n: rng.randint(1, 3) for n in nicks} if command == "sig" else {}
            wait_id, next_id = next_id, next_id + 1
            waits[wait_id] = (nicks, command, counts)
            order.append(wait_id)
            done = book.register(wait_id, nicks, rng.choice([command, "!" + command]), counts, now)
            if done is not None:
                collect(done.wait_id, done.complete)
        elif op < 0.75:  # a new reply, relayed by one to three directories
            nick = rng.choice(NICKS)
            command = rng.choice(COMMANDS + ("error",))
            args = f"{command}-{step}"
            wire = args + ("#e" if command == "error" else "")  # errors: wire == args + "#e"
            delivered.add((nick, command, wire))
            recent.append((now, Reply(nick, command, wire, args, "")))
            for _copy in range(rng.choice([1, 1, 2, 3])):
                channel = f"directory:{rng.choice(DIRECTORIES)}"
                reply = Reply(nick, command, wire, args, channel)
                for completion in book.deliver(reply, now):
                    collect(completion.wait_id, completion.complete)
        elif op < 0.85 and recent:  # a late copy of a recent reply (within the dedup window)
            sent_at, reply = rng.choice(recent)
            if now - sent_at < 4.0:
                assert book.deliver(reply, now) == [], f"seed {seed}: a late copy completed a wait"
        elif waits:
            wait_id = rng.choice(order)
            completion = book.expire(wait_id)
            assert completion is not None and completion.wait_id == wait_id
            collect(wait_id, completion.complete)
    for wait_id in list(order):
        completion = book.expire(wait_id)
        collect(wait_id, completion.complete)
    assert book.pending == 0


def test_replybook_hands_each_reply_out_once_to_its_sender():
    _timed("replybook", _replybook_run)


# -- SupervisorCore: restarts, staleness, escalation ----------------------------------------------

POLICIES = {
    "router": RestartPolicy("permanent", max_restarts=3, within_seconds=30.0,
                            backoff_minimum=0.05, backoff_maximum=1.0),
    "d0": RestartPolicy("permanent", max_restarts=5, within_seconds=60.0, backoff_minimum=1.0,
                        backoff_maximum=60.0, backoff_jitter=0.2),
    "d1": RestartPolicy("permanent", max_restarts=5, within_seconds=60.0, backoff_minimum=1.0,
                        backoff_maximum=60.0, backoff_jitter=0.2),
    "peer": RestartPolicy("temporary"),
}


def _supervisor_run(seed: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    core = SupervisorCore(rng=random.Random(seed))
    current: dict[str, int] = {}
    running: dict[str, bool] = {}
    stopped: set[str] = set()
    counted: dict[str, list[float]] = {name: [] for name in POLICIES}
    escalations = 0
    for name, policy in POLICIES.items():
        current[name] = core.register(name, policy)
        running[name] = True

    def restart_due(name: str, generation: int) -> None:
        if core.current_generation(name) == generation and escalations == 0:
            running[name] = True
            if rng.random() < 0.5:
                core.on_child_started(name, generation, clock.now())

    for step in range(120):
        clock.advance(rng.random() * rng.choice([0.05, 0.5, 2.0, 5.0, 40.0]))
        name = rng.choice(list(POLICIES))
        ctx = f"seed {seed} step {step} {name}"
        stale = rng.random() < 0.15 and current[name] > 1
        if not running[name] and not stale:
            continue
        generation = current[name] - rng.randint(1, current[name] - 1) if stale else current[name]
        kind = rng.choices(["network", "protocol", "bug", "normal"], [4, 1, 4, 1])[0]
        failure = {"network": FailureKind.NETWORK, "protocol": FailureKind.REMOTE_VIOLATION,
                   "bug": FailureKind.LOCAL_BUG, "normal": None}[kind]
        decision = core.on_child_exit(name, generation, failure, clock.now())
        if escalations:
            assert isinstance(decision, Ignore), f"{ctx}: acted after escalating: {decision}"
            continue
        if stale or name in stopped:
            assert isinstance(decision, Ignore), f"{ctx}: a stale generation acted upon: {decision}"
            continue
        running[name] = False
        policy = POLICIES[name]
        if kind == "network":
            assert not isinstance(decision, Escalate), f"{ctx}: a network failure escalated"
        if isinstance(decision, Restart):
            assert decision.generation == current[name] + 1, f"{ctx}: generation must grow by one"
            assert policy.child_type != "temporary", f"{ctx}: a temporary child restarted"
            assert kind != "protocol", f"{ctx}: a protocol violation restarted"
            assert decision.counted == (kind != "network"), f"{ctx}: counted {decision.counted}"
            assert policy.backoff_minimum <= decision.delay <= policy.backoff_maximum * (
                1 + policy.backoff_jitter) + 1e-9, f"{ctx}: delay {decision.delay}"
            if decision.counted:
                window = [t for t in counted[name] if t > clock.now() - policy.within_seconds]
                assert len(window) < policy.max_restarts, f"{ctx}: should have escalated"
                counted[name] = window + [clock.now()]
            current[name] = decision.generation
            scheduler.call_later(decision.delay, lambda n=name, g=decision.generation: restart_due(n, g))
        elif isinstance(decision, Escalate):
            window = [t for t in counted[name] if t > clock.now() - policy.within_seconds]
            assert kind in ("bug", "normal") and len(window) >= policy.max_restarts, \
                f"{ctx}: escalated with {len(window)} counted restarts in the window"
            escalations += 1
        elif isinstance(decision, Stop):
            assert kind == "protocol" or policy.child_type == "temporary", f"{ctx}: stopped on {kind}"
            stopped.add(name)
        else:
            pytest.fail(f"{ctx}: unexpected {decision}")
    assert escalations <= 1 and core.escalations == escalations, f"seed {seed}: escalations"


def test_supervisor_core_never_restarts_stale_and_escalates_at_most_once():
    _timed("supervisor", _supervisor_run)


# -- OrderbookFetch: the stop rule ----------------------------------------------------------------


def _orderbook_run(seed: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock(start=rng.random() * 100)
    scheduler = ManualScheduler(clock)
    max_wait = rng.choice([0.0, 0.5, 2.0, 10.0, 30.0])
    min_wait = rng.choice([0.0, 0.2, 1.0, 5.0, 40.0])
    quiet = rng.choice([0.0, 0.1, 0.5, 3.0])
    fetch = OrderbookFetch(clock.now(), max_wait, min_wait, quiet)
    start = clock.now()
    makers = [f"J5maker{i}" for i in range(rng.randint(0, 5))]
    known = set(rng.sample(makers, rng.randint(0, len(makers))))
    stopped_at: list[float] = []
    arrivals: list[float] = []

    def offer(maker: str) -> None:
        if not stopped_at:  # the Inbox forgets a fetch once it stopped
            size = rng.choice([2, 2, 3])  # the same offer again, or a changed one
            if fetch.add(Offer(maker, rng.randint(0, 2), "sw0reloffer", 1, size, 0, "0.1"),
                         clock.now()):
                arrivals.append(clock.now())  # only a change resets the quiet clock

    def tick() -> None:  # the Inbox's FetchTick
        delay = fetch.next_check(clock.now(), known)
        if delay is None:
            stopped_at.append(clock.now())
            return
        assert delay > 0, f"seed {seed}: a non-positive re-check delay"
        scheduler.call_later(delay, tick)

    for maker in makers:
        for _ in range(rng.randint(0, 3)):
            scheduler.call_later(rng.random() * max(max_wait, 1.0) * 1.2, lambda m=maker: offer(m))
    tick()
    clock.advance(max_wait + 5.0)
    ctx = f"seed {seed} (max {max_wait} min {min_wait} quiet {quiet} known {len(known)})"
    assert len(stopped_at) == 1, f"{ctx}: stopped {len(stopped_at)} times"
    elapsed = stopped_at[0] - start
    eff_min = min(min_wait, max_wait)
    eff_quiet = min(quiet, max_wait - eff_min) if max_wait > eff_min else 0.0
    assert elapsed <= max_wait + 1e-9, f"{ctx}: stopped after max_wait ({elapsed})"
    if elapsed < max_wait - 1e-6:  # a stop within 1 µs of max_wait is the max_wait stop
        last = max([start] + [t for t in arrivals if t <= stopped_at[0]])
        assert stopped_at[0] - last >= eff_quiet - 1e-9, f"{ctx}: stopped before the quiet period"
        if elapsed < eff_min - 1e-9:
            assert known and known <= fetch.answered, \
                f"{ctx}: stopped before min_wait without every known maker answering"


def test_orderbook_stop_rule_respects_min_quiet_and_max():
    _timed("orderbook", _orderbook_run)
