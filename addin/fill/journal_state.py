"""What a journal holds, read from its package for a fill: Settings, Instruments, Cash, Rejected rows,
CashFrom and the ledger of imported keys; and how trade keys compare."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..journal import columns as C
from ..journal.instruments import Instrument
from ..journal.read import parse_source
from ..journal.settings import SETTINGS_CELLS, STATED, Settings, default_mark, setting_error
from ..statements.model import BalanceEvent
from .xlsx_edit import (Package)

_EPOCH = datetime(1899, 12, 30)
REJECTED_TABLE = "RejectedRows"


class SettingsError(Exception):
    """A Settings cell holds a value that cannot be read."""


def norm(v: object) -> str:
    """A key part compared the way a trader means it: case and whitespace do not matter."""
    return " ".join(text(v).split()).casefold()


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
        d = _EPOCH + timedelta(days=float(v))
        return d.replace(microsecond=0) + timedelta(seconds=round(d.microsecond / 1e6))  # the serial's float noise
    return None


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
    if "Instruments" not in pkg.tables:
        return None
    out = []
    heads = {"Symbol": "symbol", "Asset class": "asset_class", "Contract size": "contract_size",
             "Pip size": "pip_size", "Quote currency": "quote_currency", "Margin rate": "margin_rate",
             "Description": "description"}
    for _, rec in pkg.table_records("Instruments"):
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
    if C.CASH_TABLE not in pkg.tables:
        return out
    for _, rec in pkg.table_records(C.CASH_TABLE):
        amount = rec.get("Amount")
        if not isinstance(amount, float):
            continue
        out.append(BalanceEvent(time=_date(rec.get("Time")), amount=amount, kind=text(rec.get("Kind")),
                                source=parse_source(text(rec.get("Source")))))
    return out


def read_rejected_keys(pkg: Package) -> set[tuple]:
    if REJECTED_TABLE not in pkg.tables:
        return set()
    return {(text(r.get("File")), text(r.get("Row")), text(r.get("Reason")))
            for _, r in pkg.table_records(REJECTED_TABLE)}


def read_cash_from(pkg: Package) -> tuple[tuple[str, str], object] | None:
    """((sheet, cell), value) of the CashFrom defined name, None when the journal has none."""
    target = pkg.defined.get(C.CASH_FROM, "")
    if "!" not in target:
        return None
    sheet, ref = target.rsplit("!", 1)
    sheet, ref = sheet.strip("'").replace("''", "'"), ref.replace("$", "")
    v, found = pkg.cell_value(sheet, ref)
    return (sheet, ref), (v if found and v not in ("",) else None)


def read_ledger(pkg: Package) -> set[tuple[str, str, str]] | None:
    part = pkg.sheet_part(C.LEDGER_SHEET)
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
