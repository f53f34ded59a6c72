"""Channel choice (API.md "Channel selection" and "Sending") as pure functions."""

import random

import pytest

from actors.core.routing import (DIRECT, ChannelBinding, channel_directory, choose_binding,
                                 directory_channel, parse_force_channel, relay_candidates,
                                 upgrade_channel)

DIRS = ["a.onion:5222", "b.onion:5222", "c.onion:5222"]


def bind(**kw):
    args = dict(direct_up=False, prefer_direct=True, connected=DIRS, carrying=frozenset(),
                listing=frozenset(), location="m.onion:5222")
    args.update(kw)
    return choose_binding("M", **args)


def test_binding_prefers_handshaked_direct_link():
    assert bind(direct_up=True).channel_id == DIRECT and bind(direct_up=True).is_direct


def test_binding_ignores_direct_when_not_preferred():
    assert bind(direct_up=True, prefer_direct=False).channel_id == "directory:a.onion:5222"


def test_binding_uses_tracking_directory_before_listing_directory():
    b = bind(carrying=frozenset({"c.onion:5222"}), listing=frozenset({"b.onion:5222"}))
    assert b.channel_id == "directory:c.onion:5222"


def test_binding_uses_listing_directory_then_any_connected():
    assert bind(listing=frozenset({"b.onion:5222"})).channel_id == "directory:b.onion:5222"
    assert bind().channel_id == "directory:a.onion:5222"


def test_binding_skips_directories_that_are_not_connected():
    b = bind(connected=["b.onion:5222"], carrying=frozenset({"a.onion:5222"}))
    assert b.channel_id == "directory:b.onion:5222"


def test_binding_is_none_only_without_connected_directories():
    assert bind(connected=[]) is None
    assert bind(connected=[], direct_up=True) == ChannelBinding("M", DIRECT, "m.onion:5222")


def test_upgrade_only_directory_to_direct():
    assert upgrade_channel("directory:a.onion:5222", direct_up=True, prefer_direct=True) == DIRECT
    assert upgrade_channel("directory:a.onion:5222", direct_up=False, prefer_direct=True) != DIRECT
    assert upgrade_channel(DIRECT, direct_up=False, prefer_direct=True) == DIRECT


def test_directory_channel_ids_are_built_and_parsed_in_one_place():
    assert directory_channel("a.onion:5222") == "directory:a.onion:5222"
    assert channel_directory(directory_channel("a.onion:5222")) == "a.onion:5222"
    for other in (DIRECT, "directory:", "dir:a", ""):
        assert channel_directory(other) is None


@pytest.mark.parametrize("bad", ["", "directory:", "dir:a", "DIRECT", "direct "])
def test_bad_force_channel_is_value_error(bad):
    with pytest.raises(ValueError):
        parse_force_channel(bad, DIRS)


def test_relay_candidates_put_the_best_tier_first_and_cover_every_connected_directory():
    rng = random.Random(1)
    seen_first = set()
    for _ in range(50):
        order = relay_candidates(DIRS, frozenset({"b.onion:5222", "c.onion:5222"}), frozenset(), rng)
        assert sorted(order) == sorted(DIRS)
        assert order[2] == "a.onion:5222"
        seen_first.add(order[0])
    assert seen_first == {"b.onion:5222", "c.onion:5222"}  # shuffled for load balancing
