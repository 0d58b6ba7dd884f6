"""Any other CSV of trades, read through a small JSON mapping file (``--format csv --mapping M.json``).

One CSV row is one trade. The mapping says which column holds which trade field and how the file
writes sides and dates. A documented example is ``addin/statements/example_mapping.json``, which
reads ``addin/samples/example_trades.csv``.

Mapping keys
------------
``broker`` (required)
    Name stored on every trade, e.g. ``"Acme FX"``. Together with ``account`` and the trade id it is
    the identity used to merge overlapping statements, so keep it the same from one export to the next.
``account``
    Account name or number (default ``""``).
``account_currency`` / ``quote_currency``
    Currency of the money columns (profit, commission, swap, taxes) and of the prices, e.g. ``"USD"``.
``asset_class``, ``contract_size``
    Stored on every trade when the file holds a single kind of instrument (``"FX"``, ``100000``).
``delimiter``
    One character, default ``","``; ``";"`` and ``"\\t"`` (tab) are common.
``encoding``
    Text encoding, default ``"utf-8-sig"`` (UTF-8 with or without a byte-order mark).
``decimal``
    ``"auto"`` (default), ``"."`` or ``","``. With ``"."`` a comma is only accepted as a thousands
    separator (``1,234.50``); a cell like ``18000,5`` is rejected rather than read as 180005. With
    ``","`` dots, spaces and apostrophes are thousands separators in groups of three and the comma
    is the decimal mark (``1.234,50``). ``"auto"`` decides per file from all the mapped number
    cells (:func:`parsing.detect_decimal`): a cell like ``1,5`` or ``1.234,5`` proves a decimal
    comma, ``1.5`` or ``1,234.5`` a decimal point, a comma-delimited file without decimal-comma
    cells uses the point; when nothing decides (a ``;`` file whose numbers are all like ``1,234``
    or whole), a cell with a separator is rejected as ambiguous, naming its column; a file
    proving both marks is refused.
``date_format``
    A :func:`datetime.strptime` format, or a list of them tried in order; default
    ``"%Y-%m-%d %H:%M:%S"``. A list holding both day-first (``%d/%m/%Y``) and month-first
    (``%m/%d/%Y``) forms is decided per file, never per cell (:func:`parsing.choose_date_formats`):
    a date only one order can read decides; a file where every date reads both ways is refused,
    asking for one order.
``columns`` (required)
    Trade field -> CSV header text (exact, surrounding spaces ignored). Required fields:
    ``trade_id``, ``symbol``, ``side``, ``quantity`` (positive; the direction is ``side``), ``entry``.
    Optional: ``exit`` (empty cell = the trade is still open), ``open_time``, ``close_time``, ``stop``,
    ``target``, ``commission``, ``swap``, ``taxes`` (keep the file's sign: -7 is a cost), ``profit``
    (without commission/swap/taxes), ``comment``.
``sides``
    ``{"long": [...], "short": [...]}``: the words the side column uses, compared without case;
    default ``{"long": ["buy", "long"], "short": ["sell", "short"]}``.

Top-level keys starting with ``_`` (``"_comment"``) are ignored, so a mapping can document itself.

Numbers are read with :func:`parsing.parse_number` (``1,234.50``, ``(58.50)``, ``$-3``, see also
``decimal``); empty optional cells (``""``, ``-``, ``n/a``) are empty. A mapping that is not valid raises :class:`MappingError` naming the mapping file and
the key; a mapped column missing from the CSV header raises :class:`model.StatementError` naming the
mapping key and the column. Each row that cannot be read becomes a ``RejectedRow`` whose reason names
the file, the line and the column; blank lines are kept as ``NonTradeRow("blank")``.
:func:`sniff` never claims a file: this reader is used only when asked for.

:mod:`csv_records` holds the CSV plumbing shared with the TradingView and Tradovate readers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .model import NonTradeRow, RejectedRow, SourceRef, Statement, StatementError, Trade
from .ledger import JUNK_ROWS, Ledger, refuse_junk, settle
from .parsing import choose_date_formats, detect_decimal, parse_datetime, parse_number, parse_optional_number

FORMAT = "csv"
DESCRIPTION = "any CSV of trades, one row per trade, read through a JSON mapping file (--mapping)"

SECTION = "trades"


# The CSV plumbing shared by the CSV readers lives in csv_records (re-exported here for old imports).
from .csv_records import (  # noqa: E402,F401
    CsvRecord,
    field_count_problem,
    head_columns,
    head_first_line,
    read_csv_records,
)


# --------------------------------------------------------------------------------------------
# The mapping file
# --------------------------------------------------------------------------------------------

class MappingError(StatementError):
    """The mapping file itself is wrong; ``file`` is the mapping file."""


class ColumnMap(BaseModel):
    """Trade field -> CSV column header."""

    model_config = ConfigDict(extra="forbid")

    trade_id: str
    symbol: str
    side: str
    quantity: str
    entry: str
    exit: str | None = None
    open_time: str | None = None
    close_time: str | None = None
    stop: str | None = None
    target: str | None = None
    commission: str | None = None
    swap: str | None = None
    taxes: str | None = None
    profit: str | None = None
    comment: str | None = None

    @field_validator("*")
    @classmethod
    def _column_name(cls, v: str | None) -> str | None:
        if v is not None:
            v = v.strip()
            if not v:
                raise ValueError("the column name must not be empty")
        return v


class Sides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    long: list[str] = ["buy", "long"]
    short: list[str] = ["sell", "short"]

    @model_validator(mode="after")
    def _distinct(self) -> "Sides":
        long = {w.strip().casefold() for w in self.long}
        short = {w.strip().casefold() for w in self.short}
        if not long or "" in long:
            raise ValueError("'long' needs at least one non-empty word")
        if not short or "" in short:
            raise ValueError("'short' needs at least one non-empty word")
        both = long & short
        if both:
            raise ValueError(f"these words are listed as both long and short: {sorted(both)}")
        return self

    def side_of(self, text: str) -> str | None:
        word = text.strip().casefold()
        if word in {w.strip().casefold() for w in self.long}:
            return "long"
        if word in {w.strip().casefold() for w in self.short}:
            return "short"
        return None


class Mapping(BaseModel):
    """What a mapping file says (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    broker: str
    account: str = ""
    account_currency: str | None = None
    quote_currency: str | None = None
    asset_class: str | None = None
    contract_size: float | None = Field(default=None, gt=0)
    delimiter: str = ","
    decimal: Literal[".", ",", "auto"] = "auto"
    encoding: str = "utf-8-sig"
    date_format: str | list[str] = "%Y-%m-%d %H:%M:%S"
    columns: ColumnMap
    sides: Sides = Sides()

    @field_validator("broker")
    @classmethod
    def _broker(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str) -> str:
        if v.lower() in ("tab", "\\t"):
            return "\t"
        if len(v) != 1 or v in "\"\r\n":
            raise ValueError(f"must be one character such as ',' ';' or '\\t', not {v!r}")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown text encoding {v!r}") from None
        return v

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, v: str | list[str]) -> str | list[str]:
        formats = [v] if isinstance(v, str) else v
        if not formats or any("%" not in f for f in formats):
            raise ValueError("give strptime formats such as '%Y-%m-%d %H:%M:%S' (each needs % codes)")
        return v

    @property
    def date_formats(self) -> tuple[str, ...]:
        return (self.date_format,) if isinstance(self.date_format, str) else tuple(self.date_format)


def _error_text(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_keys(err["loc"])
        return f"key {key!r}: unknown key" + (f" (known keys: {', '.join(known)})" if known else "")
    if kind == "missing":
        return f"key {key!r}: required but missing"
    msg = err["msg"].removeprefix("Value error, ")
    return f"key {key!r}: {msg}"


def _known_keys(loc: tuple) -> list[str]:
    parent = loc[:-1]
    if parent == ():
        return list(Mapping.model_fields)
    if parent == ("columns",):
        return list(ColumnMap.model_fields)
    if parent == ("sides",):
        return list(Sides.model_fields)
    return []


def load_mapping(mapping: Path | str | dict | Mapping) -> tuple[Mapping, str]:
    """The validated mapping and its name (the file, or "<mapping>"); MappingError otherwise."""
    if isinstance(mapping, Mapping):
        return mapping, "<mapping>"
    if isinstance(mapping, dict):
        name, data = "<mapping>", mapping
    else:
        name = str(mapping)
        try:
            text = Path(mapping).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise MappingError(name, f"cannot open the mapping file: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise MappingError(name, "the mapping file is not UTF-8 text") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError(name, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise MappingError(name, "the mapping must be a JSON object {\"broker\": ..., \"columns\": {...}}")
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
    try:
        return Mapping.model_validate(data), name
    except ValidationError as exc:
        problems = "; ".join(_error_text(e) for e in exc.errors())
        raise MappingError(name, f"invalid mapping: {problems}") from None


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------

def sniff(path: Path, head: bytes) -> bool:  # noqa: ARG001 - the interface asks for both
    """Never: any CSV could be one, so this reader is used only when asked for (--format csv)."""
    return False


_THOUSANDS_COMMA = re.compile(r"^[^\d]*\d{1,3}(,\d{3})+(\.\d*)?[^\d]*$")


def _number(text: str, decimal: str | None, optional: bool) -> float | None:
    """parse_number with the file's decimal mark; never reads a decimal comma as a thousands separator."""
    s = text.strip()
    if optional and s.lower() in ("", "-", "n/a", "na", "--"):
        return None
    if decimal == "." and "," in s and not _THOUSANDS_COMMA.match(s.replace(" ", "")):
        raise ValueError(f"not a number: {text!r} (a decimal comma? set \"decimal\": \",\" in the mapping)")
    return parse_optional_number(s, decimal) if optional else parse_number(s, decimal)


_NUMBERS = ("quantity", "entry", "exit", "stop", "target", "commission", "swap", "taxes", "profit")
_REQUIRED_NUMBERS = ("quantity", "entry")
_TIMES = ("open_time", "close_time")


def read(path: Path, mapping: Path | str | dict | Mapping | None = None) -> Statement:
    """Read a CSV of trades through ``mapping`` (a mapping file, a dict or a :class:`Mapping`)."""
    path = Path(path)
    file = str(path)
    if mapping is None:
        raise StatementError(
            file, "the generic CSV reader needs a mapping file (--mapping MAPPING.json) saying which column "
                  "holds what; see addin/statements/example_mapping.json")
    m, mapping_name = load_mapping(mapping)
    columns = {field: col for field, col in m.columns.model_dump().items() if col is not None}

    header, leading, records = read_csv_records(
        path, delimiter=m.delimiter, encoding=m.encoding,
        expected=f"a CSV file with the columns named in {mapping_name}", records_per_trade=1)
    index: dict[str, int] = {}
    for i, name in enumerate(header.fields):
        index.setdefault(name, i)
    missing = [(field, col) for field, col in columns.items() if col not in index]
    if missing:
        listed = ", ".join(f"columns.{field} = {col!r}" for field, col in missing)
        delim_hint = ""
        if len(header.fields) == 1 and m.delimiter not in header.fields[0]:
            delim_hint = f" (the header was not split by delimiter {m.delimiter!r}: is the delimiter right?)"
        raise StatementError(
            file, f"mapping {mapping_name}: {listed} not in the CSV header{delim_hint}; "
                  f"the header has: {', '.join(repr(h) for h in header.fields)}")
    doubled = sorted({col for col in columns.values() if header.fields.count(col) > 1})
    if doubled:
        raise StatementError(file, f"mapping {mapping_name}: the header has more than one column named "
                                   f"{', '.join(map(repr, doubled))}; cannot tell which to read")

    trades: list[Trade] = []
    non_trades = [NonTradeRow(kind="blank", source=SourceRef(file=file, row=r.line, section=SECTION))
                  for r in leading]
    rejected: list[RejectedRow] = []
    first_seen: dict[str, int] = {}
    name = path.name
    ledger = Ledger(file)
    for r in leading:
        ledger.see(SECTION, r.line)

    # the file's decimal mark and date order, decided once from every cell (never per cell)
    readable = [r for r in records if not r.is_blank and field_count_problem(r, header) is None]
    decimal: str | None = m.decimal
    if decimal == "auto":
        cells = ((f"line {r.line} column {columns[f]!r}", r.fields[index[columns[f]]])
                 for r in readable for f in _NUMBERS if f in columns)
        decimal, _why = detect_decimal(cells, m.delimiter)
    date_formats = m.date_formats
    dates = ((f"line {r.line} column {columns[f]!r}", r.fields[index[columns[f]]])
             for r in readable for f in _TIMES if f in columns and r.fields[index[columns[f]]].strip())
    try:
        date_formats = choose_date_formats(dates, date_formats)
    except ValueError as exc:
        raise StatementError(file, f"mapping {mapping_name}, key 'date_format': {exc}") from None

    for rec in records:
        ledger.see(SECTION, rec.line)
        if not trades and len(rejected) >= JUNK_ROWS:
            refuse_junk(file, 0, len(rejected), f"a CSV that {mapping_name} describes", rejected[0].reason)
        src = SourceRef(file=file, row=rec.line, section=SECTION)
        if rec.is_blank:
            non_trades.append(NonTradeRow(kind="blank", source=src))
            continue

        def reject(reason: str) -> None:
            rejected.append(RejectedRow(source=src, reason=reason,  # file and line are in src
                                        raw=rec.raw(m.delimiter)))

        problem = field_count_problem(rec, header)
        if problem:
            reject(problem)
            continue
        cell = {field: rec.fields[index[col]] for field, col in columns.items()}
        errors: list[str] = []
        values: dict[str, Any] = {}

        def col(field: str) -> str:
            return f"column {columns[field]!r} ({field})"

        for field in ("trade_id", "symbol"):
            values[field] = cell[field]
            if not cell[field].strip():
                errors.append(f"{col(field)} is empty")
        side = m.sides.side_of(cell["side"])
        if side is None:
            errors.append(f"{col('side')}: {cell['side']!r} is neither long ({', '.join(m.sides.long)}) "
                          f"nor short ({', '.join(m.sides.short)})")
        values["side"] = side
        for field in _NUMBERS:
            if field not in cell:
                continue
            try:
                if field in _REQUIRED_NUMBERS:
                    if not cell[field].strip():
                        errors.append(f"{col(field)} is empty")
                        continue
                    values[field] = _number(cell[field], decimal, optional=False)
                else:
                    values[field] = _number(cell[field], decimal, optional=True)
            except ValueError as exc:
                errors.append(f"{col(field)}: {exc}")
                continue
            v = values[field]
            if field in ("quantity", "entry", "exit", "stop", "target") and v is not None and v <= 0:
                what = "the direction comes from the side column" if field == "quantity" else "a price"
                errors.append(f"{col(field)}: {cell[field]!r} must be positive ({what})")
        for field in _TIMES:
            if field not in cell:
                continue
            if not cell[field].strip():
                values[field] = None
                continue
            try:
                values[field] = parse_datetime(cell[field], date_formats)
            except ValueError as exc:
                errors.append(f"{col(field)}: {exc}")
        if values.get("close_time") is not None and values.get("exit") is None and not errors:
            if "exit" in columns:
                errors.append(f"{col('exit')} is empty but the trade has a close time: a closed trade needs an exit price")
            else:
                errors.append("the trade has a close time but the mapping names no exit column")
        if errors:
            reject("; ".join(errors))
            continue
        tid = values["trade_id"].strip()
        if tid in first_seen:
            reject(f"{col('trade_id')}: trade id {tid!r} already read at line {first_seen[tid]}")
            continue
        if values.get("comment") is None:
            values["comment"] = cell.get("comment", "")
        for key in ("commission", "swap", "taxes"):
            if values.get(key) is None:
                values.pop(key, None)
        try:
            trade = Trade(
                broker=m.broker, account=m.account, account_currency=m.account_currency,
                quote_currency=m.quote_currency, asset_class=m.asset_class, contract_size=m.contract_size,
                source=src, **values,
            )
        except ValidationError as exc:
            reasons = []
            for e in exc.errors():
                field = str(e["loc"][0]) if e["loc"] else ""
                where = col(field) if field in columns else (field or "row")
                reasons.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
            reject("; ".join(reasons))
            continue
        first_seen[tid] = rec.line
        trades.append(trade)

    return settle(Statement(
        file=file, format=FORMAT, broker=m.broker, account=m.account,
        account_currency=m.account_currency, trades=trades, non_trades=non_trades, rejected=rejected,
    ), ledger)
