"""Numbers as spreadsheets write them: a decimal point or a decimal comma, thousands separators, currencies.

A file's prices and stocks may be written ``12.50`` or ``12,50``, ``1,299.00``
or ``1.299,00`` or ``1 299,00``, with a currency before or after (``€30``,
``30 EUR``, ``$1,299.00``). The *number format* says which separator is the
decimal one:

* ``point``: ``.`` is decimal; ``,``, spaces and ``'`` group thousands;
* ``comma``: ``,`` is decimal; ``.``, spaces and ``'`` group thousands;
* ``auto``: told by the file (:func:`detect_number_format`) when its values
  say it; otherwise each value is read by itself: ``12,50`` and
  ``1.299,00`` have one reading only, while ``1.000`` (one thousand, or one
  with three decimals?) has two and is refused with both named, never a
  silent guess.

Thousands groups must be three digits (``1,29`` is not a grouped number).
Scientific notation, ``NaN``/``Infinity`` and anything else are refused with
their own reason. Cells typed as numbers (XLSX numbers, JSON numbers) carry
no format and never come here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

AUTO, POINT, COMMA = "auto", "point", "comma"
NUMBER_FORMATS = (AUTO, POINT, COMMA)
#: What each format is called on a screen.
LABELS = {AUTO: "As the file shows", POINT: "Decimal point: 1,299.50", COMMA: "Decimal comma: 1.299,50"}

_CURRENCY = r"(?:[€$£¥₹₽₩₪₺]|CHF|EUR|USD|GBP|JPY|SEK|NOK|DKK|PLN|CZK|HUF|AUD|CAD|NZD|kr|zł|Fr\.?)"
_SPACES = " \u00a0\u202f\u2009"
_NUMBER = re.compile(
    rf"^(?P<sign1>[+-]?)\s*{_CURRENCY}?\s*(?P<sign2>[+-]?)\s*"
    rf"(?P<body>[0-9][0-9.,'{_SPACES}]*|[.,][0-9]+)"
    rf"\s*{_CURRENCY}?$",
    re.IGNORECASE,
)
_SCIENTIFIC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")
_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})
#: Digits grouped by thousands: ``1,299``, ``12.500.000``, ``1 299`` (a first group of 1 to 3 digits, no leading 0).
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:[.,'" + _SPACES + r"][0-9]{3})+")


class NumberProblem(ValueError):
    """Text that is not a number in the given format; ``str()`` says why.

    ``example_helps``: the reason does not show how a number is written, so
    the caller may add an example of its column's numbers.
    """

    def __init__(self, reason: str, *, example_helps: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.example_helps = example_helps


def parse_number(text: str, number_format: str = AUTO) -> Decimal:
    """The number ``text`` writes, in ``number_format`` (see the module docstring); raises :class:`NumberProblem`."""
    text = text.strip()
    match = _NUMBER.match(text)
    if match is None:
        if text.lstrip("+-").lower() in _NOT_FINITE:
            raise NumberProblem("is not a number", example_helps=True)
        if _SCIENTIFIC.fullmatch(text):
            raise NumberProblem("is in scientific notation; write the number in full", example_helps=True)
        raise NumberProblem("is not a number", example_helps=True)
    if match["sign1"] and match["sign2"]:
        raise NumberProblem("is not a number", example_helps=True)
    sign = "-" if "-" in (match["sign1"], match["sign2"]) else ""
    body = match["body"].rstrip(_SPACES)
    if number_format == AUTO:
        readings = {value for fmt in (POINT, COMMA) if (value := _read(body, fmt)) is not None}
        if not readings:
            raise NumberProblem("is not a number written with a decimal point (1,299.00) or a decimal comma (1.299,00)")
        if len(readings) > 1:
            low, high = sorted(readings)
            raise NumberProblem(
                f"could be {_shown(low)} or {_shown(high)}: say whether the file writes numbers with a decimal "
                "point or a decimal comma"
            )
        (value,) = readings
    else:
        read = _read(body, number_format)
        if read is None:
            example = "1,299.00" if number_format == POINT else "1.299,00"
            separator = "point" if number_format == POINT else "comma"
            raise NumberProblem(f"is not a number written with a decimal {separator} ({example})")
        value = read
    return -value if sign else value


def _read(body: str, number_format: str) -> Decimal | None:
    """``body`` (digits and separators) read in ``number_format``, or None when it is not such a number."""
    decimal, other = (".", ",") if number_format == POINT else (",", ".")
    whole, separator, fraction = body.rpartition(decimal)
    if not separator:
        whole, fraction = body, ""
    if fraction and not fraction.isdigit():
        return None
    if any(ch in whole for ch in (other, "'", *_SPACES)):
        if not _GROUPED.fullmatch(whole):
            return None
        marks = {ch for ch in whole if not ch.isdigit()}
        if len(marks) > 1:
            return None
        whole = re.sub(r"\D", "", whole)
    if not whole:
        whole = "0"
    if not whole.isdigit():
        return None
    try:
        return Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation:
        return None


def _shown(value: Decimal) -> str:
    return format(value.normalize(), "f")


def detect_number_format(texts: list[str]) -> str | None:
    """``point`` or ``comma`` when the values say which, else None (both, or neither).

    A value tells when it reads one way only: ``12,50``, ``1.299,00`` and
    ``1 299,5`` say comma; ``12.5`` and ``1,299.00`` say point. Values that
    read the same both ways (``12``) or two ways (``1.000``) say nothing.
    """
    said = set()
    for text in texts:
        match = _NUMBER.match(text.strip())
        if match is None:
            continue
        body = match["body"].rstrip(_SPACES)
        readings = {fmt for fmt in (POINT, COMMA) if _read(body, fmt) is not None}
        if len(readings) == 1:
            said |= readings
    return said.pop() if len(said) == 1 else None


def effective_format(chosen: str, detected: str | None) -> str:
    """The format values are read in: the user's choice, else what the file said, else ``auto``."""
    if chosen in (POINT, COMMA):
        return chosen
    return detected or AUTO
