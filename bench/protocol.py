"""Throughput of the hot protocol paths, each next to a same-run baseline.

Absolute ops/s depend on the machine; the ratio to a baseline measured in the same run
(stdlib JSON, a bare libsecp256k1 verify, plain ``str.split``) shows how much our
validation costs on top of the unavoidable work. Informational only: no assertions.
"""

import base64
import json
import sys
import time
from pathlib import Path

import coincurve

# This script is itself named protocol.py: replace its directory on the import path
# with the repository root so ``import protocol`` finds the package, not this file.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from protocol.crypto import (  # noqa: E402
    ONION_HOSTID,
    bitcoin_message_hash,
    parse_and_verify_privmsg,
)
from protocol.envelope import decode_envelope  # noqa: E402
from protocol.offers import parse_offer_body  # noqa: E402

DURATION = 0.6  # seconds per measurement

FILL_LINE = (  # PROTOCOL.md §4.5
    "J52N8GdNkKtMA6TW!J59cTYvZJZEbjWk4!fill 0 5000000 "
    "abababababababababababababababababababababababababababababababab "
    "Pcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd "
    "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa "
    "MEQCICHaUVIwrnz+VSK7x9ZHXwik/a2paR/SSQyy381mHLty"
    "AiA5LwxcG0IlQvv9yvq1V8wHrMrHJbrJICv7e1TpeuvCqA=="
)
ENVELOPE = json.dumps({"type": 685, "line": FILL_LINE}).encode()
OFFER_BODY = "!".join(
    f"sw0{kind}offer {oid} 27300 {1_000_000_000 + oid} 0 {'0.00002' if kind == 'rel' else 1000}"
    for oid, kind in enumerate(["rel", "abs"] * 5)
)


def ops_per_second(fn) -> float:
    count, start = 0, time.perf_counter()
    deadline = start + DURATION
    while time.perf_counter() < deadline:
        for _ in range(100):
            fn()
        count += 100
    return count / (time.perf_counter() - start)


def report(name: str, ours, baseline_name: str, baseline) -> None:
    ours_rate, base_rate = ops_per_second(ours), ops_per_second(baseline)
    print(
        f"{name:<28} {ours_rate:>12,.0f} ops/s   {baseline_name:<26} {base_rate:>12,.0f} ops/s"
        f"   ratio {ours_rate / base_rate:5.2f}"
    )


def main() -> None:
    _, _, rest = FILL_LINE.split("!", 2)
    tokens = rest.split(" ")
    pubkey = coincurve.PublicKey(bytes.fromhex(tokens[-2]))
    der = base64.b64decode(tokens[-1])
    digest = bitcoin_message_hash((" ".join(tokens[1:-2]) + ONION_HOSTID).encode())

    print(f"python {sys.version.split()[0]}, {DURATION}s per measurement\n")
    report("envelope decode", lambda: decode_envelope(ENVELOPE),
           "json.loads (same bytes)", lambda: json.loads(ENVELOPE))
    report("privmsg parse+verify", lambda: parse_and_verify_privmsg(FILL_LINE),
           "bare coincurve verify", lambda: pubkey.verify(der, digest, hasher=None))
    report("offer body (10 offers)", lambda: parse_offer_body(OFFER_BODY),
           "str.split segments+fields", lambda: [s.split(" ") for s in OFFER_BODY.split("!")])


if __name__ == "__main__":
    main()
