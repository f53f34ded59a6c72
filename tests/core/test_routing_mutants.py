"""Channel-choice rules a mutation run showed unpinned: whole bindings, the listing tier,
no connected directory, and the exact force_channel error."""

import random
import re

import pytest

from actors.core.routing import ChannelBinding, choose_binding, parse_force_channel, relay_candidates

DIRS = ["a.onion:5222", "b.onion:5222", "c.onion:5222"]
LOC = "m.onion:5222"


def bind(**kw):
    args = dict(direct_up=False, prefer_direct=True, connected=DIRS, carrying=frozenset(),
                listing=frozenset(), location=LOC)
    args.update(kw)
    return choose_binding("M", **args)


def test_binding_equality_covers_nick_channel_and_location():
    assert bind(carrying=frozenset({"b.onion:5222"})) == ChannelBinding(
        "M", "directory:b.onion:5222", LOC)
    assert bind() == ChannelBinding("M", "directory:a.onion:5222", LOC)
    assert bind() != ChannelBinding("M", "directory:a.onion:5222", None)
    assert bind() != ChannelBinding("N", "directory:a.onion:5222", LOC)


def test_no_connected_directory_gives_no_candidates_and_no_binding():
    rng = random.Random(1)
    assert relay_candidates([], frozenset({"a.onion:5222"}), frozenset(), rng) == []
    assert bind(connected=[]) is None


@pytest.mark.parametrize("seed", range(8))
def test_listing_tier_goes_first_when_no_directory_tracks_the_nick(seed):
    got = relay_candidates(DIRS, frozenset(), frozenset({"c.onion:5222"}), random.Random(seed))
    assert got[0] == "c.onion:5222" and sorted(got) == sorted(DIRS)


@pytest.mark.parametrize("seed", range(8))
def test_listing_tier_of_two_comes_before_the_rest(seed):
    listing = frozenset({"a.onion:5222", "c.onion:5222"})
    got = relay_candidates(DIRS, frozenset(), listing, random.Random(seed))
    assert set(got[:2]) == listing and got[2] == "b.onion:5222"


def test_force_channel_directory_name_is_the_text_after_the_prefix():
    assert parse_force_channel("directory:b.onion:5222", DIRS) == "b.onion:5222"


def test_force_channel_error_lists_the_configured_directories():
    with pytest.raises(ValueError, match="^" + re.escape(
            "force_channel must be 'direct' or 'directory:<host>:<port>', got 'x'"
            " (configured: a.onion:5222, b.onion:5222, c.onion:5222)") + "$"):
        parse_force_channel("x", DIRS)


def test_force_channel_error_without_configured_directories_has_no_suffix():
    with pytest.raises(ValueError, match="^" + re.escape(
            "force_channel must be 'direct' or 'directory:<host>:<port>', got 'directory:'")
            + "$"):
        parse_force_channel("directory:", [])
