"""Issue 12 item 4: a direct link carries a maker's traffic only after it proves it is
that maker, and one directory cannot move a maker's location on its own.

A 793 is an unsigned claim. The link is a route only once a privmsg signed with the
maker's key has arrived over it (we ask for one with ``!orderbook``); an impostor that
cannot sign is closed at ``connection_timeout`` and the relays carry the traffic.
"""

from __future__ import annotations

import pytest

from protocol.envelope import MsgType
from tests.helpers.polling import wait_until
from tests.hostile.servers import HostileDirectory, HostileMaker

pytestmark = pytest.mark.timeout(60)


def test_an_impostor_link_never_carries_the_makers_traffic(rogue_net):
    # two lying directories outvote the honest one on M's location: we dial the impostor
    impostor = HostileMaker(claim_nick="")
    liars = [HostileDirectory(), HostileDirectory()]
    net, client = rogue_net(rogues=[impostor, *liars], connect=False, connection_timeout=3)
    maker = net.makers[0]
    impostor.claim_nick = maker.nick
    for liar in liars:
        liar.peerlist = f"{maker.nick};{impostor.location}"
    client.connect_all()
    wait_until(lambda: client.is_nick_active(maker.nick), what="the maker to be listed")
    for liar in liars:  # again, unsolicited, so they are also the latest word
        liar.send_all(MsgType.PEERLIST, liar.peerlist)
    wait_until(lambda: client.get_peer_location(maker.nick) == impostor.location,
               what="the outvoted location")
    channels = [client.send_privmsg(maker.nick, "tx", f"m{i}") for i in range(3)]
    task = client.get_pending_connect_task(maker.nick)
    assert task is not None and task.result(15) is False  # closed: it never proved itself
    channels += [client.send_privmsg(maker.nick, "tx", f"n{i}") for i in range(3)]
    assert "direct" not in channels
    assert client.get_connected_peer(maker.nick) is None
    assert impostor.privmsgs == []
    assert client.stats().get("peer_links_unproven", 0) >= 1


def test_one_directory_cannot_override_a_location(rogue_net):
    liar, impostor = HostileDirectory(), HostileMaker(claim_nick="")
    net, client = rogue_net(rogues=[liar, impostor], prefer_direct_connections=False)
    maker = net.makers[0]
    wait_until(lambda: client.get_peer_location(maker.nick) == maker.location,
               what="the honest location")
    liar.send_all(MsgType.PEERLIST, f"{maker.nick};{impostor.location}")
    wait_until(lambda: client.stats().get("location_conflicts", 0) >= 1,
               what="the conflict to be counted")
    assert client.get_peer_location(maker.nick) is None  # no plurality: relays only
    assert client.is_nick_active(maker.nick)


def test_a_real_maker_proves_its_link_and_then_carries_traffic(rogue_net):
    net, client = rogue_net()
    maker = net.makers[0]
    wait_until(lambda: client.get_peer_location(maker.nick) == maker.location,
               what="the location")
    assert client.send_privmsg(maker.nick, "tx", "first").startswith("directory:")
    assert client.get_pending_connect_task(maker.nick).result(10) is True
    assert client.send_privmsg(maker.nick, "tx", "second") == "direct"
    wait_until(lambda: [r.channel for r in maker.received("tx")][-1:] == ["direct"],
               what="the maker to get it directly")
    assert client.stats().get("peer_links_unproven", 0) == 0
