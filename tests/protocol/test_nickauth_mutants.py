"""Nick-auth rules a mutation run showed unpinned: the exact refusal of each malformed
field, DER boundaries, the line-length and port ranges, the version digit of the nick,
and strict base64 in verification."""

import base64
import re

import pytest

from protocol.crypto import nick_from_pubkey
from protocol.errors import LocalProtocolError, NickAuthError
from protocol.nickauth import (
    NickAuthProof, _signed_bytes, build_proof, build_result, expected_directory_id,
    parse_challenge, parse_proof, parse_result, verify_proof,
)
from tests.protocol.test_nickauth import (
    CHALLENGE, HANDSHAKE_LINE, N, PROOF_LINE, TAKER, VALID_SIG, _der, _proof,
)

ONION = "nakamotourflxwjnjpnrk7yc2nhkf6r62ed4gdfxmmn5f4saw5q5qoyd.onion"


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("line, message", [
    ('{"pubkey":"a","pubkey":"b","signature":"c"}', "nick-auth JSON has duplicate keys"),
    ("[]", "nick-auth proof is not a JSON object"),
    (_proof(pubkey="04" + "11" * 32),
     "nick-auth pubkey is not 66 lowercase hex chars of a compressed key"),
    (_proof(pubkey="02" + "ff" * 32), "nick-auth pubkey is not a valid secp256k1 point"),
    (_proof(signature="A" * 97),
     "nick-auth signature must be a base64 string of at most 96 characters"),
    (_proof(signature=VALID_SIG[:-3] + "R=="), "nick-auth signature base64 is not canonical"),
    (_proof(signature=_b64(b"\x31\x06\x02\x01\x01\x02\x01\x01")),
     "signature DER header is malformed"),
    (_proof(signature=_b64(b"\x30\x06\x02\x04\x01\x01\x01\x01")),
     "signature DER lacks an INTEGER"),
    (_proof(signature=_b64(b"\x30\x06\x02\x02\x01\x01\x02\x00")),
     "signature DER INTEGER has a bad length"),
    (_proof(signature=_der(b"\x80", b"\x01")), "signature DER INTEGER is negative"),
    (_proof(signature=_der(b"\x00\x01", b"\x01")),
     "signature DER INTEGER is not minimally encoded"),
    (_proof(signature=_der(b"\x01", N.to_bytes(33, "big"))), "signature r or s is out of range"),
])
def test_parse_proof_refusals_are_exact(line, message):
    with pytest.raises(NickAuthError, match=_exact(message)):
        parse_proof(line)


def test_trailing_bytes_after_both_integers_are_refused_exactly():
    raw = b"\x30\x07\x02\x01\x01\x02\x01\x01\x00"
    with pytest.raises(NickAuthError, match=_exact("signature DER has trailing bytes")):
        parse_proof(_proof(signature=_b64(raw)))


@pytest.mark.parametrize("junk", ["!", " ", "\n"])
def test_non_alphabet_signature_is_refused_as_not_base64(junk):
    short = _der(b"\x01", b"\x01")  # short enough to stay under the cap with junk added
    with pytest.raises(NickAuthError, match="^nick-auth signature is not base64: "):
        parse_proof(_proof(signature=short[:4] + junk + short[4:]))


def test_a_72_byte_signature_is_the_longest_accepted():
    r = b"\x00" + b"\x80" * 32
    assert len(base64.b64decode(_der(r, r))) == 72
    assert parse_proof(_proof(signature=_der(r, r))).signature_b64 == _der(r, r)


def test_a_line_of_exactly_1024_characters_is_accepted():
    line = _proof()
    line = line[:-1] + " " * (1024 - len(line)) + "}"
    assert len(line) == 1024 and parse_proof(line).signature_b64 == VALID_SIG
    with pytest.raises(NickAuthError, match=_exact(
            "nick-auth proof must be a string of at most 1024 characters")):
        parse_proof(line[:-1] + " }")


@pytest.mark.parametrize("port, expected", [(1, True), (65535, True), (65536, False)])
def test_directory_id_port_range_is_inclusive(port, expected):
    assert (expected_directory_id(ONION, port) is not None) is expected


@pytest.mark.parametrize("line, message", [
    ('{"challenge":"' + "AA" * 32 + '","directory-id":"a"}',
     "challenge must be 64 lowercase hex characters"),
    ('{"challenge":"' + "22" * 32 + '","directory-id":"Abc"}', "directory-id is malformed"),
    ('{"challenge":"' + "22" * 32 + '"}',
     "nick-auth challenge keys ['challenge'] differ from ['challenge', 'directory-id']"),
])
def test_parse_challenge_refusals_are_exact(line, message):
    with pytest.raises(NickAuthError, match=_exact(message)):
        parse_challenge(line)


@pytest.mark.parametrize("line, message", [
    ('{"code":5,"verified":false}', "nick-auth result code is malformed"),
    ('{"code":"OK","verified":true}', "nick-auth result code is malformed"),
    ('{"code":"ok","verified":1}', "nick-auth result 'verified' is not a boolean"),
    ('{"code":"ok"}', "nick-auth result keys ['code'] differ from ['code', 'verified']"),
])
def test_parse_result_refusals_are_exact(line, message):
    with pytest.raises(NickAuthError, match=_exact(message)):
        parse_result(line)


def test_build_result_names_the_unknown_code():
    with pytest.raises(LocalProtocolError, match=_exact("unknown nick-auth result code 'maybe'")):
        build_result("maybe")


def test_unencodable_transcript_is_refused_exactly():
    with pytest.raises(NickAuthError, match=_exact(
            "nick-auth transcript is not encodable as UTF-8")):
        build_proof(TAKER, CHALLENGE, "\ud800")


PROOF = parse_proof(PROOF_LINE)


def _verify(nick, proof=PROOF):
    verify_proof(proof, CHALLENGE, HANDSHAKE_LINE, nick)


def test_verify_refusals_are_exact():
    with pytest.raises(NickAuthError, match=_exact(
            "nick-auth pubkey is not lowercase compressed hex")):
        _verify(TAKER.nick, NickAuthProof("zz", VALID_SIG))
    with pytest.raises(NickAuthError, match=_exact("nick-auth pubkey does not derive nick 'J5'")):
        _verify("J5")
    with pytest.raises(NickAuthError, match=_exact(
            "nick-auth pubkey does not derive nick 'J5xyz'")):
        _verify("J5xyz")
    with pytest.raises(NickAuthError, match=_exact("nick 'JX' has no version digit")):
        _verify("JX")
    long_nick = "J" + "X" * 80
    with pytest.raises(NickAuthError, match=_exact(
            f"nick {long_nick[:64]!r} has no version digit")):
        _verify(long_nick)
    other = "J5" + "a" * 80
    with pytest.raises(NickAuthError, match=_exact(
            f"nick-auth pubkey does not derive nick {other[:64]!r}")):
        _verify(other)
    spaced = NickAuthProof(TAKER.public_key_hex, VALID_SIG[:10] + " " + VALID_SIG[10:])
    with pytest.raises(NickAuthError, match=_exact("nick-auth signature is not base64")):
        _verify(TAKER.nick, spaced)


def test_the_nicks_own_version_digit_is_used_to_derive_it():
    nick4 = nick_from_pubkey(TAKER.public_key_hex, 4)
    signed = _signed_bytes(CHALLENGE, HANDSHAKE_LINE, nick4, TAKER.public_key_hex)
    proof = NickAuthProof(TAKER.public_key_hex, TAKER.sign_bytes(signed))
    _verify(nick4, proof)
