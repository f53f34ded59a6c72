"""OfferSources (actors/core/sources.py): which directories relayed each offer, bounded."""

from actors.core.orderbook import Offer
from actors.core.sources import OfferSources


def offer(maker: str, oid: int) -> Offer:
    return Offer(maker, oid, "sw0reloffer", 27300, 1_000_000, 0, "0.00002")


def test_directories_are_recorded_once_each_in_arrival_order():
    sources = OfferSources(max_offers=10)
    for directory in ("dirB", "dirA", "dirB", "dirC", "dirA"):
        sources.note("J5maker", 0, directory)
    [out] = sources.apply([offer("J5maker", 0)])
    assert out.directories == ("dirB", "dirA", "dirC")
    assert out.counterparty == "J5maker" and out.oid == 0


def test_the_key_is_maker_and_oid_together():
    sources = OfferSources(max_offers=10)
    sources.note("J5alice", 0, "dirA")
    sources.note("J5alice", 1, "dirB")
    sources.note("J5bob", 0, "dirC")
    out = sources.apply([offer("J5alice", 0), offer("J5alice", 1), offer("J5bob", 0),
                         offer("J5bob", 1), offer("J5carol", 0)])
    assert [o.directories for o in out] == [("dirA",), ("dirB",), ("dirC",), (), ()]


def test_offers_seen_only_directly_are_returned_unchanged():
    sources = OfferSources(max_offers=10)
    direct = offer("J5maker", 3)
    [out] = sources.apply([direct])
    assert out is direct and out.directories == ()
    assert sources.apply([]) == []


def test_apply_keeps_the_order_and_every_other_field_of_the_offers():
    sources = OfferSources(max_offers=10)
    sources.note("J5b", 7, "dirA")
    first, second = offer("J5b", 7), offer("J5a", 1)
    out = sources.apply([first, second])
    assert out == [Offer("J5b", 7, "sw0reloffer", 27300, 1_000_000, 0, "0.00002",
                         directories=("dirA",)), second]


def test_new_offers_beyond_the_cap_are_ignored_but_known_ones_still_learn_directories():
    sources = OfferSources(max_offers=2)
    sources.note("J5a", 0, "dirA")
    sources.note("J5a", 1, "dirA")  # the second key fills the cap exactly
    sources.note("J5a", 2, "dirA")  # a third key is beyond it
    sources.note("J5a", 0, "dirB")  # a known key still records a new directory
    out = sources.apply([offer("J5a", 0), offer("J5a", 1), offer("J5a", 2)])
    assert [o.directories for o in out] == [("dirA", "dirB"), ("dirA",), ()]


def test_a_cap_of_one_holds_exactly_one_offer():
    sources = OfferSources(max_offers=1)
    sources.note("J5a", 0, "dirA")
    sources.note("J5b", 0, "dirA")
    out = sources.apply([offer("J5a", 0), offer("J5b", 0)])
    assert [o.directories for o in out] == [("dirA",), ()]


def test_a_cap_of_zero_records_nothing():
    sources = OfferSources(max_offers=0)
    sources.note("J5a", 0, "dirA")
    assert sources.apply([offer("J5a", 0)])[0].directories == ()
