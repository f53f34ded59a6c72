"""Peerlist rules a mutation run showed unpinned: one-character nicks, legacy ``,``
features attaching to the right entry, and the exact error of an unusable line."""

import re

import pytest

from protocol.errors import PeerlistError
from protocol.peerlist import PeerlistEntry, is_valid_nick, parse_peerlist, parse_peerlist_lenient

LOC = "a" * 56 + ".onion:5222"


def test_a_one_character_nick_is_valid():
    assert is_valid_nick("J") and not is_valid_nick("")


def test_legacy_comma_features_attach_to_the_entry_they_follow_even_when_not_first():
    entries, errors = parse_peerlist_lenient(f"A;{LOC},B;{LOC};F:ping,neutrino")
    assert errors == ()
    assert entries == (PeerlistEntry("A", LOC, False, frozenset()),
                       PeerlistEntry("B", LOC, False, frozenset({"ping", "neutrino"})))


def test_a_bad_entry_ends_a_legacy_feature_list():
    entries, errors = parse_peerlist_lenient(f"A;{LOC};F:ping,!bad;{LOC},meta,B;{LOC}")
    assert [e.nick for e in entries] == ["A", "B"] and entries[0].features == {"ping"}
    assert errors == ("entry 1: invalid nick '!bad'",)


def test_an_unusable_peerlist_names_every_bad_entry():
    with pytest.raises(PeerlistError, match="^" + re.escape(
            "unusable peerlist: entry 0: invalid nick ''; entry 1: invalid nick '!x'") + "$"):
        parse_peerlist(f";{LOC},!x;{LOC}")
