"""The sheets beside Trades that a fill edits: Settings given on the command line, Cash, Rejected,
CashFrom, the charts over the Trades rows, the hidden ledger of imported keys, the summary sheets
(Dashboard, Stats, Account, Planner: :mod:`.summary`); and what it leaves to the spreadsheet's
recalculation (formulas on sheets the program does not own)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..journal import columns as C
from ..journal import schema
from ..journal.settings import SETTINGS_CELLS, Settings
from ..statements.model import BalanceEvent, RejectedRow, SourceRef
from .xlsx_edit import (NS_MAIN, Cell, Package, build_row, cell_xml, col_letter, parse_cells, range_bounds, row_number, row_parts,
                        serial, split_ref, stream_sheet)
from .journal_state import REJECTED_TABLE, read_cash_from
from .package_write import _extend
from ..runtime_switch import LITE_PREFIX, function_names, rewrite_part
from .plans_match import plans_edit
from .summary import refresh


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


def _account_notes(pkg: Package, all_rows: list[dict]) -> list[str]:
    """Notes about the Account sheet for the fill's summary: none, since its OpenPositions rows follow
    the open trades on every fill (:mod:`.summary`)."""
    return []


@dataclass
class _Other:
    parts: dict[str, bytes] = field(default_factory=dict)
    full_calc: bool = False
    new_sheet: tuple[str, bytes] | None = None
    register: Callable[[str], str] | None = None
    workbook: Callable[[str], str] = lambda xml: xml  # xl/workbook.xml: the defined names the layouts move


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
                 ledger_add: list, old_last: int, new_last: int, trades_sheet: str,
                 data_start: int = 2, trades_changed: bool = True, marks: dict[str, float] | None = None,
                 account_inputs: dict | None = None) -> _Other:
    """The parts a fill rewrites beside the Trades rows. ``marks``: Trade ID (upper case) -> the mark
    price the statements printed for an open trade (the Account sheet's positions)."""
    o = _Other()
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

    # The summary sheets (Dashboard, Stats, Account, Planner): laid out again, every cached value
    # computed, the trader's inputs and notes kept (summary.py). Their charts' series replace those
    # the loop above extended.
    sums = refresh(pkg, settings, cols, cash_all, first_trade, trades_sheet, marks, data_start, account_inputs)
    o.parts.update(sums.parts)
    # A journal switched to xlwings Lite (`runtime lite`) keeps its add-in calls in that form.
    for part, data in sums.parts.items():
        if part in pkg.names and part.startswith("xl/worksheets/") and LITE_PREFIX.encode() in pkg.zf.read(part):
            o.parts[part] = rewrite_part(data.decode("utf-8"), "lite", function_names())[0].encode("utf-8")
    o.workbook = sums.workbook
    o.full_calc = o.full_calc or sums.foreign_formulas

    # Plans (the trader's): the Trade ID of the trade a plan became, written into its empty cell, and
    # the cached values of the plan-vs-actual columns (plans_match.py); nothing else of the table.
    plans = plans_edit(pkg, cols)
    if plans is not None:
        edits.setdefault(plans[0], []).append(plans[1])

    # Formulas the fill does not compute (the trader's own sheets, a summary sheet it could not lay
    # out): Excel and LibreOffice recalculate the workbook on opening (fullCalcOnLoad). A trader's
    # formula may read the Trades table or the summary figures, so any formula on such a sheet counts.
    refreshed = {pkg.sheet_part(s) for s in (schema.CASH_SHEET, schema.SETTINGS_SHEET, schema.INSTRUMENTS_SHEET,
                                             schema.CAPS_SHEET, schema.REJECTED_SHEET, schema.LEDGER_SHEET,
                                             schema.CONF_SHEET, trades_sheet)} | sums.done
    if plans is not None:
        refreshed.add(plans[0])
    for name, part, _ in pkg.sheets:
        if part not in refreshed and re.search(rb"<(?:\w+:)?f[ >]", pkg.zf.read(part)):
            o.full_calc = True
            break

    # The ledger of imported keys.
    if ledger_add:
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
    if head == "Broker":
        return e.broker or None
    if head == "Account":
        return e.account or None
    return None
