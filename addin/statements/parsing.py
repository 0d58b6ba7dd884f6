"""Small parsers shared by the statement readers: numbers and dates as brokers print them."""

from __future__ import annotations

import re
from datetime import datetime

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# Commas count as thousands separators only in groups of three: "1,234.5" but not "18000,5".
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_number(text: object) -> float:
    """A number as a statement prints it, to float.

    Accepts ``1 434.86`` (space or no-break-space thousands), ``1,434.86``, ``$(58.50)`` and
    ``(58.50)`` (accounting negative), ``-58.50``, ``+3``, ``12%`` (as 12.0). Raises ValueError
    with the offending text otherwise. Decimal commas are not guessed: "18000,5" is an error,
    not 180005; a statement that uses them is read by its own reader.

    >>> parse_number("1 434.86"), parse_number("$(58.50)"), parse_number("1,234.5")
    (1434.86, -58.5, 1234.5)
    """
    if isinstance(text, bool):
        raise ValueError(f"not a number: {text!r}")
    if isinstance(text, (int, float)):
        return float(text)
    # Fast path for a plain "-123.45" (most cells of a big statement); anything else is cleaned below.
    if type(text) is str and text and text[-1] in "0123456789.":
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            if value - value == 0.0:
                return value
    s = _SPACES.sub("", str(text))
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.startswith("-$") or s.startswith("$-"):
        negative, s = True, s[2:]
    s = s.lstrip("$€£¥").rstrip("%")
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if "," in s:
        if not _THOUSANDS.match(s):
            raise ValueError(f"not a number (a comma that is not a thousands separator): {text!r}")
        s = s.replace(",", "")
    if not s:
        raise ValueError(f"not a number: {text!r}")
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {text!r}")
    return -value if negative else value


def parse_optional_number(text: object) -> float | None:
    """Like :func:`parse_number`, but an empty cell (None, "", "-", "n/a") is None."""
    if text is None:
        return None
    if isinstance(text, str) and text.strip().lower() in ("", "-", "n/a", "na", "--"):
        return None
    return parse_number(text)


def parse_datetime(text: object, formats: tuple[str, ...]) -> datetime:
    """Parse ``text`` with the first of ``formats`` that fits; ValueError naming the text otherwise."""
    if isinstance(text, datetime):
        return text
    s = str(text).strip()
    for fmt in formats:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date/time in the expected form ({' or '.join(formats)}): {text!r}")
