"""Actor addresses are built and parsed in one module (actors/shells/names.py)."""

import pytest

from actors.shells import names


def test_core_actors_are_distinct_and_start_with_the_registry():
    assert names.CORE_ACTORS == (names.REGISTRY, names.INBOX, names.ROUTER)
    assert len({names.SUPERVISOR, *names.CORE_ACTORS}) == 4


@pytest.mark.parametrize("nick", ["J5abc", "J5with:colon", "x"])
def test_peer_names_are_recognised(nick):
    name = names.peer_name(nick)
    assert names.is_peer_name(name) and name.endswith(nick)


@pytest.mark.parametrize("name", ["router", "abc.onion:5222", "directory:abc.onion:5222", ""])
def test_other_names_are_not_peers(name):
    assert not names.is_peer_name(name)


def test_a_directory_actor_is_named_by_its_configured_host_port():
    assert names.directory_name("abc.onion:5222") == "abc.onion:5222"
    assert not names.is_peer_name(names.directory_name("abc.onion:5222"))
