"""Nick identities and message signatures (PROTOCOL.md §4).

A JoinMarket nick is a commitment to a secp256k1 key: every PRIVMSG carries the
sender's pubkey and a signature, and a receiver accepts the line only if the pubkey
derives the claimed ``from`` nick *and* the signature verifies. Both checks live here
so that no caller can do one without the other.

Signatures are ECDSA over the Bitcoin signed-message hash, DER encoded, made and
checked by libsecp256k1 (via coincurve) exactly as REF and NG do: RFC 6979 nonces
(so vectors reproduce byte-for-byte) and low-S; high-S signatures fail to verify.
"""

import base64
import binascii
import hashlib
import re
import struct

import coincurve

from protocol.errors import LocalProtocolError, NickMismatchError, SignatureError
from protocol.jmmessage import PrivMsg, format_privmsg, parse_privmsg

__all__ = [
    "JM_VERSION", "ONION_HOSTID", "NickIdentity", "bitcoin_message_hash", "nick_from_pubkey",
    "parse_and_verify_privmsg", "verify_der", "verify_message", "verify_privmsg",
]

ONION_HOSTID = "onion-network"
JM_VERSION = 5

_MAGIC = b"Bitcoin Signed Message:\n"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_NICK_HASH_LENGTH = 10
_NICK_MAX_ENCODED = 14
_PUBHEX_RE = re.compile(r"0[23][0-9a-f]{64}")
# A DER signature is at most 72 bytes, i.e. 96 base64 chars; anything longer is junk
# and is refused before decoding so garbage cannot cost more than a length check.
_MAX_SIG_B64 = 96


def _compact_size(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def bitcoin_message_hash(message: bytes) -> bytes:
    """Double SHA-256 of the Bitcoin signed-message serialisation (§4.3 step 3)."""
    payload = bytes([len(_MAGIC)]) + _MAGIC + _compact_size(len(message)) + message
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()


def _base58(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_BASE58[rem])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(out))


def nick_from_pubkey(pubkey_hex: str, version: int = 5) -> str:
    """Derive the nick that ``pubkey_hex`` owns (§4.2).

    The hash is over the hex *text* exactly as given, which is why senders must use
    lowercase: REF re-hashes the received string verbatim.
    """
    digest = hashlib.sha256(pubkey_hex.encode("utf-8", "surrogatepass")).digest()
    encoded = _base58(digest[:_NICK_HASH_LENGTH])
    return f"J{version}" + encoded.ljust(_NICK_MAX_ENCODED, "O")


def verify_der(pubkey: bytes, digest: bytes, der_sig: bytes) -> bool:
    """Check a DER signature over a 32-byte digest; False for any malformed part.

    Shared by privmsg, bond and nick-auth verification so that every caller gets the
    same never-raises contract around libsecp256k1.
    """
    try:
        return coincurve.PublicKey(pubkey).verify(der_sig, digest, hasher=None)
    except (ValueError, TypeError):
        return False


def verify_message(pubkey_hex: str, message: bytes, sig_b64: str) -> bool:
    """True iff ``sig_b64`` is a valid signature by ``pubkey_hex`` over ``message``.

    Never raises: garbage pubkeys, base64 or DER simply do not verify.
    """
    if not isinstance(pubkey_hex, str) or not isinstance(sig_b64, str):
        return False
    if len(sig_b64) > _MAX_SIG_B64 or len(pubkey_hex) > 130:
        return False
    try:
        pubkey = bytes.fromhex(pubkey_hex)
        der = base64.b64decode(sig_b64, validate=True)
    except (ValueError, binascii.Error):
        return False
    return verify_der(pubkey, bitcoin_message_hash(message), der)


class NickIdentity:
    """A secp256k1 identity key and the nick it derives.

    Deliberately not a Struct: it holds a secret, so it has no field-dumping repr and
    is never serialised.
    """

    __slots__ = ("_key", "public_key_hex", "nick")

    def __init__(self, private_key_bytes: bytes | None = None) -> None:
        if private_key_bytes is None:
            self._key = coincurve.PrivateKey()
        else:
            if not isinstance(private_key_bytes, bytes) or len(private_key_bytes) != 32:
                raise LocalProtocolError("identity private key must be 32 bytes")
            try:
                self._key = coincurve.PrivateKey(private_key_bytes)
            except ValueError as exc:
                raise LocalProtocolError(
                    "identity private key is not a valid secp256k1 scalar") from exc
        self.public_key_hex = self._key.public_key.format(compressed=True).hex()
        self.nick = nick_from_pubkey(self.public_key_hex)

    def __repr__(self) -> str:
        return f"NickIdentity(nick={self.nick!r})"

    __str__ = __repr__

    @property
    def private_key_bytes(self) -> bytes:
        return self._key.secret

    def sign_bytes(self, message: bytes) -> str:
        """Base64 DER signature over ``bitcoin_message_hash(message)``."""
        der = self._key.sign(bitcoin_message_hash(message), hasher=None)
        return base64.b64encode(der).decode("ascii")

    def sign_message(self, message: str, hostid: str = "") -> str:
        """``"<message> <pubkey_hex> <sig_base64>"``, signing ``message + hostid``.

        This is joinmarket-ng's identity interface (API.md drop-in rule), so the client
        signs through it and a taker may pass its own identity object instead of ours.
        """
        signature = self.sign_bytes((message + hostid).encode("utf-8"))
        return f"{message} {self.public_key_hex} {signature}"

    def sign_privmsg(self, data: str) -> tuple[str, str]:
        """``(pubhex, sig_b64)`` to append to a PRIVMSG whose argument string is ``data``."""
        return self.public_key_hex, self.sign_bytes((data + ONION_HOSTID).encode("utf-8"))

    def build_privmsg(self, to_nick: str, command: str, data: str) -> str:
        """The complete signed JM line ``from!to!cmd data pubhex sig``."""
        pubhex, sig = self.sign_privmsg(data)
        return format_privmsg(self.nick, to_nick, command, data, pubhex, sig)


def verify_privmsg(msg: PrivMsg) -> None:
    """Enforce §4.4: the pubkey must own ``from_nick`` and must have signed ``data``.

    The nick check comes first so a forged sender is reported as a nick mismatch even
    when the signature itself is fine.
    """
    nick = msg.from_nick
    if not _PUBHEX_RE.fullmatch(msg.pubkey_hex):
        raise NickMismatchError(f"pubkey {msg.pubkey_hex[:70]!r} is not lowercase compressed hex")
    if not nick.startswith(f"J{JM_VERSION}"):
        # Only version 5 exists (proto-ver 5 is the only one accepted anywhere); taking the
        # digit from the line would let one key verify under ten different nick strings.
        raise NickMismatchError(f"sender nick {nick[:64]!r} is not a version-{JM_VERSION} nick")
    if nick_from_pubkey(msg.pubkey_hex, JM_VERSION) != nick:
        raise NickMismatchError(f"pubkey does not derive sender nick {nick[:64]!r}")
    try:
        signed = (msg.data + ONION_HOSTID).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SignatureError("signed data is not encodable as UTF-8") from exc
    if not verify_message(msg.pubkey_hex, signed, msg.sig_b64):
        raise SignatureError(f"signature from {nick!r} on {msg.command!r} does not verify")


def parse_and_verify_privmsg(line: str) -> PrivMsg:
    """Parse a PRIVMSG line and return it only if its sender is authenticated."""
    msg = parse_privmsg(line)
    verify_privmsg(msg)
    return msg
