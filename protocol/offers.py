"""Offer segments, cancels and the offer-reply body (PROTOCOL.md §7.2-7.3).

Offers arrive from unauthenticated PUBMSGs and from makers we have never met, so every
number is bounded before it is converted and the relative fee is checked for
exponent abuse *before* anything expands it (``1E-9999999999`` would otherwise make a
fixed-point formatter allocate gigabytes).
"""

import re
from decimal import Decimal

import msgspec

from protocol.errors import OfferError
from protocol.jmmessage import OFFER_TYPES, split_commands

MAX_SATS = 2_100_000_000_000_000
MAX_OID = 2**63 - 1
MAX_RELFEE_DIGITS = 32
MAX_RELFEE_EXPONENT = 32
_REL_TYPES = frozenset(t for t in OFFER_TYPES if t.endswith("reloffer"))

_UINT_RE = re.compile(r"[0-9]{1,20}")
# Plain decimal or scientific notation; the exponent is captured so its size can be
# checked on the (length-capped) text before Decimal ever sees it.
_DECIMAL_RE = re.compile(r"[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_MAX_RELFEE_TEXT = 80


class OfferSegment(msgspec.Struct, frozen=True):
    """One ``<ordertype> <oid> <minsize> <maxsize> <txfee> <cjfee>`` offer as sent.

    ``cjfee`` is fixed-point decimal text for ``*reloffer`` and an int for ``*absoffer``.
    """

    ordertype: str
    oid: int
    minsize: int
    maxsize: int
    txfee: int
    cjfee: str | int


def _uint(field: str, text: str, maximum: int) -> int:
    if not _UINT_RE.fullmatch(text):
        raise OfferError(f"{field} {text[:40]!r} is not a non-negative integer")
    value = int(text)
    if value > maximum:
        raise OfferError(f"{field} {value} exceeds {maximum}")
    return value


def _relative_fee(text: str) -> str:
    """Validate a relative fee and return it as canonical fixed-point text."""
    if len(text) > _MAX_RELFEE_TEXT:
        raise OfferError(f"relative cjfee is longer than {_MAX_RELFEE_TEXT} characters")
    match = _DECIMAL_RE.fullmatch(text)
    if match is None or not (match.group(1) or match.group(2)):
        raise OfferError(f"relative cjfee {text[:40]!r} is not a decimal number")
    if match.group(3) is not None and abs(int(match.group(3))) > MAX_RELFEE_EXPONENT:
        raise OfferError(
            f"relative cjfee {text[:40]!r} has an exponent outside ±{MAX_RELFEE_EXPONENT}"
        )
    value = Decimal(text)  # the regex admits only what Decimal reads
    _, digits, exponent = value.as_tuple()
    if len(digits) > MAX_RELFEE_DIGITS:
        raise OfferError(f"relative cjfee {text!r} has more than {MAX_RELFEE_DIGITS} digits")
    if abs(exponent) > MAX_RELFEE_EXPONENT:
        raise OfferError(f"relative cjfee {text!r} has an exponent outside ±{MAX_RELFEE_EXPONENT}")
    if value.is_zero():
        return "0"
    if value < 0:
        raise OfferError(f"relative cjfee {text!r} is negative")
    if value >= 1:
        raise OfferError(f"relative cjfee {text!r} is not below 1")
    fixed = format(value, "f")
    return fixed.rstrip("0").rstrip(".") if "." in fixed else fixed


def parse_offer(ordertype: str, args: str) -> OfferSegment:
    """Parse the five space-separated offer fields that follow ``ordertype``."""
    if ordertype not in OFFER_TYPES:
        raise OfferError(f"unknown offer type {ordertype[:40]!r}")
    fields = args.split(" ")
    if len(fields) != 5:
        raise OfferError(
            f"{ordertype} needs 5 fields (oid minsize maxsize txfee cjfee), got {len(fields)}"
        )
    oid_text, min_text, max_text, txfee_text, cjfee_text = fields
    oid = _uint("oid", oid_text, MAX_OID)
    minsize = _uint("minsize", min_text, MAX_SATS)
    maxsize = _uint("maxsize", max_text, MAX_SATS)
    if minsize > maxsize:
        raise OfferError(f"minsize {minsize} exceeds maxsize {maxsize}")
    txfee = _uint("txfee", txfee_text, MAX_SATS)
    if ordertype in _REL_TYPES:
        cjfee: str | int = _relative_fee(cjfee_text)
    else:
        cjfee = _uint("absolute cjfee", cjfee_text, MAX_SATS)
    return OfferSegment(ordertype, oid, minsize, maxsize, txfee, cjfee)


def format_offer(seg: OfferSegment) -> str:
    """Wire text of ``seg``, validated and with the relative fee in fixed-point form.

    Going through :func:`parse_offer` guarantees we never emit anything a receiver
    would reject, scientific notation included (pitfall P29).
    """
    args = " ".join(str(v) for v in (seg.oid, seg.minsize, seg.maxsize, seg.txfee, seg.cjfee))
    canonical = parse_offer(seg.ordertype, args)
    return (
        f"{canonical.ordertype} {canonical.oid} {canonical.minsize} {canonical.maxsize} "
        f"{canonical.txfee} {canonical.cjfee}"
    )


def parse_offer_body(body: str) -> tuple[tuple[OfferSegment, ...], str | None, tuple[str, ...]]:
    """Split an offer reply into ``(offers, tbond_b64, errors)``.

    ``body`` is a PUBMSG body or a verified PRIVMSG's ``command + " " + data``. Every
    offer segment is parsed on its own so one bad offer does not hide the others
    (REF drops just that offer); unknown commands are ignored. Only the first
    ``!tbond`` counts — it applies to all of the maker's offers (pitfall P8).
    """
    offers: list[OfferSegment] = []
    errors: list[str] = []
    tbond: str | None = None
    for command, args in split_commands(body):
        if command in OFFER_TYPES:
            try:
                offers.append(parse_offer(command, args))
            except OfferError as exc:
                errors.append(f"{command}: {exc}")
        elif command == "tbond" and tbond is None:
            if args and " " not in args:
                tbond = args
            else:
                errors.append("tbond: expected exactly one proof token")
    return tuple(offers), tbond, tuple(errors)


def parse_cancel(args: str) -> int:
    """The oid of a ``!cancel <oid>`` announcement."""
    return _uint("cancel oid", args, MAX_OID)
