"""Supervisor guarantees that need real threads (the pure decisions are in test_supervision_core)."""

import time
from types import SimpleNamespace

import pykka
import pytest

from actors.shells.base import ChildActor, handles
from actors.shells.names import SUPERVISOR
from actors.faults import FaultPlan, FaultRule, Latency
from actors.core.messages import ChildExited, Message
from actors.core.supervision import FailureKind
from actors.shells.runtime import AddressBook, Stats
from localnet.network import LocalNet
from protocol.errors import LocalProtocolError, MessageError
from protocol.crypto import NickIdentity
from supervisor import BlockingMultiDirectoryClient


class Explode(Message):
    kind: str


class Exploding(ChildActor):
    kind = "test"

    @handles(Explode)
    def on_explode(self, message: Explode) -> None:
        raise {"exit": SystemExit(3), "interrupt": KeyboardInterrupt()}[message.kind]


class Recorder(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []

    def on_receive(self, message):
        if message == "seen":
            return list(self.seen)
        self.seen.append(message)
        return None


@pytest.mark.parametrize("kind", ["exit", "interrupt"])
def test_system_exit_in_our_actor_never_stops_the_applications_actors(kind):
    stats = Stats()
    ctx = SimpleNamespace(stats=stats, book=AddressBook(stats), stopping=False)
    foreign = Recorder.start()  # an actor of the host application
    supervisor = Recorder.start()
    ctx.book.bind(SUPERVISOR, supervisor)
    ours = Exploding.start(ctx, "child", 1)
    try:
        ours.tell(Explode(kind))
        assert ours.actor_stopped.wait(5), "our failed actor should stop"
        exits = [m for m in supervisor.ask("seen", timeout=5) if isinstance(m, ChildExited)]
        assert [(e.name, e.generation, e.kind) for e in exits] \
            == [("child", 1, FailureKind.LOCAL_BUG)]
        assert foreign.is_alive() and foreign.ask("ping", timeout=5) is None
    finally:
        foreign.stop()
        supervisor.stop()


@pytest.mark.timeout(40)
def test_stuck_child_has_its_socket_aborted_and_shutdown_meets_its_deadline():
    """A DirectoryActor blocked forever in a write is force-closed when its stop times out."""
    with LocalNet(directories=("ng", "ng"), makers=0) as net:
        stuck = net.directory_servers[0]
        plan = FaultPlan(seed=7, rules=(FaultRule(fault=Latency(latency=60_000), target="directory", name=stuck,
                                                  direction="out", command="fill"),))
        client = BlockingMultiDirectoryClient(
            net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
            socks_port=net.socks_port, connection_timeout=5, fault_plan=plan)
        assert client.connect_all() == 2
        pending = client._core.send_privmsg("J5nobodyXXXXXXXX", "fill", "0 1 x y",
                                            force_channel=f"directory:{stuck}")
        time.sleep(0.3)  # the actor is now blocked inside the delayed send
        assert not pending.done()
        started = time.monotonic()
        client.close_all()
        elapsed = time.monotonic() - started
        assert client.stats().get("forced_stops", 0) >= 1
        assert elapsed < 15, f"shutdown overran its deadline: {elapsed:.1f}s"
        assert pending.done()


class Malformed(Message):
    local: bool = False


class ParsesRemoteInput(ChildActor):
    kind = "test"

    @handles(Malformed)
    def on_malformed(self, message: Malformed) -> None:
        if message.local:  # e.g. our handshake built from an invalid our_location
            raise LocalProtocolError("invalid location-string 'nowhere'")
        raise MessageError("a segment has no command word")


class OwnsAConnection(ParsesRemoteInput):
    owns_remote = True


@pytest.mark.parametrize("cls, local, expected", [
    (ParsesRemoteInput, False, FailureKind.LOCAL_BUG),
    (OwnsAConnection, False, FailureKind.REMOTE_VIOLATION),
    (ParsesRemoteInput, True, FailureKind.LOCAL_BUG),
    (OwnsAConnection, True, FailureKind.LOCAL_BUG),
])
def test_only_remote_input_blames_the_remote_and_only_in_its_own_actor(cls, local, expected):
    """Uncontained remote input in a core actor is our bug (restart, counted), not a reason
    to stop it for good; only a connection's own actor is stopped for its remote's fault,
    and never for our own invalid data (a local error is our bug wherever it escapes)."""
    stats = Stats()
    ctx = SimpleNamespace(stats=stats, book=AddressBook(stats), stopping=False)
    supervisor = Recorder.start()
    ctx.book.bind(SUPERVISOR, supervisor)
    child = cls.start(ctx, "child", 1)
    try:
        child.tell(Malformed(local))
        assert child.actor_stopped.wait(5)
        exits = [m for m in supervisor.ask("seen", timeout=5) if isinstance(m, ChildExited)]
        assert [e.kind for e in exits] == [expected]
    finally:
        supervisor.stop()
