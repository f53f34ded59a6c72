"""NaCl box encryption of encrypted commands (PROTOCOL.md §5.5, Appendix A.5)."""

import base64

import nacl.public
import pytest

from protocol.crypto import parse_and_verify_privmsg
from protocol.errors import CryptoError, LocalProtocolError
from protocol.naclbox import NaclKeypair, decrypt, encrypt, is_nacl_pubkey_hex
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
AUTH_LINE = VECTORS["signed_privmsg_lines"][-1]["line"]
TAKER = NaclKeypair.from_secret(b"\x55" * 32)
MAKER = NaclKeypair.from_secret(b"\x66" * 32)
NONCE = b"\x77" * 24
PLAINTEXT = (
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1"
    "|021111111111111111111111111111111111111111111111111111111111111111"
    "|032222222222222222222222222222222222222222222222222222222222222222"
    "|3333333333333333333333333333333333333333333333333333333333333333"
    "|4444444444444444444444444444444444444444444444444444444444444444"
)
CIPHERTEXT = parse_and_verify_privmsg(AUTH_LINE).data


def test_vector_public_keys():
    assert TAKER.public_hex == "38ab664bd86f77d7e66bdd9ae0792913a94fd8b33a1260027e4b46c1f4884c67"
    assert MAKER.public_hex == "219e4d800da968d2a5fcb009c784f4746c7138edb9ee4844b739e830b05cf424"


def test_vector_encrypt_with_fixed_nonce_reproduces_ciphertext():
    assert encrypt(TAKER, MAKER.public_hex, PLAINTEXT, nonce=NONCE) == CIPHERTEXT
    assert len(base64.b64decode(CIPHERTEXT)) == 370


def test_vector_decrypts_on_maker_side():
    assert decrypt(MAKER, TAKER.public_hex, CIPHERTEXT) == PLAINTEXT


def test_random_nonce_roundtrip_both_directions():
    a, b = NaclKeypair.generate(), NaclKeypair.generate()
    first, second = encrypt(a, b.public_hex, "héllo"), encrypt(a, b.public_hex, "héllo")
    assert first != second
    assert decrypt(b, a.public_hex, first) == "héllo"
    assert decrypt(a, b.public_hex, encrypt(b, a.public_hex, "")) == ""


def test_wrong_key_fails_authentication():
    with pytest.raises(CryptoError, match="authentication"):
        decrypt(MAKER, NaclKeypair.generate().public_hex, CIPHERTEXT)


def _flip(b64: str, index: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "b64, reason",
    [
        (_flip(CIPHERTEXT, 0), "authentication"),
        (_flip(CIPHERTEXT, 30), "authentication"),
        (_flip(CIPHERTEXT, 369), "authentication"),
        (CIPHERTEXT[:-4], "authentication"),
        (base64.b64encode(b"\0" * 39).decode(), "shorter"),
        ("", "shorter"),
        ("@@@@", "base64"),
        ("é", "base64"),
        (CIPHERTEXT.rstrip("="), "base64"),
        (None, "base64"),
    ],
)
def test_bad_ciphertexts(b64, reason):
    with pytest.raises(CryptoError, match=reason):
        decrypt(MAKER, TAKER.public_hex, b64)


def test_non_utf8_plaintext_is_crypto_error():
    sealed = encrypt(TAKER, MAKER.public_hex, "x", nonce=NONCE)
    raw = base64.b64decode(sealed)
    maker_pub = nacl.public.PublicKey(bytes.fromhex(MAKER.public_hex))
    box = nacl.public.Box(nacl.public.PrivateKey(b"\x55" * 32), maker_pub)
    bad = base64.b64encode(bytes(box.encrypt(b"\xff\xfe", raw[:24]))).decode()
    with pytest.raises(CryptoError, match="UTF-8"):
        decrypt(MAKER, TAKER.public_hex, bad)


@pytest.mark.parametrize("pub", ["", "ab" * 31, "zz" * 32, "ab" * 33, None, "ab" * 31 + "é1"])
def test_bad_peer_public_key(pub):
    assert not is_nacl_pubkey_hex(pub)
    with pytest.raises(CryptoError, match="64 hex"):
        encrypt(TAKER, pub, "x")
    with pytest.raises(CryptoError, match="64 hex"):
        decrypt(TAKER, pub, CIPHERTEXT)


def test_pubkey_hex_predicate():
    assert is_nacl_pubkey_hex(MAKER.public_hex)
    assert is_nacl_pubkey_hex(MAKER.public_hex.upper())


@pytest.mark.parametrize("nonce", [b"", b"\0" * 23, b"\0" * 25, "x" * 24])
def test_bad_nonce(nonce):
    with pytest.raises(LocalProtocolError, match="nonce"):
        encrypt(TAKER, MAKER.public_hex, "x", nonce=nonce)


@pytest.mark.parametrize("secret", [b"", b"\0" * 31, "55" * 32])
def test_bad_secret(secret):
    with pytest.raises(LocalProtocolError):
        NaclKeypair.from_secret(secret)


def test_unencodable_plaintext():
    with pytest.raises(LocalProtocolError, match="UTF-8"):
        encrypt(TAKER, MAKER.public_hex, "\ud800")


def test_keypair_repr_hides_secret():
    assert (b"\x55" * 32).hex() not in repr(TAKER)
    assert TAKER.public_hex in repr(TAKER) and TAKER.public_hex in str(TAKER)


def test_low_order_peer_key_is_crypto_error():
    with pytest.raises(CryptoError, match="unusable"):
        encrypt(TAKER, "00" * 32, "x")
