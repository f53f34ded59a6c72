"""The standalone process's TOML configuration, decoded into one frozen value.

Every table is a msgspec Struct with ``forbid_unknown_fields``, so a misspelt key or a
wrong type fails at start-up with an error naming the key (``client.directoriez``,
``limits.max_line``) instead of being silently ignored. Semantic checks that the client
would make later (directory addresses, loopback-only listeners) run here too, so a bad
file is always exit code 2 before anything connects. The reference for every key is
docs/operations.md; :data:`DEFAULT_CONFIG` is the commented file that
``jm-multidir --print-default-config`` prints.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec

from actors.api.config import Limits, normalize_directory

__all__ = ["ClientSettings", "DEFAULT_CONFIG", "DaemonSettings", "LimitsSettings", "LogLevel",
           "LoggingSettings", "MetricsSettings", "Network", "NickAuthMode", "ServiceSettings",
           "SettingsError", "SocksSettings", "load_settings", "parse_loopback",
           "settings_from_dict"]

Network = Literal["mainnet", "testnet", "signet", "regtest"]
NickAuthMode = Literal["disabled", "prefer_verified", "require_verified"]
LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[float, msgspec.Meta(gt=0)]


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the offending key."""


def parse_loopback(address: str, key: str) -> tuple[str, int]:
    """``"127.0.0.1:9477"`` / ``"[::1]:0"`` / ``"localhost:0"`` → (host, port).

    Anything that is not a loopback literal is refused: the process must never listen
    where another machine could reach it (port 0 asks the OS for a free port).
    """
    match = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", address)
    if match is None:
        raise ValueError(f"{key}: expected 'host:port', got {address!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{key}: {host!r} is not a loopback address; this process only "
                         "listens on 127.0.0.0/8 or ::1")
    if port > 65535:
        raise ValueError(f"{key}: port {port} out of range")
    return host, port


class _Table(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every table: immutable, keyword-only, unknown keys are errors."""


class ClientSettings(_Table):
    directories: tuple[str, ...] = ()
    network: Network = "mainnet"
    nick_auth_mode: NickAuthMode = "prefer_verified"
    stream_isolation: bool = True
    prefer_direct: bool = True
    connection_timeout: Positive = 120.0
    allow_clearnet: bool = False
    neutrino_compat: bool = False

    def __post_init__(self) -> None:
        for server in self.directories:
            try:
                normalize_directory(server, self.allow_clearnet)
            except ValueError as exc:  # reword the library's Python spelling as TOML
                message = str(exc).replace("directory_servers:", "directories:", 1)
                message = re.sub(r"(pass )?allow_clearnet=True",
                                 "set allow_clearnet = true in [client]", message)
                raise ValueError(message) from None


class SocksSettings(_Table):
    host: str = "127.0.0.1"
    port: Port = 9050


class LoggingSettings(_Table):
    level: LogLevel = "INFO"
    file: str = ""
    json: bool = False


class MetricsSettings(_Table):
    address: str = "127.0.0.1:9477"

    def __post_init__(self) -> None:
        parse_loopback(self.address, "address")


class DaemonSettings(_Table):
    """Read by ``actors.daemon.server`` (daemon mode); empty strings mean "disabled"/"default"."""

    socket: str = ""
    tcp: str = ""
    cookie: str = ""
    shared_identity: bool = True

    def __post_init__(self) -> None:
        if self.tcp:
            parse_loopback(self.tcp, "tcp")


class WatcherSettings(_Table):
    """Read by ``jm-multidir watch`` / ``run --watch`` (docs/watcher.md)."""

    interval: Positive = 60.0


def _limits_table() -> type:
    """A strict, positive-valued twin of :class:`Limits`, derived so the two never drift."""
    fields = [(f.name, Annotated[f.type, msgspec.Meta(gt=0)], f.default)
              for f in msgspec.structs.fields(Limits)]
    return msgspec.defstruct("LimitsSettings", fields, bases=(_Table,))


LimitsSettings = _limits_table()


class ServiceSettings(_Table):
    client: ClientSettings = ClientSettings()
    socks: SocksSettings = SocksSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    daemon: DaemonSettings = DaemonSettings()
    watcher: WatcherSettings = WatcherSettings()
    limits: LimitsSettings = LimitsSettings()  # type: ignore[valid-type]

    @property
    def client_limits(self) -> Limits:
        return Limits(**msgspec.structs.asdict(self.limits))

    @property
    def metrics_address(self) -> tuple[str, int]:
        return parse_loopback(self.metrics.address, "metrics.address")


def settings_from_dict(raw: dict[str, Any]) -> ServiceSettings:
    raw = _case_insensitive_level(raw)
    try:
        return msgspec.convert(raw, ServiceSettings)
    except msgspec.ValidationError as exc:
        raise SettingsError(_readable(str(exc))) from None


def load_settings(path: str | Path | None) -> ServiceSettings:
    """Read ``path`` (``None``: all defaults); every failure is a :class:`SettingsError`."""
    if path is None:
        return ServiceSettings()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    try:
        return settings_from_dict(raw)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None


def _case_insensitive_level(raw: dict[str, Any]) -> dict[str, Any]:
    """``level = "debug"`` means DEBUG, as ``--log-level debug`` does."""
    table = raw.get("logging") if isinstance(raw, dict) else None
    level = table.get("level") if isinstance(table, dict) else None
    if isinstance(level, str) and level.upper() in get_args(LogLevel):
        return {**raw, "logging": {**table, "level": table["level"].upper()}}
    return raw


def _choices(path: str) -> tuple[str, ...]:
    """The allowed values of the Literal-typed key at ``path`` (``client.network``), if any."""
    struct: Any = ServiceSettings
    for part in path.split("."):
        if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
            return ()
        field = next((f for f in msgspec.structs.fields(struct) if f.name == part), None)
        if field is None:
            return ()
        struct = field.type
    return tuple(get_args(struct)) if get_origin(struct) is Literal else ()


def _readable(message: str) -> str:
    """msgspec's ``"<what> - at `$.client.port`"`` → ``"client.port: <what>"``.

    Unknown-field errors point at the table, so the field name is folded in from the
    message; errors raised by ``__post_init__`` already start with the field name.
    """
    what, sep, where = message.rpartition(" - at `$")
    if not sep:
        what, where = message, ""
    path = where.rstrip("`").lstrip(".").replace("[", ".").replace("]", "")
    choices = _choices(path) if what.startswith("Invalid enum value") else ()
    if choices:
        what += f"; expected one of: {', '.join(choices)}"
    unknown = re.fullmatch(r"Object contains unknown field `([^`]+)`", what)
    if unknown:
        return f"{'.'.join(filter(None, (path, unknown.group(1))))}: unknown key"
    field = re.match(r"(\w+): ", what)
    if field and path and not path.endswith(field.group(1)):
        return f"{path}.{what}"
    return f"{path}: {what}" if path else what


_DEFAULT_TABLES = '''\
# jm-multidir configuration (TOML). Every key is optional; shown are the defaults.
# Reference: docs/operations.md.

[client]
# Directory servers as "<onion>:port" (port defaults to 5222). At least one is
# required unless a command runs with --localnet.
directories = []
network = "mainnet"                 # mainnet | testnet | signet | regtest
nick_auth_mode = "prefer_verified"  # disabled | prefer_verified | require_verified
stream_isolation = true             # one SOCKS credential per category (Tor IsolateSOCKSAuth)
prefer_direct = true                # talk to makers over direct onion links when possible
connection_timeout = 120.0          # seconds for SOCKS dial + handshake
allow_clearnet = false              # dial non-onion hosts directly: local testing only
neutrino_compat = false             # advertise the neutrino_compat feature

[socks]
host = "127.0.0.1"                  # Tor's SocksPort
port = 9050

[logging]
level = "INFO"                      # TRACE DEBUG INFO SUCCESS WARNING ERROR CRITICAL
file = ""                           # also log to this file (rotated at 50 MB); "" = stderr only
json = false                        # one JSON object per line instead of text

[metrics]
address = "127.0.0.1:9477"          # /healthz /readyz /metrics; loopback only; port 0 = any

[daemon]
socket = ""                         # unix socket path; "" = disabled
tcp = ""                            # "127.0.0.1:port"; "" = disabled
cookie = ""                         # auth cookie path; "" = next to the socket
shared_identity = true              # all daemon clients share one nick

[watcher]
interval = 60.0                     # watch / run --watch: seconds between orderbook fetches

[limits]
'''

#: Comments for the [limits] table of the default file; every Limits field is printed,
#: noted or not, so a cap added to the client appears here without an edit.
_LIMIT_NOTES = {
    "max_line": "bytes per line on peer links; JM-layer cap of a relayed line",
    "max_directory_line": "bytes per line on directory links (relays re-encode, up to 3x)",
    "max_tracked_nicks": "nicks held by the NickRegistry, shared equally by directories",
    "lost_directory_ttl": "seconds a lost directory's listings are kept",
    "max_offers": "offers kept per fetch_orderbook call, shared by sources",
    "max_offers_per_maker": "offers kept per maker per fetch",
    "max_pending_waits": "concurrent wait_for_responses calls",
    "replay_ttl": "seconds a reply that arrived outside a wait is kept",
    "replay_max": "replies kept for a later wait",
    "max_direct_peers": "direct maker connections, open or opening",
    "max_consecutive_bad_lines": "undecodable lines in a row before a link is dropped",
    "mailbox_high_water": "queued messages downstream before a reader pauses",
    "mailbox_low_water": "... and below which it resumes",
    "max_queued_batches": "batches queued at a connection actor before its reader pauses",
    "connection_high_water": "one connection's unhandled lines before its reader pauses",
    "connection_low_water": "... and below which it resumes",
    "max_lines_per_second": "lines one connection may deliver per second",
}


def _limits_defaults() -> str:
    lines = []
    for field in msgspec.structs.fields(Limits):
        line = f"{field.name} = {field.default!r}"
        note = _LIMIT_NOTES.get(field.name)
        lines.append(f"{line:<36}# {note}" if note else line)
    return "\n".join(lines) + "\n"


DEFAULT_CONFIG = _DEFAULT_TABLES + _limits_defaults()
