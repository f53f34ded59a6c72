"""Orderbook rules a mutation run showed unpinned: !cancel, the per-maker cap's exact
boundary, a renewed bond winning in either arrival order, and same-offer updates."""

import pytest

from actors.core.orderbook import BondData, Offer, OrderbookFetch


def bond(expiry):
    return BondData("aa" * 32, 1, 1767225600, "02" + "11" * 32, "03" + "22" * 32, expiry)


def offer(maker="M", oid=0, expiry=None, cjfee="0.00002", verified=True):
    return Offer(maker, oid, "sw0reloffer", 27300, 10**9, 0, cjfee,
                 None if expiry is None else bond(expiry), verified=verified)


def keys(f):
    return [(o.counterparty, o.oid) for o in f.offers({})]


def test_cancel_removes_exactly_that_offer_and_frees_its_slot():
    f = OrderbookFetch(0, 10, 0, 1, max_per_maker=2)
    for oid in (0, 1):
        f.add(offer(oid=oid), 0.1)
    f.add(offer("N", 0), 0.1)
    f.cancel("M", 0)
    f.cancel("M", 7)  # unknown oid: nothing happens
    f.cancel("X", 0)  # unknown maker: nothing happens
    assert keys(f) == [("M", 1), ("N", 0)]
    assert f.add(offer(oid=2), 0.2) is True  # the cancelled offer's slot is free again
    assert f.add(offer(oid=3), 0.2) is False
    f.cancel("M", 1)
    f.cancel("M", 2)
    assert keys(f) == [("N", 0)]
    assert [f.add(offer(oid=oid), 0.3) for oid in (5, 6, 7)] == [True, True, False]


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_per_maker_cap_admits_exactly_cap_offers(cap):
    f = OrderbookFetch(0, 10, 0, 1, max_per_maker=cap)
    added = [f.add(offer(oid=oid), 0.1) for oid in range(cap + 2)]
    assert added == [True] * cap + [False, False]
    assert f.dropped_per_maker == 2 and f.dropped == 0
    assert len(f.offers({})) == cap
    assert f.add(offer("N", 0), 0.1) is True  # the cap is per maker


def test_updating_an_admitted_offer_does_not_use_another_slot():
    f = OrderbookFetch(0, 10, 0, 1, max_per_maker=1)
    assert f.add(offer(expiry=50), 0.1) is True
    assert f.add(offer(expiry=51), 0.2) is True
    assert f.add(offer(expiry=51), 0.3) is False  # identical copy: no change
    assert f.dropped_per_maker == 0 and f.last_offer == 0.2


def test_max_offers_drops_are_each_counted():
    f = OrderbookFetch(0, 10, 0, 1, max_offers=1)
    assert [f.add(offer(oid=oid), 0.1) for oid in range(3)] == [True, False, False]
    assert f.dropped == 2


def test_defaults():
    f = OrderbookFetch(0, 10, 0, 1)
    assert (f.max_offers, f.max_per_maker, f.dropped, f.dropped_per_maker) == (20_000, 64, 0, 0)


@pytest.mark.parametrize("first, second", [(None, 50), (None, 0), (50, 51), (0, 1)])
def test_renewed_bond_wins_in_both_arrival_orders(first, second):
    for order in ((first, second), (second, first)):
        f = OrderbookFetch(0, 10, 0, 1)
        for expiry in order:
            f.add(offer(expiry=expiry), 0.1)
        [kept] = f.offers({})
        assert kept.fidelity_bond_data == bond(second)


def test_same_bond_newer_terms_replace_and_an_identical_copy_does_not():
    f = OrderbookFetch(0, 10, 0, 1)
    assert f.add(offer(expiry=50, cjfee="0.1"), 0.1) is True
    assert f.add(offer(expiry=50, cjfee="0.2"), 0.2) is True
    assert f.add(offer(expiry=50, cjfee="0.2"), 0.3) is False
    assert f.offers({})[0].cjfee == "0.2"
    g = OrderbookFetch(0, 10, 0, 1)
    g.add(offer(cjfee="0.1"), 0.1)
    assert g.add(offer(cjfee="0.3"), 0.2) is True and g.offers({})[0].cjfee == "0.3"
    assert g.add(offer(cjfee="0.3"), 0.3) is False and g.last_offer == 0.2


def test_bond_mapping_refuses_unknown_keys_by_name():
    with pytest.raises(KeyError) as info:
        bond(1)["value"]
    assert info.value.args == ("value",)


def test_features_learned_later_are_merged_and_known_ones_keep_the_offer():
    f = OrderbookFetch(0, 10, 0, 1)
    f.add(Offer("M", 0, "sw0absoffer", 1, 2, 0, 5, features=frozenset({"a"})), 0.1)
    [same] = f.offers({"M": frozenset({"a"})})
    assert same.features == frozenset({"a"}) and same is f.offers({})[0]  # not copied
    [merged] = f.offers({"M": frozenset({"b"})})
    assert merged.features == frozenset({"a", "b"})


# -- the stop rule (API.md "Orderbook"), with a start time that is not zero ------------------


def test_max_wait_is_measured_from_start_and_reached_exactly():
    f = OrderbookFetch(100.0, 5, 5, 1)
    assert f.next_check(104.0, []) == pytest.approx(1.0)
    assert f.next_check(105.0, []) is None


def test_negative_max_wait_means_stop_at_once():
    f = OrderbookFetch(100.0, -3, 0, 0)
    assert (f.max_wait, f.min_wait, f.quiet) == (0.0, 0.0, 0.0)
    assert f.next_check(100.0, []) is None


def test_quiet_period_is_zero_when_min_wait_equals_max_wait():
    assert OrderbookFetch(0, 10, 10, 5).quiet == 0.0
    assert OrderbookFetch(0, 10, 4, 5).quiet == 5


def test_stops_when_quiet_exactly_at_min_wait():
    f = OrderbookFetch(100.0, 60, 10, 2)
    f.add(offer(), 100.0)
    assert f.next_check(105.0, []) == pytest.approx(5.0)  # min_wait still 5 s away
    assert f.next_check(110.0, []) is None


def test_before_min_wait_waits_for_the_later_of_min_wait_and_quiet():
    f = OrderbookFetch(100.0, 60, 10, 4)
    f.add(offer(), 108.0)
    assert f.next_check(109.0, []) == pytest.approx(3.0)  # quiet until 112 > min_wait at 110
    assert f.next_check(112.0, []) is None


def test_when_everyone_answered_only_the_quiet_period_is_awaited():
    f = OrderbookFetch(100.0, 60, 30, 4)
    f.add(offer("A"), 101.0)
    assert f.next_check(102.0, ["A"]) == pytest.approx(3.0)
    assert f.next_check(105.0, ["A"]) is None
    # no known makers, or one missing: after the quiet period, min_wait rules
    assert f.next_check(102.0, []) == pytest.approx(3.0)
    assert f.next_check(105.0, []) == pytest.approx(25.0)
    assert f.next_check(105.0, ["A", "B"]) == pytest.approx(25.0)


def test_the_next_check_never_overshoots_max_wait():
    f = OrderbookFetch(100.0, 10, 10, 0)
    assert f.next_check(109.5, []) == pytest.approx(0.5)
    g = OrderbookFetch(100.0, 10, 0, 5)
    g.add(offer(), 108.0)
    assert g.next_check(109.0, []) == pytest.approx(1.0)


def test_a_due_check_is_never_rescheduled_for_zero_seconds():
    f = OrderbookFetch(100.0, 60, 10, 0)
    f.add(offer(), 100.0)
    assert f.next_check(110.0 - 1e-12, []) == pytest.approx(0.001)


def test_max_wait_stops_even_while_offers_are_still_arriving():
    f = OrderbookFetch(100.0, 5, 0, 3)
    f.add(offer(), 104.5)
    assert f.next_check(105.0, []) is None


def test_bond_get_reads_fields_and_defaults_for_others():
    b = bond(52)
    assert b.get("cert_expiry") == 52 and b.get("utxo_vout", 9) == 1
    assert b.get("value") is None and b.get("value", 7) == 7
