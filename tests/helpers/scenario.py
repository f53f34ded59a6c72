"""Seeded, replayable fault scenarios (docs/fault-injection.md); fixture: tests/faults/conftest.py.

A :class:`Scenario` owns one run: a seed, a :class:`~actors.faults.FaultPlan`, the
:class:`~actors.faults.FaultInjector` whose trace the client's actors also write to, a
seeded :class:`~localnet.network.LocalNet` (directory and maker nicks and onion names
derive from the seed, so a plan naming ``host:port`` replays against the same names) and
a blocking client. Tests never sleep-and-hope: they poll a condition with a deadline
(:meth:`Scenario.wait`), then assert invariants over the trace and client state
(:meth:`Scenario.check`). Every failure — a missed deadline, a violated invariant or any
other assertion in the test — carries the replay hint (seed and plan JSON) and the tail
of the trace, so the run can be replayed with ``JM_FAULT_PLAN``/``JM_FAULT_SEED``.

``JM_FAULT_SEED=<n>`` overrides every scenario's seed (sweep a scenario over seeds).
"""

from __future__ import annotations

import hashlib
import os
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.helpers.polling import wait_until

from actors.faults import (FaultInjector, FaultPlan, FaultRule, TraceEvent, fault_plan_report,
                           replay_hint)
from localnet.network import LocalNet
from protocol import NickIdentity
from supervisor import BlockingMultiDirectoryClient

CONNECTION_TIMEOUT = 3.0
_EXIT = re.compile(r"^(?P<name>.+)#(?P<gen>\d+) (?P<kind>\w+) -> (?P<decision>\w+)$")
_START = re.compile(r"^(?P<name>.+)#(?P<gen>\d+)$")


def scenario_seed(test_name: str) -> int:
    """The scenario's seed: ``JM_FAULT_SEED`` if set, else a stable hash of the test id."""
    forced = os.environ.get("JM_FAULT_SEED")
    return int(forced) if forced else zlib.crc32(test_name.encode()) & 0xFFFFFF


class Scenario:
    """One seeded fault run; see the module docstring."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.seed = seed
        self.plan = FaultPlan(seed=seed, name=name)
        self.injector = FaultInjector(self.plan)
        self.nets: list[LocalNet] = []
        self.clients: list[BlockingMultiDirectoryClient] = []
        self.others: list[Any] = []  # extra servers (anything with stop()), stopped at the end
        self.expect_bugs = False  # scenarios injecting crashes expect "bug" exits

    # -- building ------------------------------------------------------------------------

    def network(self, directories: Iterable[str] = ("ng", "ng", "ref"),
                makers: int | list[dict[str, Any]] = 2) -> LocalNet:
        net = LocalNet(directories=tuple(directories), makers=makers, seed=self.seed)
        self.nets.append(net)
        return net.start()

    def add(self, stoppable: Any) -> Any:
        """Stop ``stoppable`` at the end of the scenario (after the clients, before the nets)."""
        self.others.append(stoppable)
        return stoppable

    def use_plan(self, plan: FaultPlan | None = None, rules: Iterable[FaultRule] = ()) -> FaultPlan:
        self.plan = plan or FaultPlan(seed=self.seed, name=self.name, rules=tuple(rules))
        self.injector = FaultInjector(self.plan)
        return self.plan

    def client(self, net: LocalNet, rules: Iterable[FaultRule] = (), plan: FaultPlan | None = None,
               directory_servers: list[str] | None = None,
               **kwargs: Any) -> BlockingMultiDirectoryClient:
        """A blocking client on ``net`` with this scenario's plan (``rules`` or ``plan``)."""
        self.use_plan(plan, rules)
        kwargs.setdefault("connection_timeout", CONNECTION_TIMEOUT)
        kwargs.setdefault("seed", self.seed)
        identity = NickIdentity(private_key_bytes=hashlib.sha256(
            f"taker:{self.seed}:{len(self.clients)}".encode()).digest())
        client = BlockingMultiDirectoryClient(
            directory_servers or net.directory_servers, "regtest", identity,
            socks_host=net.socks_host, socks_port=net.socks_port,
            fault_plan=self.injector, **kwargs)
        self.clients.append(client)
        return client

    def connected(self, net: LocalNet, rules: Iterable[FaultRule] = (),
                  **kwargs: Any) -> BlockingMultiDirectoryClient:
        client = self.client(net, rules, **kwargs)
        self.check(client.connect_all() == len(net.directories),
                   "connect_all should reach every directory")
        return client

    def close(self) -> None:
        errors = []
        for closer in [c.close_all for c in reversed(self.clients)] + \
                      [o.stop for o in reversed(self.others)] + [n.stop for n in reversed(self.nets)]:
            try:
                closer()
            except Exception as exc:  # noqa: BLE001 - stop the rest, report the first
                errors.append(exc)
        self.clients, self.others, self.nets = [], [], []
        if errors:
            raise errors[0]

    # -- observing -----------------------------------------------------------------------

    @property
    def trace(self):
        return self.injector.trace

    def report(self) -> str:
        return fault_plan_report(self.plan, self.trace, last=60)

    def fail(self, message: str) -> None:
        """Fail with the replay hint (seed, plan JSON); the trace tail is added as a report
        section by ``pytest_runtest_makereport`` in tests/faults/conftest.py."""
        pytest.fail(f"{message}\n{replay_hint(self.plan)}")

    def check(self, condition: Any, message: str) -> None:
        """Assert an invariant; on failure the message carries the replay hint and trace."""
        if not condition:
            self.fail(f"invariant violated: {message}")

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 10.0,
             interval: float = 0.02) -> Any:
        """Poll ``predicate`` until truthy; a timeout fails with the replay hint attached."""
        return wait_until(predicate, timeout, what, interval, fail=self.fail)

    def events(self, kind: str | None = None, source: str | None = None) -> list[TraceEvent]:
        return self.trace.events(kind, source)

    def faults(self, kind: str = "fault.", source: str | None = None) -> list[TraceEvent]:
        return self.trace.events(kind, source)

    def exits(self, name: str | None = None) -> list[dict[str, Any]]:
        """Supervisor ``child.exited`` records: name, gen, kind, decision."""
        out = []
        for event in self.trace.events("child.exited"):
            match = _EXIT.match(event.detail)
            if match and (name is None or match["name"] == name):
                out.append({**match.groupdict(), "gen": int(match["gen"])})
        return out

    def starts(self, name: str) -> list[int]:
        """Generations of ``name`` the supervisor started, in order."""
        gens = []
        for event in self.trace.events("child.started"):
            match = _START.match(event.detail)
            if match and match["name"] == name:
                gens.append(int(match["gen"]))
        return gens

    def ups(self, directory: str) -> int:
        return len(self.trace.events("directory.up", source=directory))

    # -- common invariants ---------------------------------------------------------------

    def assert_no_bug_exits(self) -> None:
        bugs = [e for e in self.exits() if e["kind"] == "bug"]
        self.check(not bugs, f"no actor may crash in this scenario, got {bugs}")

    def assert_not_escalated(self) -> None:
        for client in self.clients:
            self.check(client._core.escalation is None,
                       f"the supervisor escalated: {client._core.escalation}")


class ScriptedDirectory:
    """A directory stand-in on loopback that answers every 793 with one fixed DN_HANDSHAKE.

    For handshakes no real directory sends (accepted, but on another network). Each
    connection is read up to its first line, answered, and then held open until
    :meth:`stop`, like a directory that has nothing more to say.
    """

    def __init__(self, reply: str) -> None:
        import socket
        import threading

        from protocol.envelope import MsgType, encode_envelope
        from protocol.framing import frame
        self._reply = frame(encode_envelope(MsgType.DN_HANDSHAKE, reply))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.address = self._listener.getsockname()
        self.accepted = 0
        self._conns: list[Any] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="scripted-directory")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            conn.settimeout(2.0)
            try:
                data = b""
                while b"\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self._reply)
            except OSError:
                pass

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for conn in self._conns:
            conn.close()
