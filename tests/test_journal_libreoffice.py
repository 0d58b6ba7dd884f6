"""LibreOffice, headless, as the trader's other spreadsheet: it recalculates a filled journal with no
add-in, prints every sheet, and sorts the Trades table.

* Recalculation forced on load (the profile's OOXMLRecalcMode = always): every cell of the Trades
  table of a journal filled from the real broker exports (>= 200 trades) must equal the cached value
  the fill wrote (relative 1e-9), with no #NAME? and no Err:5xx; the Dashboard and Planner cells that
  call the add-in say "needs the add-in".
* Without forced recalculation LibreOffice shows the cached values, add-in cells included.
* PDF export of every sheet (Trades included: it used to abort LibreOffice 7.4), checked by its text.
* Sorting the table as a user does (whole rows move, formulas keep pointing at the row above) and
  filtering: per-trade figures stay, running figures keep the promise of columns.RUNNING_DOC (say
  "out of order: sort by No." from the first row out of order down), all back when sorted by No.
  (tests/test_journal_running_edits.py deletes, inserts and sorts rows in LibreOffice itself).
"""

from __future__ import annotations

import csv
import functools
import math
import random
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from addin.fill import fill_journal
from addin.journal import columns as C
from addin.journal.layout import NO_ADDIN
from addin.journal.workbook import build_journal
from lo_uno import available as lo_available, convert
from tools.render_docs import only_sheet, render_sheet_png, soffice
from tools.sample_trades import edge_trades, sample_cash, sample_trades
from conftest import STATEMENTS

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not on PATH: apt-get install libreoffice-calc"),
    pytest.mark.skipif(not lo_available(), reason="python3-uno is not importable by /usr/bin/python3: "
                                                   "apt-get install python3-uno"),
]

# Real exports whose trades together make a journal of several hundred trades (one of them in EUR, flagged).
REAL = ("mt4_statement_html/jsacap_Tradeslide_Statement.htm",
        "mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm",  # 1:200: over ESMA's caps
        "tradovate_performance_csv/arielSofer_Performance.csv",
        "tradovate_performance_csv/arielSofer_Performance_1.csv",
        "tradingview_list_of_trades_csv/AlphaDogsResearch_TRIX_Signal_Strategy_BINANCE_ETHUSDT.P_2026-02-26.csv")


def _same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, datetime) or isinstance(b, datetime):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@functools.lru_cache(maxsize=6)
def _book(path: str, stamp: tuple, data_only: bool) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, data_only=data_only)


def _load(path: Path, data_only: bool = False) -> openpyxl.Workbook:
    """The workbook at ``path`` as it is now, read once for every check that reads it (loading a
    journal of hundreds of trades is most of such a check's time); a changed file is read again.
    Only for reading: ``_sorted_copy`` loads its own to edit."""
    st = Path(path).stat()
    return _book(str(Path(path).resolve()), (st.st_mtime_ns, st.st_size, st.st_ino), data_only)


def _compare(ours: Path, theirs: Path, title: str) -> tuple[int, list[str]]:
    """(formula cells compared, differences) between the cached values of two files on one sheet."""
    a = _load(ours, data_only=True)[title]
    b = _load(theirs, data_only=True)[title]
    f = _load(ours)[title]
    count, bad = 0, []
    for row in f.iter_rows():
        for cell in row:
            if cell.data_type != "f":
                continue
            count += 1
            x, y = a[cell.coordinate].value, b[cell.coordinate].value
            if not _same(x, y):
                bad.append(f"{title}!{cell.coordinate}: cached {x!r}, LibreOffice {y!r}")
    return count, bad


@pytest.fixture(scope="module")
def real_journal(tmp_path_factory):
    paths = [STATEMENTS / r for r in REAL]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"real broker exports not available: {', '.join(missing)}")
    path = tmp_path_factory.mktemp("lo") / "real.xlsx"
    fill_journal(paths, path, progress=False)
    return path


@pytest.fixture(scope="module")
def sample_journal(tmp_path_factory):
    path = tmp_path_factory.mktemp("lo") / "journal.xlsx"
    trades = sample_trades(200, seed=5) + edge_trades()
    # the edge trades' accounts (other brokers) with a starting balance each, as a trader types it in
    # the Accounts block: their risk figures are then numbers too
    starts = {C.account_key(t.broker, t.account): (5_000.0, 0.0) for t in edge_trades()}
    build_journal(path, trades, cash=sample_cash(trades), account_starts=starts)
    return path


@pytest.fixture(scope="module")
def recalculated(real_journal, tmp_path_factory):
    return convert(real_journal, "xlsx:Calc MS Excel 2007 XML", tmp_path_factory.mktemp("recalc"), recalc=True)


def test_libreoffice_recalculates_every_trades_cell_of_real_statements_to_the_cached_value(real_journal, recalculated):
    n = openpyxl.load_workbook(real_journal, read_only=True)["Trades"].max_row - 1
    assert n >= 200
    count, bad = _compare(real_journal, recalculated, "Trades")
    assert count == n * len(C.CALCS)
    assert not bad, f"{len(bad)} of {count} cells differ:\n" + "\n".join(bad[:20])
    theirs = _load(recalculated, data_only=True)
    errors = [f"{ws.title}!{c.coordinate}={c.value}" for ws in theirs for r in ws.iter_rows() for c in r
              if isinstance(c.value, str) and c.value.startswith(("#NAME", "#VALUE", "#N/A", "#DIV", "#REF", "Err:"))]
    assert not errors, errors[:10]
    numbers = sum(1 for r in theirs["Trades"].iter_rows(min_row=2) for c in r[len(C.INPUTS):len(C.INPUTS) + len(C.CALCS)]
                  if isinstance(c.value, float))
    rows = list(theirs["Trades"].iter_rows(min_row=2, values_only=True))
    stated = [r[C.INDEX["Over cap"]] for r in rows if r[C.INDEX["Account"]] == "2088913717"]
    others = [r[C.INDEX["Over cap"]] for r in rows if r[C.INDEX["Account"]] != "2088913717"]
    # TRUE/FALSE (LibreOffice's 1/0) where known, "" where no cap applies: the reuniware account
    # states its 1:200 (its row of the Accounts block), so its trades are never "unknown"; the other
    # accounts state no leverage and stand on the template's AccountLeverage: "unknown" there
    assert stated and set(stated) <= {True, False, None, ""}
    assert C.UNKNOWN in others and set(others) <= {True, False, None, "", C.UNKNOWN}
    used = {r[C.INDEX["Leverage used"]] for r in rows if r[C.INDEX["Account"]] == "2088913717"
            and r[C.INDEX["Leverage"]] is None and r[C.INDEX["Leverage source"]] == C.SRC_ACCOUNT}
    assert used == {200}  # its own 1:200, not the first account's AccountLeverage
    # most calculated cells are numbers (these exports rarely give a stop; the Tradovate and
    # TradingView accounts state no starting balance: their Balance and what rests on it are words)
    assert numbers > n * 9


def test_without_the_addin_the_dashboard_and_planner_say_so(real_journal, recalculated):
    for title in ("Dashboard", "Planner"):
        f = _load(real_journal)[title]
        theirs = _load(recalculated, data_only=True)[title]
        ours = _load(real_journal, data_only=True)[title]
        addin = [c.coordinate for r in f.iter_rows() for c in r if c.data_type == "f" and "IFERROR(" in c.value
                 and any(fn in c.value for fn in ("MARGIN_LEVEL(", "WIPEOUT_MOVE(", "POSITION_SIZE(", "NOTIONAL(",
                                                  "RECOVERY_GAIN(", "LOSSES_TO_DRAWDOWN(", "MAX_LEVERAGE("))]
        assert addin, title
        for coord in addin:
            assert theirs[coord].value in (NO_ADDIN, "", None), (title, coord, theirs[coord].value)
        reads_row = [c.coordinate for r in f.iter_rows() for c in r if c.data_type == "f" and "INDEX(Trades[" in c.value]
        assert (len(reads_row) >= 20) == (title == "Dashboard")
        for coord in reads_row:  # what the Dashboard reads from the Trades row needs no add-in
            assert _same(ours[coord].value, theirs[coord].value), (coord, ours[coord].value, theirs[coord].value)


@pytest.fixture(scope="module")
def saved_by_libreoffice(sample_journal, tmp_path_factory):
    return convert(sample_journal, "xlsx:Calc MS Excel 2007 XML", tmp_path_factory.mktemp("saved"))


def test_without_recalculation_libreoffice_shows_the_cached_values(sample_journal, saved_by_libreoffice):
    for title in ("Trades", "Dashboard", "Planner"):
        count, bad = _compare(sample_journal, saved_by_libreoffice, title)
        assert count >= 20 and not bad, "\n".join(bad[:20])


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_every_sheet_prints_to_pdf(real_journal, tmp_path):
    pdf = convert(real_journal, "pdf", tmp_path)
    text = _pdf_text(pdf)
    for words in ("Trade risk card", "Counted from", "Pre-trade planner", "Retail leverage caps by regulator",
                  "Account leverage", "Contract size", "TRUE", "FALSE", "Risk card"):
        assert words in text, words
    wb = openpyxl.load_workbook(real_journal, read_only=True)
    first_id = next(wb["Trades"].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert str(first_id) in text
    # the Trades sheet alone (the sheet that used to abort LibreOffice): a page per ~40 rows, booleans as words
    one = only_sheet(real_journal, "Trades", tmp_path / "Trades.xlsx")
    text = _pdf_text(convert(one, "pdf", tmp_path))
    pages = text.split("\f")
    # every column, over several pages (addin/journal/workbook.py PRINT): the first rows' pages come
    # first, each with the Trade ID column, up to the last column
    band = next(k for k, p in enumerate(pages) if "Flags" in p)
    assert 1 <= band < 10 and all(str(first_id) in p for p in pages[:band + 1])
    assert len(pages) >= 3 and all("Trade ID" in p for p in pages[:-1] if p.strip())  # header row on every page
    assert "FALSE" in text  # a boolean reads FALSE, not 0


def test_render_dashboard_png(sample_journal, tmp_path):
    png = render_sheet_png(sample_journal, "Dashboard", tmp_path / "dash.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_dashboard_as_text(sample_journal, tmp_path):
    one = tmp_path / "dash.xlsx"
    only_sheet(sample_journal, "Dashboard", one)
    out = convert(one, "csv:Text - txt - csv (StarCalc):44,34,76,1", tmp_path)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    text = {r[3]: r[4] for r in rows if len(r) > 4 and r[3]}
    ws = _load(sample_journal, data_only=True)["Dashboard"]
    assert rows[2][1] == ws["B3"].value
    assert text["Notional"] and not text["Notional"].startswith("#")
    margin = next(ws[f"E{r}"].value for r in range(7, 30) if ws[f"D{r}"].value == "Margin")
    assert text["Margin"] == f"{margin:,.2f}"
    assert text["Risk, % of equity"].endswith("%")


def test_a_journal_saved_by_libreoffice_reads_back(sample_journal, saved_by_libreoffice):
    """A journal a user opened and saved in another application still reads back into the same trades."""
    from journal_reader import read_journal

    saved = saved_by_libreoffice
    want, got = read_journal(sample_journal), read_journal(saved)
    assert len(got.trades) == len(want.trades) and got.settings == want.settings
    assert got.instruments == want.instruments and got.rejected == want.rejected
    for a, b in zip(want.trades, got.trades):
        da, db = a.model_dump(), b.model_dump()
        for k, v in da.items():
            if isinstance(v, float):
                assert math.isclose(v, db[k], rel_tol=1e-13), (a.trade_id, k)
            else:
                assert v == db[k], (a.trade_id, k)


# Sorting and filtering --------------------------------------------------------------------------

def _sorted_copy(src: Path, dest: Path, key, hide: set[int] = frozenset()) -> None:
    """What Excel and LibreOffice do when a user sorts the Trades table: each row's cells move as a
    whole; a calculated column's formula stays the same in every position (the row above stays the
    row above). Inputs are permuted, formulas left in place; ``hide`` hides rows (a filter)."""
    wb = openpyxl.load_workbook(src)
    ws = wb["Trades"]
    n = ws.max_row - 1
    inputs = [j for j, c in enumerate(C.COLUMNS) if c.kind != "calc"]
    rows = [[ws.cell(row=r, column=j + 1).value for j in inputs] for r in range(2, n + 2)]
    head = [c.name for c in C.COLUMNS if c.kind != "calc"]
    order = sorted(range(n), key=lambda i: key(dict(zip(head, rows[i]))))
    for pos, i in enumerate(order):
        for k, j in enumerate(inputs):
            cell = ws.cell(row=pos + 2, column=j + 1)
            cell.value = rows[i][k]
            if isinstance(rows[i][k], str):
                cell.data_type = "s"  # a Trade ID "=1+1" stays text
    for r in hide:
        ws.row_dimensions[r].hidden = True
    wb.save(dest)


def _rows(path: Path) -> list[dict]:
    ws = _load(path, data_only=True)["Trades"]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]


def _by_id(path: Path) -> dict[str, dict]:
    return {str(r["Trade ID"]): r for r in _rows(path)}


RUNNING = {"Cumulative P/L", "Peak P/L", "Balance", "Drawdown", "Equity used", "Effective leverage", "Risk %",
           "Stop-out price", "Stop beyond stop-out"}


def _check_running(rows: list[dict], want: dict[str, dict]) -> int:
    """The promise of columns.RUNNING_DOC for a table in any order: a row whose No. is not smaller
    than any No. above it shows Cumulative P/L = the sum of Net P/L of the rows at or above it; that
    is the trade's own figure (as sorted by No.) unless a trade with a smaller No. sits below it,
    per account (the rows of its Broker and Account),
    and so is every other running figure it shows. Other rows say "out of order". Returns the
    number of running cells that differ from the figures sorted by No."""
    moved = 0
    nos = [r["No."] for r in rows]
    # per account (columns.ACCOUNTS_DOC): a row with neither Broker nor Account is the first one's
    keys = [C.account_key(r["Broker"], r["Account"]) for r in rows]
    first = next((k for k in keys if k != "|"), "|")
    nets: dict[str, float] = {}
    for i, row in enumerate(rows):
        tid = str(row["Trade ID"])
        key = first if keys[i] == "|" else keys[i]
        nets[key] = nets.get(key, 0.0) + (row["Net P/L"] if isinstance(row["Net P/L"], (int, float)) else 0)
        net = nets[key]
        above = [n for n in nos[:i] if isinstance(n, (int, float))]
        ordered = not above or row["No."] >= max(above)
        smaller_below = any(isinstance(n, (int, float)) and n < row["No."] for n in nos[i + 1:])
        cum = row["Cumulative P/L"]
        assert (cum == C.OUT_OF_ORDER) == (not ordered), (tid, cum)
        if ordered:
            assert math.isclose(cum, net, rel_tol=1e-9, abs_tol=1e-9), (tid, cum, net)
        for col in C.CALCS:
            a, b = want[tid][col.name], row[col.name]
            if col.name not in RUNNING:
                assert _same(a, b), (tid, col.name, a, b)  # a trade's own figures do not depend on the order
            elif not _same(a, b):
                moved += 1
                # a message, or (above a trade with a smaller No.) the figures of the trades listed above
                assert b in (C.OUT_OF_ORDER, "", None) or smaller_below, (tid, col.name, a, b)
    return moved


def test_sorting_and_filtering_say_so_and_sorting_by_no_brings_every_figure_back(sample_journal, tmp_path):
    want = _by_id(sample_journal)
    by_symbol = tmp_path / "by_symbol.xlsx"
    _sorted_copy(sample_journal, by_symbol, key=lambda r: (str(r["Symbol"]), -(r["No."] or 0)))
    rows = _rows(convert(by_symbol, "xlsx:Calc MS Excel 2007 XML", tmp_path / "a", recalc=True))
    got = {str(r["Trade ID"]): r for r in rows}
    assert got.keys() == want.keys()
    assert _check_running(rows, want) > 100  # the running figures did notice the sort
    assert sum(1 for r in rows if r["Balance"] == C.OUT_OF_ORDER) > len(rows) * 0.9
    # only the first row (nothing above it) shows a figure, its own trade's alone
    assert [i for i, r in enumerate(rows) if isinstance(r["Peak P/L"], (int, float))] == [0]

    # sorted back by No. (and a filter hiding rows): every figure is back
    back = tmp_path / "back.xlsx"
    _sorted_copy(by_symbol, back, key=lambda r: r["No."], hide={3, 10, 11, 50})
    again = _by_id(convert(back, "xlsx:Calc MS Excel 2007 XML", tmp_path / "b", recalc=True))
    bad = [(t, c.name, want[t][c.name], again[t][c.name]) for t in want for c in C.CALCS
           if not _same(want[t][c.name], again[t][c.name])]
    assert not bad, bad[:10]
    assert len({r["Cash in/out"] for r in again.values()}) >= 4  # deposits, credit, withdrawal recalculated


def test_a_shuffle_shows_no_running_figure_below_the_first_row_out_of_order(sample_journal, tmp_path):
    rnd = random.Random(4)
    want = _by_id(sample_journal)
    shuffled = tmp_path / "shuffled.xlsx"
    keys = {tid: rnd.random() for tid in want}
    _sorted_copy(sample_journal, shuffled, key=lambda r: keys[str(r["Trade ID"])])
    rows = _rows(convert(shuffled, "xlsx:Calc MS Excel 2007 XML", tmp_path / "c", recalc=True))
    _check_running(rows, want)
    first_bad = next(i for i, r in enumerate(rows) if r["Cumulative P/L"] == C.OUT_OF_ORDER)
    assert first_bad <= 5
    for r in rows[first_bad:]:
        for col in ("Peak P/L", "Drawdown"):
            assert r[col] == C.OUT_OF_ORDER, (r["Trade ID"], col, r[col])


@pytest.mark.parametrize("plan, check, base", [
    ({"Symbol": "EURXYZ", "Side": -1, "Entry": 1.085, "Stop": 1.09, "Target": 1.075, "Lot step": 100_000.0},
     "EURXYZ is not in the Instruments sheet: contract size 1 and pip 0.0001 assumed; "
     "the risk budget does not cover one lot step (100000)", False),
    ({"Symbol": "USDJPY", "Side": "Sell", "Entry": 150.0, "Stop": 150.5, "Target": 148.5, "FX to account": 1 / 150},
     "OK", True),
    ({"Symbol": "usdjpy", "Side": "sideways"}, "side must be long/buy, short/sell, 1 or -1", True),
])
def test_libreoffice_computes_the_planners_own_formulas_as_cached(plan, check, base, tmp_path, monkeypatch):
    """The Planner's cells recalculated by LibreOffice with no add-in equal the cached values the
    Python twins wrote (every figure of the plan is native: tests/test_planner_native.py); the one
    add-in cell, the regulator's cap, says so."""
    from addin.journal import planner

    monkeypatch.setattr(planner, "DEFAULT_PLAN", {**planner.DEFAULT_PLAN, **plan})
    path = tmp_path / "plan.xlsx"
    build_journal(path, [])
    theirs = convert(path, "xlsx:Calc MS Excel 2007 XML", tmp_path / "recalc", recalc=True)
    f = _load(path)["Planner"]
    ours = _load(path, data_only=True)["Planner"]
    lo = _load(theirs, data_only=True)["Planner"]
    label = {r[0].value: r[1].coordinate for r in f.iter_rows(min_row=15, max_col=2) if r[0].value}
    assert ours[label["Check"]].value == check and lo[label["Check"]].value == check
    # LibreOffice keeps no boolean type in a cell: it saves a formula's TRUE under the cell's
    # "TRUE";"TRUE";"FALSE" format as 1, which that format shows as TRUE and IF() reads as true
    assert ours[label["Account is base currency"]].value is base and lo[label["Account is base currency"]].value == base
    # the plan's own rows (the account block below them reads the add-in's margin and notional:
    # tests/test_journal_account.py checks it with the add-in's values)
    last = f[label["Check"]].row
    native = [c.coordinate for r in f.iter_rows(max_row=last) for c in r if c.data_type == "f"
              and NO_ADDIN not in c.value]
    assert len(native) == 24  # every figure of the plan but the regulator's cap
    bad = [(c, ours[c].value, lo[c].value) for c in native if not _same(ours[c].value, lo[c].value)]
    assert not bad, bad
    assert lo[label["Regulator's cap"]].value == NO_ADDIN
