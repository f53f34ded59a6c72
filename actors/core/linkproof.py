"""Proof before privilege for direct links (ARCHITECTURE.md 9.5), as pure functions.

A maker's 793 handshake is an unsigned claim: anyone can answer a dial with another
maker's nick, and a hostile directory can advertise any onion as a maker's location. A
direct link therefore carries our traffic for maker M only once it has *proved* it is
M: a privmsg to us, from M, whose signature verifies under a key that derives M's nick
(PROTOCOL.md 4.4), has arrived over that link. To get one without starting a session,
the PeerActor asks for it: a PUBMSG ``!orderbook`` on the link, which both REF and NG
makers answer with signed offer privmsgs over the same link (PROTOCOL.md 8.3, 8.5).

Known limit (docs/architecture.md): the JoinMarket signature covers only the message
data, not the recipient or a nonce, so a party that captured M's signed lines to us
(a hostile relay) could replay them over an impostor link. It still cannot decrypt
anything sent under M's encryption key; the plain-text session start (``!fill``) is
what it could read, and a relay sees that anyway.
"""

from __future__ import annotations

from protocol.crypto import verify_privmsg
from protocol.errors import ProtocolError
from protocol.jmmessage import PrivMsg

__all__ = ["PROOF_REQUEST", "proves_link"]

#: What we send on a fresh direct link to make the maker sign something for us.
PROOF_REQUEST = "orderbook"


def proves_link(msg: PrivMsg, link_nick: str, our_nick: str) -> bool:
    """Whether ``msg``, received over the link dialled for ``link_nick``, proves the link."""
    if msg.from_nick != link_nick or msg.to_nick != our_nick:
        return False
    try:
        verify_privmsg(msg)
    except ProtocolError:
        return False
    return True
