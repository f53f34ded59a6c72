"""Property tests: parsers raise only ProtocolError, and what they accept re-serialises to
what they parsed; builders round-trip; the unmutated seeds parse to known values.

Covers framing, envelope, handshake, peerlist and jmmessage. Example counts are sized so
the whole file runs in a few seconds while still trying a few thousand inputs. Each fuzz
test checks an oracle on every *accepted* input, so a parser that rejected everything,
or accepted garbage it cannot reproduce, would fail.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.envelope import Envelope, decode_envelope, encode_envelope
from protocol.errors import ProtocolError
from protocol.framing import LineBuffer, frame
from protocol.handshake import (
    NETWORKS, build_directory_handshake, build_peer_handshake, is_onion_v3_host,
    is_valid_location, parse_directory_handshake, parse_peer_handshake,
)
from protocol.jmmessage import (
    PrivMsg, format_privmsg, format_pubmsg, parse_jm_line, parse_privmsg, split_commands,
)
from protocol.peerlist import (
    PeerlistEntry, format_peerlist, parse_peerlist, parse_peerlist_lenient,
)
from tests.helpers.testdata import load_vectors

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VECTORS = load_vectors()
VALID_ENVELOPES = [e.encode() for e in VECTORS["envelopes"]]
VALID_PEERLIST = (
    "J59cTYvZJZEbjWk4;abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:5222;"
    "F:neutrino_compat+ping,J52N8GdNkKtMA6TW;NOT-SERVING-ONION;D,meta"
)
VALID_PRIVMSG = (
    "J59cTYvZJZEbjWk4!J52N8GdNkKtMA6TW!sw0reloffer 0 27300 1000000000 0 0.00002!tbond AAAA "
    "02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27 MEQCIC88dbVw=="
)

# Text biased towards the grammar's own separators so mutations hit interesting paths.
grammar_chars = st.sampled_from(list("!;,:+ DF{}[]\"\\\r\n0123456789abJ5-.") + ["\u00e9", "\x00"])
grammar_text = st.lists(st.one_of(grammar_chars, st.characters()), max_size=80).map("".join)
nick = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="!,;"),
               min_size=1, max_size=64)
token = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_characters="!"),
                min_size=1, max_size=20)
feature = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=",;+"),
                  min_size=1, max_size=12)
onion = st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=56, max_size=56).map(
    lambda s: s + ".onion")
location = st.one_of(
    st.just("NOT-SERVING-ONION"),
    st.tuples(onion, st.integers(1, 65535)).map(lambda t: f"{t[0]}:{t[1]}"),
)


@st.composite
def mutated(draw, seeds):
    """A valid input with a random slice replaced, inserted or deleted."""
    seed = draw(st.sampled_from(seeds))
    start = draw(st.integers(0, len(seed)))
    end = draw(st.integers(start, min(len(seed), start + 8)))
    filler = draw(st.binary(max_size=6) if isinstance(seed, bytes) else grammar_text)
    return seed[:start] + filler + seed[end:]


def _parsed_or_none(parse, value):
    """``parse(value)``, or None when it refuses with a ProtocolError (anything else escapes)."""
    try:
        return parse(value)
    except ProtocolError:
        return None


def _line_buffer_model(data: bytes) -> tuple[list[bytes], bytes]:
    """What a line splitter must produce for ``data``: complete lines and the remainder."""
    *complete, rest = data.split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in complete]
    return [line for line in lines if line], rest


# --- the seeds themselves parse to known values ----------------------------------------------


def test_seeds_parse_to_known_values():
    for raw in VALID_ENVELOPES:
        obj = json.loads(raw)
        assert decode_envelope(raw) == Envelope(obj["type"], obj["line"])
    peer = parse_peer_handshake(HANDSHAKE_SEEDS[0])
    assert (peer.nick, peer.network, peer.features) == ("J5a", "mainnet", frozenset({"ping"}))
    reply = parse_directory_handshake(HANDSHAKE_SEEDS[1])
    assert (reply.nick, reply.accepted, reply.motd) == ("J5d", True, "motd\nline")
    assert [e.nick for e in parse_peerlist(VALID_PEERLIST)] == ["J59cTYvZJZEbjWk4",
                                                                "J52N8GdNkKtMA6TW"]
    msg = parse_privmsg(VALID_PRIVMSG)
    assert (msg.command, msg.data) == ("sw0reloffer", "0 27300 1000000000 0 0.00002!tbond AAAA")
    assert split_commands(parse_jm_line("J5a!PUBLIC!cancel 0!cancel 1").body) == (
        ("cancel", "0"), ("cancel", "1"))


# --- parsers never raise anything else -------------------------------------------------


def _check_envelope(raw):
    env = _parsed_or_none(decode_envelope, raw)
    if env is not None:  # what was accepted re-encodes to an envelope that decodes the same
        assert decode_envelope(encode_envelope(env.type, env.line)) == env


@MORE
@given(st.one_of(st.binary(max_size=200), mutated(VALID_ENVELOPES)))
def test_decode_envelope_bytes_accepts_only_what_round_trips(raw):
    _check_envelope(raw)


@FAST
@given(st.one_of(grammar_text, st.text(max_size=100)))
def test_decode_envelope_text_accepts_only_what_round_trips(text):
    _check_envelope(text)


HANDSHAKE_SEEDS = [
    build_peer_handshake("J5a", "mainnet", ["ping"]),
    build_directory_handshake("J5d", "regtest", ["ping"], True, "motd\nline"),
]


@MORE
@given(st.one_of(grammar_text, mutated(HANDSHAKE_SEEDS)))
def test_handshake_parsers_accept_only_what_rebuilds(text):
    peer = _parsed_or_none(parse_peer_handshake, text)
    if peer is not None:  # the accepted fields, written back as a 793, parse the same
        assert parse_peer_handshake(json.dumps({
            "app-name": peer.app_name, "directory": peer.directory,
            "location-string": peer.location, "proto-ver": peer.proto_ver,
            "features": {f: True for f in peer.features}, "nick": peer.nick,
            "network": peer.network})) == peer
    reply = _parsed_or_none(parse_directory_handshake, text)
    if reply is not None:
        assert parse_directory_handshake(json.dumps({
            "app-name": reply.app_name, "directory": reply.directory,
            "features": {f: True for f in reply.features}, "accepted": reply.accepted,
            "nick": reply.nick, "network": reply.network, "motd": reply.motd,
            "proto-ver-min": reply.proto_ver_min, "proto-ver-max": reply.proto_ver_max})) == reply
    if is_onion_v3_host(text):
        assert text.endswith(".onion") and len(text) == 62
    if is_valid_location(text):
        assert 1 <= int(text.rpartition(":")[2]) <= 65535


@MORE
@given(st.one_of(grammar_text, mutated([VALID_PEERLIST])))
def test_peerlist_parsers_accept_only_what_reformats(text):
    strict = _parsed_or_none(parse_peerlist, text)
    entries, errors = parse_peerlist_lenient(text)
    if strict is not None:  # strict keeps lenient's good entries, which reformat as they are
        assert strict == entries
        bare = tuple(PeerlistEntry(e.nick, e.location, e.disconnected, frozenset())
                     for e in strict)
        assert parse_peerlist(format_peerlist(strict, include_features=False)) == bare
    else:  # strict refuses only a line whose every entry was bad
        assert errors and not entries
    assert len(entries) + len(errors) <= text.count(",") + 1


@MORE
@given(st.one_of(grammar_text, mutated([VALID_PRIVMSG, "J5a!PUBLIC!cancel 0!cancel 1"])))
def test_jm_parsers_accept_only_what_reassembles(text):
    jm = _parsed_or_none(parse_jm_line, text)
    if jm is not None:
        assert f"{jm.from_nick}!{jm.to_nick}!{jm.body}" == text
    msg = _parsed_or_none(parse_privmsg, text)
    if msg is not None:
        assert jm is not None and (msg.from_nick, msg.to_nick) == (jm.from_nick, jm.to_nick)
        assert jm.body.endswith(f" {msg.data} {msg.pubkey_hex} {msg.sig_b64}")
    commands = _parsed_or_none(split_commands, text)
    if commands is not None:
        assert all(cmd and "!" not in cmd and " " not in cmd for cmd, _ in commands)


@FAST
@given(st.lists(st.binary(max_size=60), max_size=10), st.integers(1, 50))
def test_line_buffer_matches_a_split_model_until_a_line_is_too_long(chunks, max_line):
    buf = LineBuffer(max_line=max_line)
    got, fed, error = [], b"", None
    for chunk in chunks:
        fed += chunk
        try:
            got += buf.feed(chunk)
        except ProtocolError as exc:
            error = exc
            break
    lines, rest = _line_buffer_model(fed)
    too_long = [line for line in lines if len(line) > max_line]
    if error is None:
        assert got == lines and buf.pending == len(rest) and not too_long
    else:
        assert too_long or len(rest.removesuffix(b"\r")) > max_line
        assert buf.pending == 0


# --- round trips ------------------------------------------------------------------------


@MORE
@given(st.integers(-(2**63), 2**63 - 1), st.text(max_size=60))
def test_envelope_round_trip_and_json_dumps_identity(type_, line):
    raw = encode_envelope(type_, line)
    assert raw == json.dumps({"type": type_, "line": line}).encode()
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in line):  # lone surrogates are not UTF-8
        assert decode_envelope(raw) == Envelope(type_, line)


@FAST
@given(nick, st.sampled_from(sorted(NETWORKS)), st.frozensets(st.text(min_size=1, max_size=10),
                                                              max_size=4), location)
def test_peer_handshake_round_trip(nick_, network, features, loc):
    line = build_peer_handshake(nick_, network, features, loc)
    hs = parse_peer_handshake(line)
    assert (hs.nick, hs.network, hs.features, hs.location) == (nick_, network, features, loc)
    assert build_peer_handshake(hs.nick, hs.network, hs.features, hs.location) == line


@FAST
@given(nick, st.sampled_from(sorted(NETWORKS)), st.frozensets(feature, max_size=4),
       st.booleans(), st.text(max_size=40))
def test_directory_handshake_round_trip(nick_, network, features, accepted, motd):
    reply = parse_directory_handshake(
        build_directory_handshake(nick_, network, features, accepted, motd))
    assert (reply.nick, reply.network, reply.features, reply.accepted, reply.motd) == (
        nick_, network, features, accepted, motd)


entry = st.builds(PeerlistEntry, nick, location, st.booleans(), st.frozensets(feature, max_size=3))


@MORE
@given(st.lists(entry, max_size=6))
def test_peerlist_round_trip(entries):
    with_features = format_peerlist(entries, include_features=True)
    assert parse_peerlist(with_features) == tuple(entries)
    assert parse_peerlist_lenient(with_features) == (tuple(entries), ())
    bare = parse_peerlist(format_peerlist(entries, include_features=False))
    assert bare == tuple(PeerlistEntry(e.nick, e.location, e.disconnected, frozenset())
                         for e in entries)


@MORE
@given(nick, nick, token, st.lists(token, min_size=1, max_size=5).map(" ".join), token, token)
def test_privmsg_round_trip(from_nick, to_nick, command, data, pub, sig):
    line = format_privmsg(from_nick, to_nick, command, data, pub, sig)
    assert parse_privmsg(line) == PrivMsg(from_nick, to_nick, command, data, pub, sig)


@FAST
@given(nick, st.lists(st.tuples(token, st.lists(token, max_size=3).map(" ".join)),
                      min_size=1, max_size=4))
def test_pubmsg_round_trip_through_split_commands(from_nick, commands):
    body = "!".join(f"{cmd} {args}" if args else cmd for cmd, args in commands)
    jm = parse_jm_line(format_pubmsg(from_nick, body))
    assert (jm.from_nick, jm.to_nick) == (from_nick, "PUBLIC")
    assert split_commands(jm.body) == tuple(commands)


@MORE
@given(st.lists(st.binary(min_size=1, max_size=30).filter(
           lambda b: b"\n" not in b and b"\r" not in b), max_size=12),
       st.lists(st.integers(1, 40), min_size=1, max_size=20), st.booleans())
def test_line_buffer_random_chunking_yields_same_lines(lines, cuts, bare_lf):
    wire = b"".join(line + b"\n" if bare_lf else frame(line) for line in lines)
    buf = LineBuffer(max_line=64)
    got, pos, i = [], 0, 0
    while pos < len(wire):
        size = cuts[i % len(cuts)]
        got += buf.feed(wire[pos:pos + size])
        pos, i = pos + size, i + 1
    assert got == lines and buf.pending == 0
