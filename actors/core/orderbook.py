"""Orderbook aggregation and its stopping rule (API.md "Orderbook", PROTOCOL.md 7.5-7.6).

``OrderbookFetch`` is fed offers as they arrive and answers one question: when should
the fetch stop? It stops at ``max_wait``; after ``min_wait`` once no new offer arrived
for ``quiet_period``; and early, once every maker known from the peerlists has answered
and the quiet period has passed. The quiet-period clock starts at the last *new* offer,
never at the request: makers answer ``!orderbook`` after 0.3-1 s, so a quiet period
counted from the request ended fetches that had received nothing yet (issue 11).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import msgspec

#: How close to max_wait counts as reached (float rounding of start + max_wait).
_DEADLINE_SLACK = 1e-6

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
                 max_offers: int = 20_000, max_per_maker: int = 64) -> None:
        max_wait = max(0.0, max_wait)
        min_wait = min(max(0.0, min_wait), max_wait)
        quiet = min(max(0.0, quiet_period), max_wait - min_wait) if max_wait > min_wait else 0.0
        self.start, self.max_wait, self.min_wait, self.quiet = start, max_wait, min_wait, quiet
        self.last_offer: float | None = None  # no offer yet: the quiet clock has not started
        self.max_offers = max_offers
        self.max_per_maker = max_per_maker
        self.dropped = 0  # refused by the max_offers cap
        self.dropped_per_maker = 0  # refused by the max_per_maker cap
        self._offers: dict[tuple[str, int], Offer] = {}
        self._per_maker: dict[str, int] = {}
        self.answered: set[str] = set()

    def add(self, offer: Offer, now: float) -> bool:
        """Merge one offer; return whether the book changed (resets the quiet clock).

        When ``answered`` grows (a maker's first offer), the stop time may move earlier
        than the check already planned: callers then call ``next_check`` again.
        """
        key = (offer.counterparty, offer.oid)
        old = self._offers.get(key)
        if old is None:
            if len(self._offers) >= self.max_offers:
                self.dropped += 1
                return False
            if self._per_maker.get(offer.counterparty, 0) >= self.max_per_maker:
                self.dropped_per_maker += 1
                return False
        self.answered.add(offer.counterparty)
        if old is not None and not _better(offer, old):
            return False
        if old is None:
            self._per_maker[offer.counterparty] = self._per_maker.get(offer.counterparty, 0) + 1
        self._offers[key] = offer
        self.last_offer = now
        return True

    def cancel(self, counterparty: str, oid: int) -> None:
        if self._offers.pop((counterparty, oid), None) is not None:
            left = self._per_maker[counterparty] - 1
            if left:
                self._per_maker[counterparty] = left
            else:
                del self._per_maker[counterparty]

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
