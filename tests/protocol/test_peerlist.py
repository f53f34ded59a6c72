"""PEERLIST parsing (strict and lenient) and formatting (PROTOCOL.md 6.2)."""

import pytest

from protocol.errors import LocalProtocolError, PeerlistError
from protocol.peerlist import (
    PeerlistEntry, format_peerlist, parse_peerlist, parse_peerlist_lenient,
)

ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:5222"
DIR_ONION = "directoryonionxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion:5222"
NS = "NOT-SERVING-ONION"


def E(nick, loc, disconnected=False, features=()):
    return PeerlistEntry(nick, loc, disconnected, frozenset(features))


@pytest.mark.parametrize("line, expected", [
    ("", ()),
    (f"J59cTYvZJZEbjWk4;{ONION}", (E("J59cTYvZJZEbjWk4", ONION),)),
    (f"J59cTYvZJZEbjWk4;{ONION};F:neutrino_compat+peerlist_features+ping,"
     f"J52N8GdNkKtMA6TW;{NS};F:peerlist_features+ping",
     (E("J59cTYvZJZEbjWk4", ONION, features={"neutrino_compat", "peerlist_features", "ping"}),
      E("J52N8GdNkKtMA6TW", NS, features={"peerlist_features", "ping"}))),
    (f"J59cTYvZJZEbjWk4;{ONION};D,J5dirNickXXXXXXX;{DIR_ONION}",
     (E("J59cTYvZJZEbjWk4", ONION, disconnected=True), E("J5dirNickXXXXXXX", DIR_ONION))),
    (f"J5a;{NS};D;F:ping", (E("J5a", NS, True, {"ping"}),)),
    (f"J5a;{NS};F:ping;D", (E("J5a", NS, True, {"ping"}),)),
    (f"J5a;{NS};F:", (E("J5a", NS),)),
])
def test_spec_examples(line, expected):
    assert parse_peerlist(line) == expected


def test_entries_without_semicolon_are_skipped_as_metadata():
    assert parse_peerlist(f"meta,J5a;{NS},,more") == (E("J5a", NS),)
    assert parse_peerlist("just-metadata") == ()


def test_legacy_comma_separated_features_are_merged():
    line = f"J5a;{ONION};F:ping,peerlist_features,J5b;{NS}"
    assert parse_peerlist(line) == (
        E("J5a", ONION, features={"ping", "peerlist_features"}), E("J5b", NS))


def test_comma_after_plus_style_features_is_metadata_not_a_feature():
    assert parse_peerlist(f"J5a;{NS};F:a+b,stray") == (E("J5a", NS, features={"a", "b"}),)


def test_unknown_flags_are_ignored():
    assert parse_peerlist(f"J5a;{NS};V:2") == (E("J5a", NS),)


def test_lenient_returns_good_entries_and_named_errors():
    entries, errors = parse_peerlist_lenient(f"J5a;{NS},;{NS},J5b;bad,J5c;h:1;D")
    assert entries == (E("J5a", NS), E("J5c", "h:1", True))
    assert errors == ("entry 1: invalid nick ''", "entry 2: invalid location 'bad' for nick 'J5b'")


def test_strict_tolerates_bad_entries_next_to_good_ones():
    assert parse_peerlist(f"J5a;{NS},J5b;bad") == (E("J5a", NS),)


@pytest.mark.parametrize("line, fragment", [
    ("J5b;bad", "invalid location 'bad'"),
    (f"{'x' * 65};{NS}", "invalid nick"),
    (f"J5 b;{NS}", "invalid nick"),
    (f"J5!b;{NS}", "invalid nick"),
    ("J5b;", "invalid location ''"),
    ("J5b;host:0,J5c;x", "entry 1"),
])
def test_strict_raises_when_nothing_is_usable(line, fragment):
    with pytest.raises(PeerlistError, match="unusable peerlist") as info:
        parse_peerlist(line)
    assert fragment in str(info.value)


def test_nick_of_64_chars_is_fine():
    assert parse_peerlist(f"{'x' * 64};{NS}")[0].nick == "x" * 64


def test_format_with_and_without_features():
    entries = [E("J5a", ONION, features={"ping", "a"}), E("J5b", NS, disconnected=True)]
    assert format_peerlist(entries, include_features=True) == f"J5a;{ONION};F:a+ping,J5b;{NS};D"
    assert format_peerlist(entries, include_features=False) == f"J5a;{ONION},J5b;{NS};D"
    assert format_peerlist([], include_features=True) == ""


def test_format_parse_round_trip():
    entries = (E("J5a", ONION, True, {"x", "y"}), E("J5b", NS, features={"only"}), E("J5c", NS))
    assert parse_peerlist(format_peerlist(entries, True)) == entries


@pytest.mark.parametrize("entry, fragment", [
    (E("", NS), "nick"),
    (E("a,b", NS), "nick"),
    (E("J5a", "nowhere"), "location"),
    (E("J5a", NS, features={"a+b"}), "feature"),
    (E("J5a", NS, features={""}), "feature"),
])
def test_format_rejects_what_would_not_parse_back(entry, fragment):
    with pytest.raises(LocalProtocolError, match=fragment):
        format_peerlist([entry], include_features=True)
