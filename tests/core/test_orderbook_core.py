"""Orderbook aggregation and the stopping rule (API.md "Orderbook", PROTOCOL.md 7.5)."""

import pytest

from actors.core.orderbook import BondData, Offer, OrderbookFetch


def offer(maker="M", oid=0, expiry=None, verified=True, cjfee="0.00002"):
    bond = None if expiry is None else BondData("aa" * 32, 1, 1767225600, "02" + "11" * 32,
                                                 "03" + "22" * 32, expiry)
    return Offer(maker, oid, "sw0reloffer", 27300, 10**9, 0, cjfee, bond, verified=verified)


def test_dedup_by_counterparty_and_oid_keeps_later_cert_expiry():
    f = OrderbookFetch(0, 10, 0, 1)
    f.add(offer(expiry=52), 0.1)
    f.add(offer(expiry=50), 0.2)
    f.add(offer(oid=1), 0.3)
    book = f.offers({})
    assert [(o.oid, o.fidelity_bond_data and o.fidelity_bond_data["cert_expiry"]) for o in book] == [
        (0, 52), (1, None)]


def test_verified_copy_beats_unsigned_announcement():
    f = OrderbookFetch(0, 10, 0, 1)
    f.add(offer(verified=False, cjfee="0.5"), 0.1)
    f.add(offer(verified=True), 0.2)
    f.add(offer(verified=False, cjfee="0.9"), 0.3)
    assert f.offers({})[0].cjfee == "0.00002"


def test_features_learned_later_are_merged():
    f = OrderbookFetch(0, 10, 0, 1)
    f.add(offer(), 0.1)
    assert f.offers({"M": frozenset({"neutrino_compat"})})[0].features == {"neutrino_compat"}


def test_bond_reads_like_a_mapping():
    bond = offer(expiry=52).fidelity_bond_data
    assert dict(bond.items())["utxo_vout"] == 1 and set(bond) == set(bond.keys()) and len(bond) == 6
    with pytest.raises(KeyError):
        bond["nope"]


def test_stops_at_max_wait():
    f = OrderbookFetch(0, 5, 5, 1)
    assert f.next_check(4.9, []) is not None and f.next_check(5.0, []) is None


def test_after_min_wait_stops_once_quiet():
    f = OrderbookFetch(0, 100, 10, 3)
    f.add(offer(), 9.0)
    assert f.next_check(10.0, []) == pytest.approx(2.0)
    assert f.next_check(12.0, []) is None


def test_quiet_clock_starts_at_the_last_new_offer_not_the_request():
    """Issue 11: NG makers answer after 0.3-1 s; a quiet period from the request ended at 0.25 s."""
    f = OrderbookFetch(0, 100, 0, 0.25)
    assert f.next_check(0.25, []) is not None and f.next_check(0.9, []) is not None
    f.add(offer("A"), 0.9)
    assert f.next_check(1.0, []) == pytest.approx(0.15)
    f.add(offer("A"), 1.1)  # the same offer again (another directory): not new
    assert f.next_check(1.2, []) is None


def test_a_fetch_with_nothing_runs_to_max_wait():
    f = OrderbookFetch(0, 10, 2, 0.25)
    assert f.next_check(0.0, ["A"]) == pytest.approx(10.0)
    assert f.next_check(9.99, ["A"]) is not None and f.next_check(10.0, ["A"]) is None


def test_before_min_wait_it_waits_for_min_wait_unless_everyone_answered():
    f = OrderbookFetch(0, 60, 30, 0.25)
    f.add(offer("A"), 1.0)
    assert f.next_check(1.5, ["A", "B"]) == pytest.approx(28.5)  # B missing: min_wait
    f.add(offer("B"), 2.0)  # every active maker answered: quiet period, then stop
    assert f.next_check(2.0, ["A", "B"]) == pytest.approx(0.25)
    assert f.next_check(2.25, ["A", "B"]) is None


def test_finishes_early_once_every_known_maker_answered_and_quiet():
    f = OrderbookFetch(0, 120, 30, 2)
    f.add(offer("A"), 1.0)
    assert f.next_check(3.5, ["A", "B"]) is not None  # B has not answered: wait for min_wait
    f.add(offer("B"), 4.0)
    assert f.next_check(6.0, ["A", "B"]) is None


def test_clamps_like_the_reference():
    f = OrderbookFetch(0, 10, 30, 15)
    assert (f.min_wait, f.quiet) == (10, 0)
    assert OrderbookFetch(0, 20, 10, 15).quiet == 10


def test_offer_cap_counts_drops():
    f = OrderbookFetch(0, 10, 0, 1, max_offers=1)
    f.add(offer(oid=0), 0.1)
    assert not f.add(offer(oid=1), 0.2) and f.dropped == 1
