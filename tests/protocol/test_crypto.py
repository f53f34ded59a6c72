"""Nick derivation and PRIVMSG signatures against the spec vectors (PROTOCOL.md §4, A.1)."""

import base64

import coincurve
import msgspec
import pytest

from protocol.crypto import (
    ONION_HOSTID,
    NickIdentity,
    bitcoin_message_hash,
    nick_from_pubkey,
    parse_and_verify_privmsg,
    verify_message,
    verify_privmsg,
)
from protocol.errors import LocalProtocolError, MessageError, NickMismatchError, SignatureError
from protocol.jmmessage import parse_privmsg
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
SIGNED = VECTORS["signed_privmsg_lines"]
IDENTITIES = VECTORS["identities"]
TAKER = NickIdentity(bytes.fromhex(IDENTITIES["taker"]["privkey_hex"]))
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.mark.parametrize("entry", SIGNED, ids=[f"{i}-{e['command']}" for i, e in enumerate(SIGNED)])
def test_signed_vector_lines_verify(entry):
    msg = parse_and_verify_privmsg(entry["line"])
    assert msg.from_nick == entry["from"] and msg.to_nick == entry["to"]
    assert msg.command == entry["command"]
    assert msg.data == entry["signed_data"]
    assert msg.pubkey_hex == entry["pubkey_hex"]
    assert nick_from_pubkey(entry["pubkey_hex"]) == entry["from"]


@pytest.mark.parametrize("entry", SIGNED[:6], ids=[e["command"] for e in SIGNED[:6]])
def test_signing_reproduces_vector_lines(entry):
    """libsecp256k1 uses RFC 6979 nonces, so our lines match the vectors byte-for-byte."""
    name = "taker" if entry["from"] == IDENTITIES["taker"]["nick"] else "maker"
    ident = NickIdentity(bytes.fromhex(IDENTITIES[name]["privkey_hex"]))
    assert ident.build_privmsg(entry["to"], entry["command"], entry["signed_data"]) == entry["line"]


def test_tampered_data_is_signature_error_not_nick_mismatch():
    tampered = VECTORS["invalid_privmsg_lines"][0]
    with pytest.raises(SignatureError) as info:
        parse_and_verify_privmsg(tampered["line"])
    assert not isinstance(info.value, NickMismatchError)


def test_forged_nick_is_nick_mismatch():
    with pytest.raises(NickMismatchError, match="J5forgedNickOOOO"):
        parse_and_verify_privmsg(VECTORS["invalid_privmsg_lines"][1]["line"])


def test_uppercase_pubkey_hex_is_nick_mismatch():
    msg = parse_privmsg(SIGNED[0]["line"])
    upper = msgspec.structs.replace(msg, pubkey_hex=msg.pubkey_hex.upper())
    with pytest.raises(NickMismatchError, match="lowercase"):
        verify_privmsg(upper)


@pytest.mark.parametrize("nick", ["J", "Jx2N8GdNkKtMA6TW", "J52N8GdNkKtMA6TWO", "J52N8GdNkKtMA6T"])
def test_bad_version_digit_is_nick_mismatch(nick):
    msg = parse_privmsg(SIGNED[0]["line"])
    with pytest.raises(NickMismatchError):
        verify_privmsg(msgspec.structs.replace(msg, from_nick=nick))


def test_surrogate_in_data_is_signature_error():
    msg = parse_privmsg(SIGNED[0]["line"])
    with pytest.raises(SignatureError, match="UTF-8"):
        verify_privmsg(msgspec.structs.replace(msg, data="\ud800"))


def test_malformed_line_is_message_error():
    with pytest.raises(MessageError):
        parse_and_verify_privmsg("J52N8GdNkKtMA6TW!J59cTYvZJZEbjWk4!fill 0")


def test_fill_digest_vector():
    fd = VECTORS["fill_digest"]
    assert fd["hostid"] == ONION_HOSTID
    assert bitcoin_message_hash((fd["data"] + fd["hostid"]).encode()).hex() == fd["digest_hex"]


@pytest.mark.parametrize("size", [0, 252, 253, 0xFFFF, 0x10000])
def test_message_hash_compact_size_boundaries_sign_and_verify(size):
    message = b"x" * size
    assert len(bitcoin_message_hash(message)) == 32
    assert verify_message(TAKER.public_key_hex, message, TAKER.sign_bytes(message))


@pytest.mark.parametrize("name", ["taker", "maker", "directory"])
def test_identities_derive_vector_nicks(name):
    ident = NickIdentity(bytes.fromhex(IDENTITIES[name]["privkey_hex"]))
    assert ident.public_key_hex == IDENTITIES[name]["pubkey_hex"]
    assert ident.nick == IDENTITIES[name]["nick"]
    assert nick_from_pubkey(ident.public_key_hex) == ident.nick


def test_short_base58_is_padded_with_capital_o():
    nick = nick_from_pubkey(IDENTITIES["directory"]["pubkey_hex"])
    assert nick == "J5cgWgQAS8pjF3QO" and len(nick) == 16


def test_nick_version_digit():
    assert nick_from_pubkey(TAKER.public_key_hex, 4) == "J4" + TAKER.nick[2:]


def test_fresh_identity_is_random_and_self_consistent():
    a, b = NickIdentity(), NickIdentity()
    assert a.nick != b.nick and len(a.nick) == 16
    assert len(a.private_key_bytes) == 32
    assert NickIdentity(a.private_key_bytes).nick == a.nick


def test_identity_never_shows_its_secret():
    secret_hex = TAKER.private_key_bytes.hex()
    for text in (repr(TAKER), str(TAKER), f"{TAKER}"):
        assert secret_hex not in text and TAKER.nick in text


@pytest.mark.parametrize("secret", [b"\x00" * 32, b"\xff" * 32, b"\x11" * 31, "11" * 32])
def test_invalid_identity_key_is_crypto_error(secret):
    with pytest.raises(LocalProtocolError):
        NickIdentity(secret)


def test_signatures_are_low_s_der():
    for i in range(20):
        der = base64.b64decode(TAKER.sign_bytes(b"msg %d" % i))
        r_len = der[3]
        s = int.from_bytes(der[6 + r_len :], "big")
        assert s <= SECP256K1_N // 2


def test_high_s_signature_is_rejected():
    """libsecp256k1 refuses high-S, as REF and NG do; the same (r, n-s) must not verify."""
    der = base64.b64decode(TAKER.sign_bytes(b"hello"))
    r_len = der[3]
    r = der[4 : 4 + r_len]
    s = int.from_bytes(der[6 + r_len :], "big")
    high = (SECP256K1_N - s).to_bytes(33, "big")
    high_der = bytes([0x30, 4 + len(r) + 33, 2, len(r)]) + r + bytes([2, 33]) + high
    key = coincurve.PublicKey(bytes.fromhex(TAKER.public_key_hex))
    assert key.verify(der, bitcoin_message_hash(b"hello"), hasher=None)
    assert not verify_message(TAKER.public_key_hex, b"hello", base64.b64encode(high_der).decode())


@pytest.mark.parametrize(
    "pubkey, sig",
    [
        ("", ""),
        ("zz", "MEQ="),
        (IDENTITIES["taker"]["pubkey_hex"], "not base64!"),
        (IDENTITIES["taker"]["pubkey_hex"], "AAAA"),
        (IDENTITIES["taker"]["pubkey_hex"], "A" * 4000),
        ("04" + "00" * 64, SIGNED[0]["line"].rsplit(" ", 1)[1]),
        (None, None),
        (IDENTITIES["taker"]["pubkey_hex"], "é"),
    ],
)
def test_verify_message_returns_false_on_garbage(pubkey, sig):
    assert verify_message(pubkey, b"hello", sig) is False


def test_sign_privmsg_covers_data_plus_hostid():
    pub, sig = TAKER.sign_privmsg("abc")
    assert pub == TAKER.public_key_hex
    assert verify_message(pub, b"abconion-network", sig)
    assert not verify_message(pub, b"abc", sig)
