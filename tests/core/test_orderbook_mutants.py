"""OrderbookFetch pinned to exact decisions: which copy of an offer wins, where each cap
ends (per maker, per source, whole book), which offer is evicted, the counters, and the
stop rule at its boundaries. Both arrival orders are checked where the order matters.
"""

import pytest

from actors.core.orderbook import (BOND_FIELDS, LISTED, TRUST_LEVELS, UNLISTED, VERIFIED, BondData,
                                   Offer, OrderbookFetch)


def bond(expiry: int, utxo: str = "aa") -> BondData:
    return BondData(utxo * 32, 1, 1767225600, "02" + "11" * 32, "03" + "22" * 32, expiry)


def offer(maker="M", oid=0, expiry=None, cjfee="0.00002", verified=True, utxo="aa") -> Offer:
    data = None if expiry is None else bond(expiry, utxo)
    return Offer(maker, oid, "sw0reloffer", 27300, 10**9, 0, cjfee, data, verified=verified)


def fetch(max_offers=20_000, sources=1, per_maker=64) -> OrderbookFetch:
    return OrderbookFetch(0.0, 10.0, 1.0, 0.5, max_offers=max_offers, max_per_maker=per_maker,
                          sources=sources)


def held(f: OrderbookFetch) -> list[tuple[str, int]]:
    return [(o.counterparty, o.oid) for o in f.offers({})]


def only(f: OrderbookFetch) -> Offer:
    [o] = f.offers({})
    return o


# --- bond data reads like a mapping --------------------------------------------------------------

def test_bond_get_and_missing_keys():
    b = bond(52)
    assert b.get("cert_expiry") == 52 and b.get("utxo_vout", "x") == 1
    assert b.get("nope") is None and b.get("nope", "dflt") == "dflt"
    assert b.keys() == BOND_FIELDS and list(b) == list(BOND_FIELDS)
    assert b["locktime"] == 1767225600
    with pytest.raises(KeyError) as caught:
        b["nope"]
    assert caught.value.args == ("nope",)


def test_trust_levels_are_ordered():
    assert TRUST_LEVELS == (UNLISTED, LISTED, VERIFIED) and UNLISTED < LISTED < VERIFIED


# --- which copy of the same (maker, oid) wins ----------------------------------------------------

@pytest.mark.parametrize("first, second, winner", [
    (offer(), offer(expiry=0), "second"),  # a bond beats none, even one expiring at 0
    (offer(expiry=0), offer(), "first"),
    (offer(expiry=5), offer(expiry=7), "second"),  # the later certificate expiry wins
    (offer(expiry=7), offer(expiry=5), "first"),
    (offer(cjfee="0.1"), offer(cjfee="0.2"), "second"),  # an update without a bond replaces
    (offer(expiry=5, cjfee="0.1"), offer(expiry=5, cjfee="0.2"), "second"),  # same bond: update
    (offer(expiry=5, utxo="aa"), offer(expiry=5, utxo="bb"), "first"),  # same expiry, other bond
    (offer(verified=False, expiry=9), offer(verified=True), "second"),  # signed beats bonded
    (offer(verified=True), offer(verified=False, expiry=9), "first"),
], ids=["bond-after-none", "none-after-bond", "later-expiry", "earlier-expiry", "update-no-bond",
        "update-same-bond", "other-bond-same-expiry", "signed-after", "unsigned-after"])
def test_the_better_copy_wins_in_either_order(first, second, winner):
    f = fetch()
    assert f.add(first, 0.1) is True
    assert f.add(second, 0.2) is (winner == "second")
    assert only(f) == (second if winner == "second" else first)
    assert f.last_offer == (0.2 if winner == "second" else 0.1)


def test_an_identical_copy_changes_nothing():
    f = fetch()
    f.add(offer(expiry=3), 0.1)
    assert f.add(offer(expiry=3), 0.2) is False and f.last_offer == 0.1


# --- defaults and clamps -------------------------------------------------------------------------

def test_defaults():
    f = OrderbookFetch(0.0, 10.0, 1.0, 0.5)
    assert (f.max_offers, f.max_per_maker, f.quota) == (20_000, 64, 20_000)
    assert (f.dropped, f.dropped_per_maker, f.evicted, f.last_offer) == (0, 0, 0, None)


@pytest.mark.parametrize("args, expected", [
    ((0.5, 0.25, 0.1), (0.5, 0.25, 0.1)),  # fractions of a second are kept as given
    ((-1.0, -1.0, -1.0), (0.0, 0.0, 0.0)),
    ((10.0, 4.0, 100.0), (10.0, 4.0, 6.0)),  # the quiet period fits between min and max
    ((3.0, 3.0, 2.0), (3.0, 3.0, 0.0)),
])
def test_waits_are_clamped(args, expected):
    f = OrderbookFetch(0.0, *args)
    assert (f.max_wait, f.min_wait, f.quiet) == expected


@pytest.mark.parametrize("max_offers, sources, quota", [
    (3, 2, 1), (7, 2, 3), (1, 1, 1), (1, 4, 1), (0, 1, 1), (10, 0, 10),
])
def test_the_quota_is_the_floor_share_and_at_least_one(max_offers, sources, quota):
    assert OrderbookFetch(0, 10, 1, 1, max_offers=max_offers, sources=sources).quota == quota


# --- the per-maker cap ---------------------------------------------------------------------------

def test_the_per_maker_cap_admits_exactly_max_per_maker():
    f = fetch(per_maker=2)
    assert [f.add(offer("M", oid), 0.1) for oid in range(4)] == [True, True, False, False]
    assert f.dropped_per_maker == 2 and f.dropped == 0
    assert f.add(offer("N", 0), 0.1) is True  # another maker has its own cap
    assert held(f) == [("M", 0), ("M", 1), ("N", 0)]


def test_updates_to_held_offers_pass_a_full_per_maker_cap():
    f = fetch(per_maker=1)
    f.add(offer("M", 0, cjfee="0.1"), 0.1)
    assert f.add(offer("M", 0, cjfee="0.2"), 0.2) is True and only(f).cjfee == "0.2"
    assert f.dropped_per_maker == 0


def test_a_cancel_frees_exactly_one_per_maker_slot():
    f = fetch(per_maker=2)
    f.add(offer("M", 0), 0.1)
    f.add(offer("M", 1), 0.1)
    f.cancel("M", 0)
    assert f.add(offer("M", 2), 0.2) is True
    assert f.add(offer("M", 3), 0.2) is False and f.dropped_per_maker == 1
    assert held(f) == [("M", 1), ("M", 2)]


def test_cancelling_an_unknown_offer_is_a_no_op():
    f = fetch(per_maker=1)
    f.add(offer("M", 0), 0.1)
    f.cancel("M", 1)
    f.cancel("X", 0)
    assert held(f) == [("M", 0)] and f.add(offer("M", 1), 0.2) is False


def test_a_cancelled_offer_can_come_back():
    f = fetch(per_maker=1)
    f.add(offer("M", 0), 0.1)
    f.cancel("M", 0)
    assert held(f) == []
    assert f.add(offer("M", 0), 0.2) is True and held(f) == [("M", 0)]


# --- the per-source quota ------------------------------------------------------------------------

def test_a_cancel_frees_exactly_one_slot_of_its_source():
    f = fetch(max_offers=4, sources=2)  # quota 2
    f.add(offer("a"), 0.1, "d1", VERIFIED)
    f.add(offer("b"), 0.1, "d1", VERIFIED)
    f.cancel("a", 0)
    assert f.add(offer("c"), 0.2, "d1", VERIFIED) is True
    assert f.add(offer("d"), 0.2, "d1", VERIFIED) is False and f.dropped == 1
    assert held(f) == [("b", 0), ("c", 0)]


def test_without_a_source_offers_share_the_unnamed_channel():
    f = fetch(max_offers=2, sources=2)  # quota 1
    assert f.add(offer("a"), 0.1) is True
    assert f.add(offer("b"), 0.1, "", VERIFIED) is False and f.dropped == 1
    assert f.add(offer("b"), 0.1, "d1", VERIFIED) is True


def test_the_same_trust_again_does_not_make_an_offer_newer():
    f = fetch(max_offers=2)
    f.add(offer("a"), 0.1, "d", UNLISTED)
    f.add(offer("b"), 0.1, "d", UNLISTED)
    f.add(offer("a"), 0.2, "d", UNLISTED)  # a again, still unlisted: still the oldest
    assert f.add(offer("c"), 0.3, "d", LISTED) is True
    assert held(f) == [("b", 0), ("c", 0)] and f.evicted == 1


def test_lower_trust_later_does_not_lower_an_offer():
    f = fetch(max_offers=2)
    f.add(offer("a"), 0.1, "d", LISTED)
    f.add(offer("b"), 0.1, "d", UNLISTED)
    f.add(offer("a"), 0.2, "d", UNLISTED)
    assert f.add(offer("c"), 0.3, "d", LISTED) is True  # evicts b, never a
    assert held(f) == [("a", 0), ("c", 0)]


def test_an_offer_that_earned_trust_stays_charged_to_its_source():
    f = fetch(max_offers=4, sources=2)  # quota 2
    f.add(offer("a"), 0.1, "d1", UNLISTED)
    f.add(offer("b"), 0.1, "d1", UNLISTED)
    f.add(offer("a"), 0.2, "d2", LISTED)  # a earns trust through another directory
    assert f.add(offer("c"), 0.3, "d1", VERIFIED) is True  # evicts b, the unlisted one
    assert held(f) == [("a", 0), ("c", 0)]
    assert f.add(offer("d"), 0.4, "d1", VERIFIED) is True  # then a, listed, from d1's quota
    assert held(f) == [("c", 0), ("d", 0)] and f.evicted == 2
    assert f.add(offer("e"), 0.5, "d2", UNLISTED) is True  # d2 was never charged for a
    assert f.add(offer("g"), 0.5, "d2", UNLISTED) is True
    assert f.add(offer("h"), 0.5, "d2", UNLISTED) is False


def test_evictions_take_the_lowest_level_first_then_the_oldest():
    f = fetch(max_offers=3)
    f.add(offer("l1"), 0.1, "d", LISTED)
    f.add(offer("u1"), 0.1, "d", UNLISTED)
    f.add(offer("u2"), 0.1, "d", UNLISTED)
    assert f.add(offer("v1"), 0.2, "d", VERIFIED)
    assert f.add(offer("v2"), 0.2, "d", VERIFIED)
    assert held(f) == [("l1", 0), ("v1", 0), ("v2", 0)]
    assert f.add(offer("v3"), 0.2, "d", VERIFIED)  # then the listed one
    assert held(f) == [("v1", 0), ("v2", 0), ("v3", 0)] and f.evicted == 3
    assert f.add(offer("v4"), 0.2, "d", VERIFIED) is False and f.dropped == 1


# --- the whole-book cap, when more channels deliver than were configured -------------------------

def full_book() -> OrderbookFetch:
    """max_offers 6 over 2 configured sources (quota 3), filled through three channels."""
    f = fetch(max_offers=6, sources=2)
    for name in ("a1", "a2", "a3"):
        f.add(offer(name), 0.1, "d1", UNLISTED)
    for name in ("b1", "b2"):
        f.add(offer(name), 0.1, "d2", UNLISTED)
    f.add(offer("c1"), 0.1, "direct", UNLISTED)
    return f


def test_a_full_book_evicts_from_the_fullest_channel():
    f = full_book()
    assert f.add(offer("n1"), 0.2, "direct", VERIFIED) is True
    assert f.evicted == 1
    assert held(f) == [("a2", 0), ("a3", 0), ("b1", 0), ("b2", 0), ("c1", 0), ("n1", 0)]


def test_a_full_book_refuses_what_it_cannot_outrank():
    f = full_book()
    assert f.add(offer("n1"), 0.2, "direct", UNLISTED) is False
    assert (f.dropped, f.evicted, len(held(f))) == (1, 0, 6)


def test_the_book_is_full_at_exactly_max_offers():
    f = fetch(max_offers=2, sources=2)  # quota 1
    assert f.add(offer("a"), 0.1, "d1", UNLISTED) is True
    assert f.add(offer("b"), 0.1, "d2", UNLISTED) is True
    assert f.add(offer("c"), 0.1, "d3", UNLISTED) is False and f.dropped == 1
    assert held(f) == [("a", 0), ("b", 0)]


# --- the stop rule at its boundaries -------------------------------------------------------------

def test_times_are_measured_from_the_start():
    f = OrderbookFetch(100.0, 10.0, 2.0, 1.0)
    assert f.next_check(100.0, []) == pytest.approx(10.0)
    assert f.next_check(104.0, []) == pytest.approx(6.0)
    assert f.next_check(110.0, []) is None
    f = OrderbookFetch(100.0, 10.0, 2.0, 5.0)
    f.add(offer(), 106.0)
    assert f.next_check(106.5, []) == pytest.approx(3.5)  # what is left of the quiet period
    assert f.next_check(108.0, []) == pytest.approx(2.0)  # capped by what is left of max_wait
    f.add(offer("N"), 101.0)
    assert f.next_check(111.0, []) is None


def test_a_timer_a_rounding_error_short_of_max_wait_stops():
    f = OrderbookFetch(0.0, 5.0, 1.0, 1.0)
    assert f.next_check(5.0 - 1e-6, []) is None
    assert f.next_check(5.0 - 2e-6, []) == pytest.approx(2e-6)


def test_quiet_exactly_at_min_wait_stops():
    f = OrderbookFetch(0.0, 100.0, 10.0, 3.0)
    f.add(offer(), 5.0)
    assert f.next_check(10.0, ["M", "N"]) is None


def test_quiet_ending_exactly_now_before_min_wait_waits_for_min_wait():
    f = OrderbookFetch(0.0, 100.0, 30.0, 2.0)
    f.add(offer("A"), 1.0)
    assert f.next_check(3.0, ["A", "B"]) == pytest.approx(27.0)


def test_quiet_ending_exactly_now_with_everyone_answered_stops():
    f = OrderbookFetch(0.0, 100.0, 30.0, 2.0)
    f.add(offer("A"), 1.0)
    assert f.next_check(3.0, ["A"]) is None
    assert f.next_check(2.5, ["A"]) == pytest.approx(0.5)


def test_the_wait_for_min_wait_is_what_is_left_of_it():
    f = OrderbookFetch(0.0, 100.0, 30.0, 2.0)
    f.add(offer("A"), 1.0)
    assert f.next_check(29.5, ["A", "B"]) == pytest.approx(0.5)
    assert f.next_check(3.5, []) == pytest.approx(26.5)  # no known makers: never all answered


def test_the_minimum_recheck_delay_is_a_millisecond():
    f = OrderbookFetch(0.0, 100.0, 30.0, 2.0)
    f.add(offer("A"), 1.0)
    assert f.next_check(30.0 - 1e-9, ["A", "B"]) == pytest.approx(0.001)
    assert f.next_check(3.0 - 1e-9, ["A", "B"]) == pytest.approx(0.001)


def test_offers_merge_features_without_touching_those_that_need_none():
    f = fetch()
    f.add(Offer("M", 0, "sw0reloffer", 1, 2, 0, "0.1", features=frozenset({"a"})), 0.1)
    f.add(offer("N"), 0.1)
    out = f.offers({"M": frozenset({"a"}), "N": frozenset({"b"})})
    assert [o.features for o in out] == [frozenset({"a"}), frozenset({"b"})]
