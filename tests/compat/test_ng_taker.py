"""An NG-style taker runs on both facades unchanged (issue 11, API.md drop-in rule).

Each test: construct the client with joinmarket-ng's keywords (its own identity class,
its str-valued enum), connect, fetch and mutate the orderbook, then run two CoinJoin
message sequences on the one client with the 5 s pending-connect wait before ``!fill``.
The first round's direct links must be found by ``get_pending_connect_task`` right after
``try_direct_connect`` (read-your-writes), so every ``!fill`` goes direct, never relayed.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from supervisor import BlockingMultiDirectoryClient, MultiDirectoryClient
from tests.helpers.compat import locations_known, ng_client_kwargs
from tests.helpers.taker import wait_for_locations
from tests.helpers.ngstyle import (AsyncNgTaker, BlockingNgTaker, NgOfferType, NgStyleIdentity,
                                  RoundRecord, pick_offers)

FAST = {"max_wait": 10, "min_wait": 0, "quiet_period": 0.3}


def _relayed_fills(net, taker_nick: str) -> int:
    return sum(1 for d in net.directories for f, _, c in d.relayed_privmsgs()
               if f == taker_nick and c == "fill")


def _check_book(offers, net) -> None:
    """What the NG taker relies on in the offers it got back (API.md point 4)."""
    nicks = {m.nick for m in net.makers}
    assert {o.counterparty for o in offers} == nicks
    for offer in offers:
        assert offer.ordertype in (NgOfferType.SW0_RELATIVE, NgOfferType.SW0_ABSOLUTE)
        assert offer.ordertype in {"sw0reloffer", "sw0absoffer"}
        assert offer.features.get("neutrino_compat") is True and offer.neutrino_compat
        assert sorted(offer.directory_nodes) == sorted(net.directory_servers)
        assert offer.directory_node in net.directory_servers
        assert offer.fidelity_bond_value > 0 and offer.fidelity_bond_verified is True  # mutated


def _check_fresh_copy(offers) -> None:
    """A second fetch returns new objects: the first fetch's mutations reached no actor."""
    for offer in offers:
        assert offer.fidelity_bond_value == 0 and offer.fidelity_bond_verified is None
        assert "mutated" not in offer.features and offer.directory_node != "mutated"


def _mutate(offers) -> None:
    for offer in offers:
        offer.features["mutated"] = True
        offer.directory_node = "mutated"
        offer.directory_nodes.append("mutated")
        offer.fidelity_bond_data["cert_expiry"] = -1


def _check_rounds(records: list[RoundRecord], net, taker_nick: str) -> None:
    first, second = records
    nicks = {m.nick for m in net.makers}
    assert first.pending_before_fill == {n: True for n in nicks}  # read-your-writes
    assert first.connected_in_wait == len(nicks)
    for record in records:
        assert record.channels == {n: "direct" for n in nicks}
        assert record.fill_channels == record.channels
        assert record.sig_counts == {n: 2 for n in nicks}  # two inputs per maker
    assert second.neutrino_support == {n: True for n in nicks}  # supports_feature
    assert _relayed_fills(net, taker_nick) == 0  # every !fill went over the direct link


async def _until(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.mark.timeout(60)
def test_ng_style_asyncio_taker(ng_net):
    identity = NgStyleIdentity()

    async def main():
        client = MultiDirectoryClient(**ng_client_kwargs(ng_net, identity))
        try:
            assert client.directory_servers == ng_net.directory_servers
            assert client.prefer_direct_connections is True and client.nick == identity.nick
            assert await client.connect_all() == 3
            taker = AsyncNgTaker(client)
            assert taker.routing_summary() == (3, ng_net.directory_servers)
            await _until(lambda: locations_known(client, ng_net), "every maker's location")
            offers = await taker.fetch(**FAST)
            _check_book(offers, ng_net)
            _mutate(offers)
            chosen = pick_offers(offers, [m.nick for m in ng_net.makers])
            records = [await taker.coinjoin(chosen), await taker.coinjoin(chosen)]
            again = await taker.directory_client.fetch_orderbook(**FAST)
        finally:
            await client.close_all()
        return records, again

    records, again = asyncio.run(main())
    _check_rounds(records, ng_net, identity.nick)
    _check_fresh_copy(again)
    assert any(s.endswith("onion-network") for s in identity.signed)  # signed through it


@pytest.mark.timeout(60)
def test_ng_style_blocking_taker(ng_net):
    identity = NgStyleIdentity()
    client = BlockingMultiDirectoryClient(**ng_client_kwargs(ng_net, identity))
    try:
        assert client.connect_all() == 3
        taker = BlockingNgTaker(client)
        count, names = taker.routing_summary()
        assert (count, sorted(client.clients.keys())) == (3, sorted(ng_net.directory_servers))
        assert names == ng_net.directory_servers
        wait_for_locations(client, ng_net.makers)
        for maker in ng_net.makers:  # what NG's confirmation callback reads
            seen = {c._active_peers.get(maker.nick) for c in client.clients.values()}
            assert maker.location in seen
        offers = taker.fetch(**FAST)
        _check_book(offers, ng_net)
        _mutate(offers)
        chosen = pick_offers(offers, [m.nick for m in ng_net.makers])
        records = [taker.coinjoin(chosen), taker.coinjoin(chosen)]
        again = client.fetch_orderbook(**FAST)
    finally:
        client.close_all()
    _check_rounds(records, ng_net, identity.nick)
    _check_fresh_copy(again)
    assert any(s.endswith("onion-network") for s in identity.signed)
