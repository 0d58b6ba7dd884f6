"""The tests' reader of a journal file: its trades, cash movements, settings, instruments and rejected
rows, as a trader would read them back (openpyxl, the file as written). The program itself does not
read a journal this way: the fill reads what it needs at XML level (addin.fill.journal_state,
addin.fill.trades_part). Trades come from the input columns of the ``Trades`` table
(calculated columns are ignored: they are rebuilt), settings from the named cells, instruments
from the ``Instruments`` table, cash movements from the ``Cash`` table, rejected rows from the
Rejected sheet. ``build_journal`` followed by ``read_journal`` gives back equal trades (and the
cash movements, in the Cash sheet's time order, times as naive datetimes).

A row a user typed that is not a valid trade (no symbol, a zero quantity...) is not dropped
silently: it is returned in ``JournalContents.rejected`` with the reason.
"""

from __future__ import annotations

import posixpath
import zipfile
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from pydantic import BaseModel, ValidationError

from addin.statements.model import BalanceEvent, RejectedRow, SourceRef, Trade
from addin.journal import columns as C
from addin.journal.account import TABLE as ACCOUNT_TABLE
from addin.journal.instruments import Instrument
from addin.journal.settings import SETTINGS_CELLS, Settings
from addin.journal.workbook import CASH_COLUMNS, INSTRUMENT_COLUMNS, REJECTED_COLUMNS
from addin.journal import schema
from addin.fill.journal_state import parse_source


class JournalContents(BaseModel):
    trades: list[Trade] = []
    settings: Settings = Settings()
    instruments: list[Instrument] = []
    rejected: list[RejectedRow] = []
    cash: list[BalanceEvent] = []


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v)
    return s if s != "" else None


def _number(v: object) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError(f"must be a number (got {v})")
    if isinstance(v, (int, float)):
        return float(v)
    return float(str(v).replace(",", "").strip())


def _when(v: object) -> datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, (int, float)):
        from openpyxl.utils.datetime import from_excel
        return from_excel(v)
    return datetime.fromisoformat(str(v).strip())


def _tables(path: Path) -> dict[str, tuple[str, str]]:
    """Table name -> (sheet title, ref), read from the package (openpyxl's read-only mode, which
    is fast enough for 100,000 rows, does not load tables)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
    out: dict[str, tuple[str, str]] = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        wbxml = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", ns)}
        for sheet in wbxml.findall("m:sheets/m:sheet", ns):
            part = _resolve("xl", targets.get(sheet.get(f"{{{ns['r']}}}id"), ""))
            rel_part = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
            if rel_part not in names:
                continue
            for r in ET.fromstring(z.read(rel_part)).findall("p:Relationship", ns):
                if not r.get("Type", "").endswith("/table"):
                    continue
                tpart = _resolve(posixpath.dirname(part), r.get("Target", ""))
                if tpart in names:
                    t = ET.fromstring(z.read(tpart))
                    out[t.get("displayName") or t.get("name")] = (sheet.get("name"), t.get("ref"))
    return out


def _resolve(base: str, target: str) -> str:
    """A relationship target as a part name: absolute ("/xl/tables/table1.xml") or relative to ``base``."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))


def _rows(wb, where: tuple[str, str]) -> tuple[list[str], list[tuple]]:
    title, ref = where
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    rows = list(wb[title].iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col,
                                    values_only=True))
    header = [str(v) if v is not None else "" for v in rows[0]]
    return header, rows[1:]


def _trade(rec: dict[str, object]) -> Trade:
    data: dict[str, object] = {}
    for col in C.INPUTS + C.TRAILING:
        if not col.field or col.name not in rec:
            continue
        v = rec[col.name]
        if col.field == "source":
            data["source"] = parse_source(_text(v) or "")
        elif col.field == "flags":
            data["flags"] = tuple(f for f in (_text(v) or "").split("; ") if f)
        elif col.kind == "text":
            t = _text(v)
            if col.field == "side" and t is not None:
                t = t.strip().lower()
                t = {"buy": "long", "sell": "short"}.get(t, t)
            if t is not None or col.field in ("broker", "account", "comment"):
                data[col.field] = t if t is not None else ""
        elif col.kind == "date":
            data[col.field] = _when(v)
        elif col.kind == "figure":  # a number, or the words why there is none
            data[col.field] = v if isinstance(v, (int, float)) and not isinstance(v, bool) else _text(v)
        else:
            n = _number(v)
            if n is not None or col.field not in ("commission", "swap", "taxes"):
                data[col.field] = n
    data.setdefault("source", SourceRef(file=""))
    data.setdefault("broker", "")
    return Trade(**data)


def read_marks(wb, where: tuple[str, str] | None) -> dict[str, float]:
    """Trade ID (upper case) -> the mark price typed or filled on the Account sheet's table
    (``where``: the table's (sheet, ref), or None)."""
    if where is None:
        return {}
    from openpyxl.utils.cell import range_boundaries

    title, ref = where
    c0, r0, c1, r1 = range_boundaries(ref)
    rows = list(wb[title].iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1, values_only=True))
    head = [str(v) if v is not None else "" for v in rows[0]]
    if "Trade ID" not in head or "Mark price" not in head:
        return {}
    i, j = head.index("Trade ID"), head.index("Mark price")
    return {str(r[i]).strip().upper(): float(r[j]) for r in rows[1:]
            if r[i] not in (None, "") and isinstance(r[j], (int, float)) and r[j] > 0}


def read_journal(path: str | Path) -> JournalContents:
    """The trades, settings, instruments and rejected rows of the journal at ``path``."""
    path = Path(path)
    tables = _tables(path)
    wb = load_workbook(path, read_only=True)
    out = JournalContents()

    # Settings: the named cells.
    values: dict[str, object] = {}
    for field, name, *_ in SETTINGS_CELLS:
        dn = wb.defined_names.get(name)
        if dn is None:
            continue
        for sheet, coord in dn.destinations:
            if sheet in wb.sheetnames:
                v = wb[sheet][coord.replace("$", "")].value
                if v is not None and v != "":
                    values[field] = v
    try:
        out.settings = Settings(**values)
    except ValidationError:
        out.settings = Settings(**{k: v for k, v in values.items() if _valid_setting(k, v)})

    rejected: list[RejectedRow] = []
    if schema.INSTRUMENTS_TABLE in tables:
        header, rows = _rows(wb, tables[schema.INSTRUMENTS_TABLE])
        fields = {h: f for h, f, *_ in INSTRUMENT_COLUMNS}
        for k, row in enumerate(rows, start=2):
            rec = {fields[h]: v for h, v in zip(header, row) if h in fields}
            if all(v is None or v == "" for v in rec.values()):
                continue
            try:
                out.instruments.append(Instrument(**{
                    f: (_text(v) or "") if f in ("symbol", "asset_class", "quote_currency", "description")
                    else _number(v) for f, v in rec.items()}))
            except (ValidationError, ValueError) as exc:
                rejected.append(RejectedRow(source=SourceRef(file=path.name, row=k, section=schema.INSTRUMENTS_SHEET),
                                            reason=f"not a valid instrument: {exc}", raw=_raw(row)))

    if C.TABLE in tables:
        header, rows = _rows(wb, tables[C.TABLE])
        header = [C.RENAMED.get(h, h) for h in header]
        for k, row in enumerate(rows, start=2):
            rec = dict(zip(header, row))
            if all(rec.get(c.name) in (None, "") for c in C.INPUTS if c.field):
                continue
            try:
                out.trades.append(_trade(rec))
            except (ValidationError, ValueError) as exc:
                rejected.append(RejectedRow(source=SourceRef(file=path.name, row=k, section=schema.TRADES_SHEET),
                                            reason=f"not a valid trade: {exc}".splitlines()[0] + _first_error(exc),
                                            raw=_raw(row[:len(C.INPUTS)])))

    marks = read_marks(wb, tables.get(ACCOUNT_TABLE))  # mark prices of the Account sheet
    if marks:
        out.trades = [t.model_copy(update={"mark_price": marks[t.trade_id.upper()]})
                      if not t.is_closed and t.trade_id.upper() in marks else t for t in out.trades]

    if C.CASH_TABLE in tables:
        header, rows = _rows(wb, tables[C.CASH_TABLE])
        heads = [h for h, *_ in CASH_COLUMNS]
        for k, row in enumerate(rows, start=2):
            rec = {h: v for h, v in zip(header, row) if h in heads}
            if all(v is None or v == "" for v in rec.values()):
                continue
            try:
                amount = _number(rec.get("Amount"))
                if amount is None:
                    raise ValueError("no amount")
                out.cash.append(BalanceEvent(time=_when(rec.get("Time")), amount=amount,
                                             kind=_text(rec.get("Kind")) or "",
                                             source=parse_source(_text(rec.get("Source")) or "")))
            except (ValidationError, ValueError) as exc:
                rejected.append(RejectedRow(source=SourceRef(file=path.name, row=k, section=schema.CASH_SHEET),
                                            reason=f"not a valid cash movement: {exc}".splitlines()[0],
                                            raw=_raw(row)))

    if schema.REJECTED_SHEET in wb.sheetnames:
        ws = wb[schema.REJECTED_SHEET]
        heads = [h for h, _ in REJECTED_COLUMNS]
        for row in ws.iter_rows(min_row=2, max_col=len(heads), values_only=True):
            rec = dict(zip(heads, row))
            if all(v is None or v == "" for v in rec.values()):
                continue
            r = rec["Row"]
            out.rejected.append(RejectedRow(
                source=SourceRef(file=_text(rec["File"]) or "", row=int(r) if isinstance(r, (int, float)) else None,
                                 section=_text(rec["Section"]) or ""),
                reason=_text(rec["Reason"]) or "", raw=_text(rec["Raw text"]) or ""))
    out.rejected.extend(rejected)
    wb.close()
    return out


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        e = exc.errors()[0]
        return f" ({'.'.join(str(p) for p in e['loc'])}: {e['msg']})"
    return ""


def _raw(row: tuple) -> str:
    return "\t".join("" if v is None else str(v) for v in row)


def _valid_setting(field: str, value: object) -> bool:
    try:
        Settings(**{field: value})
        return True
    except ValidationError:
        return False
