"""Forged replies are never attributed and forged offers/bonds never accepted; all counted.

Everything is injected by a directory straight into our connection (``DirectoryServer.inject``),
i.e. the worst case: a malicious relay that writes whatever ``from`` it likes (REF
directories do not check it). We hold the "victim" maker's identity only to make
genuine lines to tamper with; the forger signs with its own key.
"""

from __future__ import annotations

import base64

import pytest

from protocol import NickIdentity
from protocol.bond import create_bond_proof
from protocol.jmmessage import format_privmsg
from protocol.naclbox import NaclKeypair
from tests.helpers.hostile import privmsg_env
from tests.helpers.polling import wait_until

pytestmark = pytest.mark.timeout(60)

VICTIM = NickIdentity(b"\x21" * 32)
FORGER = NickIdentity(b"\x42" * 32)
NACL_HEX = NaclKeypair.from_secret(b"\x07" * 32).public_hex
OFFER = "0 27300 1000000000 0 0.00002"


def _bond(taker_nick: str, maker_nick: str) -> str:
    return create_bond_proof(b"\x31" * 32, b"\x32" * 32, 52, "cd" * 32, 0, 1_900_000_000,
                             taker_nick, maker_nick)


def _flip(b64: str, index: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def forged_replies(taker: str) -> dict[str, str]:
    genuine = VICTIM.build_privmsg(taker, "pubkey", NACL_HEX)
    pub, sig = FORGER.sign_privmsg(NACL_HEX)
    victim_sig = VICTIM.sign_privmsg(NACL_HEX)[1]
    embedded = f"{VICTIM.nick}!{taker}!pubkey {NACL_HEX} {VICTIM.public_key_hex} {victim_sig}"
    return {
        # the victim's nick and key, but the forger's signature
        "wrong_key_signature": format_privmsg(VICTIM.nick, taker, "pubkey", NACL_HEX,
                                              VICTIM.public_key_hex, sig),
        # the victim's nick with the forger's key and valid signature: nick ≠ key
        "nick_not_matching_key": format_privmsg(VICTIM.nick, taker, "pubkey", NACL_HEX, pub, sig),
        # a genuine line with its data changed after signing
        "tampered_data": genuine.replace(NACL_HEX, NACL_HEX[:-1] + ("0" if NACL_HEX[-1] != "0" else "1")),
        # a genuine line whose signature was replaced by one over other data
        "signature_from_other_data": genuine.rsplit(" ", 1)[0] + " " + VICTIM.sign_privmsg("x")[1],
        # no signature at all
        "unsigned": f"{VICTIM.nick}!{taker}!pubkey {NACL_HEX}",
    }, FORGER.build_privmsg(taker, "pubkey", embedded)


def test_forged_replies_are_never_attributed_and_are_counted(hostile):
    net, client = hostile(directories=("ng", "ref"), makers=0)
    taker = client.nick
    forged, embedding = forged_replies(taker)
    d0 = net.directories[0]
    for line in forged.values():
        assert d0.inject(taker, privmsg_env(line))
    # the forger's own, genuinely signed message that carries the victim's line as data
    assert d0.inject(taker, privmsg_env(embedding))
    replies = client.wait_for_responses([VICTIM.nick, FORGER.nick], "pubkey", timeout=1.5)
    assert VICTIM.nick not in replies  # none of the forgeries is the victim's
    # the embedding is attributed to its real (verified) sender, data and all
    assert replies[FORGER.nick]["args"].startswith(f"{VICTIM.nick}!{taker}!pubkey ")
    stats = client.stats()
    # four fail verification; the unsigned one does not even parse as a signed privmsg
    assert stats["privmsg_forged"] == 4, stats
    assert stats["privmsg_malformed"] == 1, stats
    # and a forgery must not poison the replay buffer for a later wait either
    assert client.wait_for_responses([VICTIM.nick], "pubkey", timeout=0.3) == {}
    assert not client.is_nick_active(VICTIM.nick)


def test_forged_offers_and_bonds_are_not_accepted(hostile):
    net, client = hostile(directories=("ng",), makers=0)
    taker = client.nick
    honest, bad_bond, other_taker, bad_cert = (NickIdentity() for _ in range(4))
    lines = [
        # control: a genuine offer with a genuine bond for us
        honest.build_privmsg(taker, "sw0reloffer", f"{OFFER}!tbond {_bond(taker, honest.nick)}"),
        # bond with one flipped byte in the nick signature / in the cert signature
        bad_bond.build_privmsg(taker, "sw0reloffer",
                               f"{OFFER}!tbond {_flip(_bond(taker, bad_bond.nick), 40)}"),
        bad_cert.build_privmsg(taker, "sw0reloffer",
                               f"{OFFER}!tbond {_flip(_bond(taker, bad_cert.nick), 110)}"),
        # bond made for another taker nick (replayed to us)
        other_taker.build_privmsg(taker, "sw0reloffer",
                                  f"{OFFER}!tbond {_bond(NickIdentity().nick, other_taker.nick)}"),
        # unsigned privmsg offer in a victim's name, and one with a forged signature
        f"{VICTIM.nick}!{taker}!sw0reloffer {OFFER}",
        format_privmsg(VICTIM.nick, taker, "sw0absoffer", "1 27300 1000000000 0 1000",
                       VICTIM.public_key_hex, FORGER.sign_privmsg("1 27300 1000000000 0 1000")[1]),
        # a bond with a bad length
        honest.build_privmsg(taker, "sw0absoffer", "7 27300 100000 0 10!tbond AAAA"),
    ]
    done = {}

    def inject_when_fetching():
        wait_until(lambda: any(b"orderbook" in line for line in net.directories[0].received_lines(taker)),
                   what="our !orderbook")
        for line in lines:
            net.directories[0].inject(taker, privmsg_env(line))
        done["ok"] = True

    import threading
    thread = threading.Thread(target=inject_when_fetching)
    thread.start()
    offers = client.fetch_orderbook(max_wait=3, min_wait=2, quiet_period=0.5)
    thread.join()
    assert done
    by_maker = {(o.counterparty, o.oid): o for o in offers}
    assert VICTIM.nick not in {o.counterparty for o in offers}
    assert by_maker[(honest.nick, 0)].fidelity_bond_data is not None  # the control
    assert by_maker[(honest.nick, 0)].verified
    for ident in (bad_bond, bad_cert, other_taker):
        offer = by_maker[(ident.nick, 0)]  # the signed offer itself stays ...
        assert offer.fidelity_bond_data is None  # ... but keeps no bond data
    stats = client.stats()
    assert stats["bonds_rejected"] == 4, stats  # three bad signatures + the bad length
    # both the unsigned and the badly signed victim offers fail verification
    assert stats["privmsg_forged"] == 2, stats


def test_a_verified_line_does_not_vouch_for_a_copy_with_another_key(hostile):
    """Regression: the Inbox's verify-once cache was keyed without the pubkey."""
    net, client = hostile(directories=("ng", "ref"), makers=0)
    taker = client.nick
    genuine = VICTIM.build_privmsg(taker, "pubkey", NACL_HEX)
    swapped = genuine.replace(VICTIM.public_key_hex, FORGER.public_key_hex)
    net.directories[0].inject(taker, privmsg_env(genuine))
    first = client.wait_for_response(VICTIM.nick, "pubkey", timeout=5)
    assert first is not None and VICTIM.public_key_hex in first["data"]
    net.directories[1].inject(taker, privmsg_env(swapped))
    wait_until(lambda: client.stats().get("privmsg_forged", 0) == 1, what="the swap to be caught")
    assert client.wait_for_responses([VICTIM.nick], "pubkey", timeout=0.3) == {}
