"""Orderbook aggregation and its stopping rule (API.md "Orderbook", PROTOCOL.md 7.5-7.6).

``OrderbookFetch`` is fed offers as they arrive and answers one question: when should
the fetch stop? It stops at ``max_wait``; after ``min_wait`` once no new offer arrived
for ``quiet_period``; and early, once every maker known from the peerlists has answered
and the quiet period has passed. The quiet-period clock starts at the last *new* offer,
never at the request: makers answer ``!orderbook`` after 0.3-1 s, so a quiet period
counted from the request ended fetches that had received nothing yet (issue 11).

Admission (ARCHITECTURE.md 9.4, docs/limits.md): every offer is charged to the channel it
first arrived on (a directory, or "direct"), and each channel may hold ``max_offers //
sources``, so invented nicks relayed by one directory fill that directory's quota and no
other. Offers carry a trust level (:data:`VERIFIED` > :data:`LISTED` > :data:`UNLISTED`);
when a quota or the whole book is full, a newcomer evicts the oldest offer of a strictly
lower trust level instead of being refused, so a flood can push out only offers less
trusted than itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

import msgspec

#: How close to max_wait counts as reached (float rounding of start + max_wait).
_DEADLINE_SLACK = 1e-6

#: Trust levels of an offer's maker, lowest first (ARCHITECTURE.md 9.4).
UNLISTED = 0  # an unsigned announcement from a nick no peerlist lists
LISTED = 1  # the nick is listed by a connected directory's peerlist
VERIFIED = 2  # a signed offer, or the nick has sent us a verified privmsg
TRUST_LEVELS = (UNLISTED, LISTED, VERIFIED)

BOND_FIELDS = ("utxo_txid", "utxo_vout", "locktime", "utxo_pub", "cert_pub", "cert_expiry")


class BondData(msgspec.Struct, frozen=True):
    """A verified fidelity bond; reads like the read-only mapping existing takers expect."""

    utxo_txid: str
    utxo_vout: int
    locktime: int
    utxo_pub: str
    cert_pub: str
    cert_expiry: int

    def __getitem__(self, key: str) -> object:
        if key not in BOND_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(BOND_FIELDS)

    def __len__(self) -> int:
        return len(BOND_FIELDS)

    def keys(self) -> tuple[str, ...]:
        return BOND_FIELDS

    def items(self) -> tuple[tuple[str, object], ...]:
        return tuple((k, getattr(self, k)) for k in BOND_FIELDS)

    def get(self, key: str, default: object = None) -> object:
        return getattr(self, key) if key in BOND_FIELDS else default


class Offer(msgspec.Struct, frozen=True):
    """One maker offer as returned by ``fetch_orderbook`` (API.md precise point 4)."""

    counterparty: str
    oid: int
    ordertype: str
    minsize: int
    maxsize: int
    txfee: int
    cjfee: str | int
    fidelity_bond_data: BondData | None = None
    features: frozenset[str] = frozenset()
    verified: bool = True  # False for unsigned PUBMSG announcements
    directories: tuple[str, ...] = ()  # who relayed it, in order (filled when the fetch ends)


def _better(new: Offer, old: Offer) -> bool:
    """Whether ``new`` should replace ``old`` for the same (counterparty, oid)."""
    if new.verified != old.verified:
        return new.verified
    new_expiry = new.fidelity_bond_data.cert_expiry if new.fidelity_bond_data else -1
    old_expiry = old.fidelity_bond_data.cert_expiry if old.fidelity_bond_data else -1
    if new_expiry != old_expiry:
        return new_expiry > old_expiry
    return new != old and new.fidelity_bond_data == old.fidelity_bond_data


class OrderbookFetch:
    """One ``fetch_orderbook`` call in progress."""

    def __init__(self, start: float, max_wait: float, min_wait: float, quiet_period: float,
                 max_offers: int = 20_000, max_per_maker: int = 64, sources: int = 1) -> None:
        max_wait = max(0.0, max_wait)
        min_wait = min(max(0.0, min_wait), max_wait)
        quiet = min(max(0.0, quiet_period), max_wait - min_wait) if max_wait > min_wait else 0.0
        self.start, self.max_wait, self.min_wait, self.quiet = start, max_wait, min_wait, quiet
        self.last_offer: float | None = None  # no offer yet: the quiet clock has not started
        self.max_offers = max_offers
        self.max_per_maker = max_per_maker
        self.quota = max(1, max_offers // max(1, sources))  # offers per source
        self.dropped = 0  # refused: quota or max_offers full of offers at least as trusted
        self.dropped_per_maker = 0  # refused by the max_per_maker cap
        self.evicted = 0  # pushed out by a more trusted newcomer
        self._offers: dict[tuple[str, int], Offer] = {}
        self._per_maker: dict[str, int] = {}
        self._per_source: Counter[str] = Counter()
        self._placed: dict[tuple[str, int], tuple[str, int]] = {}  # key -> (source, trust)
        # (source, trust) -> keys, oldest first: the eviction candidates
        self._buckets: dict[tuple[str, int], dict[tuple[str, int], None]] = {}
        self.answered: set[str] = set()

    def add(self, offer: Offer, now: float, source: str = "", trust: int = VERIFIED) -> bool:
        """Merge one offer that arrived via ``source`` from a maker of ``trust``; return
        whether the book changed (resets the quiet clock).

        When ``answered`` grows (a maker's first offer), the stop time may move earlier
        than the check already planned: callers then call ``next_check`` again.
        """
        key = (offer.counterparty, offer.oid)
        old = self._offers.get(key)
        if old is None:
            if self._per_maker.get(offer.counterparty, 0) >= self.max_per_maker:
                self.dropped_per_maker += 1
                return False
            if not self._make_room(source, trust):
                self.dropped += 1
                return False
        self.answered.add(offer.counterparty)
        if old is not None:
            if trust > self._placed[key][1]:
                self._place(key, self._placed[key][0], trust)  # the maker earned more trust
            if not _better(offer, old):
                return False
        else:
            self._per_maker[offer.counterparty] = self._per_maker.get(offer.counterparty, 0) + 1
            self._per_source[source] += 1
            self._place(key, source, trust)
        self._offers[key] = offer
        self.last_offer = now
        return True

    def _make_room(self, source: str, trust: int) -> bool:
        """Free a slot for a newcomer of ``trust`` from ``source``; False if it must be refused."""
        if self._per_source[source] >= self.quota:
            victim = self._least_trusted(trust, (source,))
        elif len(self._offers) >= self.max_offers:
            victim = self._least_trusted(trust, sorted(self._per_source, key=self._per_source.get,
                                                       reverse=True))
        else:
            return True
        if victim is None:
            return False
        self.evicted += 1
        self._remove(victim)
        return True

    def _least_trusted(self, below: int, sources: Iterable[str]) -> tuple[str, int] | None:
        """The oldest offer of the lowest trust level under ``below`` among ``sources``."""
        sources = list(sources)
        for level in TRUST_LEVELS:
            if level >= below:
                return None
            for source in sources:
                bucket = self._buckets.get((source, level))
                if bucket:
                    return next(iter(bucket))
        return None

    def _place(self, key: tuple[str, int], source: str, trust: int) -> None:
        previous = self._placed.get(key)
        if previous is not None:
            del self._buckets[previous][key]
        self._placed[key] = (source, trust)
        self._buckets.setdefault((source, trust), {})[key] = None

    def _remove(self, key: tuple[str, int]) -> None:
        if self._offers.pop(key, None) is None:
            return
        source, trust = self._placed.pop(key)
        del self._buckets[(source, trust)][key]
        self._per_source[source] -= 1
        left = self._per_maker[key[0]] - 1
        if left:
            self._per_maker[key[0]] = left
        else:
            del self._per_maker[key[0]]

    def cancel(self, counterparty: str, oid: int) -> None:
        self._remove((counterparty, oid))

    def next_check(self, now: float, known_makers: Iterable[str]) -> float | None:
        """Seconds until the stop rule should be evaluated again; ``None`` means stop now."""
        elapsed = now - self.start
        # a timer set for start + max_wait can fire a rounding error short of it; a
        # re-check delay of ~1e-15 s would then not even advance a clock (livelock)
        if elapsed >= self.max_wait - _DEADLINE_SLACK:
            return None
        until_max = self.max_wait - elapsed
        if self.last_offer is None:
            # nothing received: only max_wait ends it. The caller re-evaluates when a
            # maker answers for the first time (see ``add``), so this is not a sleep.
            return until_max
        quiet_left = self.quiet - (now - self.last_offer)
        known = set(known_makers)
        all_answered = bool(known) and known <= self.answered
        if quiet_left <= 0 and (elapsed >= self.min_wait or all_answered):
            return None
        if quiet_left <= 0:  # quiet, but min_wait not reached and makers still missing
            return min(until_max, max(self.min_wait - elapsed, 0.001))
        return min(until_max, max(quiet_left, 0.001))

    def offers(self, features: Mapping[str, frozenset[str]]) -> list[Offer]:
        """The aggregated book, with features learned since each offer arrived merged in."""
        out = []
        for offer in self._offers.values():
            merged = offer.features | features.get(offer.counterparty, frozenset())
            out.append(offer if merged == offer.features
                       else msgspec.structs.replace(offer, features=merged))
        return sorted(out, key=lambda o: (o.counterparty, o.oid))
