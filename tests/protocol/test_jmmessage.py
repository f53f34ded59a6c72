"""JoinMarket line grammar: nicks, command segments, privmsg token split (PROTOCOL.md 5, 4.4)."""


import pytest

from protocol.errors import LocalProtocolError, MessageError
from protocol.jmmessage import (
    COMMAND_PREFIX, ENCRYPTED_COMMANDS, OFFER_TYPES, PLAINTEXT_COMMANDS, PRIVATE_COMMANDS,
    PUBLIC, PUBLIC_COMMANDS, JMLine, PrivMsg, format_privmsg, format_pubmsg,
    normalize_command, parse_jm_line, parse_privmsg, split_commands,
)
from tests.helpers.testdata import load_vectors

VECTORS = load_vectors()
PUB = "02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27"


def test_command_sets_match_ref():
    assert COMMAND_PREFIX == "!" and PUBLIC == "PUBLIC"
    assert OFFER_TYPES == {"sw0reloffer", "sw0absoffer", "swreloffer", "swabsoffer",
                           "reloffer", "absoffer"}
    assert ENCRYPTED_COMMANDS == {"auth", "ioauth", "tx", "sig"}
    plaintext = {"fill", "error", "pubkey", "orderbook", "push", "hp2"}
    assert PLAINTEXT_COMMANDS == plaintext | OFFER_TYPES
    assert PUBLIC_COMMANDS == {"hp2", "orderbook", "cancel"} | OFFER_TYPES
    assert len(PRIVATE_COMMANDS) == 16 and "cancel" not in PRIVATE_COMMANDS
    assert not ENCRYPTED_COMMANDS & PLAINTEXT_COMMANDS


@pytest.mark.parametrize("vector", VECTORS["signed_privmsg_lines"], ids=lambda v: v["command"])
def test_signed_vectors_split_into_signed_data(vector):
    msg = parse_privmsg(vector["line"])
    assert (msg.from_nick, msg.to_nick, msg.command) == (
        vector["from"], vector["to"], vector["command"])
    assert msg.data == vector["signed_data"]
    assert msg.pubkey_hex == vector["pubkey_hex"]
    assert format_privmsg(msg.from_nick, msg.to_nick, msg.command, msg.data,
                          msg.pubkey_hex, msg.sig_b64) == vector["line"]


def test_parse_jm_line_public():
    assert parse_jm_line("J5a!PUBLIC!orderbook") == JMLine("J5a", "PUBLIC", "orderbook")


def test_parse_jm_line_keeps_further_bangs_in_body():
    assert parse_jm_line("J5a!J5b!!fill 1!x").body == "!fill 1!x"


@pytest.mark.parametrize("line, fragment", [
    ("J5a", "0 '!' separators"),
    ("J5a!J5b", "1 '!' separators"),
    ("!J5b!x", "empty from"),
    ("J5a!!x", "empty to"),
    ("x" * 65 + "!J5b!x", "from nick is 65 chars"),
    ("J5a!" + "y" * 65 + "!x", "to nick is 65 chars"),
])
def test_parse_jm_line_errors(line, fragment):
    with pytest.raises(MessageError, match=fragment):
        parse_jm_line(line)


def test_split_commands_multi_offer_and_double_bang():
    body = "sw0reloffer 0 27300 1000000000 0 0.00002!sw0absoffer 1 27300 500000000 0 1000"
    assert split_commands(body) == (
        ("sw0reloffer", "0 27300 1000000000 0 0.00002"),
        ("sw0absoffer", "1 27300 500000000 0 1000"))
    assert split_commands("!orderbook") == (("orderbook", ""),)
    assert split_commands("cancel 0!!cancel 1!") == (("cancel", "0"), ("cancel", "1"))
    assert split_commands("") == ()


def test_split_commands_rejects_segment_without_command_word():
    with pytest.raises(MessageError, match="segment 1 has no command word"):
        split_commands("cancel 0! 1")


def test_parse_privmsg_double_bang_is_tolerated():
    msg = parse_privmsg(f"J5a!J5b!!fill 0 1 {PUB} sig=")
    assert (msg.command, msg.data) == ("fill", "0 1")


def test_parse_privmsg_data_keeps_later_command_segments():
    msg = parse_privmsg(f"J5a!J5b!sw0reloffer 0 1 2 0 0.1!tbond AAAA {PUB} sig=")
    assert msg.data == "0 1 2 0 0.1!tbond AAAA"


@pytest.mark.parametrize("line, fragment", [
    (f"J5a!J5b!fill {PUB} sig=", "3 space-separated tokens"),
    ("J5a!J5b!fill", "1 space-separated tokens"),
    (f"J5a!J5b!fill  {PUB} sig=", "empty data"),
    (f" J5a!J5b!! x {PUB} sig=", "empty command"),
    (f"J5a!J5b!fill x {PUB} ", "lacks pubkey or signature"),
    ("J5a!J5b!fill x  sig=", "lacks pubkey or signature"),
    ("J5a", "separators"),
])
def test_parse_privmsg_errors(line, fragment):
    with pytest.raises(MessageError, match=fragment):
        parse_privmsg(line)


def test_format_pubmsg():
    assert format_pubmsg("J5a", "orderbook") == "J5a!PUBLIC!orderbook"
    assert format_pubmsg("J5a", "!cancel 0!cancel 1") == "J5a!PUBLIC!cancel 0!cancel 1"


@pytest.mark.parametrize("args, fragment", [
    (("", "x"), "empty from"),
    (("J5!a", "x"), "contains '!'"),
    (("J5a", ""), "empty"),
    (("J5a", "!"), "empty"),
])
def test_format_pubmsg_errors(args, fragment):
    with pytest.raises(LocalProtocolError, match=fragment):
        format_pubmsg(*args)


def test_format_privmsg_single_bang_whether_or_not_command_has_one():
    for command in ("fill", "!fill", "!!fill"):
        line = format_privmsg("J5a", "J5b", command, "0 1", PUB, "s=")
        assert line == f"J5a!J5b!fill 0 1 {PUB} s="


@pytest.mark.parametrize("args, fragment", [
    (("J5a", "J5b", "fill", "", PUB, "s"), "non-empty data"),
    (("J5a", "J5b", "", "d", PUB, "s"), "invalid privmsg command"),
    (("J5a", "J5b", "fi ll", "d", PUB, "s"), "invalid privmsg command"),
    (("J5a", "J5b", "fi!ll", "d", PUB, "s"), "invalid privmsg command"),
    (("J5a", "J5b", "fill", "d", "", "s"), "pubkey"),
    (("J5a", "J5b", "fill", "d", PUB, "a b"), "signature"),
    (("J5a", "", "fill", "d", PUB, "s"), "empty to"),
    (("J5a", "J5!b", "fill", "d", PUB, "s"), "to nick"),
])
def test_format_privmsg_errors(args, fragment):
    with pytest.raises(LocalProtocolError, match=fragment):
        format_privmsg(*args)


def test_normalize_command():
    assert normalize_command("!fill") == "fill"
    assert normalize_command("Fill") == "Fill"
    assert normalize_command("!!tx") == "tx"


def test_privmsg_is_frozen_value():
    msg = PrivMsg("a", "b", "c", "d", "e", "f")
    with pytest.raises(AttributeError):
        msg.data = "x"


@pytest.mark.parametrize("data", ["two\nlines", "carriage\rreturn", "crlf\r\n"])
def test_outgoing_data_with_a_line_break_is_refused(data):
    """A line break in data is never legitimate (fields are single-line tokens)."""
    with pytest.raises(LocalProtocolError, match="line break"):
        format_privmsg("J5a", "J5b", "fill", data, "02" + "ab" * 32, "sig")


@pytest.mark.parametrize("nick", ["has space", "tab\tnick", "new\nline"])
def test_outgoing_nick_with_whitespace_is_refused(nick):
    with pytest.raises(LocalProtocolError, match="whitespace"):
        format_privmsg("J5a", nick, "fill", "x", "02" + "ab" * 32, "sig")
