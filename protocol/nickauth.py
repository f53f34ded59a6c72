"""JMP-0005 nick authentication against NG directories (PROTOCOL.md §9.3).

The directory sends a random challenge bound to its own id; we sign it together with
a hash of the exact handshake line we sent and our nick, proving we own the nick's
key. Parsing is as strict as NG's directory (no duplicate or extra keys, canonical
base64, strict DER) because a lenient parser would accept proofs NG rejects, or let a
directory confuse us with ambiguous JSON.
"""

import base64
import binascii
import hashlib
import json
import re
from typing import Any

import coincurve
import msgspec

from protocol.crypto import bitcoin_message_hash, nick_from_pubkey, verify_der
from protocol.errors import LocalProtocolError, NickAuthError, ProtocolError
from protocol.identity import SigningIdentity, signature_of

__all__ = [
    "DOMAIN_TAG", "RESULT_CODES", "NickAuthChallenge", "NickAuthProof", "NickAuthResult",
    "build_challenge", "build_proof", "build_result", "expected_directory_id",
    "is_directory_id", "parse_challenge", "parse_proof", "parse_result", "verify_proof",
]

DOMAIN_TAG = "nick-auth-v1"
RESULT_CODES = frozenset({"ok", "malformed", "expired", "invalid", "policy"})
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_MAX_LINE = 1024
_CHALLENGE_RE = re.compile(r"[0-9a-f]{64}")
_DIRECTORY_ID_RE = re.compile(r"[a-z0-9][a-z0-9.:_-]{0,254}")
_ONION_RE = re.compile(r"[a-z2-7]{56}\.onion")
_PUBKEY_RE = re.compile(r"0[23][0-9a-f]{64}")
_RESULT_CODE_RE = re.compile(r"[a-z_]{1,32}")


class NickAuthChallenge(msgspec.Struct, frozen=True):
    challenge_hex: str
    directory_id: str


class NickAuthProof(msgspec.Struct, frozen=True):
    pubkey_hex: str
    signature_b64: str


class NickAuthResult(msgspec.Struct, frozen=True):
    code: str
    verified: bool


def _compact(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise NickAuthError("nick-auth JSON has duplicate keys")
    return obj


def _reject_constant(name: str) -> Any:
    raise NickAuthError(f"nick-auth JSON contains {name}")


def _load_object(line: str, what: str, keys: frozenset[str]) -> dict[str, Any]:
    """Decode ``line`` as a JSON object with exactly ``keys``."""
    if not isinstance(line, str) or len(line) > _MAX_LINE:
        raise NickAuthError(f"{what} must be a string of at most {_MAX_LINE} characters")
    try:
        obj = json.loads(
            line, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except NickAuthError:
        raise
    except (ValueError, RecursionError) as exc:
        raise NickAuthError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise NickAuthError(f"{what} is not a JSON object")
    if set(obj) != keys:
        raise NickAuthError(f"{what} keys {sorted(obj)} differ from {sorted(keys)}")
    return obj


def expected_directory_id(host: str, port: int) -> str | None:
    """The directory id a v3-onion endpoint must announce, or None if not derivable."""
    host = host.lower().removesuffix(".")
    if not _ONION_RE.fullmatch(host) or type(port) is not int or not 1 <= port <= 65535:
        return None
    return f"{host}:{port}"


def is_directory_id(value: str) -> bool:
    """Whether ``value`` is a well-formed directory id (what a client may pin)."""
    return bool(_DIRECTORY_ID_RE.fullmatch(value))


def _check_challenge(challenge_hex: str, directory_id: str,
                     error: type[ProtocolError] = NickAuthError) -> None:
    if not isinstance(challenge_hex, str) or not _CHALLENGE_RE.fullmatch(challenge_hex):
        raise error("challenge must be 64 lowercase hex characters")
    if not isinstance(directory_id, str) or not _DIRECTORY_ID_RE.fullmatch(directory_id):
        raise error("directory-id is malformed")


def build_challenge(challenge_hex: str, directory_id: str) -> str:
    """The 803 line a directory sends (used by localnet directories)."""
    _check_challenge(challenge_hex, directory_id, LocalProtocolError)
    return _compact({"challenge": challenge_hex, "directory-id": directory_id})


def parse_challenge(line: str) -> NickAuthChallenge:
    """Parse an 803 line; the caller must still compare ``directory_id`` to its expectation."""
    obj = _load_object(line, "nick-auth challenge", frozenset({"challenge", "directory-id"}))
    _check_challenge(obj["challenge"], obj["directory-id"])
    return NickAuthChallenge(obj["challenge"], obj["directory-id"])


def _signed_bytes(
    challenge: NickAuthChallenge, handshake_line: str, nick: str, pubkey_hex: str
) -> bytes:
    """``nick-auth|challenge|id|sha256(handshake)|nick|pubkey`` + domain tag, no separator."""
    try:
        handshake_hash = hashlib.sha256(handshake_line.encode("utf-8")).hexdigest()
        fields = (challenge.challenge_hex, challenge.directory_id, handshake_hash, nick, pubkey_hex)
        text = "|".join(("nick-auth", *fields))
        return (text + DOMAIN_TAG).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NickAuthError("nick-auth transcript is not encodable as UTF-8") from exc


def build_proof(identity: SigningIdentity, challenge: NickAuthChallenge,
                handshake_line: str) -> str:
    """The 805 line proving ``identity`` owns its nick; ``handshake_line`` is what we sent.

    Signed through the identity's ``sign_message`` (the transcript is UTF-8 text, so
    joinmarket-ng's interface can sign it), so a taker's own identity object works here too.
    """
    signed = _signed_bytes(challenge, handshake_line, identity.nick, identity.public_key_hex)
    signature = signature_of(identity, signed.decode("utf-8"), "")
    return _compact({"pubkey": identity.public_key_hex, "signature": signature})


def _der_integer(der: bytes, pos: int) -> int:
    """Check one minimally-encoded DER INTEGER in [1, n) at ``pos``; return the next offset."""
    if pos + 2 > len(der) or der[pos] != 0x02:
        raise NickAuthError("signature DER lacks an INTEGER")
    length = der[pos + 1]
    body = der[pos + 2 : pos + 2 + length]
    if length == 0 or len(body) != length:
        raise NickAuthError("signature DER INTEGER has a bad length")
    if body[0] & 0x80:
        raise NickAuthError("signature DER INTEGER is negative")
    if length > 1 and body[0] == 0 and not body[1] & 0x80:
        raise NickAuthError("signature DER INTEGER is not minimally encoded")
    value = int.from_bytes(body, "big")
    if not 1 <= value < _SECP256K1_N:
        raise NickAuthError("signature r or s is out of range")
    return pos + 2 + length


def _check_strict_der(der: bytes) -> None:
    if not 8 <= len(der) <= 72:
        raise NickAuthError(f"signature DER is {len(der)} bytes, not 8..72")
    if der[0] != 0x30 or der[1] != len(der) - 2:
        raise NickAuthError("signature DER header is malformed")
    if _der_integer(der, _der_integer(der, 2)) != len(der):
        raise NickAuthError("signature DER has trailing bytes")


def parse_proof(line: str) -> NickAuthProof:
    """Parse an 805 line with NG's strictness, so localnet rejects what NG rejects."""
    obj = _load_object(line, "nick-auth proof", frozenset({"pubkey", "signature"}))
    pubkey = obj["pubkey"]
    if not isinstance(pubkey, str) or not _PUBKEY_RE.fullmatch(pubkey):
        raise NickAuthError("nick-auth pubkey is not 66 lowercase hex chars of a compressed key")
    try:
        coincurve.PublicKey(bytes.fromhex(pubkey))
    except ValueError as exc:
        raise NickAuthError("nick-auth pubkey is not a valid secp256k1 point") from exc
    signature = obj["signature"]
    if not isinstance(signature, str) or len(signature) > 96:
        raise NickAuthError("nick-auth signature must be a base64 string of at most 96 characters")
    try:
        der = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NickAuthError(f"nick-auth signature is not base64: {exc}") from exc
    if base64.b64encode(der).decode("ascii") != signature:
        raise NickAuthError("nick-auth signature base64 is not canonical")
    _check_strict_der(der)
    return NickAuthProof(pubkey, signature)


def verify_proof(
    proof: NickAuthProof, challenge: NickAuthChallenge, handshake_line: str, nick: str
) -> None:
    """Raise :class:`NickAuthError` unless ``proof`` shows ownership of ``nick``."""
    if not _PUBKEY_RE.fullmatch(proof.pubkey_hex):
        raise NickAuthError("nick-auth pubkey is not lowercase compressed hex")
    if len(nick) < 2 or nick[1] not in "0123456789":
        raise NickAuthError(f"nick {nick[:64]!r} has no version digit")
    if nick_from_pubkey(proof.pubkey_hex, int(nick[1])) != nick:
        raise NickAuthError(f"nick-auth pubkey does not derive nick {nick[:64]!r}")
    digest = bitcoin_message_hash(_signed_bytes(challenge, handshake_line, nick, proof.pubkey_hex))
    try:
        der = base64.b64decode(proof.signature_b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NickAuthError("nick-auth signature is not base64") from exc
    if not verify_der(bytes.fromhex(proof.pubkey_hex), digest, der):
        raise NickAuthError(f"nick-auth signature for {nick!r} does not verify")


def build_result(code: str) -> str:
    """The 807 line; only ``ok`` is verified (used by localnet directories)."""
    if code not in RESULT_CODES:
        raise LocalProtocolError(f"unknown nick-auth result code {code!r}")
    return _compact({"code": code, "verified": code == "ok"})


def parse_result(line: str) -> NickAuthResult:
    """Parse an 807 line; ``verified`` must be true exactly when ``code`` is ``ok``.

    Unknown codes are accepted (as failures) so a future NG reason does not read as a
    protocol violation; a contradictory ``verified`` flag is refused.
    """
    obj = _load_object(line, "nick-auth result", frozenset({"code", "verified"}))
    code, verified = obj["code"], obj["verified"]
    if not isinstance(code, str) or not _RESULT_CODE_RE.fullmatch(code):
        raise NickAuthError("nick-auth result code is malformed")
    if not isinstance(verified, bool):
        raise NickAuthError("nick-auth result 'verified' is not a boolean")
    if verified != (code == "ok"):
        raise NickAuthError(f"nick-auth result code {code!r} contradicts verified={verified}")
    return NickAuthResult(code, verified)
