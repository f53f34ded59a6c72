"""``NickIdentity.sign_message``: joinmarket-ng's identity interface on our own class.

The client signs every privmsg and nick-auth proof through this method (so a taker may
pass NG's identity instead of ours); its exact output is the contract.
"""

from __future__ import annotations

import pytest

from protocol.crypto import ONION_HOSTID, NickIdentity, verify_message
from tests.helpers.testdata import load_vectors

IDENT = NickIdentity(b"\x07" * 32)


def _parts(signed: str, message: str) -> tuple[str, str]:
    assert signed.startswith(message + " ")
    pubkey, signature = signed[len(message) + 1:].split(" ")
    return pubkey, signature


@pytest.mark.parametrize("message", ["hello", "0 1 abc", "caf\u00e9 \u2603"])
def test_the_output_is_message_pubkey_signature(message):
    pubkey, signature = _parts(IDENT.sign_message(message, ONION_HOSTID), message)
    assert pubkey == IDENT.public_key_hex
    assert verify_message(pubkey, (message + ONION_HOSTID).encode("utf-8"), signature)
    assert not verify_message(pubkey, message.encode("utf-8"), signature)  # hostid is signed


def test_without_a_hostid_only_the_message_is_signed():
    pubkey, signature = _parts(IDENT.sign_message("hello"), "hello")
    assert verify_message(pubkey, b"hello", signature)
    assert not verify_message(pubkey, b"hello" + ONION_HOSTID.encode(), signature)


def test_it_signs_what_sign_bytes_signs():
    message, hostid = "0 1 abc", "onion-network"
    _, signature = _parts(IDENT.sign_message(message, hostid), message)
    assert signature == IDENT.sign_bytes((message + hostid).encode("utf-8"))  # RFC 6979


def test_it_reproduces_the_signed_vector_lines():
    """Every valid signed line in vectors.json whose signer we hold ends with exactly
    ``sign_message(signed_data, "onion-network")`` (signatures are deterministic)."""
    vectors = load_vectors()
    keys = {who["pubkey_hex"]: who["privkey_hex"] for who in vectors["identities"].values()}
    checked = 0
    for entry in vectors["signed_privmsg_lines"]:
        if not entry["valid"] or entry["pubkey_hex"] not in keys:
            continue
        ident = NickIdentity(bytes.fromhex(keys[entry["pubkey_hex"]]))
        assert entry["line"].endswith(ident.sign_message(entry["signed_data"], ONION_HOSTID))
        checked += 1
    assert checked >= 2
