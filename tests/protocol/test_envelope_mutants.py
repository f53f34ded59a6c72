"""Envelope decoding errors a mutation run showed unpinned: their exact texts."""

import pytest

from protocol.envelope import decode_envelope
from protocol.errors import EnvelopeError


def test_lone_surrogate_text_error_is_exact():
    with pytest.raises(EnvelopeError,
                       match=r"^invalid envelope: text contains unencodable surrogates$"):
        decode_envelope('{"type": 1, "line": "\ud800"}')


def test_deep_nesting_error_is_exact():
    with pytest.raises(EnvelopeError, match=r"^invalid envelope: JSON nested too deeply$"):
        decode_envelope(b'{"x": ' + b"[" * 200_000 + b"]" * 200_000 + b', "type": 1, "line": ""}')
