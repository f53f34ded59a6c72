"""The orderbook as an aligned text table, shared by ``jm-multidir orderbook`` and the demo."""

from __future__ import annotations

from collections.abc import Iterable

from actors.core.orderbook import Offer

__all__ = ["offer_table"]


def offer_table(offers: Iterable[Offer]) -> list[str]:
    """Aligned rows: text columns left-aligned, numbers right-aligned; sorted by maker."""
    header = ("maker", "oid", "type", "min", "max", "txfee", "cjfee", "bond expiry")
    rows = [header] + [
        (o.counterparty, str(o.oid), o.ordertype, str(o.minsize), str(o.maxsize), str(o.txfee),
         str(o.cjfee), str(o.fidelity_bond_data.cert_expiry) if o.fidelity_bond_data else "-")
        for o in sorted(offers, key=lambda o: (o.counterparty, o.oid))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    left = {0, 2}
    return ["  ".join(cell.ljust(width) if i in left else cell.rjust(width)
                      for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
            for row in rows]
