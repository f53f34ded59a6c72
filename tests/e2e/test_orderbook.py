"""fetch_orderbook (API.md "Orderbook", point 4, PROTOCOL.md 7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from localnet.directory import DirectoryServer
from localnet.maker import ONION_PORT, Maker
from localnet.maker_session import BOND_CERT_EXPIRY, BOND_LOCKTIME
from localnet.socks_gateway import OnionSocksGateway
from protocol.envelope import MsgType
from tests.helpers.polling import wait_until

FAST = {"max_wait": 10, "min_wait": 0, "quiet_period": 0.3}


def _by_key(offers):
    return {(o.counterparty, o.oid): o for o in offers}


def test_orderbook_aggregates_ng_and_ref_makers_deduplicated(localnet_factory, client_factory):
    net = localnet_factory(directories=("ng", "ng", "ref"),
                           makers=[{"style": "ref"}, {"style": "ng"}, {"style": "ng", "bond": False}])
    client = client_factory.connected(net)
    offers = client.fetch_orderbook(**FAST)
    book = _by_key(offers)
    assert len(book) == len(offers) == 6  # 2 offers x 3 makers, each reached via 3 directories
    ref, ng, bondless = net.makers
    for maker in net.makers:
        rel, absolute = book[(maker.nick, 0)], book[(maker.nick, 1)]
        assert (rel.ordertype, absolute.ordertype) == ("sw0reloffer", "sw0absoffer")
        assert Decimal(rel.cjfee) == Decimal("0.00002") and isinstance(rel.cjfee, str)
        assert absolute.cjfee == 1000 and isinstance(absolute.cjfee, int)
        assert (rel.minsize, rel.maxsize, rel.txfee) == (27_300, 300_000_000, 0)
    for maker in (ref, ng):  # the REF reply is one line: both offers + one !tbond
        for oid in (0, 1):
            bond = book[(maker.nick, oid)].fidelity_bond_data
            assert bond["cert_expiry"] == BOND_CERT_EXPIRY
            assert bond["locktime"] == BOND_LOCKTIME
            assert set(bond) == {"utxo_txid", "utxo_vout", "locktime", "utxo_pub", "cert_pub",
                                 "cert_expiry"}
    assert book[(bondless.nick, 0)].fidelity_bond_data is None
    assert book[(ng.nick, 0)].features["neutrino_compat"] and book[(ng.nick, 0)].neutrino_compat
    assert book[(ref.nick, 0)].features == {} and not book[(ref.nick, 0)].neutrino_compat
    assert all(sorted(o.directory_nodes) == sorted(net.directory_servers) for o in offers)


def test_orderbook_survives_a_failing_directory(net, client_factory):
    client = client_factory.connected(net)
    net.directories[0].stall(True)
    net.directories[2].kill(client.nick)
    offers = client.fetch_orderbook(**FAST)
    assert {o.counterparty for o in offers} == {m.nick for m in net.makers}


@pytest.fixture
def silent_peerlist_net():
    """A REF-software directory that advertises ``peerlist_features`` but, like REF, never
    answers GETPEERLIST — the case that stalls a client waiting for a peerlist phase."""
    gateway = OnionSocksGateway().start()
    directory = DirectoryServer(profile="ref", features=frozenset({"peerlist_features"})).start()
    host, _, port = directory.location.rpartition(":")
    gateway.map(host, int(port), directory.address)
    makers = []
    try:
        for style in ("ng", "ref"):
            maker = Maker(style=style, directories=[directory.address]).start()
            gateway.map(maker.onion_host, ONION_PORT, ("127.0.0.1", maker.direct_port))
            makers.append(maker)
        yield gateway, directory, makers
    finally:
        for maker in makers:
            maker.stop()
        directory.stop()
        gateway.stop()


@pytest.mark.timeout(20)
def test_directory_that_never_answers_getpeerlist_does_not_stall(silent_peerlist_net,
                                                                  client_factory):
    gateway, directory, makers = silent_peerlist_net
    host, port = gateway.address
    client = client_factory([directory.location], socks_host=host, socks_port=port)
    assert client.connect_all() == 1
    wait_until(lambda: any(b'"type": %d' % MsgType.GETPEERLIST in line
                           for line in directory.received_lines(client.nick)),
               what="our unanswered GETPEERLIST")
    # max_wait is beyond the test timeout: only the quiet-period rule can finish in time.
    offers = client.fetch_orderbook(max_wait=60, min_wait=0, quiet_period=0.5)
    assert {o.counterparty for o in offers} == {m.nick for m in makers}
    assert all(client.is_nick_active(m.nick) for m in makers)  # orderbook is authoritative


@pytest.mark.timeout(20)
def test_plain_ref_directory_orderbook(localnet_factory, client_factory):
    net = localnet_factory(directories=("ref",), makers=2)
    client = client_factory.connected(net)
    offers = client.fetch_orderbook(max_wait=60, min_wait=0, quiet_period=0.5)
    assert len(_by_key(offers)) == len(offers) == 4
