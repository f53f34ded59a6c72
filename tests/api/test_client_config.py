"""Our own configuration is validated when it is built, with the field named.

Issue 10's confirmed bug: ``build_config`` never checked ``our_location``, so an invalid
one reached DirectoryActor, made ``build_peer_handshake`` raise there, and that healthy
directory was stopped as if *it* had violated the protocol. Every field is now checked
at construction, so a bad config is a ValueError at the call, never a remote's fault.
"""

import math

import msgspec
import pytest

from actors.api.config import ClientConfig, Limits, build_config
from actors.net.transport import SocksConfig
from localnet.onion import random_onion_host

SERVERS = [f"{random_onion_host()}:5222"]


def test_a_valid_config_builds():
    config = build_config(SERVERS, "regtest", our_location=f"{random_onion_host()}:5222")
    assert config.directories == tuple(SERVERS)


@pytest.mark.parametrize("location", ["nowhere", "host:0", "host:65536", "host:", ":5222",
                                      "a b:5222", "", None, 5222])
def test_an_invalid_our_location_is_refused_at_construction(location):
    with pytest.raises(ValueError, match="our_location"):
        build_config(SERVERS, "regtest", our_location=location)


@pytest.mark.parametrize("kwargs, named", [
    ({"network": "bitcoin"}, "network"),
    ({"socks_host": ""}, "socks_host"),
    ({"socks_host": None}, "socks_host"),
    ({"socks_port": 0}, "socks_port"),
    ({"socks_port": True}, "socks_port"),
    ({"connection_timeout": 0}, "connection_timeout"),
    ({"connection_timeout": math.inf}, "connection_timeout"),
    ({"connection_timeout": "5"}, "connection_timeout"),
    ({"nick_auth_mode": "sometimes"}, "nick_auth_mode"),
    ({"neutrino_compat": "no"}, "neutrino_compat"),
    ({"prefer_direct_connections": None}, "prefer_direct_connections"),
    ({"stream_isolation": "yes"}, "stream_isolation"),
    ({"allow_clearnet": 1}, "allow_clearnet"),
    ({"limits": {"max_line": 10}}, "limits"),
])
def test_every_field_is_checked_and_named(kwargs, named):
    args = {"network": "regtest", **kwargs}
    with pytest.raises(ValueError, match=named):
        build_config(SERVERS, **args)


@pytest.mark.parametrize("field, value", [
    ("max_line", 0), ("max_tracked_nicks", -1), ("replay_ttl", 0.0), ("replay_ttl", math.nan),
    ("max_offers", 1.5), ("max_direct_peers", True), ("mailbox_low_water", 50_000),
])
def test_limits_are_checked_and_named(field, value):
    with pytest.raises(ValueError, match=f"limits.{field}"):
        Limits(**{field: value})


def test_limits_accept_their_defaults_and_small_positive_values():
    assert Limits() == Limits(**msgspec.structs.asdict(Limits()))
    Limits(max_line=1, mailbox_high_water=2, mailbox_low_water=1, replay_ttl=0.5)


@pytest.mark.parametrize("field, value", [
    ("our_location", "nowhere"), ("peer_handshake_wait", 0), ("routable_grace", -0.1),
    ("directories", ()), ("network", "bitcoin"),
])
def test_a_config_built_directly_is_checked_too(field, value):
    args = {"directories": tuple(SERVERS), "network": "regtest", "socks": SocksConfig(),
            field: value}
    with pytest.raises(ValueError, match="directory_servers" if field == "directories" else field):
        ClientConfig(**args)
