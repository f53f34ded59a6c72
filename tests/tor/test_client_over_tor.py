"""The whole client over a real private Tor network: onion directories, onion makers.

A :class:`~localnet.network.LocalNet` publishes two directories (ng, ref) and two makers
(ng, ref) as real v3 onion services on the session's Tor network; the client reaches
them only through the tor client's SocksPort, with ``allow_clearnet`` off and stream
isolation on, exactly as it would on mainnet. The network is shared by the module's
tests (publishing costs about 1.5 s per onion); every test has its own client.
"""

from __future__ import annotations

import queue

import pytest
from stem.control import Controller, EventType
from stem.response.events import StreamEvent

from actors.net.transport import CATEGORY_DIRECTORY, CATEGORY_PEER
from localnet.coinjoin import (build_auth_revelation, commitment_of, parse_auth_revelation,
                               parse_ioauth, random_utxo, verify_ioauth_btc_sig)
from localnet.network import LocalNet
from protocol import NickIdentity
from protocol.naclbox import NaclKeypair, decrypt, encrypt
from supervisor import BlockingMultiDirectoryClient
from tests.helpers.polling import wait_until

pytestmark = [pytest.mark.tor, pytest.mark.timeout(60, func_only=True)]

#: SOCKS dial plus handshake; a first stream to an onion takes about 0.5 s here.
CONNECTION_TIMEOUT = 30.0
#: Offers cross the directory's onion stream; a few seconds of silence means they are in.
QUIET_PERIOD = 2.0
REPLY_TIMEOUT = 20.0
AMOUNT = 30_000_000


@pytest.fixture(scope="module")
def onion_net(tor_network):
    """Directories ng and ref, makers ng and ref, all published as onions on Tor."""
    with LocalNet(directories=("ng", "ref"), makers=[{"style": "ng"}, {"style": "ref"}],
                  tor=tor_network) as net:
        yield net


@pytest.fixture
def client(onion_net):
    """A blocking client of ``onion_net`` (not yet connected), closed after the test."""
    client = BlockingMultiDirectoryClient(
        onion_net.directory_servers, "regtest", NickIdentity(), socks_host=onion_net.socks_host,
        socks_port=onion_net.socks_port, connection_timeout=CONNECTION_TIMEOUT,
        stream_isolation=True, allow_clearnet=False)
    try:
        yield client
    finally:
        client.close_all()


def connect(client, net: LocalNet) -> None:
    assert client.connect_all() == len(net.directories)
    assert set(client.connected_directories) == set(net.directory_servers)


def wait_for_locations(client, makers) -> None:
    """Maker locations come from the NG directory's peerlist, which arrives after connect."""
    for maker in makers:
        wait_until(lambda: client.get_peer_location(maker.nick) == maker.location,
                   timeout=REPLY_TIMEOUT, what=f"the onion location of {maker.nick}")


def connect_direct(client, nick: str) -> None:
    """Dial ``nick``'s onion and wait for the peer handshake (the attempt resolves True).

    ``try_direct_connect`` is a message to the Router; the attempt shows in the published
    view a moment later, hence the poll.
    """
    client.try_direct_connect(nick)
    task = wait_until(lambda: client.get_pending_connect_task(nick),
                      what=f"a direct connection attempt to {nick}")
    assert task.result(timeout=CONNECTION_TIMEOUT + 5) is True


def test_onion_directories_handshake_and_serve_the_orderbook(client, onion_net):
    connect(client, onion_net)
    offers = client.fetch_orderbook(max_wait=30, min_wait=0, quiet_period=QUIET_PERIOD)
    makers = {m.nick for m in onion_net.makers}
    assert {o.counterparty for o in offers} == makers
    for directory in onion_net.directories:  # both onion directories carried offers to us
        senders = {sender for sender, to, _command in directory.relayed_privmsgs()
                   if to == client.nick}
        assert senders == makers, directory.profile


def test_relayed_and_direct_privmsg_round_trips(client, onion_net):
    """!fill -> !pubkey through a chosen onion directory, then !auth -> !ioauth direct.

    Each maker is pinned to the directory of the other profile. The direct !auth must
    reach the maker on its onion listener; REF makers answer over that link too, NG ones
    through every directory.
    """
    connect(client, onion_net)
    wait_for_locations(client, onion_net.makers)
    nacl = NaclKeypair.generate()
    revelation = build_auth_revelation(random_utxo())
    commitment = commitment_of(parse_auth_revelation(revelation))
    channels = {}
    for maker, directory in zip(onion_net.makers, reversed(onion_net.directories)):
        channel = f"directory:{directory.location}"
        assert client.send_privmsg(maker.nick, "fill",
                                   f"0 {AMOUNT} {nacl.public_hex} {commitment}",
                                   force_channel=channel) == channel
        channels[maker.nick] = channel
    nicks = list(channels)
    pubkeys = client.wait_for_responses(nicks, "!pubkey", timeout=REPLY_TIMEOUT)
    assert set(pubkeys) == set(nicks)
    for maker in onion_net.makers:
        assert maker.received("fill")[-1].channel.startswith("directory:")
        assert pubkeys[maker.nick]["channel"].startswith("directory:")

    for maker in onion_net.makers:
        connect_direct(client, maker.nick)
        peer = client.get_connected_peer(maker.nick)
        assert peer is not None and peer.location == maker.location
        assert client.upgrade_channel_prefer_direct(maker.nick, channels[maker.nick]) == "direct"
        maker_pub = pubkeys[maker.nick]["args"].split()[0]
        assert client.send_privmsg(maker.nick, "auth", encrypt(nacl, maker_pub, revelation),
                                   force_channel="direct") == "direct"
    ioauths = client.wait_for_responses(nicks, "!ioauth", timeout=REPLY_TIMEOUT)
    assert set(ioauths) == set(nicks)
    for maker in onion_net.makers:
        assert maker.received("auth")[-1].channel == "direct"
        maker_pub = pubkeys[maker.nick]["args"].split()[0]
        verify_ioauth_btc_sig(parse_ioauth(decrypt(nacl, maker_pub, ioauths[maker.nick]["args"])),
                              maker_pub)
        expected = "direct" if maker.style == "ref" else "directory:"
        assert ioauths[maker.nick]["channel"].startswith(expected), maker.style


def test_directory_and_peer_streams_use_separately_isolated_circuits(client, onion_net,
                                                                      tor_network):
    """Seen by the tor client itself: every directory stream sits on a circuit isolated
    with the jm-directory credential, the peer stream on one with jm-peer, none shared."""
    directory_onions = {d.onion_host for d in onion_net.directories}
    maker = onion_net.makers[0]
    succeeded: queue.Queue[StreamEvent] = queue.Queue()

    def on_stream(event: StreamEvent) -> None:
        if event.status == "SUCCEEDED":
            succeeded.put(event)

    with Controller.from_port(address="127.0.0.1",
                              port=tor_network.client_control_port) as controller:
        controller.authenticate()
        controller.add_event_listener(on_stream, EventType.STREAM)
        connect(client, onion_net)
        wait_for_locations(client, [maker])
        connect_direct(client, maker.nick)
        circuits: dict[str, set[str]] = {}  # target onion -> circuit ids
        usernames: dict[str, str | None] = {}  # circuit id -> its SOCKS username

        def streams_seen() -> bool:
            while not succeeded.empty():
                event = succeeded.get()
                circuits.setdefault(event.target_address, set()).add(event.circ_id)
                usernames[event.circ_id] = controller.get_circuit(event.circ_id).socks_username
            return directory_onions | {maker.onion_host} <= circuits.keys()

        wait_until(streams_seen, timeout=10, what="STREAM events for every onion we dialled")
    directory_circuits = set().union(*(circuits[o] for o in directory_onions))
    peer_circuits = circuits[maker.onion_host]
    assert {usernames[c] for c in directory_circuits} == {CATEGORY_DIRECTORY}
    assert {usernames[c] for c in peer_circuits} == {CATEGORY_PEER}
    assert not directory_circuits & peer_circuits
