"""relayed_line_type (protocol/relayed.py): is a refused frame a relayed line with bad content?"""

import json

import pytest

from protocol.relayed import RELAYED_TYPES, relayed_line_type


def test_the_relayed_types_are_privmsg_and_pubmsg():
    assert RELAYED_TYPES == frozenset({685, 687})


@pytest.mark.parametrize("msg_type", [685, 687])
def test_a_relayed_frame_whose_line_strict_decoders_refuse_is_named_by_its_type(msg_type):
    raw = b'{"type": %d, "line": "J5a!J5b!fill \\ud800"}' % msg_type
    assert relayed_line_type(raw) == msg_type


def test_an_empty_line_string_still_counts_as_relayed():
    assert relayed_line_type(json.dumps({"type": 687, "line": ""}).encode()) == 687


def test_extra_fields_do_not_matter():
    raw = json.dumps({"type": 685, "line": "x", "extra": [1, 2]}).encode()
    assert relayed_line_type(raw) == 685


@pytest.mark.parametrize("msg_type", [793, 795, 0, 684, 686, 688, -685])
def test_other_envelope_types_are_the_directorys_own_frames(msg_type):
    assert relayed_line_type(json.dumps({"type": msg_type, "line": "x"}).encode()) is None


@pytest.mark.parametrize("msg_type", ["685", 685.0, True, None, [685]])
def test_a_type_that_is_not_exactly_an_int_is_not_relayed(msg_type):
    assert relayed_line_type(json.dumps({"type": msg_type, "line": "x"}).encode()) is None


@pytest.mark.parametrize("line", [None, 5, ["x"], {"a": "b"}, True])
def test_a_line_that_is_not_a_string_is_not_relayed(line):
    assert relayed_line_type(json.dumps({"type": 687, "line": line}).encode()) is None


def test_a_missing_type_or_line_is_not_relayed():
    assert relayed_line_type(b'{"line": "x"}') is None
    assert relayed_line_type(b'{"type": 687}') is None


@pytest.mark.parametrize("raw", [
    b"", b"not json", b'{"type": 687, "line": "x"', b"\xff\xfe{}",
    b'{"type": 687, "line": "\xff"}',  # invalid UTF-8 inside the line
])
def test_anything_that_is_not_json_is_not_relayed(raw):
    assert relayed_line_type(raw) is None


@pytest.mark.parametrize("raw", [b"[685, \"x\"]", b'"x"', b"685", b"null"])
def test_json_that_is_not_an_object_is_not_relayed(raw):
    assert relayed_line_type(raw) is None


def test_absurd_nesting_is_not_relayed_and_raises_nothing():
    raw = b"[" * 100_000 + b"]" * 100_000
    assert relayed_line_type(raw) is None
