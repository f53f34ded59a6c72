"""Fidelity-bond proofs (PROTOCOL.md §7.4, Appendix A.2)."""

import base64

import coincurve
import msgspec
import pytest

from protocol.bond import FidelityBondProof, create_bond_proof, parse_bond_proof, verify_bond_proof
from protocol.crypto import bitcoin_message_hash, parse_and_verify_privmsg
from protocol.errors import BondError, LocalProtocolError
from protocol.offers import parse_offer_body
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
TAKER_NICK = "J52N8GdNkKtMA6TW"
MAKER_NICK = "J59cTYvZJZEbjWk4"
UTXO_PRIV = b"\x33" * 32
CERT_PRIV = b"\x44" * 32
UTXO_PUB = "023c72addb4fdf09af94f0c94d7fe92a386a7e70cf8a1d85916386bb2535c7b1b1"
CERT_PUB = "032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991"


def _vector_proof() -> str:
    msg = parse_and_verify_privmsg(VECTORS["signed_privmsg_lines"][6]["line"])
    _, tbond, errors = parse_offer_body(f"{msg.command} {msg.data}")
    assert errors == () and tbond is not None
    return tbond


VECTOR_B64 = _vector_proof()


def test_vector_decodes_to_stated_fields():
    proof = parse_bond_proof(VECTOR_B64)
    assert proof.cert_pub.hex() == CERT_PUB and proof.utxo_pub.hex() == UTXO_PUB
    assert (proof.cert_expiry, proof.vout, proof.locktime) == (52, 1, 1767225600)
    assert proof.txid_hex == "aa" * 32
    raw = base64.b64decode(VECTOR_B64)
    assert raw[0] == 0xFF and raw[72] == 0xFF  # each 71-byte DER sig carries one pad byte
    assert len(proof.nick_sig) == 71 and proof.nick_sig[0] == 0x30
    assert len(proof.cert_sig) == 71 and proof.cert_sig[0] == 0x30


def test_vector_signatures_verify():
    verify_bond_proof(parse_bond_proof(VECTOR_B64), TAKER_NICK, MAKER_NICK)


@pytest.mark.parametrize(
    "taker, maker", [(MAKER_NICK, TAKER_NICK), ("J5someoneElseOOO", MAKER_NICK)]
)
def test_proof_is_bound_to_both_nicks(taker, maker):
    with pytest.raises(BondError, match="nick signature"):
        verify_bond_proof(parse_bond_proof(VECTOR_B64), taker, maker)


def test_non_ascii_nick_is_bond_error():
    with pytest.raises(BondError, match="ASCII"):
        verify_bond_proof(parse_bond_proof(VECTOR_B64), "J5é", MAKER_NICK)


def test_create_reproduces_vector_byte_for_byte():
    made = create_bond_proof(
        UTXO_PRIV, CERT_PRIV, 52, "aa" * 32, 1, 1767225600, TAKER_NICK, MAKER_NICK
    )
    assert made == VECTOR_B64


def test_create_then_verify_roundtrip():
    made = create_bond_proof(
        b"\x01" * 32, b"\x02" * 32, 65535, "0f" * 32, 2**32 - 1, 0, "J5a", "J5b"
    )
    proof = parse_bond_proof(made)
    assert (proof.cert_expiry, proof.vout, proof.locktime) == (65535, 2**32 - 1, 0)
    assert proof.txid_hex == "0f" * 32
    verify_bond_proof(proof, "J5a", "J5b")


def _replace(proof: FidelityBondProof, **changes) -> FidelityBondProof:
    return msgspec.structs.replace(proof, **changes)


def test_changed_expiry_breaks_cert_signature():
    proof = _replace(parse_bond_proof(VECTOR_B64), cert_expiry=53)
    with pytest.raises(BondError, match="certificate"):
        verify_bond_proof(proof, TAKER_NICK, MAKER_NICK)


def test_hex_cert_pub_variant_is_accepted():
    cert_pub = bytes.fromhex(CERT_PUB)
    message = b"fidelity-bond-cert|" + CERT_PUB.encode() + b"|52"
    cert_sig = coincurve.PrivateKey(UTXO_PRIV).sign(bitcoin_message_hash(message), hasher=None)
    proof = _replace(parse_bond_proof(VECTOR_B64), cert_sig=cert_sig)
    assert proof.cert_pub == cert_pub
    verify_bond_proof(proof, TAKER_NICK, MAKER_NICK)


def test_garbage_signature_is_bond_error_not_crash():
    proof = _replace(parse_bond_proof(VECTOR_B64), nick_sig=b"\x30\x00")
    with pytest.raises(BondError):
        verify_bond_proof(proof, TAKER_NICK, MAKER_NICK)


def _reencode(mutate) -> str:
    raw = bytearray(base64.b64decode(VECTOR_B64))
    mutate(raw)
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "b64, reason",
    [
        ("", "336 base64"),
        (VECTOR_B64[:-4], "336 base64"),
        (VECTOR_B64 + "AAAA", "336 base64"),
        (VECTOR_B64[:-1] + "!", "strict base64"),
        (VECTOR_B64[:-1] + "é", "strict base64"),
        (VECTOR_B64[:-2] + "==", "250 bytes"),
        (VECTOR_B64[:100] + "\n" + VECTOR_B64[101:], "strict base64"),
        (_reencode(lambda r: r.__setitem__(slice(0, 72), b"\xff" * 72)), "nick_sig"),
        (_reencode(lambda r: r.__setitem__(slice(72, 144), b"\x00" * 72)), "cert_sig"),
        (_reencode(lambda r: r.__setitem__(144, 0x04)), "cert_pub"),
        (_reencode(lambda r: r.__setitem__(179, 0x05)), "utxo_pub"),
    ],
)
def test_malformed_proofs(b64, reason):
    with pytest.raises(BondError, match=reason):
        parse_bond_proof(b64)


def test_non_string_proof():
    with pytest.raises(BondError):
        parse_bond_proof(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"cert_expiry": 65536}, "16 bits"),
        ({"cert_expiry": -1}, "16 bits"),
        ({"vout": 2**32}, "32 bits"),
        ({"locktime": -1}, "32 bits"),
        ({"txid_hex": "aa" * 31}, "txid"),
        ({"utxo_priv": b"\x00" * 32}, "private key"),
        ({"cert_priv": b"\x01"}, "32 bytes"),
        ({"taker_nick": "J5ü"}, "ASCII"),
    ],
)
def test_create_rejects_bad_inputs(kwargs, reason):
    args = dict(utxo_priv=UTXO_PRIV, cert_priv=CERT_PRIV, cert_expiry=52, txid_hex="aa" * 32,
                vout=1, locktime=0, taker_nick=TAKER_NICK, maker_nick=MAKER_NICK) | kwargs
    with pytest.raises(LocalProtocolError, match=reason):
        create_bond_proof(**args)
