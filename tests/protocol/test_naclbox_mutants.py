"""NaCl box rules a mutation run showed unpinned: keys from a given secret, and the exact
text of each refusal."""

import base64
import re

import nacl.public
import pytest

from protocol.errors import CryptoError, LocalProtocolError
from protocol.naclbox import NaclKeypair, decrypt, encrypt



def _pair():
    """Built inside each test, so the code under test runs in the test (not at import)."""
    return NaclKeypair.from_secret(b"\x33" * 32), NaclKeypair.from_secret(b"\x44" * 32)


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_from_secret_derives_the_x25519_public_key_of_that_secret():
    US, THEM = _pair()
    expected = nacl.public.PrivateKey(b"\x33" * 32).public_key.encode().hex()
    assert US.public_hex == expected
    assert decrypt(THEM, US.public_hex, encrypt(US, THEM.public_hex, "hi")) == "hi"


@pytest.mark.parametrize("bad", [b"\x01" * 31, bytearray(32), "33" * 32])
def test_from_secret_refuses_anything_but_32_bytes(bad):
    with pytest.raises(LocalProtocolError, match=_exact("NaCl secret key must be 32 bytes")):
        NaclKeypair.from_secret(bad)


def test_refusals_are_exact():
    US, THEM = _pair()
    with pytest.raises(CryptoError, match=_exact("peer NaCl public key must be 64 hex characters")):
        encrypt(US, "zz", "hi")
    with pytest.raises(LocalProtocolError, match=_exact("plaintext is not encodable as UTF-8")):
        encrypt(US, THEM.public_hex, "\ud800")
    sealed = base64.b64decode(encrypt(US, THEM.public_hex, "hi"))
    tampered = base64.b64encode(sealed[:-1] + bytes([sealed[-1] ^ 1])).decode()
    with pytest.raises(CryptoError, match=_exact(
            "ciphertext failed authentication (wrong key or tampered)")):
        decrypt(THEM, US.public_hex, tampered)
    box = nacl.public.Box(nacl.public.PrivateKey(b"\x33" * 32),
                          nacl.public.PublicKey(bytes.fromhex(THEM.public_hex)))
    not_utf8 = base64.b64encode(bytes(box.encrypt(b"\xff\xfe", b"\x00" * 24))).decode()
    with pytest.raises(CryptoError, match=_exact("decrypted plaintext is not UTF-8")):
        decrypt(THEM, US.public_hex, not_utf8)
