"""JoinMarket message lines carried by PRIVMSG/PUBMSG: ``from!to!cmd args...`` (PROTOCOL.md 5).

Only syntax lives here; signatures are checked by ``protocol.crypto`` on a
:class:`PrivMsg`, and offers are parsed by ``protocol.offers`` from the command
segments. Splitting follows REF exactly (single spaces, ``!`` between commands) so that
the ``data`` we hand to signature verification is byte-for-byte what the sender signed.
"""

import msgspec

from protocol.errors import LocalProtocolError, MessageError, ProtocolError

__all__ = [
    "COMMAND_PREFIX", "ENCRYPTED_COMMANDS", "MAX_NICK_LENGTH", "OFFER_TYPES",
    "PLAINTEXT_COMMANDS", "PRIVATE_COMMANDS", "PUBLIC", "PUBLIC_COMMANDS", "JMLine", "PrivMsg",
    "format_privmsg", "format_pubmsg", "normalize_command", "parse_jm_line", "parse_privmsg",
    "split_commands",
]

COMMAND_PREFIX = "!"
PUBLIC = "PUBLIC"
MAX_NICK_LENGTH = 64

OFFER_TYPES = frozenset(
    {"sw0reloffer", "sw0absoffer", "swreloffer", "swabsoffer", "reloffer", "absoffer"}
)
ENCRYPTED_COMMANDS = frozenset({"auth", "ioauth", "tx", "sig"})
PLAINTEXT_COMMANDS = (
    frozenset({"fill", "error", "pubkey", "orderbook", "push", "hp2"}) | OFFER_TYPES
)
PUBLIC_COMMANDS = frozenset({"hp2", "orderbook", "cancel"}) | OFFER_TYPES
# REF drops a privmsg whose command is not in this list before verifying it (4.4 step 3).
PRIVATE_COMMANDS = PLAINTEXT_COMMANDS | ENCRYPTED_COMMANDS

_MIN_PRIVMSG_TOKENS = 4  # command, at least one data token, pubkey, signature


class JMLine(msgspec.Struct, frozen=True):
    """A line split into its two nicks and the command text after the second ``!``."""

    from_nick: str
    to_nick: str
    body: str


class PrivMsg(msgspec.Struct, frozen=True):
    """A signed private message; ``data`` is exactly the text the signature covers."""

    from_nick: str
    to_nick: str
    command: str
    data: str
    pubkey_hex: str
    sig_b64: str


def normalize_command(cmd: str) -> str:
    """Drop leading ``!`` so ``"!fill"`` and ``"fill"`` name the same command (case kept)."""
    return cmd.lstrip(COMMAND_PREFIX)


def _check_nick(nick: str, role: str, error: type[ProtocolError] = MessageError) -> None:
    if not nick:
        raise error(f"empty {role} nick")
    if len(nick) > MAX_NICK_LENGTH:
        raise error(f"{role} nick is {len(nick)} chars, limit {MAX_NICK_LENGTH}")


def parse_jm_line(line: str) -> JMLine:
    """Split ``from!to!body``; the body keeps any further ``!`` for :func:`split_commands`."""
    parts = line.split(COMMAND_PREFIX, 2)
    if len(parts) < 3:
        raise MessageError(f"JM line has {len(parts) - 1} '!' separators, need 2: {line[:80]!r}")
    from_nick, to_nick, body = parts
    _check_nick(from_nick, "from")
    _check_nick(to_nick, "to")
    return JMLine(from_nick, to_nick, body)


def split_commands(body: str) -> tuple[tuple[str, str], ...]:
    """``(command, args)`` for each ``!``-separated segment, e.g. offers then ``tbond``.

    Empty segments (a leading ``!`` from a double bang, or ``!!``) are skipped; a
    segment that starts with a space has no command word and is rejected.
    """
    commands = []
    for index, segment in enumerate(body.split(COMMAND_PREFIX)):
        if not segment:
            continue
        command, _, args = segment.partition(" ")
        if not command:
            raise MessageError(f"command segment {index} has no command word: {segment[:40]!r}")
        commands.append((command, args))
    return tuple(commands)


def parse_privmsg(line: str) -> PrivMsg:
    """Split a private line into command, signed data, pubkey and signature (4.4 steps 1-2)."""
    jm = parse_jm_line(line)
    tokens = jm.body.split(" ")
    if len(tokens) < _MIN_PRIVMSG_TOKENS:
        raise MessageError(
            f"privmsg from {jm.from_nick!r} has {len(tokens)} space-separated tokens, "
            f"need at least {_MIN_PRIVMSG_TOKENS} (command, data, pubkey, signature)"
        )
    command = normalize_command(tokens[0])
    data = " ".join(tokens[1:-2])
    pubkey_hex, sig_b64 = tokens[-2], tokens[-1]
    if not command:
        raise MessageError(f"privmsg from {jm.from_nick!r} has an empty command")
    if not data:
        raise MessageError(f"privmsg {command!r} from {jm.from_nick!r} has empty data")
    if not pubkey_hex or not sig_b64:
        raise MessageError(f"privmsg {command!r} from {jm.from_nick!r} lacks pubkey or signature")
    return PrivMsg(jm.from_nick, jm.to_nick, command, data, pubkey_hex, sig_b64)


def _check_outgoing_nick(nick: str, role: str) -> None:
    _check_nick(nick, role, LocalProtocolError)
    if COMMAND_PREFIX in nick or any(c.isspace() for c in nick):
        raise LocalProtocolError(f"{role} nick {nick!r} contains '!' or whitespace")


def format_pubmsg(from_nick: str, body: str) -> str:
    """``from!PUBLIC!body`` with exactly one ``!`` before the body (no double bang, P13)."""
    _check_outgoing_nick(from_nick, "from")
    body = body.lstrip(COMMAND_PREFIX)
    if not body:
        raise LocalProtocolError("public message body is empty")
    return f"{from_nick}{COMMAND_PREFIX}{PUBLIC}{COMMAND_PREFIX}{body}"


def format_privmsg(
    from_nick: str, to_nick: str, command: str, data: str, pubkey_hex: str, sig_b64: str
) -> str:
    """Assemble ``from!to!cmd data pubkey sig`` so that :func:`parse_privmsg` inverts it."""
    _check_outgoing_nick(from_nick, "from")
    _check_outgoing_nick(to_nick, "to")
    command = normalize_command(command)
    if not command or " " in command or COMMAND_PREFIX in command:
        raise LocalProtocolError(f"invalid privmsg command {command!r}")
    if not data:
        raise LocalProtocolError(
            f"privmsg {command!r} needs non-empty data (REF rejects empty data)")
    if "\r" in data or "\n" in data:
        raise LocalProtocolError(f"privmsg {command!r} data contains a line break")
    for name, token in (("pubkey", pubkey_hex), ("signature", sig_b64)):
        if not token or " " in token:
            raise LocalProtocolError(f"privmsg {name} must be one non-empty token, got {token!r}")
    bang = COMMAND_PREFIX
    return f"{from_nick}{bang}{to_nick}{bang}{command} {data} {pubkey_hex} {sig_b64}"
