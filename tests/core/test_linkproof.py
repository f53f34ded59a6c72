"""Proof before privilege (actors/core/linkproof.py): what proves a direct link."""

from actors.core.linkproof import proves_link
from protocol.crypto import NickIdentity
from protocol.jmmessage import parse_privmsg

MAKER, TAKER, OTHER = NickIdentity(), NickIdentity(), NickIdentity()


def signed(by: NickIdentity, to: str) -> object:
    return parse_privmsg(by.build_privmsg(to, "sw0reloffer", "0 27300 1000000000 0 0.00002"))


def test_a_message_signed_by_the_maker_to_us_proves_the_link():
    assert proves_link(signed(MAKER, TAKER.nick), MAKER.nick, TAKER.nick)


def test_anything_else_does_not():
    assert not proves_link(signed(OTHER, TAKER.nick), MAKER.nick, TAKER.nick)  # someone else
    assert not proves_link(signed(MAKER, OTHER.nick), MAKER.nick, TAKER.nick)  # not for us
    line = OTHER.build_privmsg(TAKER.nick, "sw0reloffer", "0 27300 1000000000 0 0.00002")
    claimed = parse_privmsg(line.replace(OTHER.nick, MAKER.nick, 1))  # M's nick, other key
    assert not proves_link(claimed, MAKER.nick, TAKER.nick)
