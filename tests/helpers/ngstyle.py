"""An NG-style taker: joinmarket-ng's call sites against our client, written from facts.

joinmarket-ng 0.37.0's ``Taker`` and ``CoinJoinSession`` (GPL; not copied, not imported)
pass their own identity object and str-valued enums, read ``clients``,
``directory_servers`` and ``prefer_direct_connections``, mutate the offers
``fetch_orderbook`` returns, and before ``!fill`` call, in this order:
``get_peer_location`` → ``try_direct_connect`` for every maker, then
``get_pending_connect_task`` and wait up to 5 s on the unfinished ones
(``asyncio.wait(..., timeout=5.0)``, then ``t.exception()`` on the done ones), then
``get_connected_peer(nick).supports_feature("neutrino_compat")``, then ``bind_session``
and every message of the session with ``force_channel=<that binding>``, upgrading
directory → direct before ``!auth`` with ``upgrade_channel_prefer_direct``.

Everything here is this project's own code modelled on those facts; the toy CoinJoin
payloads come from ``localnet.coinjoin`` like the e2e tests'.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import coincurve

from localnet.coinjoin import (build_auth_revelation, build_tx, commitment_of,
                               parse_auth_revelation, parse_ioauth, random_utxo,
                               verify_ioauth_btc_sig)
from protocol.naclbox import NaclKeypair, decrypt, encrypt

FEATURE_NEUTRINO_COMPAT = "neutrino_compat"
DIRECT_CONNECT_WAIT = 5.0  # what joinmarket-ng's session waits before !fill
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class NgNickAuthMode(StrEnum):
    """Stands in for joinmarket-ng's ``NickAuthMode`` (a StrEnum with these values)."""

    PREFER_VERIFIED = "prefer_verified"
    REQUIRE_VERIFIED = "require_verified"
    DISABLED = "disabled"


class NgOfferType(StrEnum):
    """Stands in for joinmarket-ng's ``OfferType`` (four str values)."""

    SW0_ABSOLUTE = "sw0absoffer"
    SW0_RELATIVE = "sw0reloffer"
    SWA_ABSOLUTE = "swabsoffer"
    SWA_RELATIVE = "swreloffer"


def _message_hash(message: bytes) -> bytes:
    prefix = b"\x18Bitcoin Signed Message:\n"
    n = len(message)
    size = bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n) if n <= 0xFFFF \
        else b"\xfe" + struct.pack("<I", n)
    return hashlib.sha256(hashlib.sha256(prefix + size + message).digest()).digest()


class NgStyleIdentity:
    """joinmarket-ng's identity interface, independent of ``protocol.crypto``:
    ``NgStyleIdentity(version=5, private_key_bytes=None)`` with properties ``nick`` and
    ``public_key_hex`` and ``sign_message(message, hostid="")``. No ``build_privmsg``."""

    def __init__(self, version: int = 5, private_key_bytes: bytes | None = None) -> None:
        self._key = coincurve.PrivateKey(private_key_bytes)
        digest = hashlib.sha256(self.public_key_hex.encode("ascii")).digest()[:10]
        n, text = int.from_bytes(digest, "big"), ""
        while n:
            n, rem = divmod(n, 58)
            text = _B58[rem] + text
        text = "1" * (len(digest) - len(digest.lstrip(b"\0"))) + text
        self._nick = f"J{version}" + text.ljust(14, "O")
        self.signed: list[str] = []  # what the client asked us to sign, for assertions

    @property
    def nick(self) -> str:
        return self._nick

    @property
    def public_key_hex(self) -> str:
        return self._key.public_key.format(compressed=True).hex()

    def sign_message(self, message: str, hostid: str = "") -> str:
        self.signed.append(message + hostid)
        der = self._key.sign(_message_hash((message + hostid).encode("utf-8")), hasher=None)
        return f"{message} {self.public_key_hex} {base64.b64encode(der).decode('ascii')}"


@dataclass
class MakerSession:
    nick: str
    offer: Any
    comm_channel: str = ""
    nacl_key: str = ""
    utxos: tuple[str, ...] = ()


@dataclass
class RoundRecord:
    """What one CoinJoin message sequence did, for the test to check."""

    pending_before_fill: dict[str, bool] = field(default_factory=dict)  # nick -> task seen
    connected_in_wait: int = 0
    channels: dict[str, str] = field(default_factory=dict)  # nick -> bound channel
    fill_channels: dict[str, str] = field(default_factory=dict)
    neutrino_support: dict[str, bool | None] = field(default_factory=dict)
    sig_counts: dict[str, int] = field(default_factory=dict)


def value_bonds(offers: list[Any]) -> None:
    """What joinmarket-ng's taker does after fetching: reset, then value each bond."""
    for offer in offers:
        offer.fidelity_bond_value = 0
    for offer in offers:
        bond = offer.fidelity_bond_data
        if bond and isinstance(bond.get("cert_expiry"), int) and bond.get("utxo_pub"):
            offer.fidelity_bond_value = 1_000 * bond["utxo_vout"] + bond["locktime"] % 997 + 1
            offer.fidelity_bond_verified = True


def pick_offers(offers: list[Any], nicks: list[str]) -> dict[str, Any]:
    """One relative offer per wanted maker, chosen the way NG's filters read offers."""
    chosen: dict[str, Any] = {}
    for offer in offers:
        if offer.counterparty in nicks and offer.counterparty not in chosen and \
                offer.ordertype in (NgOfferType.SW0_RELATIVE, NgOfferType.SWA_RELATIVE):
            chosen[offer.counterparty] = offer
    return chosen


class _Payloads:
    """The toy CoinJoin payloads of one round (PoDLE-shaped commitment, NaCl box)."""

    def __init__(self) -> None:
        self.nacl = NaclKeypair.generate()
        self.revelation = build_auth_revelation(random_utxo())
        self.commitment = commitment_of(parse_auth_revelation(self.revelation))


class AsyncNgTaker:
    """The asyncio taker: ``directory_client`` is our ``MultiDirectoryClient``."""

    def __init__(self, client: Any, amount: int = 1_000_000, neutrino_backend: bool = True) -> None:
        self.directory_client = client
        self.amount = amount
        self.neutrino_backend = neutrino_backend

    def routing_summary(self) -> tuple[int, list[str]]:
        clients = self.directory_client.clients
        return len(clients), [f"{c.host}:{c.port}" for c in clients.values()]

    async def fetch(self, **waits: float) -> list[Any]:
        offers = await self.directory_client.fetch_orderbook(**waits)
        value_bonds(offers)
        return offers

    async def coinjoin(self, chosen: dict[str, Any]) -> RoundRecord:
        client, record, pay = self.directory_client, RoundRecord(), _Payloads()
        sessions = {nick: MakerSession(nick, offer) for nick, offer in chosen.items()}
        if client.prefer_direct_connections:
            for nick in sessions:
                if client.get_peer_location(nick):
                    client.try_direct_connect(nick)
            pending = []
            for nick in sessions:
                task = client.get_pending_connect_task(nick)
                record.pending_before_fill[nick] = task is not None
                if task is not None and not task.done():
                    pending.append(task)
            if pending:
                done, _ = await asyncio.wait(pending, timeout=DIRECT_CONNECT_WAIT,
                                             return_when=asyncio.ALL_COMPLETED)
                record.connected_in_wait = len([t for t in done if not t.exception()])
        if self.neutrino_backend:
            for nick in sessions:
                peer = client.get_connected_peer(nick)
                record.neutrino_support[nick] = (
                    None if peer is None else peer.supports_feature(FEATURE_NEUTRINO_COMPAT))
        for nick, session in sessions.items():
            binding = client.bind_session(nick)
            session.comm_channel = record.channels[nick] = binding.channel_id
        for nick, session in sessions.items():
            data = f"{session.offer.oid} {self.amount} {pay.nacl.public_hex} {pay.commitment}"
            record.fill_channels[nick] = await client.send_privmsg(
                nick, "fill", data, log_routing=True, force_channel=session.comm_channel)
        replies = await client.wait_for_responses(expected_nicks=list(sessions),
                                                  expected_command="!pubkey", timeout=15)
        for nick, session in sessions.items():
            session.nacl_key = replies[nick]["data"].strip().split(" ")[0]
        for nick, session in sessions.items():
            session.comm_channel = client.upgrade_channel_prefer_direct(nick, session.comm_channel)
            box = encrypt(pay.nacl, session.nacl_key, pay.revelation)
            await client.send_privmsg(nick, "auth", box, log_routing=True,
                                      force_channel=session.comm_channel)
        replies = await client.wait_for_responses(expected_nicks=list(sessions),
                                                  expected_command="!ioauth", timeout=15)
        for nick, session in sessions.items():
            ioauth = parse_ioauth(decrypt(pay.nacl, session.nacl_key, replies[nick]["args"]))
            verify_ioauth_btc_sig(ioauth, session.nacl_key)
            session.utxos = ioauth.utxos
        tx = build_tx({**{n: s.utxos for n, s in sessions.items()}, "taker": [random_utxo()]})
        for nick, session in sessions.items():
            await client.send_privmsg(nick, "tx", encrypt(pay.nacl, session.nacl_key, tx),
                                      force_channel=session.comm_channel)
        counts = {nick: len(s.utxos) for nick, s in sessions.items()}
        replies = await client.wait_for_responses(list(sessions), "!sig", timeout=15,
                                                  expected_counts=counts)
        record.sig_counts = {nick: len(reply["data"]) for nick, reply in replies.items()}
        return record


class BlockingNgTaker(AsyncNgTaker):
    """The same call order on ``BlockingMultiDirectoryClient``, as a threaded taker would:
    the pending attempts are ``concurrent.futures.Future``s waited with a 5 s bound."""

    def fetch(self, **waits: float) -> list[Any]:  # type: ignore[override]
        offers = self.directory_client.fetch_orderbook(**waits)
        value_bonds(offers)
        return offers

    def coinjoin(self, chosen: dict[str, Any]) -> RoundRecord:  # type: ignore[override]
        return asyncio.run(self._coinjoin(chosen))

    async def _coinjoin(self, chosen: dict[str, Any]) -> RoundRecord:
        blocking = self.directory_client
        self.directory_client = _Awaitable(blocking)
        try:
            return await AsyncNgTaker.coinjoin(self, chosen)
        finally:
            self.directory_client = blocking


class _Awaitable:
    """Runs the blocking client's I/O methods in a worker thread and awaits them; the
    pending attempt stays a ``concurrent.futures.Future``, waited with the 5 s bound."""

    IO = frozenset({"send_privmsg", "wait_for_responses"})

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name in self.IO:
            async def call(*args: Any, **kwargs: Any) -> Any:
                return await asyncio.to_thread(attr, *args, **kwargs)
            return call
        if name == "get_pending_connect_task":
            def task(nick: str) -> Any:
                future = attr(nick)
                assert future is None or isinstance(future, concurrent.futures.Future)
                return None if future is None else asyncio.wrap_future(future)
            return task
        return attr
