"""End-to-end encryption of ``!auth``/``!ioauth``/``!tx``/``!sig`` (PROTOCOL.md §5.5).

NaCl ``crypto_box`` between the taker's per-round keypair and each maker's key from
``!pubkey``. The wire form is ``base64(nonce || box)``, which is exactly what PyNaCl and
libnacl produce, so REF and NG makers interoperate with it unchanged.
"""

import base64
import binascii
import os
import re

import nacl.exceptions
import nacl.public

from protocol.errors import CryptoError, LocalProtocolError

__all__ = [
    "KEY_LEN", "NONCE_LEN", "NaclKeypair", "decrypt", "encrypt", "is_nacl_pubkey_hex",
]

KEY_LEN = 32
NONCE_LEN = nacl.public.Box.NONCE_SIZE
_MIN_BOX_LEN = NONCE_LEN + 16  # nonce plus Poly1305 MAC: an empty plaintext
_PUBKEY_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")


class NaclKeypair:
    """A Curve25519 keypair; holds a secret, so its repr shows only the public half."""

    __slots__ = ("_secret",)

    def __init__(self, secret: nacl.public.PrivateKey) -> None:
        self._secret = secret

    @classmethod
    def generate(cls) -> "NaclKeypair":
        return cls(nacl.public.PrivateKey(os.urandom(KEY_LEN)))

    @classmethod
    def from_secret(cls, secret: bytes) -> "NaclKeypair":
        if not isinstance(secret, bytes) or len(secret) != KEY_LEN:
            raise LocalProtocolError(f"NaCl secret key must be {KEY_LEN} bytes")
        return cls(nacl.public.PrivateKey(secret))

    @property
    def public_hex(self) -> str:
        return bytes(self._secret.public_key).hex()

    def __repr__(self) -> str:
        return f"NaclKeypair(public_hex={self.public_hex!r})"

    __str__ = __repr__


def is_nacl_pubkey_hex(s: object) -> bool:
    """True for 64 hex characters (REF decodes either case, so we accept both)."""
    return isinstance(s, str) and _PUBKEY_HEX_RE.fullmatch(s) is not None


def _box(our: NaclKeypair, their_pub_hex: str) -> nacl.public.Box:
    if not is_nacl_pubkey_hex(their_pub_hex):
        raise CryptoError("peer NaCl public key must be 64 hex characters")
    try:
        return nacl.public.Box(our._secret, nacl.public.PublicKey(bytes.fromhex(their_pub_hex)))
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError(f"unusable peer NaCl public key: {exc}") from exc


def encrypt(
    our: NaclKeypair, their_pub_hex: str, plaintext: str, nonce: bytes | None = None
) -> str:
    """``base64(nonce || box)``; pass ``nonce`` only to reproduce test vectors."""
    if nonce is None:
        nonce = os.urandom(NONCE_LEN)
    elif not isinstance(nonce, bytes) or len(nonce) != NONCE_LEN:
        raise LocalProtocolError(f"nonce must be {NONCE_LEN} bytes")
    try:
        data = plaintext.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError("plaintext is not encodable as UTF-8") from exc
    sealed = _box(our, their_pub_hex).encrypt(data, nonce)
    return base64.b64encode(bytes(sealed)).decode("ascii")


def decrypt(our: NaclKeypair, their_pub_hex: str, b64: str) -> str:
    """Open a ciphertext from ``their_pub_hex``; :class:`CryptoError` on any failure."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise CryptoError(f"ciphertext is not base64: {exc}") from exc
    if len(raw) < _MIN_BOX_LEN:
        raise CryptoError(f"ciphertext is {len(raw)} bytes, shorter than nonce and MAC")
    box = _box(our, their_pub_hex)
    try:
        plain = box.decrypt(raw[NONCE_LEN:], raw[:NONCE_LEN])
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError("ciphertext failed authentication (wrong key or tampered)") from exc
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CryptoError("decrypted plaintext is not UTF-8") from exc
