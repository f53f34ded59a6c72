"""The orderbook as an aligned text table, shared by ``jm-multidir orderbook`` and the demo.

It takes the core's frozen offers (the CLI reads a ClientCore) and the facades'
caller-owned NG-shaped ones (the demo is a taker), whose bond data is a plain dict; both
answer ``bond.get(field)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["offer_table"]


def offer_table(offers: Iterable[Any]) -> list[str]:
    """Aligned rows: text columns left-aligned, numbers right-aligned; sorted by maker."""
    header = ("maker", "oid", "type", "min", "max", "txfee", "cjfee", "bond expiry")
    rows = [header] + [
        (o.counterparty, str(o.oid), o.ordertype, str(o.minsize), str(o.maxsize), str(o.txfee),
         str(o.cjfee), _bond_expiry(o.fidelity_bond_data))
        for o in sorted(offers, key=lambda o: (o.counterparty, o.oid))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    left = {0, 2}
    return ["  ".join(cell.ljust(width) if i in left else cell.rjust(width)
                      for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def _bond_expiry(bond: Any) -> str:
    return "-" if not bond else str(bond.get("cert_expiry"))
