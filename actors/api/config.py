"""Validated client configuration (API.md "Construction"): errors at construction time.

Every field is checked when a :class:`ClientConfig` or :class:`Limits` is built, with a
``ValueError`` that names the field. Our own config must never reach an actor invalid:
an actor that then builds a handshake from it would fail in a way that looks like the
remote's fault (issue 10: an unchecked ``our_location`` stopped a healthy directory).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum, StrEnum

import msgspec
from loguru import logger

from actors.core.dirhandshake import NICK_AUTH_MODES
from actors.net.transport import SocksConfig, is_onion_host
from protocol.handshake import NETWORKS, NOT_SERVING, is_valid_location
from protocol.nickauth import is_directory_id

__all__ = ["ClientConfig", "DEFAULT_DIRECTORY_PORT", "Limits", "NICK_AUTH_MODES", "NickAuthMode",
           "build_config", "nick_auth_mode_value", "normalize_directory", "pinned_directory_ids"]

DEFAULT_DIRECTORY_PORT = 5222


class NickAuthMode(StrEnum):
    """The nick-auth policy; joinmarket-ng's own str-valued enum is accepted just as well."""

    PREFER_VERIFIED = "prefer_verified"
    REQUIRE_VERIFIED = "require_verified"
    DISABLED = "disabled"


class Limits(msgspec.Struct, frozen=True):
    """Resource caps; each one is documented in docs/limits.md with its default and why."""

    max_line: int = 40_000
    max_directory_line: int = 200_000
    max_tracked_nicks: int = 20_000
    max_offers: int = 20_000
    max_pending_waits: int = 1_000
    replay_ttl: float = 60.0
    replay_max: int = 2_000
    max_direct_peers: int = 500
    max_consecutive_bad_lines: int = 5
    mailbox_high_water: int = 50_000
    mailbox_low_water: int = 10_000
    max_queued_batches: int = 64
    max_offers_per_maker: int = 64
    lost_directory_ttl: float = 600.0
    connection_high_water: int = 64
    connection_low_water: int = 16
    max_lines_per_second: int = 2_000

    def __post_init__(self) -> None:
        for field in self.__struct_fields__:
            value = getattr(self, field)
            zero_ok = field in _ZERO_MEANS_OFF
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not (value >= 0 if zero_ok else value > 0) \
                    or (isinstance(value, float) and not math.isfinite(value)):
                wanted = "0 (off) or a positive number" if zero_ok else "a positive number"
                raise ValueError(f"limits.{field}: must be {wanted}, got {value!r}")
            if field not in _FLOAT_LIMITS and not isinstance(value, int):
                raise ValueError(f"limits.{field}: must be a positive integer, got {value!r}")
        for low, high in (("mailbox_low_water", "mailbox_high_water"),
                          ("connection_low_water", "connection_high_water")):
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"limits.{low}: must be below {high} "
                                 f"({getattr(self, low)} >= {getattr(self, high)})")
        if self.max_directory_line < self.max_line:
            raise ValueError(f"limits.max_directory_line: must be at least max_line "
                             f"({self.max_directory_line} < {self.max_line})")


_FLOAT_LIMITS = frozenset({"replay_ttl", "lost_directory_ttl"})
_ZERO_MEANS_OFF = frozenset({"max_lines_per_second"})  # docs/limits.md: 0 = unlimited


class ClientConfig(msgspec.Struct, frozen=True):
    directories: tuple[str, ...]
    network: str
    socks: SocksConfig
    connection_timeout: float = 120.0
    neutrino_compat: bool = False
    prefer_direct: bool = True
    our_location: str = NOT_SERVING
    nick_auth_mode: str = "prefer_verified"
    #: (directory, expected nick-auth directory id) pins, directory as in ``directories``
    nick_auth_directory_ids: tuple[tuple[str, str], ...] = ()
    peer_handshake_wait: float = 2.0
    #: NG directories route to a new peer only ~50 ms after DN_HANDSHAKE (PROTOCOL.md P20);
    #: until then replies addressed to us are dropped, so we wait before using one.
    routable_grace: float = 0.1
    limits: Limits = Limits()

    def __post_init__(self) -> None:
        if not isinstance(self.directories, tuple) or not self.directories \
                or not all(isinstance(d, str) and d for d in self.directories):
            raise ValueError(f"directory_servers: need a non-empty list of 'host:port' strings, "
                             f"got {self.directories!r}")
        if self.network not in NETWORKS:
            raise ValueError(f"network: {self.network!r} is not one of {sorted(NETWORKS)}")
        if not isinstance(self.socks, SocksConfig):
            raise ValueError(f"socks: expected a SocksConfig, got {self.socks!r}")
        if not isinstance(self.socks.host, str) or not self.socks.host.strip():
            raise ValueError(f"socks_host: must be a non-empty host name, got {self.socks.host!r}")
        if isinstance(self.socks.port, bool) or not isinstance(self.socks.port, int) \
                or not 0 < self.socks.port < 65536:
            raise ValueError(f"socks_port: invalid port {self.socks.port!r}")
        for field in ("connection_timeout", "peer_handshake_wait", "routable_grace"):
            _require_positive(field, getattr(self, field))
        for field in ("neutrino_compat", "prefer_direct"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"{field}: must be a bool, got {getattr(self, field)!r}")
        if not isinstance(self.our_location, str) or not is_valid_location(self.our_location):
            raise ValueError(f"our_location: {self.our_location!r} is neither {NOT_SERVING!r} "
                             "nor 'host:port' with a port in 1..65535")
        if self.nick_auth_mode not in NICK_AUTH_MODES:
            raise ValueError(
                f"nick_auth_mode: {self.nick_auth_mode!r} is not one of {NICK_AUTH_MODES}")
        if not isinstance(self.limits, Limits):
            raise ValueError(f"limits: expected actors.api.config.Limits, got {self.limits!r}")

    @property
    def features(self) -> frozenset[str]:
        base = {"peerlist_features", "ping"}
        if self.neutrino_compat:
            base.add("neutrino_compat")
        return frozenset(base)


def _require_positive(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise ValueError(f"{field}: must be a positive number of seconds, got {value!r}")


def normalize_directory(server: str, allow_clearnet: bool) -> str:
    """``"host[:port]"`` → ``"host:port"`` (default 5222); ValueError names the problem."""
    if not isinstance(server, str) or not server.strip():
        raise ValueError(f"directory_servers: empty or non-string entry {server!r}")
    host, sep, port_text = server.strip().rpartition(":")
    if not sep:
        host, port_text = server.strip(), str(DEFAULT_DIRECTORY_PORT)
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"directory_servers: malformed 'host:port' {server!r}")
    if not is_onion_host(host) and not allow_clearnet:
        raise ValueError(
            f"directory_servers: {host!r} is not a .onion host (pass allow_clearnet=True "
            "only for local testing)")
    return f"{host.lower()}:{int(port_text)}"


def nick_auth_mode_value(mode: object) -> str:
    """``mode`` as one of NICK_AUTH_MODES: a name, or any enum member whose value is one."""
    value = mode.value if isinstance(mode, Enum) else mode
    if not isinstance(value, str) or value not in NICK_AUTH_MODES:
        raise ValueError(f"nick_auth_mode: {mode!r} is not one of {NICK_AUTH_MODES}")
    return str(value)


def pinned_directory_ids(pins: Mapping[str, str] | None,
                         directories: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Validate ``nick_auth_directory_ids`` (``{host:port: directory id}``) at construction."""
    if pins is None:
        return ()
    if not isinstance(pins, Mapping):
        raise ValueError("nick_auth_directory_ids: expected a mapping {'host:port': directory id}")
    out = []
    for server, directory_id in pins.items():
        try:
            name = normalize_directory(server, allow_clearnet=True)
        except ValueError as exc:
            raise ValueError(str(exc).replace("directory_servers:", "nick_auth_directory_ids:",
                                              1)) from None
        if not isinstance(directory_id, str) or not is_directory_id(directory_id):
            raise ValueError(f"nick_auth_directory_ids: malformed directory id {directory_id!r} "
                             f"for {server!r}")
        if name not in directories:
            logger.warning("nick_auth_directory_ids: {} is not a configured directory; ignored",
                           name)
            continue
        out.append((name, directory_id))
    return tuple(out)


def build_config(directory_servers, network, *, socks_host="127.0.0.1", socks_port=9050,
                 connection_timeout=120.0, neutrino_compat=False, prefer_direct_connections=True,
                 our_location=NOT_SERVING, stream_isolation=False, allow_clearnet=False,
                 nick_auth_mode="prefer_verified", nick_auth_directory_ids=None,
                 limits: Limits | None = None) -> ClientConfig:
    if isinstance(directory_servers, str) or not directory_servers:
        raise ValueError("directory_servers: need a non-empty list of 'host:port' strings")
    directories = tuple(dict.fromkeys(
        normalize_directory(s, allow_clearnet) for s in directory_servers))
    _require_positive("connection_timeout", connection_timeout)
    flags = {"neutrino_compat": neutrino_compat,
             "prefer_direct_connections": prefer_direct_connections,
             "stream_isolation": stream_isolation, "allow_clearnet": allow_clearnet}
    for field, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"{field}: must be True or False, got {value!r}")
    nick_auth_mode = nick_auth_mode_value(nick_auth_mode)
    pins = pinned_directory_ids(nick_auth_directory_ids, directories)
    return ClientConfig(
        directories=directories, network=network,
        socks=SocksConfig(host=socks_host, port=socks_port, stream_isolation=bool(stream_isolation),
                          allow_clearnet=bool(allow_clearnet)),
        connection_timeout=float(connection_timeout), neutrino_compat=bool(neutrino_compat),
        prefer_direct=bool(prefer_direct_connections), our_location=our_location,
        nick_auth_mode=nick_auth_mode, nick_auth_directory_ids=pins, limits=limits or Limits())
