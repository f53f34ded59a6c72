"""Taker-side protocol helpers for end-to-end tests: a toy CoinJoin round against localnet
makers, relay counts per directory, random nicks, waiting for peer locations."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from localnet.coinjoin import (build_auth_revelation, build_tx, commitment_of,
                               parse_auth_revelation, parse_ioauth, random_utxo,
                               verify_ioauth_btc_sig)
from localnet.network import LocalNet
from protocol import NickIdentity
from protocol.naclbox import NaclKeypair, decrypt, encrypt
from tests.helpers.polling import wait_until


def directory_index(net: LocalNet, channel: str) -> int:
    """Index in ``net.directories`` of a ``directory:<host:port>`` channel id."""
    return net.directory_servers.index(channel.removeprefix("directory:"))


def relayed_count(net: LocalNet, from_nick: str, to_nick: str, command: str) -> list[int]:
    """Per directory: how many PRIVMSGs ``from_nick → to_nick`` with ``command`` it relayed."""
    return [sum(1 for f, t, c in d.relayed_privmsgs() if (f, t, c) == (from_nick, to_nick, command))
            for d in net.directories]


class TakerRound:
    """The taker half of one toy CoinJoin with some makers (PROTOCOL.md 5.6)."""

    def __init__(self, client: Any, makers: Iterable[Any], amount: int = 1_000_000) -> None:
        self.client = client
        self.makers = list(makers)
        self.nicks = [m.nick for m in self.makers]
        self.amount = amount
        self.nacl = NaclKeypair.generate()
        self.revelation = build_auth_revelation(random_utxo())
        self.commitment = commitment_of(parse_auth_revelation(self.revelation))
        self.maker_keys: dict[str, str] = {}
        self.maker_utxos: dict[str, tuple[str, ...]] = {}

    def fill(self, oid: int = 0) -> dict[str, dict]:
        for nick in self.nicks:
            self.client.send_privmsg(nick, "fill",
                                     f"{oid} {self.amount} {self.nacl.public_hex} {self.commitment}")
        replies = self.client.wait_for_responses(self.nicks, "!pubkey", timeout=15)
        for nick, reply in replies.items():
            if not reply.get("error"):
                self.maker_keys[nick] = reply["args"].split(" ")[0]
        return replies

    def auth(self) -> dict[str, dict]:
        for nick, key in self.maker_keys.items():
            self.client.send_privmsg(nick, "auth", encrypt(self.nacl, key, self.revelation))
        replies = self.client.wait_for_responses(list(self.maker_keys), "!ioauth", timeout=15)
        for nick, reply in replies.items():
            ioauth = parse_ioauth(decrypt(self.nacl, self.maker_keys[nick], reply["args"]))
            verify_ioauth_btc_sig(ioauth, self.maker_keys[nick])
            self.maker_utxos[nick] = ioauth.utxos
        return replies

    def tx(self, expected_counts: dict[str, int] | None = None,
           timeout: float = 15) -> dict[str, dict]:
        tx = build_tx({**self.maker_utxos, "taker": [random_utxo()]})
        for nick, key in self.maker_keys.items():
            self.client.send_privmsg(nick, "tx", encrypt(self.nacl, key, tx))
        counts = expected_counts or {n: len(u) for n, u in self.maker_utxos.items()}
        return self.client.wait_for_responses(list(self.maker_keys), "!sig", timeout=timeout,
                                              expected_counts=counts)

    def plain_sigs(self, nick: str, reply: dict) -> list[str]:
        return [decrypt(self.nacl, self.maker_keys[nick], c) for c in reply["args"]]


def random_nick() -> str:
    return NickIdentity(private_key_bytes=secrets.token_bytes(32)).nick


def wait_for_locations(client: Any, makers: Iterable[Any]) -> None:
    """Wait until the peerlists told ``client`` where every maker can be dialled."""
    for maker in makers:
        wait_until(lambda: client.get_peer_location(maker.nick) == maker.location,
                   what=f"the location of {maker.nick}")
