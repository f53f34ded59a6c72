"""Acceptance test of the localnet foundation: real sockets, through the SOCKS gateway.

Two directories of each profile (ng, ng, ref, ref) and three makers (ng, ref, ng). A
protocol-level RawTaker dials everything through the gateway exactly as a taker would
over Tor and checks what NG- and REF-style makers do on the wire: orderbook replies
(copies per directory, combined REF line, bonds made for us), the encrypted CoinJoin
sequence relayed and direct (both handshake orders), the ``!error`` paths, the
duplicate-``!fill`` key reset, and ``;D`` then presence again when a maker flaps.
"""

import time

import pytest

from localnet.network import LocalNet
from localnet.rawclient import RawTaker
from localnet.rawsession import MakerErrorReply, TakerSession, run_coinjoin
from protocol.bond import parse_bond_proof, verify_bond_proof
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType
from protocol.errors import BondError
from protocol.jmmessage import format_pubmsg, parse_jm_line
from protocol.peerlist import parse_peerlist
from tests.helpers.polling import wait_until

pytestmark = pytest.mark.timeout(10)

PROFILES = ("ng", "ng", "ref", "ref")
BLACKLISTED = "P" + "cd" * 32
NG_MAKER, REF_MAKER = 0, 1
NG_ROUTABLE_DELAY = 0.1  # > the NG profile's 50 ms before a new peer is routable


@pytest.fixture
def net():
    specs = [{"style": s, "blacklisted_commitments": {BLACKLISTED}} for s in ("ng", "ref", "ng")]
    with LocalNet(directories=PROFILES, makers=specs) as running:
        yield running


@pytest.fixture
def taker(net):
    with RawTaker(net.socks_host, net.socks_port, "regtest", timeout=3.0) as client:
        for location in net.directory_servers:
            client.connect_directory(location)
        time.sleep(NG_ROUTABLE_DELAY)  # pitfall P20: until then NG directories drop our mail
        yield client


def dir_channel(net, index):
    return f"directory:{net.directory_servers[index]}"


def all_dir_channels(net):
    return {dir_channel(net, i) for i in range(len(PROFILES))}


def test_handshakes_peerlist_and_orderbook_from_every_maker(net, taker):
    for location, profile in zip(net.directory_servers, PROFILES):
        expected = {"peerlist_features", "ping"} if profile == "ng" else set()
        assert taker.directories[location].features == expected
    for index, profile in enumerate(PROFILES):
        location = net.directory_servers[index]
        if profile == "ref":
            with pytest.raises(ValueError):  # GETPEERLIST is gated on peerlist_features
                taker.get_peerlist(location)
            continue
        entries = {e.nick: e for e in taker.get_peerlist(location)}
        for maker in net.makers:
            assert entries[maker.nick].location == maker.location
            assert not entries[maker.nick].disconnected
        assert entries[net.makers[NG_MAKER].nick].features == {
            "neutrino_compat", "peerlist_features", "ping"}
        assert entries[taker.nick].location == "NOT-SERVING-ONION"

    replies = [r for r in taker.request_orderbook(wait=0.6) if r.private]
    for maker in net.makers:
        mine = [r for r in replies if r.maker_nick == maker.nick]
        for reply in mine:
            verify_bond_proof(parse_bond_proof(reply.tbond), taker.nick, maker.nick)
        with pytest.raises(BondError):  # the proof is made for us, not replayable
            verify_bond_proof(parse_bond_proof(mine[0].tbond), "J5someoneElseXXXX", maker.nick)
        if maker.style == "ng":
            # Answered once (rate limit), one line per offer, through every directory.
            assert sorted(len(r.offers) for r in mine) == [1] * 8
            for oid in (0, 1):
                channels = [r.channel for r in mine if r.offers[0].oid == oid]
                assert sorted(channels) == sorted(all_dir_channels(net))
        else:
            # One combined line per !orderbook copy, back through the directory it came by.
            assert [len(r.offers) for r in mine] == [2] * 4
            assert sorted(r.channel for r in mine) == sorted(all_dir_channels(net))
            assert {o.ordertype for o in mine[0].offers} == {"sw0reloffer", "sw0absoffer"}
    assert taker.unverified == 0


@pytest.mark.parametrize("maker_index, via", [(NG_MAKER, 0), (REF_MAKER, 2), (REF_MAKER, 0)])
def test_relayed_encrypted_exchange(net, taker, maker_index, via):
    maker = net.makers[maker_index]
    start = taker.mark()
    session = run_coinjoin(taker, maker.nick, dir_channel(net, via))
    assert len(session.sigs) == 2 and session.ioauth is not None
    assert session.maker_features == ({"neutrino_compat"} if maker.style == "ng" else set())
    loopback = net.directories[via].address
    assert {r.channel for r in maker.received("fill")} == {f"directory:{loopback[0]}:{loopback[1]}"}
    wait_until(lambda: maker.stats()["pushes"] == 1)

    leftovers = taker.collect(
        lambda m: m.privmsg is not None and m.privmsg.from_nick == maker.nick, 0.3, start)
    for command in ("pubkey", "ioauth", "sig"):
        channels = set(session.reply_channels[command])
        channels |= {m.channel for m in leftovers if m.privmsg.command == command}
        if maker.style == "ng":
            assert channels == all_dir_channels(net)  # every reply through every directory
        else:
            assert channels == {dir_channel(net, via)}  # only where it saw the request
    if maker.style == "ref":
        assert leftovers == []


@pytest.mark.parametrize("maker_index", [NG_MAKER, REF_MAKER])
def test_direct_connection_both_handshake_orders(net, taker, maker_index):
    maker = net.makers[maker_index]
    channel = f"direct:{maker.location}"
    if maker.style == "ng":
        with pytest.raises(TimeoutError):  # an NG maker never speaks first
            taker.connect_maker(maker.location, send_first=False, reply_wait=0.4)
        handshake = taker.connect_maker(maker.location, send_first=True)
    else:
        handshake = taker.connect_maker(maker.location, send_first=False)  # its 793 came first
    assert handshake is not None
    assert (handshake.nick, handshake.location) == (maker.nick, maker.location)
    assert handshake.features == (
        {"neutrino_compat", "peerlist_features", "ping"} if maker.style == "ng" else set())

    after = taker.mark()
    taker.send(channel, MsgType.PUBMSG, format_pubmsg(taker.nick, "orderbook"))
    offer = taker.take_privmsg(maker.nick, ("sw0reloffer",), after=after)
    assert offer.channel == channel  # offers requested directly come back directly

    session = run_coinjoin(taker, maker.nick, channel)
    assert {r.channel for r in maker.received("fill")} == {"direct"}
    reply_channels = {c for copies in session.reply_channels.values() for c in copies}
    if maker.style == "ref":
        assert reply_channels == {channel}  # REF replies over the handshaked direct link
    else:
        assert reply_channels <= all_dir_channels(net)  # NG never replies direct


def test_ng_maker_ignores_direct_handshake_from_another_network(net):
    maker = net.makers[NG_MAKER]
    with RawTaker(net.socks_host, net.socks_port, "signet", timeout=3.0) as stranger:
        assert stranger.connect_maker(maker.location, reply_wait=0.4) is None
    wait_until(lambda: maker.stats().get("direct_handshake_rejected") == 1)


@pytest.mark.parametrize("maker_index", [NG_MAKER, REF_MAKER])
def test_error_paths(net, taker, maker_index):
    maker = net.makers[maker_index]
    channel = dir_channel(net, 2)
    cases = [({"oid": 99, "amount": 5_000_000}, "oid not found"),
             ({"oid": 0, "amount": 1}, "amount out of range"),
             ({"oid": 0, "amount": 5_000_000, "commitment": BLACKLISTED},
              "Commitment is blacklisted: " + BLACKLISTED[1:])]
    session = TakerSession(taker, maker.nick, channel)  # skips copies of earlier errors
    for kwargs, text in cases:
        with pytest.raises(MakerErrorReply) as caught:
            session.fill(**kwargs)
        assert caught.value.text == text

    # A !fill signed by a key that does not own the claimed nick is dropped unanswered
    # (a REF directory relays it without checking the sender).
    forged = NickIdentity().build_privmsg(maker.nick, "fill", f"0 5000000 {'ab' * 32} P{'ef' * 32}")
    jm = parse_jm_line(forged)
    taker.send(channel, MsgType.PRIVMSG, f"{taker.nick}!{jm.to_nick}!{jm.body}")
    wait_until(lambda: maker.stats().get("dropped_unverified") == 1)


@pytest.mark.parametrize("maker_index", [NG_MAKER, REF_MAKER])
def test_second_fill_restarts_session_with_new_key(net, taker, maker_index):
    maker = net.makers[maker_index]
    session = TakerSession(taker, maker.nick, dir_channel(net, 0))
    first = session.fill(0, 5_000_000)
    second = session.fill(0, 5_000_000)
    assert second != first
    session.maker_nacl_pub = first  # anything under the old key now fails
    with pytest.raises(MakerErrorReply, match="PoDLE verification failed"):
        session.auth()
    session.maker_nacl_pub = second
    session.auth()
    assert len(session.tx()) == 2


@pytest.mark.parametrize("dir_index", [0, 2])
def test_flapping_maker_is_marked_gone_then_present_again(net, taker, dir_index):
    maker = net.makers[NG_MAKER]
    channel = dir_channel(net, dir_index)

    def peerlist_entry(item):
        if item.channel != channel or item.type != MsgType.PEERLIST:
            return None
        return next((e for e in parse_peerlist(item.line) if e.nick == maker.nick), None)

    after = taker.mark()
    maker.leave(dir_index)
    gone = taker.take(lambda m: (e := peerlist_entry(m)) is not None and e.disconnected,
                      after=after)
    assert gone.channel == channel
    assert maker.stats()["directories"] == len(PROFILES) - 1

    after = taker.mark()
    assert maker.rejoin(dir_index)
    announce = taker.take(lambda m: m.channel == channel and m.type == MsgType.PUBMSG
                          and m.line.startswith(f"{maker.nick}!PUBLIC!sw0"), after=after)
    assert announce.line.split("!", 2)[2].split(" ")[0] in {"sw0reloffer", "sw0absoffer"}
    if PROFILES[dir_index] == "ng":
        entries = {e.nick: e for e in taker.get_peerlist(net.directory_servers[dir_index])}
        assert not entries[maker.nick].disconnected
    run_coinjoin(taker, maker.nick, channel)  # and it is reachable there again
