"""Offer segments, cancels and offer-reply bodies (PROTOCOL.md §7.2-7.3)."""

import time

import pytest

from protocol.errors import OfferError, ProtocolError
from protocol.offers import OfferSegment, format_offer, parse_cancel, parse_offer, parse_offer_body

MAX_SATS = 2_100_000_000_000_000


def test_relative_offer():
    seg = parse_offer("sw0reloffer", "0 27300 1000000000 0 0.00002")
    assert seg == OfferSegment("sw0reloffer", 0, 27300, 1000000000, 0, "0.00002")


def test_absolute_offer():
    assert parse_offer("sw0absoffer", "1 27300 500000000 0 1000").cjfee == 1000


@pytest.mark.parametrize("ordertype", ["reloffer", "swreloffer", "sw0reloffer"])
def test_all_relative_types(ordertype):
    assert parse_offer(ordertype, "3 0 10 5 0.1").cjfee == "0.1"


@pytest.mark.parametrize("ordertype", ["absoffer", "swabsoffer", "sw0absoffer"])
def test_all_absolute_types(ordertype):
    assert parse_offer(ordertype, "3 0 10 5 7").cjfee == 7


def test_minsize_is_kept_as_sent_even_below_dust():
    assert parse_offer("sw0reloffer", "0 1 100 0 0.1").minsize == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1e-05", "0.00001"),
        ("2E-5", "0.00002"),
        ("0.000020", "0.00002"),
        ("0", "0"),
        ("-0", "0"),
        ("0.0", "0"),
        ("0E+5", "0"),
        (".5", "0.5"),
        ("0.", "0"),
        ("+0.25", "0.25"),
        ("1E-32", "0." + "0" * 31 + "1"),
        ("0." + "9" * 32, "0." + "9" * 32),
    ],
)
def test_relative_fee_normalised_to_fixed_point(text, expected):
    assert parse_offer("sw0reloffer", f"0 0 1 0 {text}").cjfee == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("NaN", "not a decimal"),
        ("Infinity", "not a decimal"),
        ("inf", "not a decimal"),
        ("sNaN", "not a decimal"),
        ("-0.1", "negative"),
        ("1", "not below 1"),
        ("1.0", "not below 1"),
        ("5E-1E2", "not a decimal"),
        ("0." + "1" * 33, "digits"),
        ("1E-33", "exponent"),
        ("1E-9999999999", "exponent"),
        ("1E-999999", "exponent"),
        ("0.1_0", "not a decimal"),
        ("", "not a decimal"),
        (".", "not a decimal"),
        ("0,1", "not a decimal"),
        ("٠.١", "not a decimal"),
        ("0" * 81, "longer"),
    ],
)
def test_bad_relative_fee(text, reason):
    with pytest.raises(OfferError, match=reason):
        parse_offer("sw0reloffer", f"0 0 1 0 {text}")


def test_exponent_dos_is_rejected_fast():
    start = time.perf_counter()
    for text in ("1E-999999", "1E+999999", "0.1E-32", "1E-9999999999"):
        with pytest.raises(OfferError):
            parse_offer("reloffer", f"0 0 1 0 {text}")
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize(
    "text", ["1.5", "-1", "+1", "1e3", " 1", "1_000", str(MAX_SATS + 1), "9" * 30, "١"]
)
def test_bad_absolute_fee(text):
    with pytest.raises(OfferError, match="cjfee"):
        parse_offer("sw0absoffer", f"0 0 1 0 {text}")


def test_absolute_fee_bounds():
    assert parse_offer("absoffer", f"0 0 1 0 {MAX_SATS}").cjfee == MAX_SATS
    assert parse_offer("absoffer", "0 0 1 0 0").cjfee == 0


@pytest.mark.parametrize(
    "args, reason",
    [
        ("0 27300 1000 0", "5 fields"),
        ("0 27300 1000 0 0.1 extra", "5 fields"),
        ("0  27300 1000 0 0.1", "minsize"),
        ("0 27300 1000 0 0.1 ", "5 fields"),
        ("-1 0 1 0 0.1", "oid"),
        (f"{2**63} 0 1 0 0.1", "oid"),
        ("0 2000 1000 0 0.1", "exceeds maxsize"),
        (f"0 0 {MAX_SATS + 1} 0 0.1", "maxsize"),
        ("0 0 1 -5 0.1", "txfee"),
        (f"0 0 1 {MAX_SATS + 1} 0.1", "txfee"),
        ("0 0x10 100 0 0.1", "minsize"),
        ("0 1.0 100 0 0.1", "minsize"),
    ],
)
def test_bad_offer_fields(args, reason):
    with pytest.raises(OfferError, match=reason):
        parse_offer("sw0reloffer", args)


def test_field_bounds_inclusive():
    seg = parse_offer("sw0absoffer", f"{2**63 - 1} {MAX_SATS} {MAX_SATS} {MAX_SATS} 0")
    assert (seg.oid, seg.minsize, seg.txfee) == (2**63 - 1, MAX_SATS, MAX_SATS)


def test_unknown_order_type():
    with pytest.raises(OfferError, match="unknown offer type"):
        parse_offer("sw1reloffer", "0 0 1 0 0.1")


def test_format_offer_example():
    seg = OfferSegment("sw0reloffer", 0, 27300, 1000000000, 0, "0.00002")
    assert format_offer(seg) == "sw0reloffer 0 27300 1000000000 0 0.00002"


def test_format_offer_never_emits_scientific_notation():
    assert format_offer(OfferSegment("reloffer", 1, 0, 5, 0, "1e-05")) == "reloffer 1 0 5 0 0.00001"


@pytest.mark.parametrize(
    "seg",
    [
        OfferSegment("sw0reloffer", 0, 10, 5, 0, "0.1"),
        OfferSegment("sw0absoffer", 0, 0, 5, 0, True),
        OfferSegment("sw0absoffer", 0, 0, 5, 0, "0.5"),
        OfferSegment("nonsense", 0, 0, 5, 0, 1),
    ],
)
def test_format_offer_refuses_invalid(seg):
    with pytest.raises(OfferError):
        format_offer(seg)


def test_body_with_two_offers_and_bond():
    body = (
        "sw0reloffer 0 27300 1000000000 0 0.00002"
        "!sw0absoffer 1 27300 500000000 0 1000!tbond PROOF"
    )
    offers, tbond, errors = parse_offer_body(body)
    assert [o.oid for o in offers] == [0, 1]
    assert tbond == "PROOF" and errors == ()


def test_body_keeps_good_offers_and_reports_bad_ones():
    body = "reloffer 0 0 1 0 0.1!absoffer 1 5 1 0 3!swabsoffer 2 0 9 0 4!orderbook!hp2 ab"
    offers, tbond, errors = parse_offer_body(body)
    assert [o.oid for o in offers] == [0, 2] and tbond is None
    assert len(errors) == 1 and errors[0].startswith("absoffer: ") and "maxsize" in errors[0]


def test_body_first_tbond_wins_and_bad_tbond_is_reported():
    assert parse_offer_body("tbond A!tbond B")[1] == "A"
    offers, tbond, errors = parse_offer_body("sw0absoffer 0 0 1 0 1!tbond")
    assert tbond is None and len(offers) == 1 and errors[0].startswith("tbond:")


def test_body_tolerates_double_bang_and_empty():
    assert parse_offer_body("!sw0absoffer 0 0 1 0 1")[0][0].oid == 0
    assert parse_offer_body("") == ((), None, ())


def test_body_all_six_types():
    body = "!".join(f"{t} {i} 0 10 0 {'0.1' if 'rel' in t else 1}" for i, t in enumerate(
        ["reloffer", "absoffer", "swreloffer", "swabsoffer", "sw0reloffer", "sw0absoffer"]))
    offers, _, errors = parse_offer_body(body)
    assert len(offers) == 6 and errors == ()


def test_body_segment_without_command_word_raises_protocol_error():
    with pytest.raises(ProtocolError):
        parse_offer_body("sw0absoffer 0 0 1 0 1! 5")


def test_cancel():
    assert parse_cancel("7") == 7


@pytest.mark.parametrize("args", ["", "-1", "1 2", "x", str(2**63)])
def test_bad_cancel(args):
    with pytest.raises(OfferError, match="cancel oid"):
        parse_cancel(args)
