"""Property tests: hostile input only ever raises ProtocolError, what is accepted satisfies
the format's invariants (canonical re-formatting, key shapes), forgeries never verify, and
round trips hold."""

import base64
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from protocol.bond import parse_bond_proof, verify_bond_proof
from protocol.crypto import NickIdentity, parse_and_verify_privmsg, verify_message
from protocol.errors import ProtocolError
from protocol.jmmessage import OFFER_TYPES
from protocol.naclbox import NaclKeypair, decrypt
from protocol.nickauth import NickAuthResult, parse_challenge, parse_proof, parse_result
from protocol.offers import OfferSegment, format_offer, parse_offer, parse_offer_body
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
SIGNED_LINES = [e["line"] for e in VECTORS["signed_privmsg_lines"]]
NICKAUTH_LINES = [json.loads(e)["line"] for e in VECTORS["envelopes"][1:4]]
BOND_B64 = SIGNED_LINES[6].split("!tbond ")[1].split(" ")[0]
NACL = NaclKeypair.from_secret(b"\x66" * 32)
NACL_PEER = NaclKeypair.from_secret(b"\x55" * 32).public_hex
MAX_SATS = 2_100_000_000_000_000

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
# Text biased towards the characters these parsers care about.
WIRE_CHARS = '0123456789.eE+-! abfJ5=/"{}:,[]nN'
WIRE_TEXT = st.text(alphabet=WIRE_CHARS, max_size=80) | st.text(max_size=80)
B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _parsed_or_none(fn, *args):
    """``fn(*args)``, or None when it refuses with a ProtocolError (anything else escapes)."""
    try:
        return fn(*args)
    except ProtocolError:
        return None


def _check_offer(seg):
    """An accepted offer is canonical: formatting and re-parsing gives it back unchanged."""
    assert seg.ordertype in OFFER_TYPES and 0 <= seg.minsize <= seg.maxsize
    ordertype, args = format_offer(seg).split(" ", 1)
    assert parse_offer(ordertype, args) == seg


def _check_body(body):
    parsed = _parsed_or_none(parse_offer_body, body)
    if parsed is not None:
        offers, tbond, errors = parsed
        for seg in offers:
            _check_offer(seg)
        assert len(offers) + len(errors) <= body.count("!") + 1
        assert tbond is None or " " not in tbond


def _mutate(text: str, index: int, char: str) -> str:
    index %= len(text)
    return text[:index] + char + text[index + 1 :]


@FAST
@given(st.sampled_from(sorted(OFFER_TYPES)) | st.text(max_size=12), WIRE_TEXT)
def test_parse_offer_accepts_only_canonical_offers(ordertype, args):
    seg = _parsed_or_none(parse_offer, ordertype, args)
    if seg is not None:
        _check_offer(seg)


@FAST
@given(WIRE_TEXT)
def test_parse_offer_body_accepts_only_canonical_offers(body):
    _check_body(body)


OFFER_BODY = "sw0reloffer 0 27300 1000000000 0 0.00002!sw0absoffer 1 27300 500000000 0 1000!tbond X"


def test_offer_body_seed_parses_to_known_offers():
    offers, tbond, errors = parse_offer_body(OFFER_BODY)
    assert [(o.ordertype, o.oid, o.maxsize, o.cjfee) for o in offers] == [
        ("sw0reloffer", 0, 1000000000, "0.00002"), ("sw0absoffer", 1, 500000000, 1000)]
    assert (tbond, errors) == ("X", ())


@FAST
@given(st.integers(0, 400), NO_SURROGATES)
def test_mutated_offer_body_accepts_only_canonical_offers(index, char):
    _check_body(_mutate(OFFER_BODY, index, char))


@FAST
@given(st.text(max_size=400) | st.text(alphabet=B64_CHARS, min_size=336, max_size=336))
def test_parse_bond_proof_accepts_only_the_fixed_layout(b64):
    proof = _parsed_or_none(parse_bond_proof, b64)
    if proof is not None:  # only 336 strict-base64 characters can decode to 252 bytes
        assert len(b64) == 336 and base64.b64decode(b64, validate=True)
        assert proof.cert_pub[0] in (2, 3) and proof.utxo_pub[0] in (2, 3)
        assert proof.nick_sig[:1] == proof.cert_sig[:1] == b"\x30"
        assert len(proof.txid_hex) == 64 and 0 <= proof.cert_expiry <= 0xFFFF


@FAST
@given(st.integers(0, 335), st.sampled_from(B64_CHARS + "!é"))
def test_mutated_bond_proof_never_crashes_and_rarely_verifies(index, char):
    mutated = _mutate(BOND_B64, index, char)
    try:
        verify_bond_proof(parse_bond_proof(mutated), "J52N8GdNkKtMA6TW", "J59cTYvZJZEbjWk4")
    except ProtocolError:
        return
    # Only a change that leaves the decoded bytes' signed content intact may verify.
    proof, original = parse_bond_proof(mutated), parse_bond_proof(BOND_B64)
    assert (proof.cert_pub, proof.utxo_pub, proof.cert_expiry) == (
        original.cert_pub, original.utxo_pub, original.cert_expiry)


@FAST
@given(WIRE_TEXT, st.integers(0, 200), NO_SURROGATES)
def test_nickauth_parsers_accept_only_well_formed_messages(text, index, char):
    for line in (text, *(_mutate(seed, index, char) for seed in NICKAUTH_LINES)):
        challenge = _parsed_or_none(parse_challenge, line)
        if challenge is not None:  # exactly the two keys, read back unchanged
            hex_ = challenge.challenge_hex
            assert len(hex_) == 64 and set(hex_) <= set("0123456789abcdef")
            assert json.loads(line) == {"challenge": hex_, "directory-id": challenge.directory_id}
        proof = _parsed_or_none(parse_proof, line)
        if proof is not None:
            assert len(proof.pubkey_hex) == 66 and proof.pubkey_hex[:2] in ("02", "03")
            assert json.loads(line) == {"pubkey": proof.pubkey_hex,
                                        "signature": proof.signature_b64}
        result = _parsed_or_none(parse_result, line)
        if result is not None:
            assert json.loads(line) == {"code": result.code, "verified": result.code == "ok"}


def test_nickauth_seeds_parse():
    challenge, proof, result = NICKAUTH_LINES
    assert parse_challenge(challenge).challenge_hex == "22" * 32
    assert parse_proof(proof).pubkey_hex == VECTORS["identities"]["taker"]["pubkey_hex"]
    assert parse_result(result) == NickAuthResult("ok", True)


@FAST
@given(st.text(max_size=120) | st.binary(max_size=90).map(lambda b: base64.b64encode(b).decode()))
def test_decrypt_refuses_every_forged_ciphertext(b64):
    """Nobody but the peer's key can make a box we open: random input never decrypts."""
    with pytest.raises(ProtocolError):
        decrypt(NACL, NACL_PEER, b64)


@FAST
@given(WIRE_TEXT)
def test_parse_and_verify_privmsg_refuses_unsigned_text(line):
    """Text not made with a secret key never verifies as anyone's privmsg."""
    with pytest.raises(ProtocolError):
        parse_and_verify_privmsg(line)


@FAST
@given(st.sampled_from(SIGNED_LINES), st.integers(0, 2000), NO_SURROGATES)
def test_mutated_signed_line_never_verifies_as_someone_else(line, index, char):
    mutated = _mutate(line, index, char)
    assume(mutated != line)
    original = parse_and_verify_privmsg(line)
    try:
        msg = parse_and_verify_privmsg(mutated)
    except ProtocolError:
        return
    # The unsigned parts (to-nick, command word, non-canonical base64 bits) may change;
    # the authenticated sender, key and signed data may not.
    assert msg.from_nick == original.from_nick and msg.pubkey_hex == original.pubkey_hex
    assert msg.data == original.data


relative_fees = st.builds(
    lambda digits, exp: f"{digits}E-{exp}", st.integers(0, 10**12 - 1), st.integers(12, 32)
)


@st.composite
def offer_segments(draw):
    ordertype = draw(st.sampled_from(sorted(OFFER_TYPES)))
    minsize = draw(st.integers(0, MAX_SATS))
    maxsize = draw(st.integers(minsize, MAX_SATS))
    cjfee = draw(relative_fees) if "rel" in ordertype else draw(st.integers(0, MAX_SATS))
    return OfferSegment(ordertype, draw(st.integers(0, 2**63 - 1)), minsize, maxsize,
                        draw(st.integers(0, MAX_SATS)), cjfee)


@FAST
@given(offer_segments())
def test_format_then_parse_round_trips(seg):
    text = format_offer(seg)
    assert "E" not in text and "e" not in text.split(" ", 1)[1]
    ordertype, args = text.split(" ", 1)
    parsed = parse_offer(ordertype, args)
    assert format_offer(parsed) == text
    assert (parsed.oid, parsed.minsize, parsed.maxsize) == (seg.oid, seg.minsize, seg.maxsize)
    assert parsed.txfee == seg.txfee
    if isinstance(seg.cjfee, int):
        assert parsed.cjfee == seg.cjfee
    else:
        assert Decimal(parsed.cjfee) == Decimal(seg.cjfee)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32),
       st.text(NO_SURROGATES, min_size=1, max_size=200).filter(lambda t: not {"\r", "\n"} & set(t)))
def test_sign_then_verify_round_trips(secret, data):
    try:
        ident = NickIdentity(secret)
    except ProtocolError:
        assume(False)
    line = ident.build_privmsg("J59cTYvZJZEbjWk4", "fill", data)
    msg = parse_and_verify_privmsg(line)
    assert (msg.from_nick, msg.data, msg.pubkey_hex) == (ident.nick, data, ident.public_key_hex)
    message = data.encode()
    assert verify_message(ident.public_key_hex, message, ident.sign_bytes(message))
    assert not verify_message(ident.public_key_hex, message + b"x", ident.sign_bytes(message))
