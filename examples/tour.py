"""The README's tour, runnable: connect, read the orderbook, start a CoinJoin session with one
maker over a directory, then move it onto a direct link to that maker.

With no arguments it starts a local network in this process (3 directories, 3 makers, an
onion SOCKS5 gateway on 127.0.0.1) and tours it::

    .venv/bin/python examples/tour.py

Or point it at one you run yourself, e.g. ``python -m localnet --socks-port 9150`` in
another terminal (it prints the directory addresses)::

    .venv/bin/python examples/tour.py --socks-port 9150 <onion>:5222 [<onion>:5222 ...]

Against the real network you would pass ``--network mainnet``, Tor's SOCKS port (9050)
and real directories; the ``!fill`` below carries a localnet *toy* PoDLE commitment,
which a real maker would refuse. Exit status 0 when the session ended on a direct link.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from contextlib import nullcontext

from localnet.coinjoin import build_auth_revelation, commitment_of, parse_auth_revelation, random_utxo
from protocol import NickIdentity
from protocol.naclbox import NaclKeypair, encrypt
from supervisor import MultiDirectoryClient


async def tour(directories: list[str], network: str, socks_port: int) -> str:
    """The tour itself; returns the channel the session ended on."""
    client = MultiDirectoryClient(directories, network, NickIdentity(),
                                  socks_port=socks_port, connection_timeout=15)
    try:
        connected = await client.connect_all()
        print(f"connected to {connected} of {len(directories)} directories")
        for name, health in client.directory_status().items():  # why any is missing
            if health.state != "up":
                print(f"  {name}: {health.describe(time.time())}")
        if not connected:
            return "none"

        offers = await client.fetch_orderbook(max_wait=20, min_wait=1, quiet_period=1)
        print(f"{len(offers)} offers from {len({o.counterparty for o in offers})} makers")
        # a maker we can also reach directly (its peerlist entry has an onion location)
        offer = next(o for o in offers if client.get_peer_location(o.counterparty))
        maker, amount = offer.counterparty, max(offer.minsize, 1_000_000)

        binding = client.bind_session(maker)  # pin the session's channel: a directory
        print(f"session with {maker} bound to {binding.channel_id[:30]}...")
        nacl = NaclKeypair.generate()  # our end-to-end encryption key for this session
        revelation = build_auth_revelation(random_utxo())  # toy PoDLE (localnet makers)
        commitment = commitment_of(parse_auth_revelation(revelation))
        await client.send_privmsg(maker, "fill",  # <oid> <amount> <NaCl pubkey> <commitment>
                                  f"{offer.oid} {amount} {nacl.public_hex} {commitment}",
                                  force_channel=binding.channel_id)
        reply = await client.wait_for_response(maker, "!pubkey", timeout=30)
        if reply is None or reply.get("error"):
            print(f"no !pubkey from {maker}: {reply}")
            return binding.channel_id
        maker_key = reply["args"].split(" ")[0]
        print(f"!pubkey from {maker} via {reply['channel'][:30]}...")

        client.try_direct_connect(maker)  # a forced send never dials by itself: ask
        async with asyncio.timeout(30):  # the request is a message to the client's router
            while (attempt := client.get_pending_connect_task(maker)) is None:
                await asyncio.sleep(0.01)
            print(f"direct link to {maker}: {'up' if await attempt else 'failed'}")
        channel = client.upgrade_channel_prefer_direct(maker, binding.channel_id)

        await client.send_privmsg(maker, "auth", encrypt(nacl, maker_key, revelation),
                                  force_channel=channel)
        ioauth = await client.wait_for_response(maker, "!ioauth", timeout=30)
        print(f"!auth sent via {channel}; !ioauth "
              f"{'arrived via ' + ioauth['channel'] if ioauth else 'did not arrive'}")
        return channel
    finally:
        await client.close_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*",
                        help="directory <onion>:<port>; none: start a local network here")
    parser.add_argument("--network", default="regtest")
    parser.add_argument("--socks-port", type=int, default=9050)
    args = parser.parse_args(argv)
    if args.directories:
        local = nullcontext(None)
    else:
        from localnet.network import LocalNet
        local = LocalNet(directories=("ng", "ng", "ref"), makers=3, network=args.network)
    with local as net:
        directories = net.directory_servers if net else args.directories
        socks_port = net.socks_port if net else args.socks_port
        channel = asyncio.run(tour(directories, args.network, socks_port))
    print(f"the session ended on: {channel}")
    return 0 if channel == "direct" else 1


if __name__ == "__main__":
    sys.exit(main())
