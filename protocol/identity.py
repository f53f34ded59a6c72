"""Any object with joinmarket-ng's identity interface can sign for the client (API.md drop-in rule).

A taker written against joinmarket-ng passes *its own* identity class: attributes
``nick`` and ``public_key_hex`` and ``sign_message(message, hostid) ->
"<message> <pubkey_hex> <sig_base64>"`` (the signature covers ``message + hostid``).
:class:`SigningIdentity` is that interface as a structural Protocol, so nothing here
imports joinmarket-ng, and our :class:`protocol.crypto.NickIdentity` satisfies it too.

Every signature the client makes goes through ``sign_message``: privmsgs (hostid
``onion-network``) and nick-auth proofs (the transcript as the message, empty hostid).
:func:`check_identity` refuses, at construction, an object whose nick is not derived
from its key or whose ``sign_message`` does not produce a verifiable signature in that
exact format — a wrong encoding would otherwise surface as makers silently ignoring us.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from protocol.crypto import ONION_HOSTID, nick_from_pubkey, verify_message
from protocol.errors import LocalProtocolError
from protocol.jmmessage import format_privmsg

__all__ = ["SigningIdentity", "build_privmsg", "check_identity", "signature_of"]

_PROBE = "jm-multidir identity self-check"


@runtime_checkable
class SigningIdentity(Protocol):
    """joinmarket-ng's ``NickIdentity`` interface, which the client signs through."""

    @property
    def nick(self) -> str: ...

    @property
    def public_key_hex(self) -> str: ...

    def sign_message(self, message: str, hostid: str = "") -> str: ...


def check_identity(identity: object, argument: str = "nick_identity") -> None:
    """Raise ``ValueError`` naming ``argument`` unless ``identity`` can sign for the client."""
    missing = [name for name in ("nick", "public_key_hex", "sign_message")
               if not hasattr(identity, name)]
    if missing or not callable(getattr(identity, "sign_message", None)):
        raise ValueError(
            f"{argument}: {type(identity).__name__} lacks {', '.join(missing) or 'a callable'} "
            "sign_message; expected .nick, .public_key_hex and "
            ".sign_message(message, hostid) -> '<message> <pubkey_hex> <sig_base64>'")
    nick, pubkey = identity.nick, identity.public_key_hex
    if not isinstance(nick, str) or not isinstance(pubkey, str):
        raise ValueError(f"{argument}: .nick and .public_key_hex must be str")
    if nick_from_pubkey(pubkey) != nick:
        raise ValueError(f"{argument}: nick {nick[:64]!r} is not derived from public_key_hex")
    try:
        signature = signature_of(identity, _PROBE, ONION_HOSTID)
    except LocalProtocolError as exc:
        raise ValueError(f"{argument}: {exc}") from None
    if not verify_message(pubkey, (_PROBE + ONION_HOSTID).encode("utf-8"), signature):
        raise ValueError(f"{argument}: sign_message(message, hostid) does not sign "
                         "message + hostid with the key of public_key_hex")


def signature_of(identity: SigningIdentity, message: str, hostid: str) -> str:
    """The base64 signature ``identity`` makes over ``message + hostid``.

    The result of ``sign_message`` must be exactly ``message``, our public key and one
    signature token; anything else is a ``LocalProtocolError`` (the identity is ours, so
    the fault is too) rather than a line that no maker would accept.
    """
    signed = identity.sign_message(message, hostid)
    prefix = f"{message} {identity.public_key_hex} "
    if not isinstance(signed, str) or not signed.startswith(prefix):
        raise LocalProtocolError(
            "sign_message must return '<message> <pubkey_hex> <sig_base64>'")
    signature = signed[len(prefix):]
    if not signature or " " in signature:
        raise LocalProtocolError("sign_message must end with exactly one signature token")
    return signature


def build_privmsg(identity: SigningIdentity, to_nick: str, command: str, data: str) -> str:
    """The complete signed JM line ``from!to!cmd data pubhex sig`` (PROTOCOL.md §4.3)."""
    signature = signature_of(identity, data, ONION_HOSTID)
    return format_privmsg(identity.nick, to_nick, command, data, identity.public_key_hex, signature)
