"""Fidelity-bond proofs carried by ``!tbond`` (PROTOCOL.md §7.4).

A proof chains two signatures: the timelocked UTXO key certifies a short-lived cert
key, and the cert key signs ``taker|maker`` so the proof cannot be replayed to another
taker. Parsing only checks the fixed 252-byte layout; :func:`verify_bond_proof` checks
both signatures. Whether the UTXO exists and what it is worth is a chain question,
outside this module.
"""

import base64
import binascii
import re
import struct

import coincurve
import msgspec

from protocol.crypto import bitcoin_message_hash, verify_der
from protocol.errors import BondError, LocalProtocolError, ProtocolError

__all__ = [
    "PROOF_LEN", "FidelityBondProof", "create_bond_proof", "parse_bond_proof",
    "verify_bond_proof",
]

PROOF_LEN = 252
_LAYOUT = struct.Struct("<72s72s33sH33s32sII")
_B64_LEN = PROOF_LEN * 4 // 3  # 252 is a multiple of 3, so no padding characters
_SIG_FIELD = 72
_CERT_PREFIX = b"fidelity-bond-cert|"
_TXID_RE = re.compile(r"[0-9a-fA-F]{64}")


class FidelityBondProof(msgspec.Struct, frozen=True):
    """A decoded proof; signatures are the bare DER bytes with the 0xff padding removed."""

    nick_sig: bytes
    cert_sig: bytes
    cert_pub: bytes
    cert_expiry: int
    utxo_pub: bytes
    txid_hex: str
    vout: int
    locktime: int


def _unpad(field: bytes, name: str) -> bytes:
    start = field.find(b"\x30")
    if start < 0:
        raise BondError(f"{name} holds no DER signature (no 0x30 byte)")
    return field[start:]


def _check_pubkey(raw: bytes, name: str) -> None:
    if raw[0] not in (2, 3):
        raise BondError(f"{name} is not a compressed public key")


def parse_bond_proof(b64: str) -> FidelityBondProof:
    """Decode a ``!tbond`` argument: strict base64 of exactly 252 bytes."""
    if not isinstance(b64, str) or len(b64) != _B64_LEN:
        raise BondError(f"bond proof must be {_B64_LEN} base64 characters")
    try:
        raw = binascii.a2b_base64(b64.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise BondError(f"bond proof is not strict base64: {exc}") from exc
    if len(raw) != PROOF_LEN:
        raise BondError(f"bond proof decodes to {len(raw)} bytes, not {PROOF_LEN}")
    nick_sig, cert_sig, cert_pub, expiry, utxo_pub, txid, vout, locktime = _LAYOUT.unpack(raw)
    _check_pubkey(cert_pub, "cert_pub")
    _check_pubkey(utxo_pub, "utxo_pub")
    return FidelityBondProof(
        nick_sig=_unpad(nick_sig, "nick_sig"),
        cert_sig=_unpad(cert_sig, "cert_sig"),
        cert_pub=cert_pub,
        cert_expiry=expiry,
        utxo_pub=utxo_pub,
        txid_hex=txid.hex(),
        vout=vout,
        locktime=locktime,
    )


def _cert_messages(cert_pub: bytes, cert_expiry: int) -> tuple[bytes, bytes]:
    """The cert message with raw cert_pub (REF) and the hex variant some makers sign."""
    expiry = b"|" + str(cert_expiry).encode("ascii")
    return (
        _CERT_PREFIX + cert_pub + expiry,
        _CERT_PREFIX + cert_pub.hex().encode("ascii") + expiry,
    )


def _nick_message(taker_nick: str, maker_nick: str,
                  error: type[ProtocolError] = BondError) -> bytes:
    try:
        return (taker_nick + "|" + maker_nick).encode("ascii")
    except UnicodeEncodeError as exc:
        raise error("bond nicks must be ASCII") from exc


def verify_bond_proof(proof: FidelityBondProof, taker_nick: str, maker_nick: str) -> None:
    """Raise :class:`BondError` unless both signatures of ``proof`` verify.

    ``taker_nick`` is our own nick when the proof came by PRIVMSG (§7.4).
    """
    nick_digest = bitcoin_message_hash(_nick_message(taker_nick, maker_nick))
    if not verify_der(proof.cert_pub, nick_digest, proof.nick_sig):
        raise BondError(f"bond nick signature for {taker_nick!r}|{maker_nick!r} does not verify")
    if not any(
        verify_der(proof.utxo_pub, bitcoin_message_hash(m), proof.cert_sig)
        for m in _cert_messages(proof.cert_pub, proof.cert_expiry)
    ):
        raise BondError("bond certificate signature by the UTXO key does not verify")


def _sign_padded(key: coincurve.PrivateKey, message: bytes) -> bytes:
    der = key.sign(bitcoin_message_hash(message), hasher=None)
    return der.rjust(_SIG_FIELD, b"\xff")


def create_bond_proof(
    utxo_priv: bytes,
    cert_priv: bytes,
    cert_expiry: int,
    txid_hex: str,
    vout: int,
    locktime: int,
    taker_nick: str,
    maker_nick: str,
) -> str:
    """Build a ``!tbond`` argument, as a maker does; used by localnet fake makers."""
    if not 0 <= cert_expiry <= 0xFFFF:
        raise LocalProtocolError(f"cert_expiry {cert_expiry} does not fit in 16 bits")
    if not (0 <= vout <= 0xFFFFFFFF and 0 <= locktime <= 0xFFFFFFFF):
        raise LocalProtocolError("vout and locktime must fit in 32 bits")
    if not _TXID_RE.fullmatch(txid_hex):
        raise LocalProtocolError("txid must be 64 hex characters")
    if not all(isinstance(k, bytes) and len(k) == 32 for k in (utxo_priv, cert_priv)):
        raise LocalProtocolError("bond private keys must be 32 bytes")
    try:
        utxo_key = coincurve.PrivateKey(utxo_priv)
        cert_key = coincurve.PrivateKey(cert_priv)
    except ValueError as exc:
        raise LocalProtocolError(f"invalid bond private key: {exc}") from exc
    cert_pub = cert_key.public_key.format(compressed=True)
    raw = _LAYOUT.pack(
        _sign_padded(cert_key, _nick_message(taker_nick, maker_nick, LocalProtocolError)),
        _sign_padded(utxo_key, _cert_messages(cert_pub, cert_expiry)[0]),
        cert_pub,
        cert_expiry,
        utxo_key.public_key.format(compressed=True),
        bytes.fromhex(txid_hex),
        vout,
        locktime,
    )
    return base64.b64encode(raw).decode("ascii")
