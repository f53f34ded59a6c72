"""Orderbook admission (ARCHITECTURE.md 9.4): per-source quotas, and when full the least
trusted offer is evicted instead of the newcomer being refused."""

from actors.core.orderbook import LISTED, UNLISTED, VERIFIED, Offer, OrderbookFetch


def offer(nick: str, oid: int = 0) -> Offer:
    return Offer(nick, oid, "sw0reloffer", 27_300, 10**9, 0, "0.00002")


def fetch(max_offers: int, sources: int = 1, per_maker: int = 64) -> OrderbookFetch:
    return OrderbookFetch(0.0, 10.0, 1.0, 0.5, max_offers=max_offers, max_per_maker=per_maker,
                          sources=sources)


def book(f: OrderbookFetch) -> set[str]:
    return {o.counterparty for o in f.offers({})}


def test_each_source_fills_only_its_own_quota():
    f = fetch(max_offers=4, sources=2)  # quota 2 each
    for i in range(10):
        f.add(offer(f"junk{i}"), 0.0, "directory:evil", VERIFIED)
    assert f.add(offer("real"), 0.0, "directory:good", UNLISTED)
    assert book(f) == {"junk0", "junk1", "real"} and f.dropped == 8


def test_a_more_trusted_newcomer_evicts_the_oldest_least_trusted_offer():
    f = fetch(max_offers=3)
    f.add(offer("listed"), 0.0, "d", LISTED)
    f.add(offer("unlisted0"), 0.0, "d", UNLISTED)
    f.add(offer("unlisted1"), 0.0, "d", UNLISTED)
    assert f.add(offer("signed"), 0.0, "d", VERIFIED)
    assert book(f) == {"listed", "unlisted1", "signed"} and f.evicted == 1
    assert f.add(offer("listed2"), 0.0, "d", LISTED)  # evicts the last unlisted one
    assert not f.add(offer("listed3"), 0.0, "d", LISTED)  # equal trust: the newcomer waits
    assert book(f) == {"listed", "signed", "listed2"} and f.dropped == 1


def test_an_equally_trusted_flood_is_refused_not_evicting():
    f = fetch(max_offers=2)
    f.add(offer("a"), 0.0, "d", VERIFIED)
    f.add(offer("b"), 0.0, "d", VERIFIED)
    assert not f.add(offer("c"), 0.0, "d", VERIFIED)
    assert book(f) == {"a", "b"} and f.evicted == 0


def test_trust_earned_later_protects_an_offer():
    f = fetch(max_offers=2)
    f.add(offer("m"), 0.0, "d", UNLISTED)
    f.add(offer("n"), 0.0, "d", UNLISTED)
    f.add(offer("m"), 0.0, "d", VERIFIED)  # the same offer, now from a verified sender
    assert f.add(offer("x"), 0.0, "d", LISTED)
    assert book(f) == {"m", "x"}


def test_cancel_and_eviction_keep_the_counts_consistent():
    f = fetch(max_offers=2, per_maker=1)
    f.add(offer("a"), 0.0, "d", UNLISTED)
    f.cancel("a", 0)
    assert f.add(offer("a", 1), 0.0, "d", UNLISTED)  # per-maker slot freed by the cancel
    f.add(offer("b"), 0.0, "d", UNLISTED)
    assert f.add(offer("c"), 0.0, "d", LISTED)  # evicts a
    assert f.add(offer("a", 2), 0.0, "d", VERIFIED)  # a's per-maker slot was freed too
    assert book(f) == {"a", "c"}
