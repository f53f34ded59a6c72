"""Offer rules a mutation run showed unpinned: which field each error names, truncation of
echoed text, the 80-character cap, late exponent checks and the one-token !tbond."""

import re

import pytest

from protocol.errors import OfferError
from protocol.offers import parse_cancel, parse_offer, parse_offer_body


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


GOOD = ["7", "100", "200", "5", "0.001"]


@pytest.mark.parametrize("index, name", [(0, "oid"), (1, "minsize"), (2, "maxsize"),
                                          (3, "txfee")])
def test_each_numeric_field_is_named_in_its_error(index, name):
    fields = list(GOOD)
    fields[index] = "x"
    with pytest.raises(OfferError, match=_exact(f"{name} 'x' is not a non-negative integer")):
        parse_offer("sw0reloffer", " ".join(fields))


def test_absolute_cjfee_is_named_in_its_error():
    with pytest.raises(OfferError, match=_exact("absolute cjfee '1.5' is not a non-negative integer")):
        parse_offer("sw0absoffer", "7 100 200 5 1.5")


def test_long_bad_values_are_echoed_cut_at_40_characters():
    long_text = "y" * 60
    with pytest.raises(OfferError, match=_exact(
            f"oid {long_text[:40]!r} is not a non-negative integer")):
        parse_offer("sw0absoffer", f"{long_text} 1 2 3 4")
    with pytest.raises(OfferError, match=_exact(f"unknown offer type {long_text[:40]!r}")):
        parse_offer(long_text, "1 2 3 4 5")
    with pytest.raises(OfferError, match=_exact(
            f"relative cjfee {long_text[:40]!r} is not a decimal number")):
        parse_offer("sw0reloffer", f"1 2 3 4 {long_text}")
    huge_exponent = "1e" + "0" * 50 + "99"
    with pytest.raises(OfferError, match=_exact(
            f"relative cjfee {huge_exponent[:40]!r} has an exponent outside ±32")):
        parse_offer("sw0reloffer", f"1 2 3 4 {huge_exponent}")


def test_a_relative_fee_of_exactly_80_characters_is_accepted():
    text = "0" * 78 + ".1"
    assert len(text) == 80
    assert parse_offer("sw0reloffer", f"1 2 3 4 {text}").cjfee == "0.1"
    with pytest.raises(OfferError, match=_exact("relative cjfee is longer than 80 characters")):
        parse_offer("sw0reloffer", f"1 2 3 4 0{text}")


def test_an_exponent_hidden_in_plain_digits_is_still_bounded():
    text = "0." + "0" * 33 + "1"
    with pytest.raises(OfferError, match=_exact(
            f"relative cjfee {text!r} has an exponent outside ±32")):
        parse_offer("sw0reloffer", f"1 2 3 4 {text}")


def test_tbond_must_be_exactly_one_token():
    offers, tbond, errors = parse_offer_body("sw0absoffer 1 2 3 4 5!tbond a b")
    assert (len(offers), tbond, errors) == (1, None, ("tbond: expected exactly one proof token",))
    assert parse_offer_body("sw0absoffer 1 2 3 4 5!tbond ab")[1] == "ab"


def test_cancel_error_names_the_cancel_oid():
    with pytest.raises(OfferError, match=_exact("cancel oid '-1' is not a non-negative integer")):
        parse_cancel("-1")
