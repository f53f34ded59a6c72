"""The orderbook stop rule against makers that answer late, as real NG makers do.

Issue 11: with ``min_wait=0, quiet_period=0.25``, makers answering ``!orderbook`` after
0.3-1 s gave 0 offers (the quiet period ran from the request) where joinmarket-ng's
client got all 3. The quiet period now counts from the last new offer, and a fetch that
has received nothing does not end on it. (The rule is exact: joinmarket-ng checks it
once per 1 s listening chunk, so answers spread wider than ``quiet_period`` apart can
still all land in its first chunk; here the period is what the caller asked for.)
"""

from __future__ import annotations

import pytest

#: later than the quiet period after the request, closer than it to each other
DELAYS = (0.3, 0.45, 0.6)


@pytest.mark.timeout(30)
def test_late_answering_makers_are_all_in_the_book(localnet_factory, client_factory):
    net = localnet_factory(directories=("ng", "ng", "ref"), makers=[
        {"style": "ng", "orderbook_interval": 0.0, "orderbook_delay": d} for d in DELAYS])
    client = client_factory.connected(net)
    offers = client.fetch_orderbook(max_wait=20, min_wait=0, quiet_period=0.25)
    assert {o.counterparty for o in offers} == {m.nick for m in net.makers}

