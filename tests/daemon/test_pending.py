"""The asyncio remote facade's pending writes (actors.daemon.pending), as a pure object."""

from actors.daemon.pending import PendingDial, PendingSync, PendingWrites
from actors.daemon.wire import CoreState

A, B = "a.onion:5222", "b.onion:5222"


def state() -> CoreState:
    return CoreState(present={"stay": frozenset({A, B}), "leave": frozenset({A})},
                     listed={"stay": frozenset({A, B}), "leave": frozenset({A})},
                     locations={"stay": "s.onion:5222", "leave": "l.onion:5222"})


def test_a_pending_sync_makes_its_directory_carry_exactly_its_nicks():
    writes = PendingWrites()
    writes.add(1, PendingSync(A, frozenset({"new"})))
    view = writes.over(state)
    assert view.present == {"stay": {B}, "new": {A}}
    assert view.listed == {"stay": {B}}
    assert view.locations == {"stay": "s.onion:5222"}  # "leave" is on no directory now


def test_pending_syncs_apply_in_the_order_sent_and_stop_applying_once_settled():
    writes = PendingWrites()
    writes.add(1, PendingSync(B, frozenset({"stay", "new"})))
    writes.add(2, PendingSync(B, frozenset()))
    assert writes.over(state).present == {"stay": {A}, "leave": {A}}
    writes.settle(2)
    assert writes.over(state).present["new"] == {B}
    writes.settle(1)
    assert writes.over(state) == state()
    assert len(writes) == 0


def test_a_pending_dial_lasts_until_its_reply_or_the_links_loss():
    writes = PendingWrites()
    writes.add(7, PendingDial("maker"))
    writes.add(8, PendingSync(A, frozenset()))
    assert writes.dialling("maker") and not writes.dialling("other")
    writes.settle(99)  # a reply to another request
    assert writes.dialling("maker")
    writes.settle(7)
    assert not writes.dialling("maker")
    writes.clear()
    assert len(writes) == 0 and writes.over(state) == state()
