"""Validated client configuration (API.md "Construction"): errors at construction time."""

from __future__ import annotations

import msgspec

from actors.net.transport import SocksConfig, is_onion_host
from protocol.handshake import NETWORKS, NOT_SERVING

DEFAULT_DIRECTORY_PORT = 5222
NICK_AUTH_MODES = ("disabled", "prefer_verified", "require_verified")


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


class ClientConfig(msgspec.Struct, frozen=True):
    directories: tuple[str, ...]
    network: str
    socks: SocksConfig
    connection_timeout: float = 120.0
    neutrino_compat: bool = False
    prefer_direct: bool = True
    our_location: str = NOT_SERVING
    nick_auth_mode: str = "prefer_verified"
    peer_handshake_wait: float = 2.0
    #: NG directories route to a new peer only ~50 ms after DN_HANDSHAKE (PROTOCOL.md P20);
    #: until then replies addressed to us are dropped, so we wait before using one.
    routable_grace: float = 0.1
    limits: Limits = Limits()

    @property
    def features(self) -> frozenset[str]:
        base = {"peerlist_features", "ping"}
        if self.neutrino_compat:
            base.add("neutrino_compat")
        return frozenset(base)


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


def build_config(directory_servers, network, *, socks_host="127.0.0.1", socks_port=9050,
                 connection_timeout=120.0, neutrino_compat=False, prefer_direct_connections=True,
                 our_location=NOT_SERVING, stream_isolation=False, allow_clearnet=False,
                 nick_auth_mode="prefer_verified", limits: Limits | None = None) -> ClientConfig:
    if isinstance(directory_servers, str) or not directory_servers:
        raise ValueError("directory_servers: need a non-empty list of 'host:port' strings")
    directories = tuple(dict.fromkeys(
        normalize_directory(s, allow_clearnet) for s in directory_servers))
    if network not in NETWORKS:
        raise ValueError(f"network: {network!r} is not one of {sorted(NETWORKS)}")
    if not isinstance(connection_timeout, (int, float)) or connection_timeout <= 0:
        raise ValueError(f"connection_timeout: must be positive, got {connection_timeout!r}")
    if not isinstance(socks_port, int) or not 0 < socks_port < 65536:
        raise ValueError(f"socks_port: invalid port {socks_port!r}")
    if nick_auth_mode not in NICK_AUTH_MODES:
        raise ValueError(f"nick_auth_mode: {nick_auth_mode!r} is not one of {NICK_AUTH_MODES}")
    return ClientConfig(
        directories=directories, network=network,
        socks=SocksConfig(host=socks_host, port=socks_port, stream_isolation=bool(stream_isolation),
                          allow_clearnet=bool(allow_clearnet)),
        connection_timeout=float(connection_timeout), neutrino_compat=bool(neutrino_compat),
        prefer_direct=bool(prefer_direct_connections), our_location=our_location,
        nick_auth_mode=nick_auth_mode, limits=limits or Limits())
