"""``jm-multidir demo``: the whole client against an embedded local JoinMarket network.

What it shows, in order, over real sockets through the onion SOCKS5 gateway: connecting
to three directories of mixed profiles, the aggregated orderbook, a full encrypted
CoinJoin message sequence with two makers (each session pinned to a directory at
``!fill`` and upgraded to a direct link once it is handshaked), a maker leaving one
directory (still active) and then all of them (``on_nick_leave`` fires), and a
directory connection killed and re-established by the supervisor.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from actors.app.table import offer_table
from actors.api.facade import MultiDirectoryClient
from localnet import coinjoin
from localnet.network import LocalNet
from protocol.crypto import NickIdentity
from protocol.naclbox import NaclKeypair, decrypt, encrypt

AMOUNT = 30_000_000


def say(text: str = "") -> None:
    print(text, flush=True)


async def until(predicate, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def coinjoin_round(client: MultiDirectoryClient, offers) -> None:
    """One taker round: !fill, !pubkey, upgrade, !auth, !ioauth, !tx, !sig."""
    chosen = {}
    for offer in offers:
        if offer.counterparty not in chosen and offer.ordertype.startswith("sw0"):
            chosen[offer.counterparty] = offer
        if len(chosen) == 2:
            break
    nacl = NaclKeypair.generate()
    sessions = {}
    for nick, offer in chosen.items():
        binding = client.bind_session(nick)
        revelation = coinjoin.build_auth_revelation(coinjoin.random_utxo())
        commitment = coinjoin.commitment_of(coinjoin.parse_auth_revelation(revelation))
        channel = await client.send_privmsg(
            nick, "fill", f"{offer.oid} {AMOUNT} {nacl.public_hex} {commitment}",
            force_channel=binding.channel_id)
        sessions[nick] = {"channel": channel, "revelation": revelation}
        client.try_direct_connect(nick)  # a forced send starts no background dial itself
        say(f"  !fill   -> {nick} via {channel}")
    pubkeys = await client.wait_for_responses(list(sessions), "!pubkey", timeout=20)
    for nick, reply in pubkeys.items():
        sessions[nick]["maker_pub"] = reply["args"].split()[0]
        say(f"  !pubkey <- {nick} via {reply['channel']}")
    for nick, session in sessions.items():
        task = client.get_pending_connect_task(nick)
        if task is not None:
            await asyncio.wait_for(task, 15)
        upgraded = client.upgrade_channel_prefer_direct(nick, session["channel"])
        say(f"  channel for {nick}: {session['channel']} -> {upgraded}")
        session["channel"] = upgraded
        await client.send_privmsg(nick, "auth", encrypt(nacl, session["maker_pub"], session["revelation"]),
                                  force_channel=upgraded)
    ioauths = await client.wait_for_responses(list(sessions), "!ioauth", timeout=20)
    inputs = {client.nick: [coinjoin.random_utxo()]}
    for nick, reply in ioauths.items():
        ioauth = coinjoin.parse_ioauth(decrypt(nacl, sessions[nick]["maker_pub"], reply["args"]))
        coinjoin.verify_ioauth_btc_sig(ioauth, sessions[nick]["maker_pub"])
        inputs[nick] = list(ioauth.utxos)
        say(f"  !ioauth <- {nick}: {len(ioauth.utxos)} inputs, btc_sig verified")
    tx = coinjoin.build_tx(inputs)
    for nick, session in sessions.items():
        await client.send_privmsg(nick, "tx", encrypt(nacl, session["maker_pub"], tx),
                                  force_channel=session["channel"])
    sigs = await client.wait_for_responses(list(sessions), "!sig", timeout=20,
                                           expected_counts={n: len(inputs[n]) for n in sessions})
    for nick, reply in sigs.items():
        blobs = [decrypt(nacl, sessions[nick]["maker_pub"], a) for a in reply["args"]]
        matched = sum(any(coinjoin.sig_matches(b, u) for u in inputs[nick]) for b in blobs)
        say(f"  !sig    <- {nick}: {len(blobs)} signatures, {matched} match inputs")


async def run_client_demo(net: LocalNet, connection_timeout: float = 10.0,
                          quiet_period: float = 0.5, **client_options: Any) -> None:
    """Steps 1-5 with a fresh client of the running ``net``, closed at the end.

    Shared by this demo and the one over real Tor (:mod:`actors.app.tordemo`), which differ
    only in how ``net`` is reached (its SOCKS endpoint) and in the timings passed here.
    """
    left: list[str] = []
    client = MultiDirectoryClient(net.directory_servers, "regtest", NickIdentity(),
                                  socks_host=net.socks_host, socks_port=net.socks_port,
                                  connection_timeout=connection_timeout,
                                  on_nick_leave=left.append, **client_options)
    count = len(net.directories)
    try:
        began = time.monotonic()
        connected = await client.connect_all()
        say(f"\n1. connect_all: {connected} of {count} directories connected in "
            f"{time.monotonic() - began:.2f} s (taker nick {client.nick})")
        began = time.monotonic()
        offers = await client.fetch_orderbook(max_wait=15, min_wait=0, quiet_period=quiet_period)
        say(f"\n2. orderbook: {len(offers)} offers from "
            f"{len({o.counterparty for o in offers})} makers in {time.monotonic() - began:.2f} s "
            f"(quiet period {quiet_period} s)")
        say("\n".join(offer_table(offers)))
        say("\n3. an encrypted CoinJoin message sequence with two makers")
        await coinjoin_round(client, offers)
        ng_maker = next(m for m in net.makers if m.style == "ng")
        say(f"\n4. maker {ng_maker.nick} leaves one directory")
        ng_maker.leave(0)
        await asyncio.sleep(0.3)
        say(f"   still active: {client.is_nick_active(ng_maker.nick)}")
        for index in range(1, count):
            ng_maker.leave(index)
        await until(lambda: ng_maker.nick in left, 5)
        say(f"   left every directory: on_nick_leave fired for {left}")
        victim = net.directories[0]
        say(f"\n5. killing our connection to directory {victim.location}")
        victim.kill(client.nick)
        await until(lambda: len(client.connected_directories) < count, 5)
        say(f"   connected now: {len(client.connected_directories)}")
        await until(lambda: len(client.connected_directories) == count, 20)
        say(f"   reconnected by the supervisor: {len(client.connected_directories)} connected")
    finally:
        await client.close_all()


async def demo() -> None:
    started = time.monotonic()
    with LocalNet(directories=("ng", "ref", "ng"), makers=6) as net:
        say(f"localnet: {len(net.directories)} directories (ng, ref, ng), {len(net.makers)} makers, "
            f"SOCKS5 gateway on {net.socks_host}:{net.socks_port}")
        await run_client_demo(net)
    say(f"\ndemo finished in {time.monotonic() - started:.1f} s; everything shut down")


def run_demo() -> int:
    """Entry point of ``jm-multidir demo`` (``--tor``: :func:`actors.app.tordemo.run_tor_demo`);
    logging is the caller's (the CLI's) business."""
    asyncio.run(demo())
    return 0


__all__ = ["run_demo"]
