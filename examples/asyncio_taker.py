"""A minimal asyncio taker written only against the public contract (docs/api.md).

It runs the networking half of one CoinJoin round: connect to every directory, fetch the
orderbook, pick makers, pin a channel per maker (``bind_session``), send ``!fill``, wait for
``!pubkey``, dial each maker directly (``try_direct_connect``, then await the attempt),
move the session onto the direct link where it came up (``upgrade_channel_prefer_direct``),
send the encrypted ``!auth`` and ``!tx``, and collect ``!ioauth`` and every ``!sig``. The transaction itself is the toy
payload of ``localnet.coinjoin`` (there is no wallet here), so the script is useful
against a LocalNet::

    python examples/asyncio_taker.py --socks-port 9050 <onion>:5222 [<onion>:5222 ...]

The last line printed is ``SUMMARY <json>``; the exit status is 0 when every chosen
maker delivered all its signatures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from localnet.coinjoin import (build_auth_revelation, build_tx, commitment_of,
                               parse_auth_revelation, parse_ioauth, random_utxo,
                               verify_ioauth_btc_sig)
from protocol import NickIdentity
from protocol.naclbox import NaclKeypair, decrypt, encrypt
from supervisor import MultiDirectoryClient


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", help="directory <onion>:<port>")
    parser.add_argument("--socks-host", default="127.0.0.1")
    parser.add_argument("--socks-port", type=int, default=9050)
    parser.add_argument("--network", default="regtest")
    parser.add_argument("--makers", type=int, default=2, help="how many makers to use")
    parser.add_argument("--amount", type=int, default=2_000_000, help="CoinJoin amount (sats)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-phase reply timeout")
    return parser.parse_args(argv)


def choose_offers(offers: list, count: int, amount: int) -> dict:
    """One offer per maker that accepts ``amount``, bonded makers first."""
    chosen: dict = {}
    for offer in sorted(offers, key=lambda o: (o.fidelity_bond_data is None, o.counterparty)):
        if offer.minsize <= amount <= offer.maxsize and offer.counterparty not in chosen:
            chosen[offer.counterparty] = offer
    return dict(list(chosen.items())[:count])


async def direct_link(client: MultiDirectoryClient, nick: str, timeout: float) -> bool:
    """Dial ``nick`` directly and wait for the attempt's outcome (True: the link is up).

    A forced send never dials by itself, so the upgrade only happens if we ask. The
    request is a message to the client's router, so the attempt appears a moment later.
    A maker without a known onion location, or an attempt that fails, leaves the session
    on its directory: ``upgrade_channel_prefer_direct`` then keeps the current channel.
    """
    if client.get_peer_location(nick) is None:
        return False
    client.try_direct_connect(nick)
    try:
        async with asyncio.timeout(timeout):
            while (task := client.get_pending_connect_task(nick)) is None:
                if client.get_connected_peer(nick) is not None:
                    return True
                await asyncio.sleep(0.01)
            return bool(await task)
    except TimeoutError:
        return False


async def run(args: argparse.Namespace) -> dict:
    client = MultiDirectoryClient(args.directories, args.network, NickIdentity(),
                                  socks_host=args.socks_host, socks_port=args.socks_port,
                                  connection_timeout=args.timeout)
    summary: dict = {"connected": 0, "offers": 0, "makers": {}}
    try:
        summary["connected"] = await client.connect_all()
        offers = await client.fetch_orderbook(max_wait=args.timeout, min_wait=0, quiet_period=1.0)
        summary["offers"] = len(offers)
        chosen = choose_offers(offers, args.makers, args.amount)
        if not chosen:
            return summary

        nacl = NaclKeypair.generate()  # one keypair for every maker of the round
        revelation = build_auth_revelation(random_utxo())
        commitment = commitment_of(parse_auth_revelation(revelation))
        channels = {}
        for nick, offer in chosen.items():
            binding = client.bind_session(nick)
            channels[nick] = binding.channel_id
            await client.send_privmsg(nick, "fill",
                                      f"{offer.oid} {args.amount} {nacl.public_hex} {commitment}",
                                      force_channel=binding.channel_id)
        pubkeys = await client.wait_for_responses(list(chosen), "!pubkey", timeout=args.timeout)
        keys = {nick: reply["args"].split(" ")[0] for nick, reply in pubkeys.items()
                if not reply.get("error")}

        await asyncio.gather(*(direct_link(client, nick, args.timeout) for nick in keys))
        for nick, key in keys.items():
            channels[nick] = client.upgrade_channel_prefer_direct(nick, channels[nick])
            await client.send_privmsg(nick, "auth", encrypt(nacl, key, revelation),
                                      force_channel=channels[nick])
        ioauths = await client.wait_for_responses(list(keys), "!ioauth", timeout=args.timeout)
        utxos = {}
        for nick, reply in ioauths.items():
            if reply.get("error"):
                continue
            ioauth = parse_ioauth(decrypt(nacl, keys[nick], reply["args"]))
            verify_ioauth_btc_sig(ioauth, keys[nick])  # binds the NaCl key to a UTXO key
            utxos[nick] = ioauth.utxos

        tx = build_tx({**utxos, "taker": [random_utxo()]})
        for nick in utxos:
            channels[nick] = client.upgrade_channel_prefer_direct(nick, channels[nick])
            await client.send_privmsg(nick, "tx", encrypt(nacl, keys[nick], tx),
                                      force_channel=channels[nick])
        sigs = await client.wait_for_responses(
            list(utxos), "!sig", timeout=args.timeout,
            expected_counts={nick: len(u) for nick, u in utxos.items()})

        for nick in chosen:
            summary["makers"][nick] = {
                "channel": channels[nick],
                "pubkey": nick in keys,
                "inputs": len(utxos.get(nick, ())),
                "sigs": len(sigs.get(nick, {}).get("data", [])),
            }
        return summary
    finally:
        await client.close_all()


def main(argv: list[str] | None = None) -> int:
    summary = asyncio.run(run(parse_args(argv)))
    makers = summary["makers"].values()
    complete = bool(makers) and all(m["inputs"] and m["sigs"] == m["inputs"] for m in makers)
    summary["complete"] = complete
    print("SUMMARY " + json.dumps(summary, sort_keys=True))
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
