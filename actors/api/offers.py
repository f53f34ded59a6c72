"""The offers ``fetch_orderbook`` hands to the caller (API.md precise point 4).

Inside, offers are frozen ``actors.core.orderbook.Offer`` values shared by actors. A
taker owns what it gets back and mutates it (joinmarket-ng's taker sets
``offer.fidelity_bond_value`` after checking bonds on chain), so the facade converts
each one, at the boundary, into a fresh mutable :class:`Offer` with joinmarket-ng's field
names and types. Mutating it never touches actor state.

Beyond joinmarket-ng we keep every offer type (legacy ``absoffer``/``reloffer`` too),
``verified`` (signed privmsg rather than an unsigned announcement) and bond data only
from a proof whose signatures verified for our nick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from actors.core import orderbook as core

__all__ = ["Offer", "OfferType", "caller_offer", "caller_offers"]


class OfferType(StrEnum):
    """The six offer commands. Members are ``str``: each equals its wire string and
    joinmarket-ng's ``OfferType`` member of the same value (which is a ``str`` too)."""

    SW0_ABSOLUTE = "sw0absoffer"
    SW0_RELATIVE = "sw0reloffer"
    SWA_ABSOLUTE = "swabsoffer"
    SWA_RELATIVE = "swreloffer"
    ABSOLUTE = "absoffer"
    RELATIVE = "reloffer"


@dataclass(slots=True, eq=True)
class Offer:
    """One maker offer, owned by the caller; field names and types as joinmarket-ng's."""

    counterparty: str
    oid: int
    ordertype: OfferType
    minsize: int
    maxsize: int
    txfee: int
    #: decimal text for relative offers, an int (satoshis) for absolute ones
    cjfee: str | int
    #: 0 until the taker values the bond (joinmarket-ng's taker sets it)
    fidelity_bond_value: int = 0
    #: whether the taker's chain check accepted the bond; None until it checks
    fidelity_bond_verified: bool | None = None
    fidelity_bond_verification_stale: bool = False
    #: the first directory that relayed it, and all of them in arrival order
    directory_node: str | None = None
    directory_nodes: list[str] = field(default_factory=list)
    #: a verified bond proof: utxo_txid, utxo_vout, locktime, utxo_pub, cert_pub,
    #: cert_expiry (raw, in 2016-block units); None without one
    fidelity_bond_data: dict[str, Any] | None = None
    neutrino_compat: bool = False
    features: dict[str, bool] = field(default_factory=dict)
    #: True when a handshaked direct link to the maker existed at the end of the fetch
    directly_reachable: bool | None = None
    #: beyond joinmarket-ng: False for an unsigned PUBMSG announcement
    verified: bool = True

    def is_absolute_fee(self) -> bool:
        """Whether ``cjfee`` is in satoshis (an ``*absoffer``) rather than a fraction."""
        return self.ordertype.endswith("absoffer")

    def calculate_fee(self, amount: int) -> int:
        """The coinjoin fee in satoshis for ``amount``: relative fees round half to even."""
        if self.is_absolute_fee():
            return int(self.cjfee)
        return int((Decimal(amount) * Decimal(str(self.cjfee))).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN))


def caller_offer(offer: core.Offer, directly_reachable: bool | None = None) -> Offer:
    """A fresh, caller-owned copy of one frozen core offer."""
    bond = offer.fidelity_bond_data
    return Offer(
        counterparty=offer.counterparty, oid=offer.oid, ordertype=OfferType(offer.ordertype),
        minsize=offer.minsize, maxsize=offer.maxsize, txfee=offer.txfee, cjfee=offer.cjfee,
        directory_node=offer.directories[0] if offer.directories else None,
        directory_nodes=list(offer.directories),
        fidelity_bond_data=None if bond is None else dict(bond.items()),
        neutrino_compat="neutrino_compat" in offer.features,
        features={name: True for name in sorted(offer.features)},
        directly_reachable=directly_reachable, verified=offer.verified)


def caller_offers(offers: Iterable[core.Offer],
                  direct: Callable[[str], bool] = lambda nick: False) -> list[Offer]:
    """Convert a fetched book; ``direct(nick)`` says whether a direct link to nick is up."""
    return [caller_offer(o, True if direct(o.counterparty) else None) for o in offers]
