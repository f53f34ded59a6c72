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


@pytest.mark.parametrize("first, second", [(None, 50), (50, 51), (0, 1)])
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


def test_bond_mapping_refuses_unknown_keys_by_name():
    with pytest.raises(KeyError) as info:
        bond(1)["value"]
    assert info.value.args == ("value",)


def test_features_learned_later_are_merged_and_known_ones_keep_the_offer():
    f = OrderbookFetch(0, 10, 0, 1)
    f.add(Offer("M", 0, "sw0absoffer", 1, 2, 0, 5, features=frozenset({"a"})), 0.1)
    [same] = f.offers({"M": frozenset({"a"})})
    assert same.features == frozenset({"a"})
    [merged] = f.offers({"M": frozenset({"b"})})
    assert merged.features == frozenset({"a", "b"})
