"""Bond-proof rules a mutation run showed unpinned: DER unpadding, strict base64, the
exact field named in each error, and the inclusive ranges of create_bond_proof."""

import base64
import re

import pytest

from protocol.bond import create_bond_proof, parse_bond_proof, verify_bond_proof
from protocol.errors import BondError, LocalProtocolError
from tests.protocol.test_bond import CERT_PRIV, MAKER_NICK, TAKER_NICK, UTXO_PRIV, VECTOR_B64


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def _with_fields(**fields) -> str:
    raw = bytearray(base64.b64decode(VECTOR_B64))
    offsets = {"nick_sig": 0, "cert_sig": 72, "cert_pub": 144, "utxo_pub": 179}
    for name, value in fields.items():
        raw[offsets[name]:offsets[name] + len(value)] = value
    return base64.b64encode(bytes(raw)).decode()


def _create(**kw) -> str:
    args = dict(utxo_priv=UTXO_PRIV, cert_priv=CERT_PRIV, cert_expiry=52, txid_hex="aa" * 32,
                vout=1, locktime=0, taker_nick=TAKER_NICK, maker_nick=MAKER_NICK) | kw
    return create_bond_proof(**args)


def test_unpadding_keeps_everything_from_the_first_0x30():
    field = b"\xff" * 60 + b"\x30\x0a" + b"\x30" * 10
    assert parse_bond_proof(_with_fields(nick_sig=field)).nick_sig == b"\x30\x0a" + b"\x30" * 10


def test_an_unpadded_72_byte_signature_starting_with_0x30_is_kept_whole():
    field = b"\x30" + b"\x01" * 71
    assert parse_bond_proof(_with_fields(cert_sig=field)).cert_sig == field


@pytest.mark.parametrize("name, value", [("nick_sig", b"\xff" * 72), ("cert_sig", b"\x00" * 72)])
def test_missing_der_signature_names_the_field(name, value):
    with pytest.raises(BondError, match=_exact(f"{name} holds no DER signature (no 0x30 byte)")):
        parse_bond_proof(_with_fields(**{name: value}))


@pytest.mark.parametrize("name", ["cert_pub", "utxo_pub"])
def test_uncompressed_key_prefix_names_the_field(name):
    with pytest.raises(BondError, match=_exact(f"{name} is not a compressed public key")):
        parse_bond_proof(_with_fields(**{name: b"\x04"}))


def test_data_after_padding_is_refused_as_not_strict():
    with pytest.raises(BondError, match="^bond proof is not strict base64: Excess data"):
        parse_bond_proof(VECTOR_B64[:-8] + "AA==AAAA")


def test_non_ascii_nick_error_is_exact():
    proof = parse_bond_proof(VECTOR_B64)
    with pytest.raises(BondError, match=_exact("bond nicks must be ASCII")):
        verify_bond_proof(proof, "J5ü", MAKER_NICK)


def test_cert_signature_failure_is_exact():
    proof = parse_bond_proof(_create(cert_expiry=52))
    forged = parse_bond_proof(_with_fields(cert_sig=base64.b64decode(_create(cert_expiry=53))[72:144]))
    verify_bond_proof(proof, TAKER_NICK, MAKER_NICK)
    with pytest.raises(BondError, match=_exact(
            "bond certificate signature by the UTXO key does not verify")):
        verify_bond_proof(forged, TAKER_NICK, MAKER_NICK)


@pytest.mark.parametrize("kw", [dict(cert_expiry=0), dict(cert_expiry=0xFFFF), dict(vout=0),
                                dict(vout=0xFFFFFFFF), dict(locktime=0xFFFFFFFF)])
def test_create_accepts_both_ends_of_each_range(kw):
    proof = parse_bond_proof(_create(**kw))
    (field, value), = kw.items()
    assert getattr(proof, field) == value
    verify_bond_proof(proof, TAKER_NICK, MAKER_NICK)


@pytest.mark.parametrize("kw, message", [
    (dict(locktime=2**32), "vout and locktime must fit in 32 bits"),
    (dict(txid_hex="zz" * 32), "txid must be 64 hex characters"),
    (dict(cert_priv=b"\x01"), "bond private keys must be 32 bytes"),
])
def test_create_errors_are_exact(kw, message):
    with pytest.raises(LocalProtocolError, match=_exact(message)):
        _create(**kw)
