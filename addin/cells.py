"""What Excel hands a function, read into typed columns; what the function returns, shaped for Excel.

Every argument of an add-in function may be a single cell or a range. xlwings passes a range as a
list of rows (``ndim=2``); a single cell as ``[[value]]`` or a bare value. :class:`Column` holds one
argument's values flattened row by row, with its shape; :func:`spill` broadcasts the columns the way
Excel does (a single cell against a column; a column against a row gives a grid), calls a function
of :mod:`addin.risk` once per row and returns a scalar for single cells or a list of rows to spill.
:func:`excel` ties a risk function to its argument readers (``num``, ``lev``, ``direction`` ...) for
:mod:`addin.udfs`.

Speed: 100,000 rows in one call cost well under a quarter of a second (columns are checked in C
with ``set``/``sum``/``min``, then the risk function is mapped over them; see bench/bench_udfs.py).
A single cell is read and computed by the same plain code: its microseconds are invisible next to
the milliseconds Excel spends on the call itself.

Shapes: a range must be rectangular and hold at least one cell. A ragged or empty range gives one
message naming the argument (and the row that breaks the shape) instead of results: nothing is
computed from ranges whose rows do not line up.

The error convention (one for classic Excel and xlwings Lite): a bad argument or a price that does
not exist never raises. The cell, or that row of the spilled range, shows a text message naming the
argument and the rule, e.g. ``margin_rate must be > 0 (got -0.02)``; the other rows keep their values.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from operator import itemgetter

from .risk import NoPrice, RiskInputError, parse_leverage, parse_side


class Invalid(str):
    """A cell that could not be read: the message a user sees in its place."""


# When the arithmetic itself fails (a result beyond the float range, a division that underflows to
# zero) no argument is at fault alone: the cell says so instead of showing a traceback.
OUT_OF_RANGE = "result out of range: the inputs are too large or too small to compute it"

_INF = math.inf
_BIG = 1e308  # ints beyond this do not convert to float
_FLOATS = frozenset({float})
_first = itemgetter(0)  # the cell of a one-column row


def message(exc: Exception) -> str:
    """The user-facing text of a risk error (or of arithmetic that failed)."""
    if isinstance(exc, (RiskInputError, NoPrice)):
        return str(exc)
    return OUT_OF_RANGE


class Column:
    """One argument's values, flattened row-major, with the shape of the range they came from.

    The readers below return a bare value instead of a Column for a single readable cell (the
    common case, kept cheap); a Column holds a range, or a single cell whose message is in
    ``values``. ``bad`` says whether any value is an :class:`Invalid` message.
    """

    __slots__ = ("values", "rows", "cols", "bad")

    def __init__(self, values: list, rows: int, cols: int, bad: bool):
        self.values, self.rows, self.cols, self.bad = values, rows, cols, bad


class BadShape(Exception):
    """A range that cannot be read as a rectangle of cells; the text says what is wrong."""


_ROW_TYPES = frozenset({list, tuple})


def _cells(n: int) -> str:
    return "1 cell" if n == 1 else f"{n} cells"


def _flatten(value: object) -> tuple[list, int, int]:
    """The cells of ``value`` row by row, with its shape; raises BadShape for a ragged or empty range."""
    if not isinstance(value, (list, tuple)):
        return [value], 1, 1
    if not value:
        raise BadShape("must not be an empty range (it has no rows)")
    if not isinstance(value[0], (list, tuple)):  # one row given as a flat list: a column of cells
        if any(isinstance(v, (list, tuple)) for v in value):
            raise BadShape("must be a rectangular range (it mixes cells and rows)")
        return list(value), len(value), 1
    rows, cols = len(value), len(value[0])
    if not set(map(type, value)) <= _ROW_TYPES:  # one pass in C over the rows, then one for their lengths
        raise BadShape("must be a rectangular range (it mixes rows and single cells)")
    if set(map(len, value)) != {cols}:
        bad = next(i for i, r in enumerate(value, start=1) if len(r) != cols)
        raise BadShape(f"must be a rectangular range (row {bad} has {_cells(len(value[bad - 1]))}, row 1 has {_cells(cols)})")
    if cols == 0:
        raise BadShape("must not be an empty range (its rows have no cells)")
    if cols == 1:
        return list(map(_first, value)), rows, 1
    return [v for r in value for v in r], rows, cols


def _bad_shape(name: str, exc: BadShape) -> Column:
    """The reader's answer for a range of the wrong shape: a Column of no cells holding the message
    (:func:`spill` returns it as the whole result)."""
    return Column([Invalid(f"{name} {exc}")], 0, 0, True)


def _all_finite_floats(flat: list) -> bool:
    """True when every value is a float and finite (checked in C: the types, then their sum)."""
    if set(map(type, flat)) != _FLOATS:
        return False
    s = sum(flat)
    return s - s == 0.0  # a NaN or an infinity makes the sum NaN or infinite (so may overflow: slow path)


def _excel_error(v: object) -> bool:
    return isinstance(v, str) and v.startswith("#") and v.endswith(("!", "?", "A", "0"))


def _number_or_invalid(name: str, v: object, default: float | None) -> object:
    """Slow path of :func:`number` for one value that is not a finite float."""
    if isinstance(v, Decimal):  # pywin32 reads currency-formatted cells so; sNaN must not be compared
        if v.is_nan():
            return Invalid(f"{name} must be a number (got NaN)")
        f = float(v)  # a Decimal beyond the float range becomes an infinity, it does not raise
        if math.isinf(f):
            return Invalid(f"{name} must be finite (got {'+' if f > 0 else '-'}infinity)")
        return f
    if v is None or v == "":
        if default is None:
            return Invalid(f"{name} is required (the cell is empty)")
        return float(default)
    if isinstance(v, bool):
        return Invalid(f"{name} must be a number (got {'TRUE' if v else 'FALSE'})")
    if isinstance(v, (int, float)):
        try:
            f = float(v)
        except OverflowError:  # an int beyond the float range
            return Invalid(f"{name} must be finite (got {'+' if v > 0 else '-'}infinity)")
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


def number(name: str, value: object, default: float | None = None) -> float | Column:
    """A numeric argument. An empty cell takes ``default`` (an error when the argument is required);
    text, TRUE/FALSE, NaN, infinity and Excel errors become messages naming ``name``.

    One readable cell (a bare value or ``[[value]]``) comes back as a float; anything else as a Column.
    """
    t = type(value)
    if t is float:
        if value - value == 0.0:  # 0.0 only for finite floats
            return value
    elif t is int:
        if -_BIG < value < _BIG:
            return float(value)
    elif t is list and len(value) == 1:
        row = value[0]
        if type(row) is list and len(row) == 1:
            v = row[0]
            if type(v) is float and v - v == 0.0:
                return v
    return _number_column(name, value, default)


def _number_column(name: str, value: object, default: float | None) -> float | Column:
    try:
        flat, rows, cols = _flatten(value)
    except BadShape as exc:
        return _bad_shape(name, exc)
    if _all_finite_floats(flat):
        if rows == 1 and cols == 1:
            return flat[0]
        return Column(flat, rows, cols, False)
    values = [v if type(v) is float and v - v == 0.0 else _number_or_invalid(name, v, default) for v in flat]
    bad = Invalid in map(type, values)
    if rows == 1 and cols == 1 and not bad:
        return values[0]
    return Column(values, rows, cols, bad)


def _convert(name: str, value: object, default: object, parse: Callable[[object, str], object],
             required: bool = True) -> object:
    """Read each cell with ``parse``; an empty cell takes ``default``, or is an error when the
    argument is required and has no default. One readable cell comes back as its value."""
    try:
        flat, rows, cols = _flatten(value)
    except BadShape as exc:
        return _bad_shape(name, exc)
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
        except (ArithmeticError, ValueError, TypeError):  # a value no parser foresaw (sNaN, a huge number)
            values.append(Invalid(f"{name} must be a value this argument can read (got {v!r})"))
            bad = True
    if rows == 1 and cols == 1 and not bad:
        return values[0]
    return Column(values, rows, cols, bad)


def _one_cell(value: object) -> object:
    """The value of a single cell given bare or as ``[[value]]``; the argument itself otherwise."""
    if type(value) is list and len(value) == 1:
        row = value[0]
        if type(row) is list and len(row) == 1:
            return row[0]
    return value


def leverage_arg(name: str, value: object, default: float | None = None) -> float | Column:
    """A leverage argument (named so as not to shadow a UDF's own ``leverage`` parameter): 30, 3.33, "1:30", "30:1" or "30x"."""
    if type(value) is float and 0.0 < value < _INF:
        return value
    v = _one_cell(value)
    if type(v) is float and 0.0 < v < _INF:
        return v
    if v is value and type(value) is list:  # a range: all positive finite numbers need no parsing
        try:
            flat, rows, cols = _flatten(value)
        except BadShape as exc:
            return _bad_shape(name, exc)
        if _all_finite_floats(flat) and min(flat) > 0.0:
            return Column(flat, rows, cols, False)
    return _convert(name, value, default, parse_leverage)


_SIDES = {s: 1 for w in ("long", "buy") for s in (w, w.upper(), w.title())}
_SIDES.update({s: -1 for w in ("short", "sell") for s in (w, w.upper(), w.title())})


def side_arg(name: str, value: object, default: int | None = None) -> int | Column:
    """A direction (named so as not to shadow a UDF's ``side`` parameter): "long"/"buy", "short"/"sell" (any case), 1 or -1; read as +1/-1."""
    v = _one_cell(value)
    if type(v) is str:
        side = _SIDES.get(v)
        if side is not None:
            return side
    return _convert(name, value, default, parse_side)


def _parse_flag(v: object, name: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE"
    raise RiskInputError(f"{name} must be TRUE or FALSE (got {v!r})")


def flag(name: str, value: object, default: bool | None = None) -> object:
    """A TRUE/FALSE argument (1/0 and the texts "TRUE"/"FALSE" also read)."""
    return _convert(name, value, default, _parse_flag)


def _parse_text(v: object, name: str) -> str:
    if isinstance(v, str) and v.strip():
        return v.strip()
    raise RiskInputError(f"{name} must be text (got {v!r})")


def text(name: str, value: object, default: str | None = None) -> object:
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


def day(name: str, value: object) -> object:
    """An optional date argument: a date cell, an Excel date serial or ISO text "2026-11-21";
    an empty cell is None (the function's own default, such as today)."""
    return _convert(name, value, None, _parse_date, required=False)


def numbers(name: str, value: object) -> list[float | None]:
    """All cells of a range as one list for an aggregate (MAX_DRAWDOWN): empty cells stay None;
    anything else that is not a finite number raises RiskInputError naming the cell's position."""
    try:
        flat, _, _ = _flatten(value)
    except BadShape as exc:
        raise RiskInputError(f"{name} {exc}") from None
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
        read = []
        for j, c in enumerate(cells, start=1):
            v = c if type(c) is float and c - c == 0.0 else _number_or_invalid(f"{name} row {i} column {j}", c, None)
            if type(v) is Invalid:
                raise RiskInputError(v)
            read.append(v)
        out.append(read)
    return out


class Arg:
    """How one argument of an Excel function is read: its reader (:func:`number`, :func:`leverage_arg`,
    ...), its name (for the messages) and the default an empty cell takes."""

    __slots__ = ("reader", "name", "default")

    def __init__(self, reader: Callable, name: str, default: object = None):
        self.reader, self.name, self.default = reader, name, default

    def read(self, value: object) -> object:
        return self.reader(self.name, value, self.default)


def num(name: str, default: float | None = None) -> Arg:
    """A numeric argument (see :func:`number`)."""
    return Arg(number, name, default)


def lev(name: str, default: float | None = None) -> Arg:
    """A leverage argument (see :func:`leverage_arg`)."""
    return Arg(leverage_arg, name, default)


def direction(name: str, default: int | None = None) -> Arg:
    """A side argument (see :func:`side_arg`)."""
    return Arg(side_arg, name, default)


def true_false(name: str, default: bool | None = None) -> Arg:
    """A TRUE/FALSE argument (see :func:`flag`)."""
    return Arg(flag, name, default)


def words(name: str, default: str | None = None) -> Arg:
    """A text argument (see :func:`text`)."""
    return Arg(text, name, default)


def date_arg(name: str) -> Arg:
    """An optional date argument (see :func:`day`)."""
    return Arg(lambda n, v, _default: day(n, v), name)


def excel(fn: Callable, *args: Arg) -> Callable:
    """The Excel side of the risk function ``fn``: a function of the raw cell values, one per
    ``args``, that reads each with its :class:`Arg` and spills ``fn`` over them (:func:`spill`)."""

    def call(*values: object) -> object:
        return spill(fn, *[arg.read(value) for arg, value in zip(args, values)])

    call.__name__ = call.__qualname__ = f"excel_{getattr(fn, '__name__', 'fn')}"
    return call


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


def _finite(result: object) -> object:
    """A result as the cell shows it: an infinite or NaN number becomes :data:`OUT_OF_RANGE`."""
    return result if result - result == 0 else OUT_OF_RANGE


def _one(fn: Callable, row: Sequence) -> object:
    for v in row:
        if type(v) is Invalid:
            return str(v)
    try:
        return _finite(fn(*row))
    except (ArithmeticError, ValueError) as exc:  # RiskInputError and NoPrice are ValueErrors
        return message(exc)


def spill(fn: Callable, *columns: object) -> object:
    """Call ``fn`` once per row of the broadcast columns.

    Each argument is a bare value (one readable cell, as the readers above return it) or a
    :class:`Column`. Returns the single result (or message) for single cells; otherwise a list of
    rows, each holding a number or a message, shaped like the broadcast ranges.
    """
    for c in columns:
        if type(c) is Column:
            for bad in columns:
                if type(bad) is Column and bad.rows == 0:  # a ragged or empty range: its message, nothing computed
                    return str(bad.values[0])
            return _spill(fn, [c if type(c) is Column else Column([c], 1, 1, False) for c in columns])
    try:  # single cells, all readable: the fast path
        result = fn(*columns)
    except (ArithmeticError, ValueError) as exc:  # RiskInputError and NoPrice are ValueErrors
        return message(exc)
    if result - result == 0:
        return result
    return OUT_OF_RANGE


def _spill(fn: Callable, columns: list[Column]) -> object:
    rows = max(c.rows for c in columns)
    cols = max(c.cols for c in columns)
    if rows == 1 and cols == 1:
        return _one(fn, [c.values[0] for c in columns])
    feeds = []
    for c in columns:
        feed = _broadcast(c, rows, cols)
        if feed is None:
            return (f"ranges do not line up: one argument is {c.rows}×{c.cols} cells, "
                    f"the result would be {rows}×{cols}")
        feeds.append(feed)
    gc_was_on = gc.isenabled()
    gc.disable()  # the result is one small list per row: nothing cyclic, no need to collect meanwhile
    try:
        out = None
        if not any(c.bad for c in columns):
            try:
                out = list(map(fn, *feeds))
            except (ArithmeticError, ValueError):
                out = None
                feeds = [_broadcast(c, rows, cols) for c in columns]
            if out is not None:
                total = sum(out)
                if total - total != 0:  # an infinite or NaN result somewhere (or a sum that overflowed)
                    out = [v if v - v == 0 else OUT_OF_RANGE for v in out]
        if out is None:
            out = [_one(fn, row) for row in zip(*feeds)]
        if cols == 1:
            return [[v] for v in out]
        return [out[r * cols:(r + 1) * cols] for r in range(rows)]
    finally:
        if gc_was_on:
            gc.enable()


# --- Readers for the functions over whole ranges (WIN_RATE, ATR, CURRENCY_EXPOSURE, ...) -----------

def one_cell(name: str, value: object, reader: Callable, default: object = None) -> object:
    """A one-cell argument of a function over ranges (ATR's ``period``, PORTFOLIO_STOP_OUT_MOVE's
    ``equity``) read with ``reader`` (:func:`number`, :func:`optional_text`). A range of several
    cells, or a cell the reader refuses, raises RiskInputError with the message the cell shows."""
    got = reader(name, value, default)
    if type(got) is Column:
        if got.rows * got.cols != 1:
            raise RiskInputError(f"{name} must be a single cell (got {got.rows}×{got.cols} cells)")
        got = got.values[0]
    if type(got) is Invalid:
        raise RiskInputError(str(got))
    return got


def optional_text(name: str, value: object, default: str | None = None) -> object:
    """A text argument that may be left empty (None then), such as an account currency."""
    return _convert(name, value, default, _parse_text, required=False)


def parse_symbol(v: object, name: str) -> str:
    """A symbol cell: text ("EURUSD"), or a whole number for a numeric ticker (7203 → "7203")."""
    if isinstance(v, str) and v.strip():
        return v.strip()
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and float(v).is_integer():
        return str(int(v))
    raise RiskInputError(f"{name} must be a symbol like EURUSD (got {v!r})")


def cells_read(name: str, value: object, parse: Callable[[object, str], object]) -> list:
    """All cells of a range, each read with ``parse(value, label)`` (as :func:`numbers` reads numbers):
    empty cells stay None; an Excel error or a value ``parse`` refuses raises RiskInputError naming
    the cell's position ("sides value 3 must be ...")."""
    try:
        flat, _, _ = _flatten(value)
    except BadShape as exc:
        raise RiskInputError(f"{name} {exc}") from None
    out: list = []
    for i, v in enumerate(flat, start=1):
        if v is None or v == "":
            out.append(None)
        elif _excel_error(v):
            raise RiskInputError(f"{name} value {i} is an Excel error ({v})")
        else:
            out.append(parse(v, f"{name} value {i}"))
    return out
