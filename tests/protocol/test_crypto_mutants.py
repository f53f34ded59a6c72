"""Crypto rules a mutation run showed unpinned: Bitcoin CompactSize boundaries, base58
leading zeros, surrogate-safe nick derivation, strict signature base64, exact errors."""

import hashlib
import re

import coincurve
import pytest

from protocol.crypto import (
    NickIdentity, _base58, _compact_size, nick_from_pubkey, verify_message, verify_privmsg,
)
from protocol.errors import LocalProtocolError, NickMismatchError, SignatureError
from protocol.jmmessage import PrivMsg


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


@pytest.mark.parametrize("n, encoded", [
    (0, "00"), (0xFC, "fc"), (0xFD, "fdfd00"), (0xFFFE, "fdfeff"), (0xFFFF, "fdffff"),
    (0x10000, "fe00000100"), (0xFFFFFFFE, "fefeffffff"), (0xFFFFFFFF, "feffffffff"),
    (0x100000000, "ff0000000001000000"), (2**64 - 1, "ffffffffffffffffff"),
])
def test_compact_size_matches_bitcoins_varint(n, encoded):
    assert _compact_size(n).hex() == encoded


def test_base58_keeps_one_1_per_leading_zero_byte():
    assert _base58(b"\x00\x00\x01") == "112"
    assert _base58(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00") == "1" * 10
    assert _base58(b"\x01\x00") == "5R"


def test_nick_derivation_hashes_lone_surrogates_instead_of_raising():
    text = "02" + "\ud800" * 3
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    assert nick_from_pubkey(text) == "J5" + _base58(digest[:10]).ljust(14, "O")


IDENT = NickIdentity(b"\x11" * 32)
MESSAGE = b"hello"
SIG = IDENT.sign_bytes(MESSAGE)


def test_non_string_arguments_do_not_verify():
    assert verify_message(IDENT.public_key_hex, MESSAGE, SIG)
    assert not verify_message(None, MESSAGE, SIG)  # type: ignore[arg-type]
    assert not verify_message(IDENT.public_key_hex, MESSAGE, None)  # type: ignore[arg-type]


def test_an_uncompressed_130_hex_char_key_still_verifies():
    key = coincurve.PrivateKey(b"\x11" * 32)
    uncompressed = key.public_key.format(compressed=False).hex()
    assert len(uncompressed) == 130
    assert verify_message(uncompressed, MESSAGE, SIG)


def _short_signature() -> tuple[bytes, str]:
    """A message whose DER signature is 69 bytes (92 base64 chars), leaving room for junk
    within the 96-character cap; RFC 6979 makes the search deterministic."""
    for i in range(5000):
        message = b"m%d" % i
        sig = IDENT.sign_bytes(message)
        if len(sig) == 92:
            return message, sig
    raise AssertionError("no 69-byte signature found")


@pytest.mark.parametrize("junk", ["!", "\n", " ", "*"])
def test_signature_base64_with_non_alphabet_characters_does_not_verify(junk):
    message, sig = _short_signature()
    assert verify_message(IDENT.public_key_hex, message, sig)
    assert not verify_message(IDENT.public_key_hex, message, sig[:10] + junk + sig[10:])


def test_identity_key_errors_are_exact():
    with pytest.raises(LocalProtocolError, match=_exact("identity private key must be 32 bytes")):
        NickIdentity(b"\x01")
    with pytest.raises(LocalProtocolError, match=_exact(
            "identity private key is not a valid secp256k1 scalar")):
        NickIdentity(b"\x00" * 32)


def _msg(**kw) -> PrivMsg:
    line = IDENT.build_privmsg("J5other", "fill", "0 1 abc")
    fields = dict(from_nick=IDENT.nick, to_nick="J5other", command="fill", data="0 1 abc",
                  pubkey_hex=IDENT.public_key_hex, sig_b64=line.rsplit(" ", 1)[1]) | kw
    return PrivMsg(**fields)


def test_verify_privmsg_errors_are_exact_and_truncate_long_fields():
    verify_privmsg(_msg())
    bad_key = "A" * 100
    with pytest.raises(NickMismatchError, match=_exact(
            f"pubkey {bad_key[:70]!r} is not lowercase compressed hex")):
        verify_privmsg(_msg(pubkey_hex=bad_key))
    long_nick = "X" * 100
    with pytest.raises(NickMismatchError, match=_exact(
            f"sender nick {long_nick[:64]!r} is not a version-5 nick")):
        verify_privmsg(_msg(from_nick=long_nick))
    other = "J5" + "x" * 98
    with pytest.raises(NickMismatchError, match=_exact(
            f"pubkey does not derive sender nick {other[:64]!r}")):
        verify_privmsg(_msg(from_nick=other))
    with pytest.raises(SignatureError, match=_exact("signed data is not encodable as UTF-8")):
        verify_privmsg(_msg(data="\ud800"))
    with pytest.raises(SignatureError, match=_exact(
            f"signature from {IDENT.nick!r} on 'fill' does not verify")):
        verify_privmsg(_msg(data="0 2 abc"))
