"""What Excel hands a function, read into typed columns; what the function returns, shaped for Excel.

Every argument of an add-in function may be a single cell or a range. xlwings passes a range as a
list of rows (``ndim=2``); a single cell as ``[[value]]`` or a bare value. :class:`Column` holds one
argument's values flattened row by row, with its shape; :func:`spill` broadcasts the columns the way
Excel does (a single cell against a column; a column against a row gives a grid), calls a function
of :mod:`addin.risk` once per row and returns a scalar for single cells or a list of rows to spill.

The error convention (one for classic Excel and xlwings Lite): a bad argument or a price that does
not exist never raises. The cell, or that row of the spilled range, shows a text message naming the
argument and the rule, e.g. ``margin_rate must be > 0 (got -0.02)``; the other rows keep their values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from itertools import repeat

from .risk import NoPrice, RiskInputError, parse_leverage, parse_side


class Invalid(str):
    """A cell that could not be read: the message a user sees in its place."""


def message(exc: Exception) -> str:
    """The user-facing text of a risk error."""
    return str(exc)


class Column:
    """One argument's values, flattened row-major, with the shape of the range they came from."""

    __slots__ = ("values", "rows", "cols", "bad")

    def __init__(self, values: list, rows: int, cols: int, bad: bool):
        self.values, self.rows, self.cols, self.bad = values, rows, cols, bad


def _flatten(value: object) -> tuple[list, int, int]:
    if isinstance(value, (list, tuple)):
        if not value:
            return [None], 1, 1
        if isinstance(value[0], (list, tuple)):
            rows, cols = len(value), len(value[0])
            if cols == 1:
                return [r[0] for r in value], rows, 1
            flat = [v for r in value for v in r]
            if len(flat) != rows * cols:
                raise ValueError("ragged range")
            return flat, rows, cols
        return list(value), len(value), 1
    return [value], 1, 1


def _excel_error(v: object) -> bool:
    return isinstance(v, str) and v.startswith("#") and v.endswith(("!", "?", "A", "0"))


def _number_or_invalid(name: str, v: object, default: float | None) -> object:
    """Slow path of :func:`number` for one value that is not a finite float."""
    if v is None or v == "":
        if default is None:
            return Invalid(f"{name} is required (the cell is empty)")
        return float(default)
    if isinstance(v, bool):
        return Invalid(f"{name} must be a number (got {'TRUE' if v else 'FALSE'})")
    if isinstance(v, (int, float)):
        f = float(v)
        if math.isnan(f):
            return Invalid(f"{name} must be a number (got NaN)")
        if math.isinf(f):
            return Invalid(f"{name} must be finite (got {'+' if f > 0 else '-'}infinity)")
        return f
    if _excel_error(v):
        return Invalid(f"{name} is an Excel error ({v})")
    if isinstance(v, (datetime, date)):
        return Invalid(f"{name} must be a number (got the date {v:%Y-%m-%d})")
    return Invalid(f"{name} must be a number (got {v!r})")


def number(name: str, value: object, default: float | None = None) -> Column:
    """A numeric argument. An empty cell takes ``default`` (an error when the argument is required);
    text, TRUE/FALSE, NaN, infinity and Excel errors become messages naming ``name``."""
    flat, rows, cols = _flatten(value)
    # Fast path: finite floats pass through untouched (v - v is 0.0 only for finite floats).
    values = [v if type(v) is float and v - v == 0.0 else _number_or_invalid(name, v, default) for v in flat]
    return Column(values, rows, cols, not all(type(v) is float for v in values))


def _convert(name: str, value: object, default: object, parse: Callable[[object, str], object],
             required: bool = True) -> Column:
    """Read each cell with ``parse``; an empty cell takes ``default``, or is an error when the
    argument is required and has no default."""
    flat, rows, cols = _flatten(value)
    values: list = []
    bad = False
    for v in flat:
        if v is None or v == "":
            if default is None and required:
                values.append(Invalid(f"{name} is required (the cell is empty)"))
                bad = True
            else:
                values.append(default)
            continue
        if _excel_error(v):
            values.append(Invalid(f"{name} is an Excel error ({v})"))
            bad = True
            continue
        try:
            values.append(parse(v, name))
        except RiskInputError as exc:
            values.append(Invalid(message(exc)))
            bad = True
    return Column(values, rows, cols, bad)


def leverage_arg(name: str, value: object, default: float | None = None) -> Column:
    """A leverage argument (named so as not to shadow a UDF's own ``leverage`` parameter): 30, 3.33, "1:30", "30:1" or "30x"."""
    return _convert(name, value, default, parse_leverage)


def side_arg(name: str, value: object, default: int | None = None) -> Column:
    """A direction (named so as not to shadow a UDF's ``side`` parameter): "long"/"buy", "short"/"sell" (any case), 1 or -1; read as +1/-1."""
    return _convert(name, value, default, parse_side)


def _parse_flag(v: object, name: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE"
    raise RiskInputError(f"{name} must be TRUE or FALSE (got {v!r})")


def flag(name: str, value: object, default: bool | None = None) -> Column:
    """A TRUE/FALSE argument (1/0 and the texts "TRUE"/"FALSE" also read)."""
    return _convert(name, value, default, _parse_flag)


def _parse_text(v: object, name: str) -> str:
    if isinstance(v, str) and v.strip():
        return v.strip()
    raise RiskInputError(f"{name} must be text (got {v!r})")


def text(name: str, value: object, default: str | None = None) -> Column:
    """A text argument such as a regime or an instrument class."""
    return _convert(name, value, default, _parse_text)


_EXCEL_EPOCH = datetime(1899, 12, 30)


def _parse_date(v: object, name: str) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v < 2958466:
        return (_EXCEL_EPOCH + timedelta(days=float(v))).date()  # an Excel date serial (Lite)
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise RiskInputError(f"{name} must be a date (got {v!r})")


def day(name: str, value: object) -> Column:
    """An optional date argument: a date cell, an Excel date serial or ISO text "2026-11-21";
    an empty cell is None (the function's own default, such as today)."""
    return _convert(name, value, None, _parse_date, required=False)


def numbers(name: str, value: object) -> list[float | None]:
    """All cells of a range as one list for an aggregate (MAX_DRAWDOWN): empty cells stay None;
    anything else that is not a finite number raises RiskInputError naming the cell's position."""
    flat, _, _ = _flatten(value)
    out: list[float | None] = []
    for i, v in enumerate(flat, start=1):
        if v is None or v == "":
            out.append(None)
            continue
        read = v if type(v) is float and v - v == 0.0 else _number_or_invalid(f"{name} value {i}", v, None)
        if type(read) is Invalid:
            raise RiskInputError(read)
        out.append(read)
    return out


def table(name: str, value: object) -> list[list[float]]:
    """A small table argument (a tier table) as rows of numbers; blank rows are skipped."""
    rows = value if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)) else [value]
    out = []
    for i, row in enumerate(rows, start=1):
        cells = list(row) if isinstance(row, (list, tuple)) else [row]
        if all(c is None or c == "" for c in cells):
            continue
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        for j, c in enumerate(cells, start=1):
            if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
                raise RiskInputError(f"{name} row {i} column {j} must be a number (got {c!r})")
        out.append([float(c) for c in cells])
    return out


def _broadcast(col: Column, rows: int, cols: int):
    if col.rows == rows and col.cols == cols:
        return col.values
    if col.rows == 1 and col.cols == 1:
        return repeat(col.values[0], rows * cols)
    if col.cols == 1 and col.rows == rows:  # a column against a grid: repeat across
        return [v for v in col.values for _ in range(cols)]
    if col.rows == 1 and col.cols == cols:  # a row against a grid: repeat down
        return col.values * rows
    return None


def _one(fn: Callable, row: Sequence) -> object:
    for v in row:
        if type(v) is Invalid:
            return str(v)
    try:
        return fn(*row)
    except (RiskInputError, NoPrice) as exc:
        return message(exc)


def spill(fn: Callable, *columns: Column) -> object:
    """Call ``fn`` once per row of the broadcast columns.

    Returns the single result (or message) for single cells; otherwise a list of rows, each
    holding a number or a message, shaped like the broadcast ranges.
    """
    rows = max(c.rows for c in columns)
    cols = max(c.cols for c in columns)
    feeds = []
    for c in columns:
        feed = _broadcast(c, rows, cols)
        if feed is None:
            return (f"ranges do not line up: one argument is {c.rows}×{c.cols} cells, "
                    f"the result would be {rows}×{cols}")
        feeds.append(feed)
    if rows == 1 and cols == 1:
        return _one(fn, [f[0] if isinstance(f, list) else next(f) for f in feeds])
    if not any(c.bad for c in columns):
        try:
            out = [fn(*row) for row in zip(*feeds)]
        except (RiskInputError, NoPrice):
            feeds = [_broadcast(c, rows, cols) for c in columns]
            out = [_one(fn, row) for row in zip(*feeds)]
    else:
        out = [_one(fn, row) for row in zip(*feeds)]
    if cols == 1:
        return [[v] for v in out]
    return [out[r * cols:(r + 1) * cols] for r in range(rows)]
