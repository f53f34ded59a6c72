"""Envelope decoding strictness and json.dumps-exact encoding (PROTOCOL.md 1.2)."""

import json

import pytest

from protocol.envelope import Envelope, MsgType, decode_envelope, encode_envelope
from protocol.errors import EnvelopeError
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()


def test_msgtype_numbers():
    assert {m.name: int(m) for m in MsgType} == {
        "PRIVMSG": 685, "PUBMSG": 687, "PEERLIST": 789, "GETPEERLIST": 791,
        "HANDSHAKE": 793, "DN_HANDSHAKE": 795, "REF_PING": 797, "PING": 798,
        "PONG": 799, "DISCONNECT": 801, "NICK_AUTH_CHALLENGE": 803,
        "NICK_AUTH_PROOF": 805, "NICK_AUTH_RESULT": 807,
    }


@pytest.mark.parametrize("line", VECTORS["envelopes"])
def test_vector_envelopes_round_trip_byte_exact(line):
    env = decode_envelope(line.encode())
    assert env == decode_envelope(line)  # str input accepted too
    assert encode_envelope(env.type, env.line) == line.encode()


def test_encode_matches_json_dumps_for_non_ascii_and_escapes():
    text = 'motd "quoted"\n\\ é \u2603 \U0001f600 \x00'
    assert encode_envelope(MsgType.DN_HANDSHAKE, text) == json.dumps(
        {"type": 795, "line": text}).encode()
    assert encode_envelope(798, "") == b'{"type": 798, "line": ""}'


def test_encode_output_is_ascii_and_decodes_back():
    raw = encode_envelope(685, "ä!b")
    assert raw.isascii()
    assert decode_envelope(raw) == Envelope(685, "ä!b")


def test_extra_keys_ignored_and_any_key_order():
    assert decode_envelope(b'{"line":"x","data":{"a":1},"type":687}') == Envelope(687, "x")


def test_unknown_integer_types_are_kept_for_the_caller_to_ignore():
    assert decode_envelope(b'{"type": 12345, "line": ""}').type == 12345


@pytest.mark.parametrize("raw, fragment", [
    (b'{"type": true, "line": ""}', "got `bool`"),
    (b'{"type": "685", "line": ""}', "got `str`"),
    (b'{"type": 685.0, "line": ""}', "got `float`"),
    (b'{"type": 685, "line": 5}', "`$.line`"),
    (b'{"type": 685}', "line"),
    (b'{"line": ""}', "type"),
    (b'[685, ""]', "got `array`"),
    (b'not json', "malformed"),
    (b'', "truncated"),
    (b'{"type": 685, "line": "\xff"}', "UTF-8"),
    (b'{"type": 685, "line": ""} trailing', "trailing"),
])
def test_malformed_envelopes_raise_named_errors(raw, fragment):
    with pytest.raises(EnvelopeError, match="invalid envelope") as info:
        decode_envelope(raw)
    assert fragment in str(info.value)


def test_deep_nesting_is_an_envelope_error_not_recursion_error():
    raw = b'{"x": ' + b"[" * 200_000 + b"]" * 200_000 + b', "type": 1, "line": ""}'
    with pytest.raises(EnvelopeError, match="nested"):
        decode_envelope(raw)


def test_str_with_lone_surrogate_is_an_envelope_error():
    with pytest.raises(EnvelopeError, match="surrogate"):
        decode_envelope('{"type": 1, "line": "\udc80"}')


@pytest.mark.parametrize("bad_type", [True, "685", 685.0, None])
def test_encode_rejects_non_int_type(bad_type):
    with pytest.raises(EnvelopeError, match="type must be an int"):
        encode_envelope(bad_type, "")


def test_encode_rejects_non_str_line():
    with pytest.raises(EnvelopeError, match="line must be a str"):
        encode_envelope(685, b"bytes")


def test_envelope_is_frozen():
    env = Envelope(685, "x")
    with pytest.raises(AttributeError):
        env.type = 687
