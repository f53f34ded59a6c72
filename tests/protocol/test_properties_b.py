"""Property tests: hostile input only ever raises ProtocolError, and round trips hold."""

import base64
import json
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from protocol.bond import parse_bond_proof, verify_bond_proof
from protocol.crypto import NickIdentity, parse_and_verify_privmsg, verify_message
from protocol.errors import ProtocolError
from protocol.jmmessage import OFFER_TYPES
from protocol.naclbox import NaclKeypair, decrypt
from protocol.nickauth import parse_challenge, parse_proof, parse_result
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


def _only_protocol_errors(fn, *args):
    try:
        fn(*args)
    except ProtocolError:
        pass


def _mutate(text: str, index: int, char: str) -> str:
    index %= len(text)
    return text[:index] + char + text[index + 1 :]


@FAST
@given(st.sampled_from(sorted(OFFER_TYPES)) | st.text(max_size=12), WIRE_TEXT)
def test_parse_offer_only_raises_protocol_errors(ordertype, args):
    _only_protocol_errors(parse_offer, ordertype, args)


@FAST
@given(WIRE_TEXT)
def test_parse_offer_body_only_raises_protocol_errors(body):
    _only_protocol_errors(parse_offer_body, body)


@FAST
@given(st.integers(0, 400), NO_SURROGATES)
def test_mutated_offer_body_only_raises_protocol_errors(index, char):
    body = "sw0reloffer 0 27300 1000000000 0 0.00002!sw0absoffer 1 27300 500000000 0 1000!tbond X"
    _only_protocol_errors(parse_offer_body, _mutate(body, index, char))


@FAST
@given(st.text(max_size=400) | st.text(alphabet=B64_CHARS, min_size=336, max_size=336))
def test_parse_bond_proof_only_raises_protocol_errors(b64):
    _only_protocol_errors(parse_bond_proof, b64)


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
def test_nickauth_parsers_only_raise_protocol_errors(text, index, char):
    for parser in (parse_challenge, parse_proof, parse_result):
        _only_protocol_errors(parser, text)
        for line in NICKAUTH_LINES:
            _only_protocol_errors(parser, _mutate(line, index, char))


@FAST
@given(st.text(max_size=120) | st.binary(max_size=90).map(lambda b: base64.b64encode(b).decode()))
def test_decrypt_only_raises_protocol_errors(b64):
    _only_protocol_errors(decrypt, NACL, NACL_PEER, b64)


@FAST
@given(WIRE_TEXT)
def test_parse_and_verify_privmsg_only_raises_protocol_errors(line):
    _only_protocol_errors(parse_and_verify_privmsg, line)


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
