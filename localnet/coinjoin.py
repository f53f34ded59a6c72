"""Toy CoinJoin payloads carried inside the encrypted commands (PROTOCOL.md 5.4).

Localnet makers and test takers must exchange ``!auth``/``!ioauth``/``!tx``/``!sig``
plaintexts that have the real *shape* (field counts, separators, hex and base64 where
the wire has them) so that the networking layer is exercised exactly as with real
peers — but no Bitcoin transaction, wallet or PoDLE proof exists on loopback. What is
real and checked here:

* the ``!ioauth`` ``btc_sig``: a Bitcoin-message ECDSA signature (DER, base64, no
  hostid) by the auth key over the ASCII hex of the maker's NaCl pubkey, because takers
  must verify it (anti-MITM binding of the NaCl key to a UTXO key);
* the PoDLE *commitment* relation ``commitment = "P" + sha256(P2)``, so a maker can
  refuse an ``!auth`` that does not open the ``!fill`` commitment.

What is toy: P2, ``sig`` and ``e`` of the revelation are derived from a key rather than
proven; the "transaction" is base64 JSON listing inputs and their owners; a ``!sig``
blob is ``push(DER sig + 0x01) || push(pubkey)`` (the p2wpkh witness shape) over a toy
sighash of the input's outpoint, so a taker can still match signatures to inputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence

import coincurve
import msgspec

from protocol.crypto import NickIdentity, verify_der, verify_message
from protocol.errors import ProtocolError, SignatureError

TOY_TX_FORMAT = "jm-localnet-toy-tx/1"
_TOY_SIGHASH_TAG = b"jm-localnet-toy-sighash|"
_SIGHASH_ALL = 0x01
_UTXO_RE = re.compile(r"[0-9a-f]{64}:[0-9]{1,10}")
_PUB_RE = re.compile(r"0[23][0-9a-f]{64}")
_HEX32_RE = re.compile(r"[0-9a-f]{64}")
_BECH32_CHARS = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_ADDRESS_PREFIX = {"mainnet": "bc1q", "testnet": "tb1q", "signet": "tb1q", "regtest": "bcrt1q"}


class ToyPayloadError(ProtocolError):
    """A toy CoinJoin plaintext (revelation, ioauth, tx, sig) is malformed."""


class IoauthSignatureError(SignatureError):
    """The ``!ioauth`` btc_sig does not bind the maker's NaCl key to its auth key."""


class AuthRevelation(msgspec.Struct, frozen=True):
    """The five ``|``-separated fields of an ``!auth`` plaintext."""

    utxo: str
    p: str
    p2: str
    sig: str
    e: str


class IoAuth(msgspec.Struct, frozen=True):
    """The five space-separated fields of an ``!ioauth`` plaintext."""

    utxos: tuple[str, ...]
    auth_pub: str
    cj_addr: str
    change_addr: str
    btc_sig: str


def random_utxo() -> str:
    """A fresh ``txid:vout`` outpoint string (random txid, small vout)."""
    return f"{secrets.token_hex(32)}:{secrets.randbelow(4)}"


def toy_address(network: str = "regtest") -> str:
    """A bech32-looking address for ``network`` (no valid checksum: it is never spent)."""
    body = "".join(secrets.choice(_BECH32_CHARS) for _ in range(38))
    return _ADDRESS_PREFIX.get(network, "bcrt1q") + body


def _pub_hex(secret: bytes) -> str:
    return coincurve.PrivateKey(secret).public_key.format(compressed=True).hex()


def _check_utxo(utxo: str) -> str:
    if not _UTXO_RE.fullmatch(utxo):
        raise ToyPayloadError(f"utxo {utxo[:80]!r} is not txid:vout")
    return utxo


def build_auth_revelation(utxo: str, key: bytes | None = None) -> str:
    """The ``!auth`` plaintext ``txid:vout|P|P2|sig|e`` for ``utxo`` (toy PoDLE).

    P is the pubkey of ``key``; P2, sig and e are derived from it deterministically, so
    the same key always yields the same commitment (as a real PoDLE for one index does).
    """
    _check_utxo(utxo)
    key = key if key is not None else secrets.token_bytes(32)
    second = hashlib.sha256(b"p2|" + key).digest()
    return "|".join((
        utxo,
        _pub_hex(key),
        _pub_hex(second),
        hashlib.sha256(b"s|" + key).hexdigest(),
        hashlib.sha256(b"e|" + key).hexdigest(),
    ))


def parse_auth_revelation(text: str) -> AuthRevelation:
    fields = text.split("|")
    if len(fields) != 5:
        raise ToyPayloadError(f"auth revelation has {len(fields)} fields, need 5")
    utxo, p, p2, sig, e = fields
    _check_utxo(utxo)
    if not (_PUB_RE.fullmatch(p) and _PUB_RE.fullmatch(p2)):
        raise ToyPayloadError("auth revelation P/P2 are not compressed pubkey hex")
    if not (_HEX32_RE.fullmatch(sig) and _HEX32_RE.fullmatch(e)):
        raise ToyPayloadError("auth revelation sig/e are not 32-byte hex")
    return AuthRevelation(utxo, p, p2, sig, e)


def commitment_of(revelation: AuthRevelation) -> str:
    """The ``!fill`` commitment a revelation opens: ``"P" + sha256(P2)`` hex."""
    return "P" + hashlib.sha256(bytes.fromhex(revelation.p2)).hexdigest()


def build_ioauth(maker_utxos: Sequence[str], auth_priv: bytes, cj_addr: str,
                 change_addr: str, maker_nacl_pub_hex: str) -> str:
    """``<utxos> <auth_pub> <cj_addr> <change_addr> <btc_sig>`` signed by ``auth_priv``."""
    if not maker_utxos:
        raise ToyPayloadError("ioauth needs at least one utxo")
    auth = NickIdentity(private_key_bytes=auth_priv)
    btc_sig = auth.sign_bytes(maker_nacl_pub_hex.encode("ascii"))
    utxos = ",".join(_check_utxo(u) for u in maker_utxos)
    return " ".join((utxos, auth.public_key_hex, cj_addr, change_addr, btc_sig))


def parse_ioauth(text: str) -> IoAuth:
    fields = text.split(" ")
    if len(fields) != 5:
        raise ToyPayloadError(f"ioauth has {len(fields)} fields, need 5")
    utxo_list, auth_pub, cj_addr, change_addr, btc_sig = fields
    utxos = tuple(_check_utxo(u) for u in utxo_list.split(","))
    if not _PUB_RE.fullmatch(auth_pub):
        raise ToyPayloadError("ioauth auth_pub is not compressed pubkey hex")
    return IoAuth(utxos, auth_pub, cj_addr, change_addr, btc_sig)


def verify_ioauth_btc_sig(ioauth: IoAuth, maker_nacl_pub_hex: str) -> None:
    """Raise :class:`IoauthSignatureError` unless auth_pub signed the maker's NaCl key."""
    if not verify_message(ioauth.auth_pub, maker_nacl_pub_hex.encode("ascii"), ioauth.btc_sig):
        raise IoauthSignatureError("ioauth btc_sig does not sign the maker's NaCl pubkey")


def build_tx(inputs_per_maker: Mapping[str, Sequence[str]]) -> str:
    """Base64 toy transaction: the inputs in order, each tagged with its owner's nick.

    Inputs are ordered by outpoint (as BIP69-sorted JoinMarket transactions are), so a
    maker's inputs interleave with others' and "one !sig per input in tx order" matters.
    """
    inputs = sorted(((utxo, owner) for owner, utxos in inputs_per_maker.items()
                     for utxo in utxos), key=lambda pair: pair[0])
    doc = {"format": TOY_TX_FORMAT,
           "inputs": [{"utxo": _check_utxo(utxo), "owner": owner} for utxo, owner in inputs]}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode("ascii")


def parse_tx(b64: str) -> tuple[tuple[str, str], ...]:
    """``((owner, utxo), ...)`` in input order from a :func:`build_tx` blob."""
    try:
        doc = json.loads(base64.b64decode(b64, validate=True))
        if doc["format"] != TOY_TX_FORMAT:
            raise ToyPayloadError(f"unknown toy tx format {doc['format']!r}")
        return tuple((str(i["owner"]), _check_utxo(i["utxo"])) for i in doc["inputs"])
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise ToyPayloadError(f"not a toy transaction: {exc}") from exc


def _toy_sighash(utxo: str) -> bytes:
    return hashlib.sha256(_TOY_SIGHASH_TAG + utxo.encode("ascii")).digest()


def build_sig(utxo: str, key: bytes) -> str:
    """Base64 ``push(DER sig + SIGHASH_ALL) || push(pubkey)`` for one input (toy sighash)."""
    private = coincurve.PrivateKey(key)
    sig = private.sign(_toy_sighash(_check_utxo(utxo)), hasher=None) + bytes([_SIGHASH_ALL])
    pub = private.public_key.format(compressed=True)
    return base64.b64encode(bytes([len(sig)]) + sig + bytes([len(pub)]) + pub).decode("ascii")


def sig_matches(blob_b64: str, utxo: str) -> bool:
    """True iff a :func:`build_sig` blob signs ``utxo``; never raises on garbage."""
    try:
        raw = base64.b64decode(blob_b64, validate=True)
        sig_len = raw[0]
        sig, rest = raw[1:1 + sig_len], raw[1 + sig_len:]
        pub = rest[1:1 + rest[0]]
    except (ValueError, binascii.Error, IndexError):
        return False
    if len(sig) != sig_len or len(pub) != 33 or sig[-1:] != bytes([_SIGHASH_ALL]):
        return False
    return verify_der(pub, _toy_sighash(utxo), sig[:-1])
