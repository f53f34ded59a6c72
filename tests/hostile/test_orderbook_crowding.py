"""Issue 12 item 3: invented nicks cannot push real offers out of the orderbook.

Every offer is charged to the directory it arrived through, and each has a quota of
``max_offers``; within it, more trusted offers evict less trusted ones. A directory
that answers ``!orderbook`` with thousands of validly signed offers from invented keys
(anyone can make keys, so signed does not mean real) fills its own quota, never the
honest directories'.
"""

from __future__ import annotations

import pytest

from actors.api.config import Limits
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType
from tests.helpers.polling import wait_until
from tests.hostile.servers import HostileDirectory

pytestmark = pytest.mark.timeout(60)

INVENTED, PER_NICK = 20, 64


def test_signed_offers_from_invented_nicks_cannot_crowd_out_real_makers(rogue_net):
    rogue = HostileDirectory()
    invented = [NickIdentity() for _ in range(INVENTED)]

    def answer(conn, taker):
        lines = [who.build_privmsg(taker, "sw0reloffer", f"{oid} 27300 1000000000 0 0.00002")
                 for who in invented for oid in range(PER_NICK)]
        for line in lines:
            rogue.send(conn, MsgType.PRIVMSG, line)
    rogue.on_orderbook = answer
    net, client = rogue_net(rogues=[rogue], prefer_direct_connections=False,
                            limits=Limits(max_offers=600))
    maker = net.makers[0]
    wait_until(lambda: rogue.location in client.connected_directories, what="the rogue to be up")
    # the real maker's answers arrive a second after the flood
    net.directories[0].set_relay_policy(
        lambda msg_type, frm, to, command: 1.0 if command.endswith("offer") else None)
    offers = client.fetch_orderbook(max_wait=6, min_wait=3, quiet_period=1)
    real = [o for o in offers if o.counterparty == maker.nick]
    assert {o.oid for o in real} == {0, 1}, f"{len(offers)} offers, none of them real"
    fake = [o for o in offers if o.counterparty != maker.nick]
    assert 0 < len(fake) <= 600 // 3  # the rogue's quota: 600 over 2 directories + direct
    assert client.stats().get("offers_dropped_cap", 0) >= INVENTED * PER_NICK - len(fake)
