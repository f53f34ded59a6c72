"""Caller-owned offers (API.md point 4): joinmarket-ng's fields, mutable, detached."""

from __future__ import annotations

from decimal import Decimal

from actors.api.offers import Offer, OfferType, caller_offer, caller_offers
from actors.core.orderbook import BondData
from actors.core.orderbook import Offer as CoreOffer
from tests.helpers.ngstyle import NgOfferType

BOND = BondData("ab" * 32, 1, 1767225600, "02" + "11" * 32, "03" + "22" * 32, 52)


def core(ordertype="sw0reloffer", cjfee="0.00002", bond=BOND,
         features=frozenset({"neutrino_compat"})):
    return CoreOffer("J5maker", 0, ordertype, 27_300, 10**8, 0, cjfee, bond, features,
                     directories=("a.onion:5222", "b.onion:5222"))


def test_fields_and_types_are_joinmarket_ngs():
    offer = caller_offer(core())
    assert (offer.counterparty, offer.oid, offer.minsize, offer.maxsize, offer.txfee) == (
        "J5maker", 0, 27_300, 10**8, 0)
    assert offer.cjfee == "0.00002" and offer.fidelity_bond_value == 0
    assert offer.fidelity_bond_verified is None and offer.directly_reachable is None
    assert offer.directory_node == "a.onion:5222"
    assert offer.directory_nodes == ["a.onion:5222", "b.onion:5222"]
    assert offer.fidelity_bond_data == {"utxo_txid": "ab" * 32, "utxo_vout": 1,
                                        "locktime": 1767225600, "utxo_pub": "02" + "11" * 32,
                                        "cert_pub": "03" + "22" * 32, "cert_expiry": 52}
    assert offer.features == {"neutrino_compat": True} and offer.neutrino_compat is True
    assert caller_offer(core(bond=None, features=frozenset())).fidelity_bond_data is None


def test_ordertype_equals_ng_members_and_wire_strings_and_hashes_alike():
    for wire in ("sw0absoffer", "sw0reloffer", "swabsoffer", "swreloffer"):
        cjfee = 5 if "abs" in wire else "0.1"
        ordertype = caller_offer(core(ordertype=wire, cjfee=cjfee)).ordertype
        assert ordertype == wire == NgOfferType(wire) and ordertype is OfferType(wire)
        assert {NgOfferType(wire): "hit"}[ordertype] == "hit" and {wire: 1}[ordertype] == 1
    legacy = caller_offer(core(ordertype="absoffer", cjfee=5)).ordertype  # beyond NG
    assert legacy == OfferType.ABSOLUTE == "absoffer"


def test_mutations_never_reach_the_frozen_core_offer():
    frozen = core()
    mine, again = caller_offers([frozen, frozen])
    mine.fidelity_bond_value = 10**6
    mine.fidelity_bond_data["cert_expiry"] = 0
    mine.features["mutated"] = True
    mine.directory_nodes.append("x")
    assert frozen.fidelity_bond_data.cert_expiry == 52 and "mutated" not in frozen.features
    assert frozen.directories == ("a.onion:5222", "b.onion:5222")
    assert again.fidelity_bond_value == 0 and again.fidelity_bond_data["cert_expiry"] == 52
    assert again.directory_nodes == ["a.onion:5222", "b.onion:5222"]


def test_direct_reachability_is_marked_from_the_live_links():
    offers = caller_offers([core()], direct=lambda nick: nick == "J5maker")
    assert offers[0].directly_reachable is True


def test_fees():
    relative = caller_offer(core(cjfee="0.000022"))
    assert not relative.is_absolute_fee()
    assert relative.calculate_fee(9_994_243) == int(
        (Decimal(9_994_243) * Decimal("0.000022")).to_integral_value())
    assert caller_offer(core("sw0absoffer", cjfee=1000)).calculate_fee(10**8) == 1000
    assert isinstance(caller_offer(core()), Offer)
