"""Issue 12 item 2: one directory cannot fill the nick registry.

Each directory has its own share of ``max_tracked_nicks``; a maker listed by an honest
directory is tracked whatever another directory lists, and what a lost directory told us
expires after ``lost_directory_ttl``.
"""

from __future__ import annotations

import secrets

import pytest

from localnet.onion import random_onion_host
from protocol.envelope import MsgType
from protocol.peerlist import PeerlistEntry, format_peerlist
from actors.api.config import Limits
from tests.helpers.polling import wait_until
from tests.hostile.servers import HostileDirectory

pytestmark = pytest.mark.timeout(60)

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def invented_nicks(n: int) -> list[str]:
    return ["J5" + "".join(secrets.choice(BASE58) for _ in range(14)) for _ in range(n)]


def peerlist_lines(nicks: list[str], per_line: int = 400) -> list[str]:
    location = f"{random_onion_host()}:5222"
    return [format_peerlist([PeerlistEntry(n, location, False, frozenset())
                             for n in nicks[i:i + per_line]], False)
            for i in range(0, len(nicks), per_line)]


def test_a_flood_of_invented_nicks_cannot_keep_an_honest_maker_out(rogue_net):
    rogue = HostileDirectory()
    net, client = rogue_net(rogues=[rogue], makers=0,
                            limits=Limits(max_tracked_nicks=2_000))
    wait_until(lambda: rogue.location in client.connected_directories, what="the rogue to be up")
    for line in peerlist_lines(invented_nicks(5_000)):
        rogue.send_all(MsgType.PEERLIST, line)
    wait_until(lambda: client.stats().get("tracked_nicks_refused", 0) >= 1,
               what="the rogue's surplus nicks to be refused")
    maker = net.add_maker()  # joins the honest directory after the flood
    wait_until(lambda: client.is_nick_active(maker.nick), what="the honest maker to be tracked")
    # a fresh peerlist from the honest directory (it lists peers on GETPEERLIST, at connect)
    assert net.directories[0].kill(client.nick)
    wait_until(lambda: client.get_peer_location(maker.nick) == maker.location,
               what="the honest maker's location")
    assert len(client._core.ctx.views.registry.present) <= 2_000


def test_what_a_lost_directory_listed_expires(rogue_net):
    rogue = HostileDirectory()
    net, client = rogue_net(rogues=[rogue], limits=Limits(lost_directory_ttl=1.0))
    maker = net.makers[0]
    wait_until(lambda: client.is_nick_active(maker.nick), what="the honest maker to be tracked")
    ghosts = invented_nicks(3)
    rogue.send_all(MsgType.PEERLIST, peerlist_lines(ghosts)[0] + f",{maker.nick};{maker.location}")
    wait_until(lambda: all(client.is_nick_active(n) for n in ghosts),
               what="the ghosts to be listed")
    rogue.stop()  # gone, and every redial is refused
    wait_until(lambda: not any(client.is_nick_active(n) for n in ghosts),
               what="the lost directory's nicks to expire")
    assert client.is_nick_active(maker.nick)  # still listed by the honest directory
    assert client.stats().get("directories_expired", 0) == 1
