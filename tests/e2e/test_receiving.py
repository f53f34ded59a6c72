"""wait_for_responses / wait_for_response (API.md "Receiving", points 1, 3, 11)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from localnet.coinjoin import sig_matches
from protocol import NickIdentity
from protocol.envelope import MsgType, encode_envelope
from protocol.naclbox import NaclKeypair
from tests.helpers.polling import wait_until
from tests.helpers.taker import TakerRound, relayed_count


def _fill_data(round_: TakerRound, oid: int = 0) -> str:
    return f"{oid} {round_.amount} {round_.nacl.public_hex} {round_.commitment}"


@pytest.mark.parametrize("maker_index", [0, 1], ids=["ng-maker", "ref-maker"])
def test_normal_reply_shape(net, client_factory, maker_index):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[maker_index]
    round_ = TakerRound(client, [maker])
    client.send_privmsg(maker.nick, "!fill", _fill_data(round_))  # "!" tolerated (point 1)
    reply = client.wait_for_response(maker.nick, "pubkey", timeout=15)  # and missing "!"
    assert set(reply) >= {"data", "args", "channel"}
    key = reply["args"].split(" ")[0]
    assert len(key) == 64 and int(key, 16) >= 0  # a NaCl public key
    assert reply["data"].startswith(reply["args"] + " ")
    pub, sig = reply["data"].split(" ")[-2:]
    assert pub == maker.identity.public_key_hex and sig.endswith("=")
    assert ("features=neutrino_compat" in reply["args"]) == (maker.style == "ng")
    assert reply["channel"].removeprefix("directory:") in net.directory_servers


def test_error_reply_completes_the_nick(net, client_factory):
    client = client_factory.connected(net)
    ok_maker, bad_maker = net.makers[0], net.makers[1]
    round_ = TakerRound(client, [ok_maker, bad_maker])
    client.send_privmsg(ok_maker.nick, "fill", _fill_data(round_))
    client.send_privmsg(bad_maker.nick, "fill", _fill_data(round_, oid=99))
    replies = client.wait_for_responses([ok_maker.nick, bad_maker.nick], "!pubkey", timeout=15)
    assert replies[bad_maker.nick]["error"] is True
    assert replies[bad_maker.nick]["data"] == "oid not found"
    assert not replies[ok_maker.nick].get("error")


@pytest.mark.parametrize("inputs", [1, 3])
def test_sig_accumulates_distinct_signatures_across_directories(localnet_factory,
                                                                client_factory, inputs):
    net = localnet_factory(directories=("ng", "ng", "ref"),
                           makers=[{"style": "ng", "inputs": inputs}, {"style": "ref", "inputs": 2}])
    client = client_factory.connected(net, prefer_direct_connections=False)
    round_ = TakerRound(client, net.makers)
    assert not any(r.get("error") for r in round_.fill().values())
    round_.auth()
    sigs = round_.tx()
    for maker in net.makers:
        reply = sigs[maker.nick]
        utxos = round_.maker_utxos[maker.nick]
        assert len(reply["data"]) == len(reply["args"]) == len(utxos)
        plain = round_.plain_sigs(maker.nick, reply)
        assert len(set(plain)) == len(utxos)
        assert all(any(sig_matches(p, u) for u in utxos) for p in plain)
    # The NG maker sent every !sig through all three directories; the copies are dropped,
    # not handed to a later wait.
    ng = net.makers[0]
    wait_until(lambda: sum(relayed_count(net, ng.nick, client.nick, "sig")) == 3 * inputs,
               what="every copy of the NG maker's signatures")
    assert client.wait_for_responses([ng.nick], "!sig", timeout=0.5) == {}


def test_reply_arriving_before_the_wait_is_kept(net, client_factory):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[1]  # REF: replies through one directory
    round_ = TakerRound(client, [maker])
    client.send_privmsg(maker.nick, "fill", _fill_data(round_))
    wait_until(lambda: sum(relayed_count(net, maker.nick, client.nick, "pubkey")) == 1,
               what="the !pubkey relay")
    threading.Event().wait(0.3)  # let it travel the last hop into the client
    reply = client.wait_for_response(maker.nick, "!pubkey", timeout=5)
    assert reply is not None and not reply.get("error")
    # handed out once: a second wait does not get it again
    assert client.wait_for_responses([maker.nick], "!pubkey", timeout=0.5) == {}


def test_concurrent_waits_do_not_steal_each_others_replies(net, client_factory):
    client = client_factory.connected(net)
    a, b = net.makers[0], net.makers[1]
    round_ = TakerRound(client, [a, b])
    with ThreadPoolExecutor(2) as pool:
        wait_a = pool.submit(client.wait_for_responses, [a.nick], "!pubkey", 15)
        wait_b = pool.submit(client.wait_for_responses, [b.nick], "!pubkey", 15)
        for maker in (a, b):
            client.send_privmsg(maker.nick, "fill", _fill_data(round_))
        got_a, got_b = wait_a.result(30), wait_b.result(30)
    assert set(got_a) == {a.nick} and set(got_b) == {b.nick}
    assert got_a[a.nick]["data"].split(" ")[-2] == a.identity.public_key_hex
    assert got_b[b.nick]["data"].split(" ")[-2] == b.identity.public_key_hex


def test_timeout_returns_what_arrived(net, client_factory):
    client = client_factory.connected(net)
    answering, silent = net.makers[0], net.makers[2]
    round_ = TakerRound(client, [answering])
    client.send_privmsg(answering.nick, "fill", _fill_data(round_))
    replies = client.wait_for_responses([answering.nick, silent.nick], "!pubkey", timeout=2)
    assert set(replies) == {answering.nick}
    assert client.wait_for_response(silent.nick, "!pubkey", timeout=0.5) is None


def test_sig_timeout_returns_partial_signatures(net, client_factory):
    client = client_factory.connected(net, prefer_direct_connections=False)
    maker = net.makers[0]
    round_ = TakerRound(client, [maker])
    round_.fill()
    round_.auth()
    sigs = round_.tx(expected_counts={maker.nick: 5}, timeout=2)  # it only has 2 inputs
    assert len(sigs[maker.nick]["data"]) == 2


def _inject_everywhere(net, client, raw: str) -> None:
    for directory in net.directories:
        assert directory.inject(client.nick, encode_envelope(MsgType.PRIVMSG, raw))


def test_forged_replies_are_never_attributed(net, client_factory):
    client = client_factory.connected(net)
    victim = net.makers[0]
    attacker = NickIdentity()
    key = NaclKeypair.generate().public_hex
    me = client.nick
    # 1. the victim's nick, signed by another key
    forged = attacker.build_privmsg(me, "pubkey", key)
    _inject_everywhere(net, client, victim.nick + forged[len(attacker.nick):])
    # 2. the victim's genuine signature over different data
    genuine = victim.identity.build_privmsg(me, "pubkey", key)
    _inject_everywhere(net, client, genuine.replace(key, NaclKeypair.generate().public_hex))
    # 3. a valid line from the attacker whose data embeds the victim's nick
    _inject_everywhere(net, client, attacker.build_privmsg(me, "pubkey", f"{key} {victim.nick}"))
    assert client.wait_for_responses([victim.nick], "!pubkey", timeout=1.5) == {}
    # Control: the same path delivers the genuine line, exactly once.
    _inject_everywhere(net, client, genuine)
    reply = client.wait_for_response(victim.nick, "!pubkey", timeout=5)
    assert reply["args"] == key
    assert client.wait_for_responses([victim.nick], "!pubkey", timeout=0.5) == {}
    # The attacker's own reply was verified and is attributed to the attacker only.
    assert client.wait_for_response(attacker.nick, "!pubkey", timeout=5)["args"] == \
        f"{key} {victim.nick}"
