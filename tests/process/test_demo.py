"""``make demo`` is one of the README's two set-up commands: it must run to the end.

The demo is a taker on the embedded local network (orderbook, an encrypted CoinJoin
round, direct links); run as the README runs it, a real ``jm-multidir demo`` process.
"""

from __future__ import annotations

import pytest

from actors.app.table import offer_table
from actors.api.offers import caller_offer
from actors.core.orderbook import BondData, Offer

BOND = BondData(utxo_txid="aa" * 32, utxo_vout=1, locktime=5, utxo_pub="02" + "11" * 32,
                cert_pub="03" + "22" * 32, cert_expiry=52)


@pytest.mark.timeout(120)
def test_the_demo_runs_to_the_end(spawn):
    process = spawn("demo")
    assert process.wait(100) == 0, process.stderr[-3000:]
    assert "maker" in process.stdout and "bond expiry" in process.stdout


def test_the_table_reads_core_and_caller_offers_alike():
    core = Offer("J5maker", 0, "sw0reloffer", 1, 2, 0, "0.001", fidelity_bond_data=BOND)
    for offer in (core, caller_offer(core)):
        header, row = offer_table([offer])
        assert row.split() == ["J5maker", "0", "sw0reloffer", "1", "2", "0", "0.001", "52"]
