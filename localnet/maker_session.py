"""What a localnet maker *says*, separated from how it is routed (sans-IO).

:class:`MakerLogic` turns a verified incoming PRIVMSG into the ``(command, data)``
replies a JoinMarket maker sends, and builds its offer announcements and
``!orderbook`` replies. :mod:`localnet.maker` owns the sockets and decides which
channel(s) each reply goes through (that is where the NG and REF styles differ most).

Style differences implemented here:

* ``!orderbook`` reply: NG = one reply per offer, each with its own ``!tbond``; REF =
  one reply with all offers ``!``-joined plus one ``!tbond`` (PROTOCOL.md 7.2).
* ``!pubkey``: NG appends ``features=neutrino_compat``.

Deliberate simplifications, documented because tests rely on them:

* Both styles answer an unknown oid, an amount out of range, an invalid NaCl key and a
  blacklisted commitment with ``!error`` (real NG makers drop those ``!fill``s
  silently); tests need every ``!error`` path on both styles.
* Both styles restart the session with a NEW NaCl key on a second ``!fill`` from the
  same nick (REF behaviour, §5.5; NG only does so while waiting for ``!auth``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

import coincurve

from localnet.coinjoin import (build_ioauth, build_sig, commitment_of, parse_auth_revelation,
                               parse_tx, random_utxo, toy_address)
from protocol.bond import create_bond_proof
from protocol.errors import ProtocolError
from protocol.jmmessage import PrivMsg
from protocol.naclbox import NaclKeypair, decrypt, encrypt, is_nacl_pubkey_hex
from protocol.offers import OfferSegment, format_offer

Reply = tuple[str, str]  # (command without "!", data)
_UINT_RE = re.compile(r"[0-9]{1,20}")

DEFAULT_OFFERS = (
    OfferSegment("sw0reloffer", 0, 27_300, 300_000_000, 0, "0.00002"),
    OfferSegment("sw0absoffer", 1, 27_300, 100_000_000, 0, 1_000),
)
#: Bond timelock (2030-03-17) and certificate expiry (in 2016-block periods).
BOND_LOCKTIME = 1_900_000_000
BOND_CERT_EXPIRY = 52


class BondKeys:
    """A fidelity bond's keys and outpoint; proofs are made per requesting taker."""

    def __init__(self) -> None:
        self.utxo_priv = coincurve.PrivateKey().secret
        self.cert_priv = coincurve.PrivateKey().secret
        self.txid_hex = secrets.token_hex(32)
        self.cert_expiry = BOND_CERT_EXPIRY
        self.previous: tuple[bytes, int] | None = None  # the certificate before a renewal

    def renew(self, cert_expiry: int) -> None:
        """Certify a new cert key until ``cert_expiry`` with the same UTXO key."""
        self.previous = (self.cert_priv, self.cert_expiry)
        self.cert_priv, self.cert_expiry = coincurve.PrivateKey().secret, cert_expiry

    def proof_for(self, taker_nick: str, maker_nick: str, stale: bool = False) -> str:
        """A proof for one taker; ``stale`` uses the certificate from before the renewal."""
        cert_priv, cert_expiry = self.previous if stale and self.previous else (
            self.cert_priv, self.cert_expiry)
        return create_bond_proof(self.utxo_priv, cert_priv, cert_expiry,
                                 self.txid_hex, 0, BOND_LOCKTIME, taker_nick, maker_nick)


class _Session:
    """One taker's CoinJoin in progress: its keys and how far it got."""

    def __init__(self, taker_nacl_pub: str, commitment: str) -> None:
        self.taker_nacl_pub = taker_nacl_pub
        self.commitment = commitment
        self.nacl = NaclKeypair.generate()
        self.authorised = False


class MakerLogic:
    """The reply rules of one maker; every method returns the replies to send."""

    def __init__(self, nick: str, style: str, network: str, offers: Iterable[OfferSegment],
                 bond: bool, inputs: int, blacklisted_commitments: Iterable[str]) -> None:
        if inputs < 1:
            raise ValueError(f"inputs must be >= 1, got {inputs}")
        self.nick = nick
        self.style = style
        self.offers = {offer.oid: offer for offer in offers}
        self.bond = BondKeys() if bond else None
        self.auth_priv = coincurve.PrivateKey().secret
        self.utxos = tuple(random_utxo() for _ in range(inputs))
        self.cj_addr, self.change_addr = toy_address(network), toy_address(network)
        self.blacklisted = frozenset(c.removeprefix("P") for c in blacklisted_commitments)
        self.sessions: dict[str, _Session] = {}
        self.pushes: list[tuple[str, str]] = []

    def announcements(self) -> list[str]:
        """PUBMSG bodies announcing each offer (unsigned, never with a bond)."""
        return [format_offer(offer) for offer in self.offers.values()]

    def orderbook_replies(self, taker_nick: str, stale_bond: bool = False) -> list[Reply]:
        texts = [format_offer(offer) for offer in self.offers.values()]
        if not texts:
            return []
        tbond = (f"!tbond {self.bond.proof_for(taker_nick, self.nick, stale_bond)}"
                 if self.bond else "")
        if self.style == "ref":
            texts = ["!".join(texts)]
        replies = []
        for text in texts:
            command, data = (text + tbond).split(" ", 1)
            replies.append((command, data))
        return replies

    def on_privmsg(self, msg: PrivMsg) -> list[Reply]:
        """Replies to a verified private message addressed to this maker."""
        handler = {"fill": self._fill, "auth": self._auth, "tx": self._tx,
                   "push": self._push}.get(msg.command)
        return handler(msg) if handler is not None else []

    def _fill(self, msg: PrivMsg) -> list[Reply]:
        fields = msg.data.split(" ")
        if len(fields) != 4 or not all(_UINT_RE.fullmatch(f) for f in fields[:2]):
            return []  # not a well-formed !fill: real makers drop it too
        oid, amount, taker_pub, commitment = int(fields[0]), int(fields[1]), *fields[2:]
        offer = self.offers.get(oid)
        if offer is None:
            return [("error", "oid not found")]
        if not offer.minsize <= amount <= offer.maxsize:
            return [("error", "amount out of range")]
        if not is_nacl_pubkey_hex(taker_pub):
            return [("error", f"Invalid nacl pubkey: {taker_pub[:80]}")]
        if commitment.removeprefix("P") in self.blacklisted:
            return [("error", f"Commitment is blacklisted: {commitment.removeprefix('P')}")]
        session = _Session(taker_pub, commitment)
        self.sessions[msg.from_nick] = session  # a repeated !fill restarts with a new key
        features = " features=neutrino_compat" if self.style == "ng" else ""
        return [("pubkey", session.nacl.public_hex + features)]

    def _auth(self, msg: PrivMsg) -> list[Reply]:
        session = self.sessions.get(msg.from_nick)
        if session is None:
            return []
        try:
            revelation = parse_auth_revelation(
                decrypt(session.nacl, session.taker_nacl_pub, msg.data))
        except ProtocolError as exc:
            return [("error", f"PoDLE verification failed: {exc}")]
        if commitment_of(revelation) != session.commitment:
            return [("error", "PoDLE verification failed: revelation does not open the commitment")]
        session.authorised = True
        plaintext = build_ioauth(self.utxos, self.auth_priv, self.cj_addr, self.change_addr,
                                 session.nacl.public_hex)
        return [("ioauth", encrypt(session.nacl, session.taker_nacl_pub, plaintext))]

    def _tx(self, msg: PrivMsg) -> list[Reply]:
        session = self.sessions.get(msg.from_nick)
        if session is None or not session.authorised:
            return []
        try:
            inputs = parse_tx(decrypt(session.nacl, session.taker_nacl_pub, msg.data))
        except ProtocolError as exc:
            return [("error", f"invalid tx: {exc}")]
        ours = [utxo for _owner, utxo in inputs if utxo in self.utxos]
        if sorted(ours) != sorted(self.utxos):
            return [("error", "tx does not spend exactly our utxos")]
        return [("sig", encrypt(session.nacl, session.taker_nacl_pub,
                                build_sig(utxo, self.auth_priv))) for utxo in ours]

    def _push(self, msg: PrivMsg) -> list[Reply]:
        self.pushes.append((msg.from_nick, msg.data))
        return []

