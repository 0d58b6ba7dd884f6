"""Merging a statement into an existing journal in place: the parts the statement owns are
rewritten, every other part of the package is copied unchanged.

Ownership of a Trades row's cells (columns found by the table's header, wherever the trader moved
them or whatever columns they added):

* statement-owned (:data:`STATEMENT_OWNED`): what a statement says -- times, symbol, side, size,
  prices, costs, profit, currencies, FX, equity, leverage, Source, Flags. A fill rewrites them, on
  the trades the statement holds, when the statement says something else;
* the key (Broker, Account, Trade ID) is compared normalised (case and whitespace) and kept as
  the trader spelled it;
* Stop and Target: a statement's value fills an empty cell; a typed value is never replaced -- when
  the statement disagrees, the trade's Flags say so;
* the trader's columns (Setup, Tags, Mistakes, Notes, Screenshot) and every column the trader
  added: written only on a trade the fill adds (Notes takes the statement's comment), never after;
* calculated columns: formulas untouched; the cached values of the journal's own formulas are
  recomputed (:func:`addin.journal.columns.compute`) so readers that do not calculate show the
  new figures.

New trades are numbered in ``No.`` after the largest number in the table. CashFrom (the Cash
sheet's "Counted from" date) follows the first trade's open time unless the trader typed another
date. The sheets that summarise the whole table (Dashboard, Stats, Account, Planner) are left to the
spreadsheet's recalculation (``fullCalcOnLoad``) when the trades change; the Account sheet's
OpenPositions rows are not added or removed, and the result's notes name the trades that no longer
match them.

A row without a Trade ID is a manual trade: kept, and counted in the cached figures. A trade whose
key is in the hidden ledger sheet but no longer in Trades was deleted by the trader: not added back
unless ``restore_deleted``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from ..journal import columns as C
from ..journal.instruments import Instrument, lookup
from ..journal.read import parse_source
from ..journal.settings import SETTINGS_CELLS, Settings, setting_error
from ..statements.model import BalanceEvent, RejectedRow, SourceRef, Trade
from .limits import check_table_rows
from .xlsx_edit import (CT_SHEET, NS_MAIN, REL_SHEET, Cell, NotAJournal, Package, _col_of, build_row, cached_equal,
                        clean,
                        cell_xml, col_letter, formula_xml, parse_cells, range_bounds, row_number, row_parts,
                        serial, split_ref, stream_sheet, with_cached)

_EPOCH = datetime(1899, 12, 30)
KEY_COLUMNS = ("Broker", "Account", "Trade ID")
STOP_COLUMNS = ("Stop", "Target")
STATEMENT_OWNED = tuple(c.name for c in C.INPUTS if c.name not in KEY_COLUMNS + STOP_COLUMNS) + ("Source", "Flags")
# What a statement states about a trade. The other statement-owned cells (contract size, FX, equity,
# leverage, Source, Flags...) are completed by the fill from the statement's context; they are
# rewritten with the facts, so an overlapping later statement that says the same does not replace
# them with figures rebuilt from a shorter history.
FACTS = ("Open time", "Close time", "Symbol", "Side", "Quantity", "Entry", "Exit", "Commission", "Swap", "Taxes",
         "Profit")
DATE_COLUMNS = {c.name for c in C.INPUTS if c.kind == "date"}
NUMBER_COLUMNS = {c.name for c in C.INPUTS if c.kind == "number"}
REJECTED_TABLE = "RejectedRows"
# Sheets of figures over the whole Trades table, which a fill leaves to Excel's recalculation.
SUMMARY_SHEETS = ("Dashboard", "Stats", "Account", "Planner")


EXCEL_ROWS = 1_048_576  # rows of a worksheet in Excel (and LibreOffice since 7.4)


def cap_rejected(rows: list[RejectedRow], used: int, limit: int = EXCEL_ROWS) -> list[RejectedRow]:
    """``rows`` to append to a Rejected sheet whose first ``used`` rows are taken (header included),
    cut so the sheet stays within ``limit`` rows: the rows that do not fit become one summary row."""
    room = limit - used
    if len(rows) <= room:
        return rows
    keep = max(room - 1, 0)
    rest = len(rows) - keep
    files = sorted({r.source.file for r in rows[keep:]})
    summary = RejectedRow(source=SourceRef(file=", ".join(files)[:200]),
                          reason=f"{rest:,} more rejected rows not listed: the sheet is at Excel's {limit:,}-row "
                                 "limit (the fill's summary counts them; re-read the file to see them)")
    return rows[:keep] + ([summary] if room > 0 else [])


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


# What the journal holds ---------------------------------------------------------------------------

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


# The plan ------------------------------------------------------------------------------------------

def trade_cells(t: Trade, instruments: Sequence[Instrument] | None, _found: dict | None = None) -> dict[str, object]:
    """A trade's cells by column name, as the journal writes them (``_found``: symbol -> Instrument
    key, a cache the caller keeps)."""
    out: dict[str, object] = {}
    for col in C.INPUTS + C.TRAILING:
        if not col.field:
            continue
        v = getattr(t, col.field)
        if col.field == "source":
            v = str(v)
        elif col.field == "flags":
            v = "; ".join(v)
        if col.kind == "date" and v is not None:
            v = serial(v)
        out[col.name] = None if v == "" else v
    found = {} if _found is None else _found
    if t.symbol not in found:
        inst = lookup(t.symbol, instruments)
        found[t.symbol] = inst.symbol if inst else None
    out["Instrument"] = found[t.symbol]
    return out


def _same(name: str, old: object, new: object) -> bool:
    if new is None or new == "":
        return old is None or old == ""
    if name in DATE_COLUMNS or name in NUMBER_COLUMNS:
        if isinstance(old, bool) or not isinstance(old, (int, float)):
            return False
        return abs(float(old) - float(new)) <= 1e-9 * max(1.0, abs(float(new))) if name in DATE_COLUMNS \
            else float(old) == float(new)
    return text(old) == text(new)


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else text(v)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    deleted_skipped: int = 0
    restored: int = 0
    stop_conflicts: int = 0


@dataclass
class EditResult:
    per_file: list[Counts]
    total_trades: int
    changed: bool
    full_calc: bool = False
    notes: list[str] = field(default_factory=list)


def _account_notes(pkg: Package, all_rows: list[dict]) -> list[str]:
    """What the Account sheet's OpenPositions table (one row per open trade, written by the build;
    the fill does not add or remove its rows) no longer matches: trades now open that it does not
    list, and trades it lists that are now closed or gone."""
    if "OpenPositions" not in pkg.tables:
        return []
    listed = {norm(rec.get("Trade ID")) for _, rec in pkg.table_records("OpenPositions")
              if text(rec.get("Trade ID")).strip()}
    open_now, ids = set(), {}
    for r in all_rows:
        tid = norm(r.get("Trade ID"))
        if not tid:
            continue
        ids[tid] = text(r.get("Trade ID"))
        if r.get("Exit") in (None, "") and r.get("Entry") not in (None, "") and r.get("Quantity") not in (None, ""):
            open_now.add(tid)
    missing, closed = sorted(open_now - listed), sorted(listed - open_now)
    notes = []
    if missing:
        notes.append(f"Account sheet: {len(missing)} open trade(s) not in its OpenPositions table "
                     f"({', '.join(ids[k] for k in missing[:10])}{', ...' if len(missing) > 10 else ''}): "
                     "add a row with the Trade ID (and its mark price) to count them in the account figures")
    if closed:
        notes.append(f"Account sheet: {len(closed)} trade(s) in its OpenPositions table are closed or gone "
                     f"({', '.join(ids.get(k, k) for k in closed[:10])}{', ...' if len(closed) > 10 else ''}): "
                     "delete their rows so the account figures count only open positions")
    return notes


def _shifter(formula: str) -> Callable[[int], str]:
    """:func:`_shift` for one formula, prepared once: the formula for any row by string joins."""
    pieces: list[tuple[str, int | None]] = []
    out, i = [], 0
    pattern = re.compile(r'(?<![A-Za-z0-9_.$\]])(\$?[A-Z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(\[!])')
    literal = re.compile(r'"(?:[^"]|"")*"|\[[^\[\]]*(?:\[[^\]]*\][^\[\]]*)*\]|\'(?:[^\']|\'\')*\'')
    buf = ""
    spans = []
    for m in literal.finditer(formula):
        spans.append((i, m.start(), True))
        spans.append((m.start(), m.end(), False))
        i = m.end()
    spans.append((i, len(formula), True))
    for a, b, code in spans:
        seg = formula[a:b]
        if not code:
            buf += seg
            continue
        j = 0
        for m in pattern.finditer(seg):
            if m.group(2):
                continue
            buf += seg[j:m.start()] + m.group(1)
            pieces.append((buf, int(m.group(3))))
            buf = ""
            j = m.end()
        buf += seg[j:]
    del out
    if not pieces:
        return lambda delta: formula

    def at(delta: int) -> str:
        return "".join(f"{text}{row + delta}" for text, row in pieces) + buf
    return at


def _shift(formula: str, delta: int) -> str:
    """A calculated column's formula moved down ``delta`` rows: relative A1 row numbers shift,
    absolute ($) ones, structured references, names and strings do not."""
    if delta == 0:
        return formula
    out, i = [], 0
    pattern = re.compile(r'(?<![A-Za-z0-9_.$\]])(\$?[A-Z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(\[!])')
    for m in re.finditer(r'"(?:[^"]|"")*"|\[[^\[\]]*(?:\[[^\]]*\][^\[\]]*)*\]|\'(?:[^\']|\'\')*\'', formula):
        out.append(pattern.sub(lambda x: x.group(1) + x.group(2) + (x.group(3) if x.group(2)
                                                                    else str(int(x.group(3)) + delta)),
                               formula[i:m.start()]))
        out.append(m.group(0))
        i = m.end()
    out.append(pattern.sub(lambda x: x.group(1) + x.group(2) + (x.group(3) if x.group(2)
                                                                else str(int(x.group(3)) + delta)), formula[i:]))
    return "".join(out)


def merge_into(pkg: Package, out_path: Path, statements: list[tuple[list[Trade], list[BalanceEvent], list[RejectedRow]]],
               settings: Settings, settings_changed: dict[str, object], instruments: list[Instrument] | None,
               restore_deleted: bool = False, on_stage: Callable[[str], None] | None = None) -> EditResult:
    """Write ``pkg`` with ``statements`` merged into ``out_path`` (a new file)."""
    if C.TABLE not in pkg.tables:
        raise NotAJournal(f"{Path(str(pkg.path)).name} has no Trades table: it is not a trade journal "
                          "(give --journal a journal made by this add-in, or a new file name)")
    table = pkg.tables[C.TABLE]
    if table.totals_row:
        raise NotAJournal(f"sheet {table.sheet!r}: the Trades table shows a Total Row; new trades cannot be "
                          "appended below it. Turn it off (Table Design > Total Row) and run the fill again")
    c0, r0, c1, r1 = range_bounds(table.ref)
    header = [C.RENAMED.get(h, h) for h in table.columns]
    col_of = {h: c0 + j for j, h in enumerate(header)}
    ours = {h for h, f in table.formulas.items() if C.RENAMED.get(h, h) in C.BY_NAME
            and C.BY_NAME[C.RENAMED.get(h, h)].kind == "calc" and f == C.formula(C.BY_NAME[C.RENAMED.get(h, h)])}
    calc_names = [C.RENAMED.get(h, h) for h in table.formulas]
    foreign_calc = [h for h in calc_names if h not in ours]
    inputs = [h for h in header if h not in calc_names]
    known_inputs = [c.name for c in C.INPUTS if c.name in col_of]
    ours_list = [c.name for c in C.CALCS if c.name in ours]
    sst = pkg.sst

    # Pass 1: the Trades rows.
    if on_stage:
        on_stage("reading the journal's trades")
    rows: list[dict[str, object]] = []      # input cells by name (only non-empty)
    row_no: list[int] = []
    old_cached: list[int] = []  # per row: hash of its cached values as written (see _raw_key)
    below: int | None = None
    n = r0
    for kind, piece in stream_sheet(pkg.zf, table.sheet_part):
        if kind != "row":
            continue
        n = row_number(piece, n + 1)
        if n <= r0:
            continue
        if n > r1:
            cells = parse_cells(piece)
            if any(c.value(sst) not in (None, "") or c.has_formula for c in cells):
                below = below or n
            continue
        rec, raw = _row_values(piece, c0, header, ours, calc_names, sst)
        rows.append(rec)
        row_no.append(n)
        old_cached.append(hash(tuple(raw.get(h, ("n", None)) for h in ours_list)))
    if below is not None:
        raise NotAJournal(f"sheet {table.sheet!r}: row {below} below the Trades table is not empty; new trades "
                          "are appended below the table. Move those cells to another sheet and run the fill again")
    # Missing rows inside the table range (never written) count as empty rows.
    expected = list(range(r0 + 1, r1 + 1))
    if row_no != expected:
        have = dict(zip(row_no, zip(rows, old_cached)))
        rows = [have.get(r, ({}, 0))[0] for r in expected]
        old_cached = [have.get(r, ({}, 0))[1] for r in expected]
        row_no = expected

    index: dict[tuple, int] = {}
    for i, rec in enumerate(rows):
        if text(rec.get("Trade ID")).strip():
            index.setdefault(trade_key(rec.get("Broker"), rec.get("Account"), rec.get("Trade ID")), i)
    ledger = read_ledger(pkg)
    ledger_missing = ledger is None
    ledger = set(index) if ledger is None else ledger
    ledger_add: list[tuple[str, str, str]] = []
    if ledger_missing:
        ledger_add = [(text(rows[i].get("Broker")), text(rows[i].get("Account")), text(rows[i].get("Trade ID")))
                      for i in sorted(index.values())]

    # Plan the changes.
    updates: dict[int, dict[str, object]] = {}
    fresh: list[dict[str, object]] = []
    fresh_at: dict[tuple, int] = {}
    per_file: list[Counts] = []
    cash_new: list[BalanceEvent] = []
    rejected_new: list[RejectedRow] = []
    seen_cash = {_cash_key(e) for e in read_cash(pkg)}
    seen_rej = read_rejected_keys(pkg)
    found_symbols: dict = {}
    for trades, cash, rejected in statements:
        counts = Counts()
        per_file.append(counts)
        for t in trades:
            k = trade_key(t.broker, t.account, t.trade_id)
            cells = trade_cells(t, instruments, found_symbols)
            at = index.get(k)
            if at is None and k in fresh_at:
                j = fresh_at[k]
                if fresh[j].get("Exit") is None and cells.get("Exit") is not None:
                    fresh[j] = cells
                counts.unchanged += 1
                continue
            if at is None:
                if k in ledger and not restore_deleted:
                    counts.deleted_skipped += 1
                    continue
                if k in ledger:
                    counts.restored += 1
                fresh_at[k] = len(fresh)
                fresh.append(cells)
                counts.added += 1
                continue
            cur = dict(rows[at])
            cur.update(updates.get(at, {}))
            change: dict[str, object] = {}
            flags = [f for f in (cells.get("Flags") or "").split("; ") if f]
            for name in STOP_COLUMNS:
                new = cells.get(name)
                if name not in col_of or new is None:
                    continue
                old = cur.get(name)
                if old is None or old == "":
                    change[name] = new
                elif not _same(name, old, new):
                    flags.append(f"statement {name.lower()} {_num(new)} differs from the {_num(old)} typed in "
                                 f"the journal: the typed one kept")
                    counts.stop_conflicts += 1
            cells["Flags"] = "; ".join(dict.fromkeys(flags)) or None
            facts = any(name in col_of and not _same(name, cur.get(name), cells.get(name)) for name in FACTS)
            for name in STATEMENT_OWNED:
                if name not in col_of or _same(name, cur.get(name), cells.get(name)):
                    continue
                if facts or name in change or cur.get(name) in (None, ""):
                    change[name] = cells.get(name)
            if not facts and "Flags" in change and set(text(change["Flags"]).split("; ")) <= \
                    set(text(cur.get("Flags")).split("; ")) | {""}:
                del change["Flags"]
            if change:
                if (cur.get("Exit") in (None, "")) and cells.get("Exit") is not None:
                    counts.closed += 1
                updates.setdefault(at, {}).update(change)
                counts.updated += 1
            else:
                counts.unchanged += 1
        for e in cash:
            if _cash_key(e) not in seen_cash:
                seen_cash.add(_cash_key(e))
                cash_new.append(e)
        for r in rejected:
            rk = (r.source.file, text(r.source.row), r.reason)
            if rk not in seen_rej:
                seen_rej.add(rk)
                rejected_new.append(r)
    for trades, _, _ in statements:
        if isinstance(trades, list):
            trades.clear()  # planned: 100,000 Trade objects need not stay for the write
    fresh.sort(key=lambda c: (c.get("Open time") is None, c.get("Open time") or c.get("Close time") or 0,
                              text(c.get("Trade ID"))))
    ledger_add += [(text(c.get("Broker")), text(c.get("Account")), text(c.get("Trade ID"))) for c in fresh
                   if trade_key(c.get("Broker"), c.get("Account"), c.get("Trade ID")) not in ledger]

    changed = bool(updates or fresh or cash_new or rejected_new or settings_changed or ledger_add)
    result = EditResult(per_file, 0, changed)
    if not changed:
        result.total_trades = sum(1 for r in rows if text(r.get("Trade ID")).strip() or r.get("Entry") is not None)
        return result

    # Empty rows at the end of the table (the template's blank row) take the first new trades.
    free = 0
    while free < len(rows) and not rows[len(rows) - 1 - free] and (len(rows) - 1 - free) not in updates:
        free += 1
    reuse = min(free, len(fresh))
    first_reused = len(rows) - free
    for i, rec in enumerate(rows):
        if i in updates:
            rec.update(updates[i])
    slots = {first_reused + k: fresh[k] for k in range(reuse)}
    for i, cells in slots.items():
        rows[i] = dict(cells)
    appended = fresh[reuse:]
    all_rows = rows + [dict(c) for c in appended]
    new_last = r1 + len(appended)
    check_table_rows(table.sheet, C.TABLE, r0, new_last)  # Excel's row limit (.limits), before anything is written
    result.total_trades = sum(1 for r in all_rows if text(r.get("Trade ID")).strip() or r.get("Entry") is not None)

    # Cached values of the journal's own calculated columns.
    if on_stage:
        on_stage("computing risk figures")
    cash_all = sorted(read_cash(pkg) + cash_new,
                      key=lambda e: (e.time is None, serial(e.time) if e.time is not None else 0.0))
    cash_cells = [(serial(e.time) if e.time is not None else None, e.amount) for e in cash_all]
    # New trades are numbered after the largest No. in the table (the running figures follow No.).
    if "No." in col_of:
        nos = [r.get("No.") for r in all_rows]
        top = max((v for v in nos if isinstance(v, (int, float)) and not isinstance(v, bool)), default=0)
        new_rows = sorted(set(slots) | set(range(len(rows), len(all_rows))))
        for k, i in enumerate(new_rows):
            all_rows[i]["No."] = int(top) + 1 + k
            if i in slots:
                slots[i]["No."] = int(top) + 1 + k
            else:
                appended[i - len(rows)]["No."] = int(top) + 1 + k
    cols: dict[str, list] = {}
    for c in C.INPUTS + C.TRAILING:
        vals = [r.get(c.name) for r in all_rows]
        if c.kind in ("number", "date"):  # dates as the serials the cells hold, as the formulas compare them
            vals = [v if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in vals]
        else:
            vals = [None if v is None or v == "" else text(v) for v in vals]
        cols[c.name] = vals
    inst_rows = {}
    for inst in reversed(instruments or []):
        inst_rows[inst.symbol.upper()] = {"Asset class": inst.asset_class, "Contract size": inst.contract_size,
                                          "Pip size": inst.pip_size, "Margin rate": inst.margin_rate}
    # CashFrom (Cash!G1, "Counted from"): the first trade's open time, as the build writes it. A date
    # the trader typed there (not the old first trade's) is theirs: kept and used.
    old_first = C.first_trade_time([v for r in rows if isinstance((v := r.get("Open time")), (int, float))])
    first_trade = C.first_trade_time(cols["Open time"])
    cash_from_cell = read_cash_from(pkg)
    if cash_from_cell is not None and cash_from_cell[1] is not None:
        typed = cash_from_cell[1]
        if isinstance(typed, (int, float)) and not isinstance(typed, bool) \
                and abs(float(typed) - old_first) > 1e-9 and float(typed) != 0:
            first_trade = float(typed)
    env = C.Env(settings=settings, instruments=inst_rows, cash_upto=C.cash_windows(cash_cells, first_trade),
                cash_from=first_trade)
    C.compute(cols, env)
    cash_total = C.cash_windows(cash_cells, first_trade)(float("inf"))

    result.notes.extend(_account_notes(pkg, all_rows))

    def new_cached(i: int) -> tuple:
        return tuple(cols[h][i] for h in ours_list)

    full_calc = bool(foreign_calc) or bool(settings_changed)

    # Write the package.
    if on_stage:
        on_stage(f"writing {Path(str(pkg.path)).name}")
    replaced: dict[str, bytes] = {}
    new_ref = f"{col_letter(c0)}{r0}:{col_letter(c1)}{new_last}"
    replaced[table.part] = table.xml.decode("utf-8").replace(f'ref="{table.ref}"', f'ref="{new_ref}"').encode("utf-8")
    other = _other_parts(pkg, settings, settings_changed, cols, cash_all, cash_new, rejected_new, first_trade,
                         cash_total, ledger_add, r1, new_last, table.sheet, data_start=r0 + 1,
                         trades_changed=bool(updates or fresh or cash_new or settings_changed))
    replaced.update(other.parts)
    full_calc = full_calc or other.full_calc
    wb_xml = pkg.zf.read("xl/workbook.xml").decode("utf-8")
    if other.new_sheet:
        wb_xml = other.register(wb_xml)
    if full_calc:
        wb_xml = _full_calc(wb_xml)
    replaced["xl/workbook.xml"] = wb_xml.encode("utf-8")
    drop = _drop_calc_chain(pkg, replaced) if (appended or reuse) else set()

    letters_of = {h: col_letter(col_of[h]) for h in ours_list}

    def trades_part(raw) -> None:
        fh = _Buffered(raw)
        proto: dict[int, str | None] = {}
        beyond: dict[int, str] = {}
        n = r0
        pending_tail = ""
        for kind, piece in stream_sheet(pkg.zf, table.sheet_part):
            if kind == "head":
                piece = re.sub(r'(<(?:\w+:)?dimension ref=")([^"]*)(")',
                               lambda m: m.group(1) + _extend(m.group(2), r1, new_last) + m.group(3), piece, count=1)
                fh.write(piece)
                continue
            if kind == "tail":
                pending_tail = piece
                continue
            if kind == "raw":
                fh.write(piece)
                continue
            n = row_number(piece, n + 1)
            i = n - r0 - 1
            if n > r1:
                beyond[n] = piece  # empty rows (checked above): kept unless a new trade takes their place
                continue
            if n <= r0:
                fh.write(piece)
                continue
            start, prefix = row_parts(piece)
            if not proto or i == len(rows) - 1:
                proto.update({c.col: c.style for c in parse_cells(piece) if c.style})
            if i in slots:
                own = dict(proto)
                own.update({c.col: c.style for c in parse_cells(piece) if c.style})
                fh.write(_new_row(start, prefix, n, i, slots[i], own))
                continue
            upd = updates.get(i)
            nc = new_cached(i)
            if not upd and hash(tuple(_raw_key(v) for v in nc)) == old_cached[i]:
                fh.write(piece)
                continue
            if not upd:
                quick = _replace_cached(piece, n, [(letters_of[h], col_of[h], v) for h, v in zip(ours_list, nc)],
                                        prefix)
                if quick is not None:
                    fh.write(quick)
                    continue
            cells = parse_cells(piece)
            by_col = {c.col: c for c in cells}
            out: dict[int, str] = {c.col: c.text for c in cells}
            for name, v in (upd or {}).items():
                col = col_of[name]
                old = by_col.get(col)
                style = old.style if old is not None else proto.get(col)
                out[col] = cell_xml(f"{col_letter(col)}{n}", v, style, prefix)
            for h, v in zip(ours_list, nc):
                cell = by_col.get(col_of[h])
                if cell is not None and cell.has_formula and not cached_equal(cell, v, sst):
                    out[col_of[h]] = with_cached(cell, v, prefix)
            fh.write(build_row(start, sorted(out.items()), prefix))
        # Appended rows after the table's last row, in row order with any (empty) rows kept below.
        for k, cells in enumerate(appended):
            rn = r1 + 1 + k
            for b in sorted(r for r in beyond if r < rn):
                fh.write(beyond.pop(b))
            beyond.pop(rn, None)
            fh.write(_new_row(f'<{row_prefix[0]}row r="{rn}">', row_prefix[0], rn, len(rows) + k, cells, proto))
        for b in sorted(beyond):
            fh.write(beyond[b])
        fh.write(_extend_tail(pending_tail, r0, r1, new_last, c0, c1))
        fh.flush()

    row_prefix = [""]
    for kind, piece in stream_sheet(pkg.zf, table.sheet_part, chunk=1 << 16):
        if kind == "head":
            m = re.search(r'<(\w+:)?sheetData', piece)
            row_prefix[0] = (m.group(1) or "") if m else ""
            break

    shifters = {j: _shifter(table.formulas[table.columns[j]]) for j, h in enumerate(header) if h in calc_names}

    def _new_row(start: str, prefix: str, rn: int, i: int, cells: dict[str, object], proto: dict) -> str:
        out = []
        for j, h in enumerate(header):
            col = c0 + j
            ref = f"{col_letter(col)}{rn}"
            style = proto.get(col)
            if h in calc_names:
                f = shifters[j](rn - (r0 + 1))
                v = cols[h][i] if h in ours else None
                out.append((col, formula_xml(ref, f, v, style, prefix)))
            elif h in cells or h in known_inputs:
                out.append((col, cell_xml(ref, cells.get(h), style, prefix)))
            elif style:
                out.append((col, cell_xml(ref, None, style, prefix)))
        return build_row(start, out, prefix)

    _write_zip(pkg, out_path, replaced, drop, table.sheet_part, trades_part, other.new_sheet)
    result.full_calc = full_calc
    return result


class _Buffered:
    """Text written in ~1 MB pieces to a binary stream."""

    def __init__(self, raw):
        self.raw, self.parts, self.size = raw, [], 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.raw.write("".join(self.parts).encode("utf-8"))
            self.parts, self.size = [], 0


def _replace_cached(row_xml: str, n: int, changes: list[tuple[str, int, object]], prefix: str) -> str | None:
    """``row_xml`` with the cached values of some formula cells replaced, found by reference with
    string searches (no parse of the whole row); None when a cell is not where it is expected."""
    if prefix:
        return None
    out, pos = [], 0
    for letters, col, value in sorted(changes, key=lambda c: c[1]):
        i = row_xml.find(f'<c r="{letters}{n}"', pos)
        if i < 0:
            return None
        gt = row_xml.find(">", i)
        if row_xml[gt - 1] == "/":
            return None
        end = row_xml.find("</c>", gt)
        attr_text, inner = row_xml[i + 2:gt], row_xml[gt + 1:end]
        if not inner.startswith("<f"):
            return None
        cell = Cell(col, row_xml[i:end + 4], attr_text, inner)
        if _cell_raw(cell) == _raw_key(value):
            continue
        v = inner.find("<v")
        keep_f = inner if v < 0 else inner[:v]
        out.append(row_xml[pos:i])
        out.append(formula_xml(f"{letters}{n}", None, value, cell.style, "", keep_f=keep_f))
        pos = end + 4
    out.append(row_xml[pos:])
    return "".join(out)


def _raw_key(v: object) -> tuple[str, str | None]:
    """A cached value as the journal's writers put it in the XML: (cell type, <v> text)."""
    if v is None:
        return ("n", None)
    if isinstance(v, bool):
        return ("b", str(int(v)))
    if isinstance(v, str):
        return ("str", escape(clean(v)))
    return ("n", repr(float(v)))


def _kind(attr_text: str) -> str:
    i = attr_text.find(' t="')
    return "n" if i < 0 else attr_text[i + 4:attr_text.find('"', i + 4)]


def _cell_raw(cell: Cell) -> tuple[str, str | None]:
    inner = cell.inner or ""
    i = inner.find("<v>")
    if i < 0:
        j = inner.find("<v/>")
        return (cell.kind, "" if j >= 0 else None)
    return (cell.kind, inner[i + 3:inner.find("</v>", i)])


def _row_values(row_xml: str, c0: int, header: list[str], ours: set, calc_names: list,
                sst: list[str]) -> tuple[dict[str, object], dict[str, tuple]]:
    """A Trades row read for the merge: its non-empty input cells by column name, and the raw
    cached values of the journal's own calculated columns."""
    rec: dict[str, object] = {}
    raw: dict[str, tuple] = {}
    width = len(header)
    if "<c>" not in row_xml and ":c " not in row_xml and row_xml.startswith("<row"):
        for ch in row_xml.split("<c ")[1:]:
            if not ch.startswith('r="'):
                break  # an unusual writer: read the row the general way below
            k = 3
            while ch[k].isalpha():
                k += 1
            j = _col_of(ch[3:k]) - c0
            if not 0 <= j < width:
                continue
            h = header[j]
            gt = ch.find(">")
            closed = ch[gt - 1] == "/"
            if h in ours:
                if closed:
                    raw[h] = (_kind(ch[:gt]), None)
                else:
                    inner = ch[gt + 1:ch.find("</c>", gt)]
                    v = inner.find("<v>")
                    raw[h] = (_kind(ch[:gt]), None if v < 0 else inner[v + 3:inner.find("</v>", v)])
            elif h not in calc_names and not closed:
                end = ch.find("</c>", gt)
                value = Cell(0, "", " " + ch[:gt], ch[gt + 1:end]).value(sst)
                if value is not None and value != "":
                    rec[h] = value
        else:
            return rec, raw
        rec, raw = {}, {}
    for c in parse_cells(row_xml):
        j = c.col - c0
        if 0 <= j < width:
            h = header[j]
            if h in ours:
                raw[h] = _cell_raw(c)
            elif h not in calc_names:
                v = c.value(sst)
                if v is not None and v != "":
                    rec[h] = v
    return rec, raw


def _cash_key(e) -> tuple:
    when = e.time.replace(tzinfo=None, microsecond=0) if e.time is not None else None
    return (e.source.file, e.source.row, when, round(e.amount, 6))


def _extend(ref: str, old_last: int, new_last: int) -> str:
    a, _, b = ref.partition(":")
    if not b:
        return ref
    m = re.match(r'^(\$?[A-Z]+\$?)(\d+)$', b)
    if m and int(m.group(2)) == old_last:
        return f"{a}:{m.group(1)}{new_last}"
    return ref


def _extend_tail(tail: str, r0: int, old_last: int, new_last: int, c0: int, c1: int) -> str:
    """Conditional formats and validations over the table's rows grow with it."""
    if new_last == old_last:
        return tail

    def sq(m: re.Match) -> str:
        parts = []
        for p in m.group(2).split():
            a, _, b = p.partition(":")
            try:
                ca, ra = split_ref(a)
                cb, rb = split_ref(b) if b else (ca, ra)
            except ValueError:
                parts.append(p)
                continue
            if b and rb == old_last and ra <= r0 + 1 and c0 <= ca and cb <= c1:
                parts.append(_extend(p, old_last, new_last))
            elif not b and ra == old_last == r0 + 1 and c0 <= ca <= c1:  # a one-row table's single cell
                parts.append(f"{p}:{p.rstrip('0123456789')}{new_last}")
            else:
                parts.append(p)
        return m.group(1) + " ".join(parts) + m.group(3)
    return re.sub(r'(\bsqref=")([^"]*)(")', sq, tail)


def _full_calc(wb_xml: str) -> str:
    m = re.search(r'<((?:\w+:)?)calcPr\b([^>]*?)(/?)>', wb_xml)
    if m is None:
        return wb_xml.replace("</workbook>", '<calcPr fullCalcOnLoad="1"/></workbook>')
    attrs = re.sub(r'\s*fullCalcOnLoad="[^"]*"', "", m.group(2))
    return wb_xml[:m.start()] + f'<{m.group(1)}calcPr{attrs} fullCalcOnLoad="1"{m.group(3)}>' + wb_xml[m.end():]


def _drop_calc_chain(pkg: Package, replaced: dict[str, bytes]) -> set[str]:
    """Excel's calculation chain lists formula cells; with new ones it is dropped (Excel rebuilds it
    silently, as after any writer that does not keep it)."""
    if "xl/calcChain.xml" not in pkg.names:
        return set()
    rels = replaced.get("xl/_rels/workbook.xml.rels", pkg.zf.read("xl/_rels/workbook.xml.rels")).decode("utf-8")
    replaced["xl/_rels/workbook.xml.rels"] = re.sub(r'<Relationship\b[^>]*calcChain[^>]*/>', "", rels).encode("utf-8")
    ct = replaced.get("[Content_Types].xml", pkg.zf.read("[Content_Types].xml")).decode("utf-8")
    replaced["[Content_Types].xml"] = re.sub(r'<Override\b[^>]*calcChain[^>]*/>', "", ct).encode("utf-8")
    return {"xl/calcChain.xml"}


@dataclass
class _Other:
    parts: dict[str, bytes] = field(default_factory=dict)
    full_calc: bool = False
    new_sheet: tuple[str, bytes] | None = None
    register: Callable[[str], str] | None = None


def _rewrite_cells(pkg: Package, part: str, edits: Callable[[int, list[Cell]], dict[int, str] | None] | None,
                   extra_rows: list[str] = ()) -> str:
    """A small sheet with some rows' cells replaced: ``edits(row, cells)`` returns {col: cell XML}
    for that row (None: unchanged); ``extra_rows`` appended at the end of sheetData."""
    out = []
    n = 0
    tail = ""
    for kind, piece in stream_sheet(pkg.zf, part):
        if kind == "row":
            if edits is None:
                out.append(piece)
                continue
            n = row_number(piece, n + 1)
            cells = parse_cells(piece)
            change = edits(n, cells)
            if change:
                start, prefix = row_parts(piece)
                keep = {c.col: c.text for c in cells}
                keep.update(change)
                piece = build_row(start, sorted(keep.items()), prefix)
            out.append(piece)
        elif kind == "tail":
            tail = piece
        else:
            out.append(piece)
    return "".join(out) + "".join(extra_rows) + tail


def _other_parts(pkg: Package, settings: Settings, settings_changed: dict, cols: dict[str, list],
                 cash_all: list[BalanceEvent], cash_new: list, rejected_new: list, first_trade: float,
                 cash_total: float, ledger_add: list, old_last: int, new_last: int, trades_sheet: str,
                 data_start: int = 2, trades_changed: bool = True) -> _Other:
    o = _Other()
    sst = pkg.sst
    edits: dict[str, list[Callable]] = {}
    extras: dict[str, list[str]] = {}
    posts: dict[str, list[Callable[[str], str]]] = {}

    # Settings given on the command line: the named cells, styles kept.
    by_part: dict[str, dict[tuple[int, int], object]] = {}
    for fld, name, *_ in SETTINGS_CELLS:
        if fld not in settings_changed:
            continue
        target = pkg.defined.get(name, "")
        if "!" not in target:
            continue
        sheet, ref = target.rsplit("!", 1)
        part = pkg.sheet_part(sheet.strip("'").replace("''", "'"))
        if part:
            by_part.setdefault(part, {})[split_ref(ref.replace("$", ""))[::-1]] = getattr(settings, fld)
    for part, cells_to_set in by_part.items():
        def edit(n, cells, cells_to_set=cells_to_set):
            ch = {}
            for (row, col), v in cells_to_set.items():
                if row == n:
                    old = next((c for c in cells if c.col == col), None)
                    ch[col] = cell_xml(f"{col_letter(col)}{n}", v, old.style if old else None)
            return ch or None
        edits.setdefault(part, []).append(edit)

    # Cash: the table's rows in time order, other cells of those rows kept.
    if cash_new and C.CASH_TABLE in pkg.tables:
        t = pkg.tables[C.CASH_TABLE]
        c0, r0, c1, r1 = range_bounds(t.ref)
        heads = t.columns
        last = r0 + max(len(cash_all), 1)
        styles: dict[int, str | None] = {}

        def cash_edit(n, cells, c0=c0, r0=r0, c1=c1, last=last, heads=heads, styles=styles):
            for c in cells:
                if c0 <= c.col <= c1 and n == r0 + 1:
                    styles[c.col] = c.style
            if not (r0 < n <= last):
                return None
            e = cash_all[n - r0 - 1] if n - r0 - 1 < len(cash_all) else None
            old = {c.col: c for c in cells}
            ch = {}
            for j, h in enumerate(heads):
                col = c0 + j
                v = _cash_value(e, h) if e is not None else None
                st = old[col].style if col in old else styles.get(col)
                ch[col] = cell_xml(f"{col_letter(col)}{n}", v, st)
            return ch
        existing_rows = {r for r, _ in pkg.rows_of(t.sheet_part)}
        for n in range(r0 + 1, last + 1):
            if n not in existing_rows:
                e = cash_all[n - r0 - 1]
                extras.setdefault(t.sheet_part, []).append(build_row(
                    f'<row r="{n}">', [(c0 + j, cell_xml(f"{col_letter(c0 + j)}{n}", _cash_value(e, h), styles.get(c0 + j)))
                                       for j, h in enumerate(heads)], ""))
        edits.setdefault(t.sheet_part, []).append(cash_edit)
        if last != r1:
            posts.setdefault(t.sheet_part, []).append(lambda xml, r1=r1, last=last: re.sub(
                r'(<(?:\w+:)?dimension ref=")([^"]*)(")',
                lambda m: m.group(1) + _extend(m.group(2), r1, last) + m.group(3), xml, count=1))
        o.parts[t.part] = t.xml.decode("utf-8").replace(
            f'ref="{t.ref}"', f'ref="{col_letter(c0)}{r0}:{col_letter(c1)}{last}"').encode("utf-8")

    # Rejected rows: appended to the table.
    if rejected_new and REJECTED_TABLE in pkg.tables:
        t = pkg.tables[REJECTED_TABLE]
        c0, r0, c1, r1 = range_bounds(t.ref)
        recs = pkg.table_records(REJECTED_TABLE)
        used = [r for r, rec in recs if any(v not in (None, "") for v in rec.values())]
        start = (max(used) if used else r0) + 1
        rejected_new = cap_rejected(rejected_new, start - 1)
        last = start + len(rejected_new) - 1
        heads = t.columns
        rows_xml = {}
        for k, rr in enumerate(rejected_new):
            n = start + k
            vals = {"File": rr.source.file, "Row": float(rr.source.row) if rr.source.row is not None else None,
                    "Section": rr.source.section, "Reason": rr.reason, "Raw text": rr.raw}
            rows_xml[n] = {c0 + j: cell_xml(f"{col_letter(c0 + j)}{n}", vals.get(h), None) for j, h in enumerate(heads)}
        present = {r for r, _ in pkg.rows_of(t.sheet_part)}
        edits.setdefault(t.sheet_part, []).append(lambda n, cells, rows_xml=rows_xml: rows_xml.get(n))
        extras.setdefault(t.sheet_part, []).extend(build_row(f'<row r="{n}">', sorted(c.items()), "")
                                                   for n, c in rows_xml.items() if n not in present)
        new_last_rej = max(last, r1)
        o.parts[t.part] = t.xml.decode("utf-8").replace(
            f'ref="{t.ref}"', f'ref="{col_letter(c0)}{r0}:{col_letter(c1)}{new_last_rej}"').encode("utf-8")

    # CashFrom ("Counted from" on the Cash sheet): a date value the build writes as the first trade's
    # open time. Rewritten when the first trade changes, unless the trader typed another date there.
    where = read_cash_from(pkg)
    if where is not None:
        (sheet, ref), cur = where
        part = pkg.sheet_part(sheet)
        col, row = split_ref(ref)
        want = first_trade if first_trade else None
        same = (cur is None and want is None) or (isinstance(cur, (int, float)) and want is not None
                                                   and abs(float(cur) - want) <= 1e-9)
        if part and not same:
            def cf(n, cells, col=col, row=row, want=want):
                if n != row:
                    return None
                c = next((c for c in cells if c.col == col), None)
                if c is not None and c.has_formula:
                    return None  # the trader's own formula: left to Excel
                return {col: cell_xml(f"{col_letter(col)}{n}", want, c.style if c is not None else None)}
            edits.setdefault(part, []).append(cf)
            if not any(r == row for r, _ in pkg.rows_of(part)):
                extras.setdefault(part, []).append(build_row(
                    f'<row r="{row}">', [(col, cell_xml(f"{col_letter(col)}{row}", want, None))], ""))

    # The sheets whose figures summarise the whole table (Dashboard card, Stats, Account and its open
    # positions, the Planner among them) are not recomputed here: when the trades changed, Excel and
    # LibreOffice recalculate the workbook on opening (fullCalcOnLoad), so what the trader sees is
    # right; their cached values (what a previewer shows) stay as they were until then.
    o.full_calc = o.full_calc or trades_changed

    # Charts over the Trades rows grow with the table.
    if new_last != old_last:
        sheet_ref = r"(?:'%s'|%s)!" % (re.escape(trades_sheet.replace("'", "''")), re.escape(trades_sheet))
        pat = re.compile(r"(%s\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?)(%d)(?![\d:])" % (sheet_ref, old_last))
        # a table of one data row: the builder refers to that one cell
        single = re.compile(r"(%s)(\$?)([A-Z]{1,3})(\$?)(%d)(?![\d:])" % (sheet_ref, old_last)) \
            if old_last == data_start else None
        for name in pkg.names:
            if name.startswith("xl/charts/chart") and name.endswith(".xml"):
                xml = pkg.zf.read(name).decode("utf-8")
                new = pat.sub(lambda m: m.group(1) + str(new_last), xml)
                if single is not None:
                    new = single.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{m.group(4)}{m.group(5)}:"
                                               f"{m.group(2)}{m.group(3)}{m.group(4)}{new_last}", new)
                if new != xml:
                    o.parts[name] = new.encode("utf-8")

    # Formulas the fill does not refresh elsewhere (the trader's own sheets): Excel recalculates on opening.
    refreshed = {pkg.sheet_part(s) for s in ("Cash", "Settings", "Instruments", "Caps", "Rejected",
                                             C.LEDGER_SHEET, "xlwings.conf", trades_sheet)}
    summaries = {pkg.sheet_part(s) for s in SUMMARY_SHEETS}
    for name, part, _ in pkg.sheets:
        if part not in refreshed and (part not in summaries or trades_changed) \
                and re.search(rb"<(?:\w+:)?f[ >]", pkg.zf.read(part)):
            o.full_calc = True
            break

    # The ledger of imported keys.
    if ledger_add:
        rows_new = []
        part = pkg.sheet_part(C.LEDGER_SHEET)
        if part is None:
            xml_rows = [_ledger_row(1, C.LEDGER_COLUMNS)] + [_ledger_row(k + 2, key) for k, key in enumerate(ledger_add)]
            xml = (f'<worksheet xmlns="{NS_MAIN}"><sheetData>' + "".join(xml_rows) + "</sheetData></worksheet>")
            name = _free_part(pkg)
            o.new_sheet = (name, xml.encode("utf-8"))
            o.register = lambda wb_xml: wb_xml  # done in _write_zip (rels and content types too)
        else:
            last = 0
            for kind, piece in stream_sheet(pkg.zf, part):
                if kind == "row":
                    last = row_number(piece, last + 1)
            extras.setdefault(part, []).extend(_ledger_row(last + 1 + k, key) for k, key in enumerate(ledger_add))

    for part in set(edits) | set(extras):
        fns = edits.get(part, [])

        def combined(n, cells, fns=fns):
            ch = {}
            for fn in fns:
                ch.update(fn(n, cells) or {})
            return ch or None
        xml = _rewrite_cells(pkg, part, combined if fns else None)
        xml = _insert_rows(xml, extras.get(part, []))
        for post in posts.get(part, []):
            xml = post(xml)
        o.parts[part] = xml.encode("utf-8")
    return o


def _insert_rows(xml: str, rows: list[str]) -> str:
    if not rows:
        return xml
    m = re.search(r'</(?:\w+:)?sheetData>', xml)
    return xml[:m.start()] + "".join(rows) + xml[m.start():]


def _ledger_row(n: int, values: Sequence[str]) -> str:
    return build_row(f'<row r="{n}">', [(j, cell_xml(f"{col_letter(j)}{n}", v or None, None))
                                         for j, v in enumerate(values)], "")


def _free_part(pkg: Package) -> str:
    k = 1
    while f"xl/worksheets/sheet{k}.xml" in pkg.names:
        k += 1
    return f"xl/worksheets/sheet{k}.xml"


def _cash_value(e: BalanceEvent, head: str) -> object:
    if head == "Time":
        return serial(e.time) if e.time is not None else None
    if head == "Amount":
        return e.amount
    if head == "Kind":
        return e.kind or None
    if head == "Source":
        return str(e.source) or None
    return None


def _write_zip(pkg: Package, out_path: Path, replaced: dict[str, bytes], drop: set[str], trades_part: str,
               write_trades: Callable, new_sheet: tuple[str, bytes] | None) -> None:
    if new_sheet is not None:
        name, data = new_sheet
        replaced[name] = data
        rels = replaced.get("xl/_rels/workbook.xml.rels", pkg.zf.read("xl/_rels/workbook.xml.rels")).decode("utf-8")
        ids = {int(x) for x in re.findall(r'Id="rId(\d+)"', rels)}
        rid = f"rId{max(ids, default=0) + 1}"
        target = name[len("xl/"):]
        rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>'
                                                "</Relationships>")
        replaced["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
        ct = replaced.get("[Content_Types].xml", pkg.zf.read("[Content_Types].xml")).decode("utf-8")
        ct = ct.replace("</Types>", f'<Override PartName="/{name}" ContentType="{CT_SHEET}"/></Types>')
        replaced["[Content_Types].xml"] = ct.encode("utf-8")
        wb = replaced["xl/workbook.xml"].decode("utf-8")
        sheet_ids = [int(x) for x in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bsheetId="(\d+)"', wb)]
        m = re.search(r'</((?:\w+:)?)sheets>', wb)
        p = m.group(1)
        wb = (wb[:m.start()] + f'<{p}sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
              f'name="{C.LEDGER_SHEET}" sheetId="{max(sheet_ids, default=0) + 1}" state="hidden" r:id="{rid}"/>'
              + wb[m.start():])
        replaced["xl/workbook.xml"] = wb.encode("utf-8")
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        written = set()
        for info in pkg.zf.infolist():
            if info.filename in drop:
                continue
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = info.compress_type
            zi.external_attr = info.external_attr
            written.add(info.filename)
            if info.filename == trades_part:
                zi.compress_type = zipfile.ZIP_DEFLATED
                with out.open(zi, "w", force_zip64=True) as fh:
                    write_trades(fh)
                continue
            data = replaced.get(info.filename)
            if data is None:
                data = pkg.zf.read(info.filename)
            out.writestr(zi, data)
        for name, data in replaced.items():
            if name not in written:
                zi = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(zi, data)
