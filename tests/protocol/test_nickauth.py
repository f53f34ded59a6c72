"""JMP-0005 nick-auth (PROTOCOL.md §9.3, Appendix A.4)."""

import base64
import hashlib
import json

import pytest

from protocol.crypto import NickIdentity
from protocol.errors import LocalProtocolError, NickAuthError
from protocol.nickauth import (
    NickAuthChallenge,
    NickAuthProof,
    NickAuthResult,
    build_challenge,
    build_proof,
    build_result,
    expected_directory_id,
    parse_challenge,
    parse_proof,
    parse_result,
    verify_proof,
)
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
ENVELOPE_LINES = [json.loads(e)["line"] for e in VECTORS["envelopes"]]
HANDSHAKE_LINE, CHALLENGE_LINE, PROOF_LINE, RESULT_LINE = ENVELOPE_LINES[:4]
TAKER = NickIdentity(b"\x11" * 32)
DIRECTORY_ID = "nakamotourflxwjnjpnrk7yc2nhkf6r62ed4gdfxmmn5f4saw5q5qoyd.onion:5222"
CHALLENGE = NickAuthChallenge("22" * 32, DIRECTORY_ID)
NG_HANDSHAKE = '{"nick":"J5example","features":{"nick_auth":true}}'
NG_SIGNATURE = (
    "MEQCIDTAF2VwsN1hK3n+Hc2iGt2xkhURfTfCiJnM4myGM6T2"
    "AiAbXU8Kl5f16SwddktRYcl+gLHt5zS1nY7eLSi61e1g6w=="
)
VALID_SIG = json.loads(PROOF_LINE)["signature"]


def test_full_exchange_vector():
    assert hashlib.sha256(HANDSHAKE_LINE.encode()).hexdigest().startswith("0affd373")
    challenge = parse_challenge(CHALLENGE_LINE)
    assert challenge == CHALLENGE
    assert challenge.directory_id == expected_directory_id(DIRECTORY_ID.split(":")[0], 5222)
    proof_line = build_proof(TAKER, challenge, HANDSHAKE_LINE)
    assert proof_line == PROOF_LINE
    verify_proof(parse_proof(proof_line), challenge, HANDSHAKE_LINE, TAKER.nick)
    assert parse_result(RESULT_LINE) == NickAuthResult("ok", True)


def test_ng_unit_vector():
    proof = parse_proof(build_proof(TAKER, CHALLENGE, NG_HANDSHAKE))
    assert proof == NickAuthProof(TAKER.public_key_hex, NG_SIGNATURE)


def test_build_challenge_and_result_match_vector_lines():
    assert build_challenge("22" * 32, DIRECTORY_ID) == CHALLENGE_LINE
    assert build_result("ok") == RESULT_LINE
    assert build_result("expired") == '{"code":"expired","verified":false}'


@pytest.mark.parametrize(
    "change",
    [
        {"handshake_line": HANDSHAKE_LINE + " "},
        {"challenge": NickAuthChallenge("23" * 32, DIRECTORY_ID)},
        {"challenge": NickAuthChallenge("22" * 32, "test:directory")},
        {"nick": "J5example"},
    ],
)
def test_proof_is_bound_to_transcript(change):
    args = {"challenge": CHALLENGE, "handshake_line": HANDSHAKE_LINE, "nick": TAKER.nick} | change
    with pytest.raises(NickAuthError):
        verify_proof(
            parse_proof(PROOF_LINE), args["challenge"], args["handshake_line"], args["nick"]
        )


def test_other_key_for_nick_is_rejected():
    other = NickIdentity(b"\x22" * 32)
    proof = parse_proof(build_proof(other, CHALLENGE, HANDSHAKE_LINE))
    with pytest.raises(NickAuthError, match="does not derive"):
        verify_proof(proof, CHALLENGE, HANDSHAKE_LINE, TAKER.nick)


@pytest.mark.parametrize(
    "host, port, expected",
    [
        ("NAKAMOTOURFLXWJNJPNRK7YC2NHKF6R62ED4GDFXMMN5F4SAW5Q5QOYD.onion.", 5222, DIRECTORY_ID),
        ("127.0.0.1", 5222, None),
        ("nakamotourflxwjnjpnrk7yc2nhkf6r62ed4gdfxmmn5f4saw5q5qoy.onion", 5222, None),
        ("nakamotourflxwjnjpnrk7yc2nhkf6r62ed4gdfxmmn5f4saw5q5qoyd.onion", 0, None),
        ("nakamotourflxwjnjpnrk7yc2nhkf6r62ed4gdfxmmn5f4saw5q5qoyd.onion", True, None),
    ],
)
def test_expected_directory_id(host, port, expected):
    assert expected_directory_id(host, port) == expected


def _proof(pubkey=TAKER.public_key_hex, signature=VALID_SIG) -> str:
    return json.dumps({"pubkey": pubkey, "signature": signature}, separators=(",", ":"))


def _der(r: bytes, s: bytes) -> str:
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(s)]) + s
    return base64.b64encode(b"\x30" + bytes([len(body)]) + body).decode()


N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.mark.parametrize(
    "line, reason",
    [
        ("", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"pubkey":"a","pubkey":"b","signature":"c"}', "duplicate"),
        (_proof()[:-1] + ',"extra":1}', "keys"),
        ('{"pubkey":"x"}', "keys"),
        ('{"pubkey":NaN,"signature":"x"}', "NaN"),
        ('{"pubkey":Infinity,"signature":"x"}', "Infinity"),
        (_proof(pubkey=TAKER.public_key_hex.upper()), "pubkey"),
        (_proof(pubkey="04" + "11" * 32), "pubkey"),
        (_proof(pubkey="02" + "ff" * 32), "valid secp256k1 point"),
        (_proof(pubkey=123), "pubkey"),
        (_proof(signature=VALID_SIG.rstrip("=")), "base64"),
        (_proof(signature=VALID_SIG[:-3] + "R=="), "canonical"),
        (_proof(signature=" " + VALID_SIG), "base64"),
        (_proof(signature=5), "base64 string"),
        (_proof(signature="A" * 200), "96 characters"),
        (_proof(signature=_der(b"\x01", b"\x01")[:-4]), "8..72"),
        (_proof(signature=base64.b64encode(b"\x31\x06\x02\x01\x01\x02\x01\x01").decode()),
         "header"),
        (_proof(signature=_der(b"\x00\x01", b"\x01")), "minimally"),
        (_proof(signature=_der(b"\x80", b"\x01")), "negative"),
        (_proof(signature=_der(b"\x00", b"\x01")), "out of range"),
        (_proof(signature=_der(b"\x01", N.to_bytes(33, "big"))), "out of range"),
        (_proof(signature=_der(b"", b"\x01\x01")), "bad length"),
        ("[" * 500 + "]" * 500, "not a JSON object"),
        ("x" * 2000, "at most"),
    ],
)
def test_parse_proof_is_strict(line, reason):
    with pytest.raises(NickAuthError, match=reason):
        parse_proof(line)


def test_parse_proof_accepts_minimal_der_with_sign_padding():
    proof = parse_proof(_proof(signature=_der(b"\x00\x80", b"\x01")))
    with pytest.raises(NickAuthError, match="does not verify"):
        verify_proof(proof, CHALLENGE, HANDSHAKE_LINE, TAKER.nick)


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"challenge":"' + "22" * 32 + '"}', "keys"),
        ('{"challenge":"' + "2G" * 32 + '","directory-id":"a"}', "challenge"),
        ('{"challenge":"' + "AA" * 32 + '","directory-id":"a"}', "challenge"),
        ('{"challenge":"' + "22" * 32 + '","directory-id":"Abc"}', "directory-id"),
        ('{"challenge":"' + "22" * 32 + '","directory-id":""}', "directory-id"),
        ('{"challenge":"' + "22" * 32 + '","directory-id":7}', "directory-id"),
        ('{"challenge":1,"directory-id":"a"}', "challenge"),
    ],
)
def test_parse_challenge_is_strict(line, reason):
    with pytest.raises(NickAuthError, match=reason):
        parse_challenge(line)


@pytest.mark.parametrize("code", ["malformed", "expired", "invalid", "policy", "future_reason"])
def test_parse_failure_results(code):
    line = json.dumps({"code": code, "verified": False})
    assert parse_result(line) == NickAuthResult(code, False)


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"code":"invalid","verified":true}', "contradicts"),
        ('{"code":"ok","verified":false}', "contradicts"),
        ('{"code":"ok","verified":1}', "boolean"),
        ('{"code":"OK","verified":true}', "code"),
        ('{"code":"ok"}', "keys"),
    ],
)
def test_parse_result_is_strict(line, reason):
    with pytest.raises(NickAuthError, match=reason):
        parse_result(line)


def test_build_result_unknown_code():
    with pytest.raises(LocalProtocolError):
        build_result("maybe")


def test_build_challenge_validates():
    with pytest.raises(LocalProtocolError):
        build_challenge("zz", DIRECTORY_ID)


def test_verify_proof_rejects_unparsed_garbage():
    with pytest.raises(NickAuthError):
        verify_proof(NickAuthProof("zz", VALID_SIG), CHALLENGE, HANDSHAKE_LINE, TAKER.nick)
    with pytest.raises(NickAuthError):
        bad_b64 = NickAuthProof(TAKER.public_key_hex, "!!")
        verify_proof(bad_b64, CHALLENGE, HANDSHAKE_LINE, TAKER.nick)
    with pytest.raises(NickAuthError, match="version"):
        verify_proof(parse_proof(PROOF_LINE), CHALLENGE, HANDSHAKE_LINE, "J")
