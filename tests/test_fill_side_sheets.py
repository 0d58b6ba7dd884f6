"""The summary sheets (Dashboard, Stats, Account, Planner) after a fill: every figure right and fresh.

Three fills of real statements, one after the other, as a trader runs them:

1. into the template (``python -m addin template``);
2. again, after the trader typed on every summary sheet (a mark price, a picked Dashboard trade, a
   Stats key row, the Planner's inputs, a note on each sheet), with a second statement;
3. a statement in which the open trades are closed.

After each: (a) openpyxl reads every summary sheet equal, cell for cell (formulas and cached values),
to what the journal's builder writes for the same trades and the same typed inputs (after fill 1:
``build_journal`` itself; the typed inputs and notes are where the trader left them);
(b) LibreOffice, opened with its default settings (no recalculation on load: what a previewer shows)
and then after a hard recalculation (``calculateAll`` through UNO), shows the cached value of every
formula cell of the four sheets (add-in cells, and cells that read them, aside after the
recalculation: without the add-in they say so).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import STATEMENTS
from openpyxl import Workbook

from addin.fill import fill_journal, sample_statement
from addin.fill.xlsx_edit import Package, build_row, cell_xml, parse_cells, read_sheet_rows, row_number, row_parts, split_ref
from addin.journal import account, dashboard, planner, stats
from addin.journal.layout import NO_ADDIN, Book
from journal_reader import read_journal
from lo_uno import office
from tools.render_docs import soffice
from addin.journal.workbook import build_journal
from addin.journal.workbook import build_journal, excel_serial, trade_columns

SHEETS = ("Dashboard", "Stats", "Account", "Planner")
MT4 = STATEMENTS / "mt4_statement_html" / "jsacap_Tradeslide_Statement.htm"
MT4_OTHER = STATEMENTS / "mt4_statement_html" / "reuniware_Tradeslide_demo_DetailedStatement.htm"
NOTES = {"Dashboard": "H2", "Stats": "AB3", "Account": "R2", "Planner": "E2"}
PLAN = {"B5": 0.02, "B6": "GBPUSD", "B8": 1.27, "B9": 1.265, "B10": 1.28}  # typed Planner inputs
PLAN_LABELS = {"B5": "Risk per trade", "B6": "Symbol", "B8": "Entry", "B9": "Stop", "B10": "Target"}
TYPED_KEY = "scalp"


# Helpers -------------------------------------------------------------------------------------------

def _same(a, b) -> bool:
    a, b = (excel_serial(x) if isinstance(x, datetime) else x for x in (a, b))
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _text(v):
    return v.text if hasattr(v, "text") else v


def close_open_trades(src: Path, dst: Path, when: str = "2030.01.02 10:00:00") -> int:
    """An MT4 Detailed Statement in which every open trade is closed at its market price: its row moves
    from Open Trades to Closed Transactions with a close time."""
    html = src.read_text(encoding="utf-8", errors="replace")
    seg = html[html.lower().index("open trades:"):]
    moved = []
    for row in re.findall(r'<tr[^>]*>\s*<td title="[^"]*">\d+</td>.*?</tr>', seg, re.S):
        if "&nbsp;" in row:
            moved.append(re.sub(r"(<td class=msdate nowrap>)&nbsp;(</td>)", r"\g<1>" + when + r"\2", row, count=1))
            html = html.replace(row, "", 1)
    # after the last closed transaction (before the section's totals row): the rows above keep their place
    j = html.lower().index("closed transactions:")
    k = html.rindex("<tr", j, html.index("<td colspan=10>&nbsp;</td>", j))
    dst.write_text(html[:k] + "".join(moved) + html[k:], encoding="utf-8")
    return len(moved)


def edit_cells(path: Path, edits: dict[str, dict[str, object]]) -> None:
    """Type values into cells, as a trader does in Excel (the sheet XML edited; styles kept)."""
    pkg = Package.open(path)
    parts = {pkg.sheet_part(s): cells for s, cells in edits.items()}
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in pkg.zf.infolist():
            data = pkg.zf.read(info.filename)
            if info.filename in parts:
                head, rows, tail = read_sheet_rows(pkg.zf, info.filename)
                by_row, n = {}, 0
                for piece in rows:
                    n = row_number(piece, n + 1)
                    start, prefix = row_parts(piece)
                    by_row[n] = (start, {c.col: c for c in parse_cells(piece)})
                for ref, v in parts[info.filename].items():
                    col, r = split_ref(ref)
                    start, cells = by_row.setdefault(r, (f'<row r="{r}">', {}))
                    old = cells.get(col)
                    x = (f'<c r="{ref}"><f>{v[1]}</f></c>' if isinstance(v, tuple)  # ("f", formula)
                         else cell_xml(ref, v, old.style if old else None))
                    cells[col] = parse_cells(f"<row>{x}</row>")[0]
                body = "".join(build_row(s, [(c, x.text) for c, x in cells.items()], "")
                               for _, (s, cells) in sorted(by_row.items()))
                data = (head + body + tail).encode("utf-8")
            out.writestr(info, data)
    pkg.close()
    tmp.replace(path)


def assumed_of(path: Path) -> set[str]:
    """The settings ``path`` still marks as the template's defaults (its TemplateDefault_ names):
    a reference built from what the journal holds must mark the same ones."""
    from addin.journal.settings import SETTINGS_CELLS, STATED, default_mark
    defined = openpyxl.load_workbook(path).defined_names
    return {fld for fld, name, *_ in SETTINGS_CELLS if fld in STATED and default_mark(name) in defined}


def table_columns(path: Path) -> dict[str, list]:
    """The Trades table of ``path`` column by column, as its cells hold it (cached values)."""
    ws = openpyxl.load_workbook(path, data_only=True)["Trades"]
    rows = list(ws.iter_rows(values_only=True))
    head = [str(h) for h in rows[0]]
    cols = {h: [r[j] for r in rows[1:]] for j, h in enumerate(head)}
    for k in ("Open time", "Close time"):
        cols[k] = [excel_serial(v) if isinstance(v, datetime) else v for v in cols[k]]
    return {k: [None if v == "" else v for v in vs] for k, vs in cols.items()}


def expected_sheets(path: Path, inputs: dict | None = None) -> tuple[Workbook, dict]:
    """The four sheets as the journal's sheet modules lay them out for the Trades table, settings,
    instruments and cash ``path`` holds and the trader's ``inputs``: (workbook, cached values by sheet)."""
    got = read_journal(path)
    _, cash_from = trade_columns(got.trades, got.settings, got.instruments, got.cash)
    cols = table_columns(path)
    wb = Workbook()
    wb.active.title = "Dashboard"
    for t in ("Trades", "Stats", "Account", "Planner"):
        wb.create_sheet(t)
    from addin.journal.cash import cash_rows
    book = Book(wb=wb, settings=got.settings, instruments=got.instruments, cols=cols, n=len(cols["Trade ID"]),
                cash=cash_rows(got.cash), cash_from=cash_from, rejected=[], trades=got.trades, inputs=inputs or {})
    for build in (dashboard.build, stats.build, account.build, planner.build):
        build(book)
    return wb, book.cache


def differences(path: Path, reference, cache: dict | None, skip: dict[str, set[str]] = {}) -> list[str]:
    """Cells of the four summary sheets of ``path`` that differ from ``reference`` (a file, or an
    in-memory workbook with ``cache``): formula text or value, and cached value."""
    f = openpyxl.load_workbook(path)
    v = openpyxl.load_workbook(path, data_only=True)
    if cache is None:
        rf, rv = openpyxl.load_workbook(reference), openpyxl.load_workbook(reference, data_only=True)
    else:
        rf = rv = None
    bad = []
    for title in SHEETS:
        a, av = f[title], v[title]
        b = (rf if cache is None else reference)[title]
        coords = {c.coordinate for ws in (a, b) for row in ws.iter_rows() for c in row if c.value is not None}
        for co in sorted(coords - skip.get(title, set())):
            fa, fb = _text(a[co].value), _text(b[co].value)
            if fa != fb and not (not isinstance(fa, str) and _same(fa, fb)):  # a date: a serial written, a date read
                bad.append(f"{title}!{co}: {fa!r} != {fb!r}")
                continue
            if isinstance(fa, str) and fa.startswith("="):
                want = rv[title][co].value if cache is None else cache.get(title, {}).get(co)
                if not _same(av[co].value, want):
                    bad.append(f"{title}!{co}: cached {av[co].value!r} != {want!r}")
    return bad


def names(path: Path) -> dict[str, str]:
    """The defined names that point into the summary sheets' layouts, and their print areas."""
    wb = openpyxl.load_workbook(path)
    out = {n: wb.defined_names[n].attr_text for n in (*account.NAMES.values(), "SelectedTrade")}
    out.update({f"print area {t}": wb[t].print_area for t in SHEETS})
    return out


# LibreOffice, through UNO --------------------------------------------------------------------------

def _position(ref: str) -> tuple[int, int]:
    """0-based (row, column) of an A1 reference."""
    letters = ref.rstrip("0123456789")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(ref[len(letters):]) - 1, col - 1


def libreoffice_values(path: Path, tmp: Path) -> dict:
    """{"before": ..., "after": ...}: every formula cell's value on the four sheets as LibreOffice shows
    it on opening (no recalculation: its default) and after ``calculateAll``; keys "row,col" (0-based).
    An error cell's value is "#ERR" and the error LibreOffice shows (never a cached value)."""
    before, after = tmp / "lo_before.json", tmp / "lo_after.json"
    office().run({"input": str(path.resolve()), "sheets": list(SHEETS),
                  "steps": [["dump", str(before)], ["calculate_all"]], "dump": str(after)})
    got = {}
    for when, dump in (("before", before), ("after", after)):
        sheets = json.loads(dump.read_text(encoding="utf-8"))
        got[when] = {title: {"%d,%d" % _position(ref): ("#ERR" + text if kind == "e" else value)
                             for ref, (kind, value, text, formula) in sheets[title]["cells"].items()
                             if formula is not None}
                     for title in SHEETS}
    return got


def _addin_cells(ws) -> set[str]:
    """Cells of ``ws`` that call the add-in, or read (on the same sheet, or through the plan's cells)
    a cell that does: without the add-in LibreOffice shows the add-in's message there."""
    forms = {c.coordinate: _text(c.value) for row in ws.iter_rows() for c in row
             if isinstance(_text(c.value), str) and str(_text(c.value)).startswith("=")}
    out = {co for co, f in forms.items() if NO_ADDIN in f}
    while True:
        more = {co for co, f in forms.items() if co not in out
                and any(f"{x}{y}" in out for x, y in re.findall(r"\$?([A-Z]{1,3})\$?(\d+)", f))}
        if not more:
            return out
        out |= more


def libreoffice_differences(path: Path, tmp: Path) -> tuple[int, list[str]]:
    from openpyxl.utils import get_column_letter
    lo = libreoffice_values(path, tmp)
    f = openpyxl.load_workbook(path)
    v = openpyxl.load_workbook(path, data_only=True)
    bad, count = [], 0
    for title in SHEETS:
        addin = _addin_cells(f[title])
        forms = {c.coordinate for row in f[title].iter_rows() for c in row
                 if isinstance(_text(c.value), str) and str(_text(c.value)).startswith("=")}
        count += len(forms)
        for when in ("before", "after"):
            seen = set()
            for key, got in lo[when][title].items():
                r, c = (int(x) for x in key.split(","))
                co = f"{get_column_letter(c + 1)}{r + 1}"
                seen.add(co)
                if when == "after" and co in addin:
                    continue
                want = v[title][co].value
                if isinstance(want, bool):
                    want = float(want)
                if isinstance(want, datetime):
                    continue  # not used by these sheets' formulas
                if not _same(got, want if want is not None else ""):
                    bad.append(f"{when}: {title}!{co}: LibreOffice {got!r}, cached {want!r}")
            if seen != forms:
                bad.append(f"{when}: {title}: formula cells {sorted(forms ^ seen)[:5]} not seen in both")
    return count, bad


# The three fills -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fills(tmp_path_factory):
    """(after fill 1, after fill 2, after fill 3) of the real MT4 statement, copies kept."""
    if not MT4.exists() or not MT4_OTHER.exists():
        pytest.skip("real MT4 statements not available")
    d = tmp_path_factory.mktemp("sidesheets")
    journal = d / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([MT4], journal, progress=False)
    first = d / "1-into-template.xlsx"
    shutil.copy(journal, first)

    wb = openpyxl.load_workbook(journal, data_only=True)
    acct = wb["Account"]
    open_ids = [acct.cell(r, 1).value for r in range(5, acct.max_row + 1) if acct.cell(r, 1).value
                and acct.cell(r, 2).value not in (None, "") and acct.cell(r, 3).value in ("long", "short", "buy", "sell")]
    assert open_ids, "the MT4 statement has open trades"
    entry = {acct.cell(r, 1).value: acct.cell(r, 5).value for r in range(5, 5 + len(open_ids))}
    marked = open_ids[-1]
    row_of = {acct.cell(r, 1).value: r for r in range(5, 5 + len(open_ids))}
    ids = [c.value for c in wb["Trades"]["A"][1:] if c.value]
    picked = ids[0]
    setup_row = next(r for r in range(1, wb["Stats"].max_row + 1) if wb["Stats"].cell(r, 1).value == "By setup") + 1
    typed = {
        "Account": {f"F{row_of[marked]}": round(entry[marked] * 1.01, 5), NOTES["Account"]: "my account note"},
        "Dashboard": {"B3": picked, NOTES["Dashboard"]: "my dashboard note"},
        "Stats": {f"A{setup_row}": TYPED_KEY, NOTES["Stats"]: "my stats note"},
        "Planner": {**PLAN, NOTES["Planner"]: "my planner note"},
    }
    edit_cells(journal, typed)
    fill_journal([MT4, MT4_OTHER], journal, progress=False)
    second = d / "2-refill-with-edits.xlsx"
    shutil.copy(journal, second)

    closing = d / "closing.htm"
    assert close_open_trades(MT4, closing) == len(open_ids)
    fill_journal([closing], journal, progress=False)
    third = d / "3-closes-open-trades.xlsx"
    shutil.copy(journal, third)
    info = {"picked": picked, "marked": marked, "mark": typed["Account"][f"F{row_of[marked]}"], "open": open_ids}
    return first, second, third, info


def _inputs(path: Path, info: dict) -> dict:
    """The trader's inputs as the builder takes them, from what was typed (and the marks on the sheet)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    acct = wb["Account"]
    marks = {}
    for r in range(5, acct.max_row + 1):
        tid, mark = acct.cell(r, 1).value, acct.cell(r, 6).value
        if acct.cell(r, 1).value is None or acct.cell(r, 2).value is None:
            break
        if isinstance(mark, (int, float)):
            marks[str(tid).upper()] = mark
    from addin.fill.summary import read_account_inputs
    from addin.fill.xlsx_edit import Package
    pkg = Package.open(path)
    try:
        block = read_account_inputs(pkg)  # the Accounts block's starting balances, as the fill reads them
    finally:
        pkg.close()
    return {"pick": info["picked"], "keys": {"By setup": [TYPED_KEY]},
            "plan": {PLAN_LABELS[k]: v for k, v in PLAN.items()}, "marks": marks, **block}


def _notes_skip() -> dict[str, set[str]]:
    return {t: {co} for t, co in NOTES.items()}


def test_a_fill_into_the_template_writes_the_summary_sheets_the_builder_writes(fills, tmp_path):
    first, *_ = fills
    got = read_journal(first)
    ref = tmp_path / "built.xlsx"
    build_journal(ref, got.trades, settings=got.settings, instruments=got.instruments, cash=got.cash,
                  assumed=assumed_of(first))
    assert differences(first, ref, None) == []
    assert names(first) == names(ref)
    wb = openpyxl.load_workbook(first, data_only=True)
    assert wb["Dashboard"]["B3"].value, "a trade is picked"
    assert wb["Stats"]["B4"].value > 0, "closed trades counted"
    assert "(none yet" not in str([c.value for c in wb["Stats"]["A"]][:60]).split("By setup")[0]
    assert any(isinstance(c.value, (int, float)) and c.value > 2000 for c in wb["Stats"]["A"]), "a year row"
    assert b"fullCalcOnLoad" not in zipfile.ZipFile(first).read("xl/workbook.xml")


def test_the_statements_mark_prices_fill_the_open_positions(fills):
    first, _, _, info = fills
    from addin.statements import read_statement
    want = {t.trade_id: t.mark_price for t in read_statement(MT4).trades if t.exit is None}
    acct = openpyxl.load_workbook(first, data_only=True)["Account"]
    got = {acct.cell(r, 1).value: acct.cell(r, 6).value for r in range(5, 5 + len(info["open"]))}
    assert got == want and all(v for v in want.values())


def test_a_refill_keeps_what_the_trader_typed_and_recomputes_the_rest(fills):
    _, second, _, info = fills
    wb = openpyxl.load_workbook(second, data_only=True)
    for title, co in NOTES.items():
        assert wb[title][co].value.startswith("my "), f"{title}!{co}: the trader's note kept"
    assert wb["Dashboard"]["B3"].value == info["picked"]
    for co, v in PLAN.items():
        assert wb["Planner"][co].value == v
    acct = wb["Account"]
    row = next(r for r in range(5, acct.max_row + 1) if acct.cell(r, 1).value == info["marked"])
    assert acct.cell(row, 6).value == info["mark"]
    stats_a = [c.value for c in wb["Stats"]["A"]]
    assert TYPED_KEY in stats_a
    r = stats_a.index(TYPED_KEY) + 1
    assert wb["Stats"][f"B{r}"].value == 0
    wb_xml = zipfile.ZipFile(second).read("xl/workbook.xml")
    assert b"fullCalcOnLoad" not in wb_xml
    wanted, cache = expected_sheets(second, _inputs(second, info))
    assert differences(second, wanted, cache, _notes_skip()) == []


def test_a_fill_that_closes_the_open_trades_empties_the_open_positions(fills):
    _, _, third, info = fills
    wb = openpyxl.load_workbook(third, data_only=True)
    acct = wb["Account"]
    assert acct["A5"].value is None and acct["B5"].value in (None, ""), "no open position left"
    assert acct[NOTES["Account"]].value == "my account note"
    wanted, cache = expected_sheets(third, {**_inputs(third, info), "marks": {}})
    assert differences(third, wanted, cache, _notes_skip()) == []


def test_a_fill_of_the_bundled_sample_into_the_template(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False)
    got = read_journal(journal)
    ref = tmp_path / "built.xlsx"
    build_journal(ref, got.trades, settings=got.settings, instruments=got.instruments, cash=got.cash,
                  assumed=assumed_of(journal))
    assert differences(journal, ref, None) == []
    assert names(journal) == names(ref)


def test_a_refill_that_opens_a_position_moves_the_account_figures_and_their_names(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False)
    before = names(journal)
    end = openpyxl.load_workbook(journal)["Account"].max_row
    edit_cells(journal, {"Account": {f"A{end + 3}": "a note below the figures", "R2": "a note beside them"}})
    fill_journal([_newer_statement(tmp_path)], journal, progress=False)
    ws = openpyxl.load_workbook(journal)["Account"]
    assert ws[f"A{end + 4}"].value == "a note below the figures" and ws[f"A{end + 3}"].value is None, \
        "a note below the layout moves down with it (one more position row)"
    assert ws["R2"].value == "a note beside them"
    edit_cells(journal, {"Account": {f"A{end + 4}": None, "R2": None}})
    got = read_journal(journal)
    assert sum(1 for t in got.trades if t.exit is None) == 2
    ref = tmp_path / "built.xlsx"
    build_journal(ref, got.trades, settings=got.settings, instruments=got.instruments, cash=got.cash,
                  assumed=assumed_of(journal))
    assert differences(journal, ref, None) == []
    assert names(journal) == names(ref) != before
    tables = {t.displayName: t.ref for ws in openpyxl.load_workbook(journal).worksheets for t in ws.tables.values()}
    assert tables["OpenPositions"] == "A4:U6"  # 21 columns: the hedged margin's among them


lo = pytest.mark.skipif(soffice() is None or not Path("/usr/bin/python3").exists(),
                        reason="LibreOffice (soffice) and Debian's python3-uno are needed")


@lo
@pytest.mark.parametrize("which", [0, 1, 2], ids=["into-template", "refill-with-edits", "closes-open-trades"])
def test_libreoffice_shows_the_cached_values_before_and_after_a_hard_recalculation(fills, which, tmp_path):
    path = fills[which]
    count, bad = libreoffice_differences(path, tmp_path)
    assert count > 300
    assert bad == [], "\n".join(bad[:30])


def _newer_statement(tmp_path: Path, tickets: str = "77") -> Path:
    """A second MT4 statement of the same account with other tickets (new trades for a re-fill)."""
    from tools.make_sample_statement import write_mt4_statement
    newer = tmp_path / f"newer{tickets}.htm"
    write_mt4_statement(newer, trades=5, seed=99)
    newer.write_text(re.sub(r"(<td[^>]*>)48(\d{6}</td>)", r"\g<1>" + tickets + r"\2", newer.read_text()))
    return newer


def test_a_formula_the_trader_typed_on_a_summary_sheet_is_kept_and_recalculated_on_opening(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False)
    assert b"fullCalcOnLoad" not in zipfile.ZipFile(journal).read("xl/workbook.xml")
    edit_cells(journal, {"Dashboard": {"H5": ("f", "Stats!B4*2")}})
    fill_journal([_newer_statement(tmp_path)], journal, progress=False)
    assert openpyxl.load_workbook(journal)["Dashboard"]["H5"].value == "=Stats!B4*2"
    assert b'fullCalcOnLoad="1"' in zipfile.ZipFile(journal).read("xl/workbook.xml")


def test_a_planner_input_the_figures_cannot_use_leaves_the_planner_to_excel(tmp_path):
    """A blank entry price: the Planner's twins cannot compute the plan, so the sheet stays as it was
    and Excel recalculates on opening; the other summary sheets are still written."""
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False)
    edit_cells(journal, {"Planner": {"B8": None}})
    pkg = Package.open(journal)
    before = pkg.zf.read(pkg.sheet_part("Planner"))
    pkg.close()
    fill_journal([_newer_statement(tmp_path)], journal, progress=False)
    pkg = Package.open(journal)
    assert pkg.zf.read(pkg.sheet_part("Planner")) == before
    assert b'fullCalcOnLoad="1"' in pkg.zf.read("xl/workbook.xml")
    pkg.close()
    got = read_journal(journal)
    ref = tmp_path / "built.xlsx"
    build_journal(ref, got.trades, settings=got.settings, instruments=got.instruments, cash=got.cash,
                  assumed=assumed_of(journal))
    bad = [d for d in differences(journal, ref, None) if not d.startswith("Planner!")]
    assert bad == [], "\n".join(bad)
    assert names(journal) == names(ref)


@lo
def test_libreoffice_agrees_after_a_refill_that_opens_a_position(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False)
    edit_cells(journal, {"Dashboard": {"H2": "my note"}, "Planner": {"B6": "USDJPY", "B8": 150.0, "B9": 149.0,
                                                                     "B10": 152.0}})
    fill_journal([_newer_statement(tmp_path)], journal, progress=False)
    count, bad = libreoffice_differences(journal, tmp_path)
    assert count > 300
    assert bad == [], "\n".join(bad[:30])


def test_planner_inputs_left_at_the_programs_defaults_follow_the_settings(tmp_path):
    """The template's plan is the program's (equity = StartingBalance...): a fill that sets the equity
    moves it; an input the trader typed stays."""
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False, equity=50_000)
    got = read_journal(journal)
    assert got.settings.starting_balance == 50_000
    assert openpyxl.load_workbook(journal)["Planner"]["B4"].value == 50_000
    ref = tmp_path / "built.xlsx"
    build_journal(ref, got.trades, settings=got.settings, instruments=got.instruments, cash=got.cash,
                  assumed=assumed_of(journal))
    assert differences(journal, ref, None) == []
    edit_cells(journal, {"Planner": {"B4": 7_777}})
    fill_journal([_newer_statement(tmp_path)], journal, progress=False, equity=60_000)
    assert openpyxl.load_workbook(journal)["Planner"]["B4"].value == 7_777


def test_a_later_statements_mark_price_replaces_the_earlier_ones_but_not_a_typed_one(tmp_path):
    """The program's marks (from a statement) follow the newest statement; a typed mark stays."""
    journal = tmp_path / "Journal.xlsx"
    build_journal(journal, [])
    fill_journal([sample_statement()], journal, progress=False)
    acct = openpyxl.load_workbook(journal, data_only=True)["Account"]
    assert (acct["A5"].value, acct["F5"].value) == ("48210868", 1.0946)
    later = tmp_path / "later.htm"
    html = sample_statement().read_text(encoding="utf-8")
    row = next(r for r in html.splitlines() if r.startswith('<tr align=right><td title="">48210868</td>'))
    later.write_text(html.replace(row, row.replace(">1.09460<", ">1.09999<")), encoding="utf-8")
    fill_journal([later, _newer_statement(tmp_path)], journal, progress=False)
    acct = openpyxl.load_workbook(journal, data_only=True)["Account"]
    marks = {acct.cell(r, 1).value: acct.cell(r, 6).value for r in range(5, 7)}
    assert marks["48210868"] == 1.09999, "the later statement's mark"
    other = next(k for k in marks if k != "48210868")
    edit_cells(journal, {"Account": {"F5": 1.1}})  # typed by the trader
    again = tmp_path / "again.htm"
    again.write_text(html.replace(row, row.replace(">1.09460<", ">1.08888<")), encoding="utf-8")
    assert fill_journal([again, _newer_statement(tmp_path, "66")], journal, progress=False).changed
    acct = openpyxl.load_workbook(journal, data_only=True)["Account"]
    marks = {acct.cell(r, 1).value: acct.cell(r, 6).value for r in range(5, 7)}
    assert marks["48210868"] == 1.1 and marks[other] is not None
