"""Handshake payloads: client/peer HANDSHAKE (793) and DN_HANDSHAKE (795), PROTOCOL.md 3 and 8.2.

Building reproduces the exact bytes REF/NG send (REF key order, ``json.dumps``
defaults, features sorted as NG does) because nick-auth hashes our handshake string
verbatim (PROTOCOL.md 9.3). Parsing checks shapes and types only; whether we *accept*
the remote is a separate decision made by :func:`check_directory_reply` and
:func:`check_peer_handshake`, so callers can log what a rejected peer actually said.
"""

import json
from collections.abc import Iterable
from typing import Any

import msgspec

from protocol.errors import HandshakeError, HandshakeRejectedError, LocalProtocolError

__all__ = [
    "APP_NAME", "NETWORKS", "NOT_SERVING", "PROTO_VER", "DirectoryHandshake", "PeerHandshake",
    "build_directory_handshake", "build_peer_handshake", "check_directory_reply",
    "check_peer_handshake", "is_onion_v3_host", "is_valid_location",
    "parse_directory_handshake", "parse_peer_handshake",
]

APP_NAME = "joinmarket"
PROTO_VER = 5
NOT_SERVING = "NOT-SERVING-ONION"
NETWORKS = frozenset({"mainnet", "testnet", "signet", "regtest"})

_MAX_PORT_DIGITS = 5  # also keeps int() away from Python's huge-number parsing limit
_ONION_SUFFIX = ".onion"
_BASE32_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz234567")
_LOCATION_FORBIDDEN = frozenset(",;!")  # would break peerlist or JM-line splitting
# NG makers treat testnet and signet as one network on direct links (PROTOCOL.md 8.2).
_EQUIVALENT_NETWORKS = {"signet": "testnet"}


class PeerHandshake(msgspec.Struct, frozen=True):
    """A client-format handshake (sent to directories and on direct peer links)."""

    nick: str
    location: str
    network: str
    features: frozenset[str]
    app_name: str = APP_NAME
    directory: bool = False
    proto_ver: int = PROTO_VER


class DirectoryHandshake(msgspec.Struct, frozen=True):
    """A directory's DN_HANDSHAKE reply."""

    nick: str
    network: str
    features: frozenset[str]
    accepted: bool
    motd: str
    proto_ver_min: int = PROTO_VER
    proto_ver_max: int = PROTO_VER
    app_name: str = APP_NAME
    directory: bool = True


# Wire shapes: msgspec enforces presence and exact JSON types (a bool is not an int).
class _WirePeer(msgspec.Struct):
    app_name: str = msgspec.field(name="app-name")
    directory: bool
    location: str = msgspec.field(name="location-string")
    proto_ver: int = msgspec.field(name="proto-ver")
    features: dict[str, Any]
    nick: str
    network: str


class _WireDirectory(msgspec.Struct):
    app_name: str = msgspec.field(name="app-name")
    directory: bool
    features: dict[str, Any]
    accepted: bool
    nick: str
    network: str
    motd: str = ""
    # NG fallback (PROTOCOL.md 3.4): a lone proto-ver, else 5, when min/max are absent.
    proto_ver_min: int | None = msgspec.field(name="proto-ver-min", default=None)
    proto_ver_max: int | None = msgspec.field(name="proto-ver-max", default=None)
    proto_ver: int = msgspec.field(name="proto-ver", default=PROTO_VER)


_PEER_DECODER = msgspec.json.Decoder(_WirePeer)
_DIRECTORY_DECODER = msgspec.json.Decoder(_WireDirectory)


def _decode(decoder: msgspec.json.Decoder, line: str, what: str) -> Any:
    try:
        return decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise HandshakeError(f"invalid {what}: {exc}") from None
    except UnicodeError:
        raise HandshakeError(f"invalid {what}: text contains unencodable surrogates") from None
    except RecursionError:
        raise HandshakeError(f"invalid {what}: JSON nested too deeply") from None


def _true_features(features: dict[str, Any]) -> frozenset[str]:
    """Only a literal ``true`` advertises a feature; other values are foreign data."""
    return frozenset(name for name, value in features.items() if value is True)


def _features_json(features: Iterable[str]) -> dict[str, bool]:
    names = set(features)
    for name in names:
        if not isinstance(name, str) or not name:
            raise LocalProtocolError(f"feature names must be non-empty strings, got {name!r}")
    return {name: True for name in sorted(names)}


def _require_nick_and_network(nick: str, network: str) -> None:
    if not isinstance(nick, str) or not nick:
        raise LocalProtocolError(f"handshake nick must be a non-empty string, got {nick!r}")
    if network not in NETWORKS:
        raise LocalProtocolError(f"unknown network {network!r}; expected one of {sorted(NETWORKS)}")


def build_peer_handshake(
    nick: str, network: str, features: Iterable[str] = (), location: str = NOT_SERVING
) -> str:
    """The inner ``line`` of our HANDSHAKE (793), byte-identical to what REF/NG emit."""
    _require_nick_and_network(nick, network)
    if not is_valid_location(location):
        raise LocalProtocolError(f"invalid location-string {location!r}")
    return json.dumps({
        "app-name": APP_NAME,
        "directory": False,
        "location-string": location,
        "proto-ver": PROTO_VER,
        "features": _features_json(features),
        "nick": nick,
        "network": network,
    })


def parse_peer_handshake(line: str) -> PeerHandshake:
    """Decode a 793 payload; every REF-required key must be present with the right type."""
    wire = _decode(_PEER_DECODER, line, "peer handshake")
    return PeerHandshake(
        nick=wire.nick,
        location=wire.location,
        network=wire.network,
        features=_true_features(wire.features),
        app_name=wire.app_name,
        directory=wire.directory,
        proto_ver=wire.proto_ver,
    )


def build_directory_handshake(
    nick: str, network: str, features: Iterable[str], accepted: bool, motd: str
) -> str:
    """The inner ``line`` of a DN_HANDSHAKE (795), as REF/NG directories send it."""
    _require_nick_and_network(nick, network)
    return json.dumps({
        "app-name": APP_NAME,
        "directory": True,
        "proto-ver-min": PROTO_VER,
        "proto-ver-max": PROTO_VER,
        "features": _features_json(features),
        "accepted": bool(accepted),
        "nick": nick,
        "network": network,
        "motd": str(motd),
    })


def parse_directory_handshake(line: str) -> DirectoryHandshake:
    """Decode a 795 payload; ``motd`` may be absent (REF never reads it)."""
    wire = _decode(_DIRECTORY_DECODER, line, "directory handshake")
    return DirectoryHandshake(
        nick=wire.nick,
        network=wire.network,
        features=_true_features(wire.features),
        accepted=wire.accepted,
        motd=wire.motd,
        proto_ver_min=wire.proto_ver if wire.proto_ver_min is None else wire.proto_ver_min,
        proto_ver_max=wire.proto_ver if wire.proto_ver_max is None else wire.proto_ver_max,
        app_name=wire.app_name,
        directory=wire.directory,
    )


def check_directory_reply(reply: DirectoryHandshake, network: str) -> None:
    """Accept a directory only if it took us and speaks our protocol on our network."""
    if not reply.accepted:
        raise HandshakeRejectedError(f"directory rejected the handshake: motd {reply.motd!r}")
    if reply.app_name.lower() != APP_NAME:
        raise HandshakeRejectedError(f"directory app-name is {reply.app_name!r}, not {APP_NAME!r}")
    if not reply.directory:
        raise HandshakeRejectedError("directory reply has directory=false")
    if not reply.proto_ver_min <= PROTO_VER <= reply.proto_ver_max:
        raise HandshakeRejectedError(
            f"directory supports proto-ver {reply.proto_ver_min}..{reply.proto_ver_max}, "
            f"not {PROTO_VER}"
        )
    if reply.network != network:
        raise HandshakeRejectedError(
            f"directory is on network {reply.network!r}, we are on {network!r}"
        )


def check_peer_handshake(hs: PeerHandshake, network: str) -> None:
    """Validate a maker's 793 on a direct link the way NG takers do (PROTOCOL.md 8.2).

    The location is not checked: we dialled the peer, so we already know where it is,
    and NG treats a garbled location as not-serving rather than as a reason to refuse.
    """
    if hs.app_name.lower() != APP_NAME:
        raise HandshakeRejectedError(f"peer app-name is {hs.app_name!r}, not {APP_NAME!r}")
    if hs.directory:
        raise HandshakeRejectedError("peer handshake claims directory=true")
    if hs.proto_ver != PROTO_VER:
        raise HandshakeRejectedError(f"peer proto-ver is {hs.proto_ver}, not {PROTO_VER}")
    if _EQUIVALENT_NETWORKS.get(hs.network, hs.network) != _EQUIVALENT_NETWORKS.get(
        network, network
    ):
        raise HandshakeRejectedError(f"peer is on network {hs.network!r}, we are on {network!r}")


def is_valid_location(loc: str) -> bool:
    """REF's rule: ``NOT-SERVING-ONION`` or ``host:port`` with an integer port 1..65535.

    Hosts may not contain whitespace, ``,``, ``;`` or ``!``: those would corrupt the
    peerlist or JM-line grammar wherever the location is echoed.
    """
    if loc == NOT_SERVING:
        return True
    host, sep, port = loc.rpartition(":")
    if not sep or not host or not port or len(port) > _MAX_PORT_DIGITS:
        return False
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        return False
    return not any(c.isspace() or c in _LOCATION_FORBIDDEN for c in host)


def is_onion_v3_host(host: str) -> bool:
    """True for a lowercase Tor v3 onion name: 56 base32 characters then ``.onion``."""
    name = host[: -len(_ONION_SUFFIX)]
    return (
        host.endswith(_ONION_SUFFIX)
        and len(name) == 56
        and all(c in _BASE32_LOWER for c in name)
    )
