"""JM-line rules a mutation run showed unpinned: the 64-character nick limit is inclusive,
long input is echoed cut short, and each outgoing error names its role or token."""

import re

import pytest

from protocol.errors import LocalProtocolError, MessageError
from protocol.jmmessage import format_privmsg, format_pubmsg, parse_jm_line, split_commands


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_a_nick_of_exactly_64_characters_is_accepted_65_is_not():
    assert parse_jm_line("J" * 64 + "!PUBLIC!orderbook").from_nick == "J" * 64
    with pytest.raises(MessageError, match=_exact("from nick is 65 chars, limit 64")):
        parse_jm_line("J" * 65 + "!PUBLIC!orderbook")


def test_long_malformed_input_is_echoed_cut_short():
    line = "x" * 100
    with pytest.raises(MessageError, match=_exact(
            f"JM line has 0 '!' separators, need 2: {line[:80]!r}")):
        parse_jm_line(line)
    segment = " " + "y" * 60
    with pytest.raises(MessageError, match=_exact(
            f"command segment 1 has no command word: {segment[:40]!r}")):
        split_commands("ok!" + segment)


def test_outgoing_errors_name_the_role_and_the_token():
    with pytest.raises(LocalProtocolError, match=_exact("public message body is empty")):
        format_pubmsg("J5a", "!!")
    with pytest.raises(LocalProtocolError, match=_exact(
            "from nick 'J5 a' contains '!' or whitespace")):
        format_privmsg("J5 a", "J5b", "fill", "x", "pub", "sig")
    with pytest.raises(LocalProtocolError, match=_exact(
            "privmsg pubkey must be one non-empty token, got ''")):
        format_privmsg("J5a", "J5b", "fill", "x", "", "sig")
    with pytest.raises(LocalProtocolError, match=_exact(
            "privmsg signature must be one non-empty token, got 'a b'")):
        format_privmsg("J5a", "J5b", "fill", "x", "pub", "a b")
