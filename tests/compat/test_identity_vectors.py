"""Signing through joinmarket-ng's identity interface reproduces the spec vectors.

An NG-style identity (``sign_message(message, hostid) -> "<message> <pubkey> <sig>"``,
written here independently of ``protocol.crypto``) signs the vectors' data with hostid
``onion-network`` byte for byte as the vectors say (RFC 6979 makes it deterministic),
and the client's line builder and nick-auth proof, signing through it, reproduce the
vector lines. Vectors: tests/data/vectors.json (a copy of the shared spec's).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol.crypto import ONION_HOSTID, NickIdentity
from protocol.identity import SigningIdentity, build_privmsg, check_identity
from protocol.nickauth import build_proof, parse_challenge
from tests.helpers.ngstyle import NgStyleIdentity

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "vectors.json").read_text())
KEYS = {v["nick"]: bytes.fromhex(v["privkey_hex"]) for v in VECTORS["identities"].values()}
LINES = [v for v in VECTORS["signed_privmsg_lines"]
         if v["valid"] and v["nick_matches_pubkey"] and v["from"] in KEYS]
ENVELOPE_LINES = [json.loads(e)["line"] for e in VECTORS["envelopes"]]


@pytest.mark.parametrize("vector", LINES, ids=lambda v: v["command"])
def test_ng_style_sign_message_matches_the_vector_encoding(vector):
    identity = NgStyleIdentity(private_key_bytes=KEYS[vector["from"]])
    signed = identity.sign_message(vector["signed_data"], ONION_HOSTID)
    pubkey, signature = vector["line"].rsplit(" ", 2)[1:]
    assert signed == f"{vector['signed_data']} {pubkey} {signature}"
    ours = NickIdentity(KEYS[vector["from"]])
    assert ours.sign_message(vector["signed_data"], ONION_HOSTID) == signed


@pytest.mark.parametrize("vector", LINES, ids=lambda v: v["command"])
def test_client_lines_signed_through_an_ng_identity_are_the_vector_lines(vector):
    identity = NgStyleIdentity(private_key_bytes=KEYS[vector["from"]])
    line = build_privmsg(identity, vector["to"], vector["command"], vector["signed_data"])
    assert line == vector["line"]


def test_nick_auth_proof_signed_through_an_ng_identity_is_the_vector():
    handshake, challenge, proof = ENVELOPE_LINES[:3]
    identity = NgStyleIdentity(private_key_bytes=b"\x11" * 32)
    assert build_proof(identity, parse_challenge(challenge), handshake) == proof
    assert identity.signed and identity.signed[-1].startswith("nick-auth|")


def test_both_identities_satisfy_the_protocol():
    for identity in (NickIdentity(), NgStyleIdentity()):
        assert isinstance(identity, SigningIdentity)
        check_identity(identity)
