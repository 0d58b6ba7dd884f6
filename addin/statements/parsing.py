"""Small parsers shared by the statement readers: numbers and dates as brokers print them."""

from __future__ import annotations

import re
from datetime import datetime

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# Commas count as thousands separators only in groups of three: "1,234.5" but not "18000,5".
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_number(text: object, decimal: str | None = ".") -> float:
    """A number as a statement prints it, to float.

    Accepts ``1 434.86`` (space or no-break-space thousands), ``1,434.86``, ``$(58.50)`` and
    ``(58.50)`` (accounting negative), ``-58.50``, ``+3``, ``12%`` (as 12.0). Raises ValueError
    with the offending text otherwise. Decimal commas are not guessed: "18000,5" is an error,
    not 180005. ``decimal=","`` reads ``1.234,56`` / ``1 234,56`` / ``1'234,56`` (dots, spaces and
    apostrophes only as thousands separators in groups of three); ``decimal=None`` (a file whose
    decimal mark is unknown, see :func:`detect_decimal`) reads only numbers without a separator
    and rejects ``1,234`` or ``1.234`` as ambiguous.

    >>> parse_number("1 434.86"), parse_number("$(58.50)"), parse_number("1,234.5")
    (1434.86, -58.5, 1234.5)
    """
    if isinstance(text, bool):
        raise ValueError(f"not a number: {text!r}")
    if isinstance(text, (int, float)):
        return float(text)
    if decimal != ".":
        return _parse_localised(str(text), decimal)
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


def parse_optional_number(text: object, decimal: str | None = ".") -> float | None:
    """Like :func:`parse_number`, but an empty cell (None, "", "-", "n/a") is None."""
    if text is None:
        return None
    if isinstance(text, str) and text.strip().lower() in ("", "-", "n/a", "na", "--"):
        return None
    return parse_number(text, decimal)


_GROUPED = {",": re.compile(r"^\d{1,3}([.\s\u00a0\u202f']\d{3})+(,\d*)?$"),
            ".": re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")}
_ONE_GROUP = re.compile(r"^\d{1,3}[.,]\d{3}$")


def _parse_localised(text: str, decimal: str | None) -> float:
    s = text.strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    for sym in ("-$", "$-"):
        if s.startswith(sym):
            negative, s = True, s[2:]
    s = s.lstrip("$€£¥").rstrip("%").strip()
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s[:1] in "+-":
        negative, s = negative ^ (s[0] == "-"), s[1:].strip()
    if not s:
        raise ValueError(f"not a number: {text!r}")
    if decimal is None:
        if "," in s or "." in s:
            raise ValueError(f"ambiguous number {text!r}: the file does not show whether ',' or '.' is its "
                             "decimal mark (set \"decimal\" in the mapping)")
        core = s
    elif "." in s and "," in s or _SPACES.search(s) or "'" in s:
        if not _GROUPED[","].match(s):
            raise ValueError(f"not a number with a decimal comma: {text!r}")
        core = re.sub(r"[.\s\u00a0\u202f']", "", s).replace(",", ".")
    elif "." in s:
        if not re.match(r"^\d{1,3}(\.\d{3})+$", s):
            raise ValueError(f"not a number with a decimal comma: {text!r} (a decimal point in a "
                             "decimal-comma file)")
        core = s.replace(".", "")
    else:
        core = s.replace(",", ".")
    if not re.match(r"^\d*\.?\d*(e[+-]?\d+)?$", core, re.I) or not any(ch.isdigit() for ch in core):
        raise ValueError(f"not a number: {text!r}")
    value = float(core)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {text!r}")
    return -value if negative else value


def number_evidence(text: str) -> str | None:
    """Which decimal mark a cell proves: "." for ``1.5`` / ``1,234.5``, "," for ``1,5`` /
    ``1.234,5``; None when it proves nothing (``12``, ``1,234``, ``1.234``, not a number).

    >>> [number_evidence(t) for t in ("1.5", "1,5", "1,234", "1.234,5", "12", "x")]
    ['.', ',', None, ',', None, None]
    """
    s = _SPACES.sub("", text.strip()).strip("()$€£¥%+-")
    if not s or not s[0].isdigit() or not s[-1].isdigit():
        return None
    if not re.fullmatch(r"[\d.,']+", s):
        return None
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        return "." if s.rfind(".") > s.rfind(",") else ","
    if not dots and not commas:
        return None
    mark = "." if dots else ","
    if (dots or commas) > 1:  # 1,234,567 or 1.234.567: the mark is the thousands separator
        return "," if mark == "." else "."
    return None if _ONE_GROUP.match(s) else mark


def detect_decimal(cells, delimiter: str = ",") -> tuple[str | None, str]:
    """The decimal mark one file uses, decided from all its number ``cells`` (iterable of
    (where, text)), and why: (".", why), (",", why), or (None, why) when nothing decides it.

    No guessing: a cell such as ``1,5`` or ``1.234,56`` proves a decimal comma, ``1.5`` or
    ``1,234.56`` a decimal point; ``1,234`` proves nothing. A comma-delimited file without a
    decimal-comma cell uses the point (a decimal comma would have to be quoted in every cell).
    Cells proving both marks: the point (the format's documented default), so that each
    decimal-comma cell is rejected with its place rather than the whole file guessed.
    """
    proof: dict[str, str] = {}
    for where, text in cells:
        mark = number_evidence(text)
        if mark and mark not in proof:
            proof[mark] = f"{where} {text!r}"
            if len(proof) == 2:
                return ".", (f"numbers are written with both decimal marks ({proof['.']} has a decimal point, "
                             f"{proof[',']} a decimal comma): read with the decimal point, so the "
                             "decimal-comma cells are rejected")
    if "," in proof:
        return ",", f"decimal comma, as in {proof[',']}"
    if "." in proof:
        return ".", f"decimal point, as in {proof['.']}"
    if delimiter == ",":
        return ".", "decimal point (comma-delimited file)"
    return None, "no cell shows the decimal mark"


def _order(fmt: str) -> str:
    d, m = fmt.find("%d"), fmt.find("%m")
    y = max(fmt.find("%Y"), fmt.find("%y"))
    if d < 0 or m < 0 or 0 <= y < min(d, m):
        return ""  # no day/month pair, or year-first (ISO): never read the other way round
    return "day-first" if d < m else "month-first"


def choose_date_formats(values, formats: tuple[str, ...]) -> tuple[str, ...]:
    """Of ``formats``, those one file uses, decided from all its date ``values`` (iterable of
    (where, text)) so that no single cell is read day-first and another month-first.

    When ``formats`` hold both day-first (``%d/%m``) and month-first (``%m/%d``) forms, a value
    only one order can read (``13/02/2025``) decides the file; a file where every value reads
    both ways (all days <= 12) is ambiguous: ValueError asking for one order. ValueError too
    when values prove both orders.
    """
    orders = {_order(f) for f in formats} - {""}
    if len(orders) < 2:
        return formats
    proof: dict[str, str] = {}
    ambiguous = None
    for where, text in values:
        fits = set()
        for f in formats:
            try:
                datetime.strptime(text.strip(), f)
            except ValueError:
                continue
            fits.add(_order(f))
        fits.discard("")
        if len(fits) == 1:
            (o,) = fits
            proof.setdefault(o, f"{where} {text!r}")
        elif len(fits) == 2 and ambiguous is None:
            ambiguous = f"{where} {text!r}"
    if len(proof) == 2:
        raise ValueError(f"dates are written both day-first ({proof['day-first']}) and month-first "
                         f"({proof['month-first']}) in one file")
    if proof:
        (o,) = proof
        return tuple(f for f in formats if _order(f) in ("", o))
    if ambiguous:
        raise ValueError(f"dates such as {ambiguous} read both day-first and month-first and no date in "
                         "the file decides: give one order in the mapping's date_format")
    return formats


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
