"""Which directories relayed each offer of one orderbook fetch (API.md point 4).

joinmarket-ng takers read ``offer.directory_node`` / ``offer.directory_nodes`` for their
statistics. The same ``(maker, oid)`` usually arrives through every directory; this
records the relaying directories in arrival order, bounded like the book itself, and
stamps them on the aggregated offers when the fetch ends. Bookkeeping only: it never
decides what is in the book (``OrderbookFetch`` does).
"""

from __future__ import annotations

import msgspec

from actors.core.orderbook import Offer

__all__ = ["OfferSources"]


class OfferSources:
    def __init__(self, max_offers: int) -> None:
        self._max = max_offers
        self._by_key: dict[tuple[str, int], list[str]] = {}

    def note(self, maker: str, oid: int, directory: str) -> None:
        """``directory`` relayed ``maker``'s offer ``oid`` (ignored beyond the cap)."""
        seen = self._by_key.get((maker, oid))
        if seen is None:
            if len(self._by_key) >= self._max:
                return
            self._by_key[(maker, oid)] = [directory]
        elif directory not in seen:
            seen.append(directory)

    def apply(self, offers: list[Offer]) -> list[Offer]:
        """``offers`` with ``directories`` filled in (offers seen only directly keep ``()``)."""
        out = []
        for offer in offers:
            seen = self._by_key.get((offer.counterparty, offer.oid))
            out.append(msgspec.structs.replace(offer, directories=tuple(seen)) if seen else offer)
        return out
