"""Tor v3 onion names for local peers: real checksum and version byte, so they pass the
same validation as real onions (56 base32 characters + ``.onion``)."""

import base64
import hashlib
import secrets

_VERSION = b"\x03"


def onion_host_for(key: bytes) -> str:
    """The v3 onion name for a 32-byte ed25519 service public key."""
    checksum = hashlib.sha3_256(b".onion checksum" + key + _VERSION).digest()[:2]
    return base64.b32encode(key + checksum + _VERSION).decode("ascii").lower() + ".onion"


def random_onion_host() -> str:
    """A fresh onion-shaped name; nothing is behind it but a gateway mapping or a test."""
    return onion_host_for(secrets.token_bytes(32))
