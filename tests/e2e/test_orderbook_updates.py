"""A maker changing its offers while a fetch runs, through real sockets and a local maker:
``!cancel`` removes the offer, and a renewed bond wins whichever copy arrives first."""

from __future__ import annotations

import threading

import pytest

from localnet.maker_session import BOND_CERT_EXPIRY
from tests.helpers.polling import wait_until

# min_wait holds the fetch open long enough for the maker's change to arrive; the quiet
# period keeps it from ending early once the only maker has answered.
SLOW = {"max_wait": 20, "min_wait": 2.5, "quiet_period": 2.0}
RENEWED = BOND_CERT_EXPIRY + 8


def _fetch_in_background(client):
    """Start fetch_orderbook on a thread; returns a join() that yields its result."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["offers"] = client.fetch_orderbook(**SLOW)
        except BaseException as exc:  # handed to the test thread, re-raised there
            result["error"] = exc

    thread = threading.Thread(target=run, name="fetch-orderbook")
    thread.start()

    def join():
        thread.join(timeout=30)
        assert not thread.is_alive(), "fetch_orderbook did not return"
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        return result["offers"]
    return join


def _answered(maker, client):
    wait_until(lambda: any(r.from_nick == client.nick for r in maker.received("orderbook")),
               what="the maker to receive !orderbook")


def test_cancel_during_a_fetch_removes_the_offer(localnet_factory, client_factory):
    net = localnet_factory(directories=("ng",), makers=[{"style": "ng"}])
    [maker] = net.makers
    client = client_factory.connected(net)
    join = _fetch_in_background(client)
    _answered(maker, client)
    maker.cancel_offer(0)
    offers = join()
    assert {(o.counterparty, o.oid) for o in offers} == {(maker.nick, 1)}


@pytest.mark.parametrize("stale_last", [False, True], ids=["renewal-last", "stale-copy-last"])
def test_a_renewed_bond_wins_in_either_arrival_order(localnet_factory, client_factory,
                                                      stale_last):
    net = localnet_factory(directories=("ng",), makers=[{"style": "ng"}])
    [maker] = net.makers
    client = client_factory.connected(net)
    if stale_last:
        maker.renew_bond(RENEWED)  # the fetch is answered under the renewed certificate
    join = _fetch_in_background(client)
    _answered(maker, client)
    if stale_last:
        maker.send_offers(client.nick, stale_bond=True)  # then an old copy turns up
    else:
        maker.renew_bond(RENEWED)  # the fetch was answered under the old certificate
        maker.send_offers(client.nick)
    offers = join()
    assert {o.oid for o in offers} == {0, 1}
    assert {o.fidelity_bond_data["cert_expiry"] for o in offers} == {RENEWED}
