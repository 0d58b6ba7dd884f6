"""What a journal holds, read from its package for a fill: Settings, Instruments, Cash, Rejected rows,
CashFrom and the ledger of imported keys; and how trade keys compare."""

from __future__ import annotations

import ast
import re
from datetime import datetime

from ..journal import schema
from ..journal.instruments import Instrument
from ..journal.settings import SETTINGS_CELLS, STATED, Settings, default_mark, setting_error
from ..statements.model import BalanceEvent, SourceRef
from .xlsx_edit import Package, clean

REJECTED_TABLE = schema.REJECTED_TABLE


class SettingsError(Exception):
    """A Settings cell holds a value that cannot be read."""


def norm(v: object) -> str:
    """A key part compared the way a trader means it: case and whitespace do not matter, nor the
    control characters the journal cannot hold (a cell is written without them, :func:`clean`)."""
    return " ".join(clean(text(v)).split()).casefold()


def text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def trade_key(broker: object, account: object, trade_id: object) -> tuple[str, str, str]:
    return norm(broker), norm(account), norm(trade_id)


def _date(v: object) -> datetime | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return schema.from_serial(float(v))
    return None


_SOURCE = re.compile(r"^(?P<file>.*?)(?:, section (?P<section>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))?"
                     r"(?:, row (?P<row>-?\d+))?$", re.S)


def parse_source(text: str) -> SourceRef:
    """Inverse of ``str(SourceRef)`` (what the Source column shows): ``file, section 'Closed Transactions', row 12``."""
    m = _SOURCE.match(text or "")
    section = ast.literal_eval(m.group("section")) if m.group("section") else ""
    row = int(m.group("row")) if m.group("row") else None
    return SourceRef(file=m.group("file"), row=row, section=section)


def read_settings(pkg: Package) -> tuple[Settings, dict[str, tuple[str, str]]]:
    """The Settings model from the named cells, each read with the functions' parsers; an unreadable
    one is a :class:`SettingsError` naming sheet, cell and value. Also field -> (sheet, cell)."""
    values, where = {}, {}
    for fld, name, *_ in SETTINGS_CELLS:
        target = pkg.defined.get(name)
        if not target or "!" not in target:
            continue
        sheet, ref = target.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
        ref = ref.replace("$", "")
        v, found = pkg.cell_value(sheet, ref)
        where[fld] = (sheet, ref)
        if not found or v is None or v == "":
            continue
        try:
            Settings(**{fld: v})
        except ValueError as exc:
            raise SettingsError(f"{sheet}!{ref} ({name}) holds {v!r}, which cannot be read: "
                                f"{setting_error(exc)}") from None
        values[fld] = v
    return Settings(**values), where


def template_defaults(pkg: Package, settings: Settings) -> set[str]:
    """The statement-stated settings (:data:`~addin.journal.settings.STATED`) whose Settings cell
    still holds the template's default: its hidden ``TemplateDefault_`` mark is there and the cell
    holds the mark's value. A fill may set those from a statement; every other one is the trader's."""
    out = set()
    for fld, name, *_ in SETTINGS_CELLS:
        mark = pkg.defined.get(default_mark(name))
        if fld not in STATED or mark is None:
            continue
        mark = mark.strip()
        value = mark[1:-1].replace('""', '"') if mark.startswith('"') and mark.endswith('"') else mark
        try:
            if getattr(Settings(**{fld: value}), fld) == getattr(settings, fld):
                out.add(fld)
        except ValueError:
            continue
    return out


def read_instruments(pkg: Package) -> list[Instrument] | None:
    if schema.INSTRUMENTS_TABLE not in pkg.tables:
        return None
    out = []
    heads = {f.header: f.attr for f in schema.INSTRUMENTS.columns}
    for _, rec in pkg.table_records(schema.INSTRUMENTS_TABLE):
        data = {heads[k]: v for k, v in rec.items() if k in heads}
        if not text(data.get("symbol")).strip():
            continue
        try:
            out.append(Instrument(**{k: (text(v) if k in ("symbol", "asset_class", "quote_currency", "description")
                                         else (v if isinstance(v, float) else None)) for k, v in data.items()}))
        except ValueError:
            continue  # a half-typed instrument row: the formulas' lookups see it as Excel does
    return out


def read_cash(pkg: Package) -> list[BalanceEvent]:
    out = []
    if schema.CASH_TABLE not in pkg.tables:
        return out
    head = {f.attr: f.header for f in schema.CASH.columns}
    for _, rec in pkg.table_records(schema.CASH_TABLE):
        amount = rec.get(head["amount"])
        if not isinstance(amount, float):
            continue
        out.append(BalanceEvent(time=_date(rec.get(head["time"])), amount=amount, kind=text(rec.get(head["kind"])),
                                source=parse_source(text(rec.get(head["source"]))),
                                broker=text(rec.get(head["broker"])), account=text(rec.get(head["account"]))))
    return out


def read_rejected_keys(pkg: Package) -> set[tuple]:
    if REJECTED_TABLE not in pkg.tables:
        return set()
    head = {f.attr: f.header for f in schema.REJECTED.columns}
    return {(text(r.get(head["file"])), text(r.get(head["row"])), text(r.get(head["reason"])))
            for _, r in pkg.table_records(REJECTED_TABLE)}


def read_cash_from(pkg: Package) -> tuple[tuple[str, str], object] | None:
    """((sheet, cell), value) of the CashFrom defined name, None when the journal has none."""
    target = pkg.defined.get(schema.CASH_FROM, "")
    if "!" not in target:
        return None
    sheet, ref = target.rsplit("!", 1)
    sheet, ref = sheet.strip("'").replace("''", "'"), ref.replace("$", "")
    v, found = pkg.cell_value(sheet, ref)
    return (sheet, ref), (v if found and v not in ("",) else None)


def read_ledger(pkg: Package) -> set[tuple[str, str, str]] | None:
    part = pkg.sheet_part(schema.LEDGER_SHEET)
    if part is None:
        return None
    keys = set()
    for row, cells in pkg.rows_of(part):
        if row == 1:
            continue
        v = {c.col: c.value(pkg.sst) for c in cells}
        if text(v.get(2)).strip():
            keys.add(trade_key(v.get(0), v.get(1), v.get(2)))
    return keys
