"""A trader edits the Trades table in LibreOffice as people do: deletes rows (one in the middle, the
first, the last, a block), inserts rows and types a trade into one, sorts by another column and back
by No.; then recalculates everything and saves as xlsx. No cell of the Trades sheet may be an error,
and the running figures must be those of the trades that remain, in their place (columns.RUNNING_DOC).
Then the next fill of the same statement into the saved file must leave every cell right.

LibreOffice is driven through UNO (python3-uno, importable by Debian's /usr/bin/python3, not the
venv): tests/lo_uno.py runs the edits in a LibreOffice with a private profile and its own pipe
name, so parallel runs do not collide. ``setFormula`` on a cell is what typing does (a number is
parsed as a number).
"""

from __future__ import annotations

import functools
import math
import subprocess
from pathlib import Path

import openpyxl
import pytest

from addin.fill import fill_journal, sample_statement
from addin.journal import accounts as AC
from addin.journal import columns as C
from lo_uno import convert, office
from tools.render_docs import soffice

UNO_PYTHON = "/usr/bin/python3"


def _uno_available() -> bool:
    if soffice() is None or not Path(UNO_PYTHON).exists():
        return False
    return subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not on PATH: apt-get install libreoffice-calc"),
    pytest.mark.skipif(not _uno_available(), reason="python3-uno is not importable by /usr/bin/python3: "
                                                     "apt-get install python3-uno"),
]


def _job_step(step: dict) -> list:
    """One edit below, as a step of tests/lo_uno.py on the Trades sheet."""
    op = step["op"]
    if op == "delete":  # whole rows, as Delete Rows does; rows are 1-based sheet rows
        return [["delete_rows", "Trades", step["row"], step.get("count", 1)]]
    if op == "insert":
        return [["insert_rows", "Trades", step["row"], step.get("count", 1)]]
    if op == "type":
        return [["type", "Trades", ref, text] for ref, text in step["cells"].items()]
    if op == "sort":  # the table's data rows by one column, as Data > Sort does
        return [["sort_columns", "Trades", step["col"], step.get("ascending", True), step["ncols"]]]
    if op == "fill_formulas":  # what Excel does in an inserted table row: the calculated columns
        first, last = step["cols"]  # 0-based, inclusive: copied from the row above, references moved
        return [["fill_formulas", "Trades", step["rows"], first, last]]
    if op == "recalc":
        return [["calculate_all"]]
    raise ValueError(f"unknown step {op}")


def edit_in_libreoffice(src: Path, dest: Path, steps: list[dict], tmp: Path, timeout: float = 600) -> None:
    """Open ``src`` in LibreOffice, apply ``steps``, save as xlsx ``dest`` (in the session's
    LibreOffice: tests/lo_uno.py)."""
    job = {"input": str(src), "steps": [s for step in steps for s in _job_step(step)], "save": str(dest)}
    office().run(job, timeout=timeout)
    assert dest.exists()


# Checks ------------------------------------------------------------------------------------------

NCOLS = len(C.COLUMNS)
ERRORS = ("#REF", "#VALUE", "#N/A", "#DIV", "#NAME", "#NUM", "#NULL", "Err:")


@functools.lru_cache(maxsize=4)
def _book(path: str, stamp: tuple, data_only: bool) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, data_only=data_only)


def _load(path: Path, data_only: bool = False) -> openpyxl.Workbook:
    """The workbook at ``path`` as it is now, read once for all the checks below (which only read
    it): loading is most of a check's time, and a changed file is read again."""
    st = Path(path).stat()
    return _book(str(Path(path).resolve()), (st.st_mtime_ns, st.st_size, st.st_ino), data_only)


def _rows(path: Path) -> list[dict]:
    ws = _load(path, data_only=True)["Trades"]
    head = [c.value for c in ws[1]]
    assert head[:NCOLS] == [c.name for c in C.COLUMNS]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, max_col=NCOLS, values_only=True)]


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def no_error_cells(path: Path) -> None:
    ws = _load(path, data_only=True)["Trades"]
    bad = [f"{c.coordinate}={c.value}" for r in ws.iter_rows() for c in r
           if isinstance(c.value, str) and c.value.startswith(ERRORS)]
    assert not bad, f"{len(bad)} error cells: {bad[:10]}"


def formula_rows(path: Path) -> list[bool]:
    """Per table row: does it hold every calculated column's formula? (LibreOffice inserts rows
    without them; Excel fills a table's calculated columns into an inserted row.)"""
    ws = _load(path)["Trades"]
    last = int(ws.tables["Trades"].ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    calc = [C.INDEX[c.name] + 1 for c in C.CALCS]
    out = []
    for r in range(2, last + 1):
        has = [isinstance(ws.cell(r, j).value, str) and ws.cell(r, j).value.startswith("=") for j in calc]
        assert all(has) or not any(has), f"row {r}: some calculated columns without their formula"
        out.append(all(has))
    return out


def formulas_everywhere(path: Path) -> None:
    missing = [k + 2 for k, ok in enumerate(formula_rows(path)) if not ok]
    assert not missing, f"rows without the calculated columns' formulas: {missing[:10]}"


def _net(r: dict) -> float | None:
    if r["Entry"] in (None, "") or r["Profit"] in (None, ""):
        return None
    return sum(r[c] for c in ("Profit", "Commission", "Swap", "Taxes") if _num(r[c]))


def running_figures_right(path: Path, starting_balance: float, twins: bool = True) -> list[dict]:
    """Recompute the running figures by hand over the rows as they stand (sheet order) and compare.
    A trade row without formulas (typed into a row LibreOffice inserted) is counted in Cumulative
    P/L below it, and the peak below it says its figure is missing. With ``twins`` every calculated
    column is also compared with the Python twins over the same rows. Returns the rows."""
    rows = _rows(path)
    has = formula_rows(path)
    assert len(has) == len(rows)
    cum = peak = 0.0
    seen_max = None
    trades = 0
    missing = False
    for i, r in enumerate(rows):
        ref = f"row {i + 2} (Trade ID {r['Trade ID']}, No. {r['No.']})"
        if r["Entry"] in (None, "") or not has[i]:
            for col in C.CALCS:
                assert r[col.name] in (None, ""), (ref, col.name, r[col.name])  # a blank row shows blanks
            if r["Entry"] in (None, ""):
                continue
        trades += 1
        no = r["No."]
        assert seen_max is None or not _num(no) or no >= seen_max, f"{ref}: the table is expected in No. order here"
        if _num(no):
            seen_max = no if seen_max is None else max(seen_max, no)
        net = _net(r)
        cum += net or 0.0
        if not has[i]:
            missing = True
            continue
        assert r["Net P/L"] in (None, "") if net is None else _close(r["Net P/L"], net), (ref, r["Net P/L"], net)
        peak = max(peak, cum)
        assert _num(r["Cumulative P/L"]) and _close(r["Cumulative P/L"], cum), (ref, r["Cumulative P/L"], cum)
        balance = starting_balance + r["Cash in/out"] + cum
        assert _close(r["Balance"], balance), (ref, r["Balance"], balance)
        if r["Equity"] in (None, ""):
            assert _close(r["Equity used"], balance - (net or 0)), ref
        if missing:
            assert r["Peak P/L"] == C.NO_FORMULAS and r["Drawdown"] == C.NO_FORMULAS, (ref, r["Peak P/L"])
            continue
        assert _num(r["Peak P/L"]) and _close(r["Peak P/L"], peak), (ref, r["Peak P/L"], peak)
        base = starting_balance + r["Cash in/out"] + peak
        assert _num(r["Drawdown"]) and _close(r["Drawdown"], 1 - balance / base), (ref, r["Drawdown"])
    assert trades >= 5
    if twins:
        assert all(has), "the twins assume every row has its formulas"
        twins_right(path, rows)
    return rows


def twins_right(path: Path, rows: list[dict]) -> None:
    """The Python twins over the rows as they stand equal what LibreOffice computed, cell by cell."""
    from journal_reader import read_journal

    got = read_journal(path)
    wb = _load(path, data_only=True)
    cash_sheet = wb[C.CASH_TABLE]
    table = cash_sheet.tables[C.CASH_TABLE]
    cash_rows = [[c.value for c in r] for r in cash_sheet[table.ref]]
    head, cash_rows = cash_rows[0], cash_rows[1:]
    cash = [(C.account_key(r[head.index("Broker")], r[head.index("Account")]),
             C.serial(r[head.index("Time")]) if hasattr(r[head.index("Time")], "year") else None,
             r[head.index("Amount")]) for r in cash_rows if _num(r[head.index("Amount")])]
    cash.sort(key=lambda e: (e[1] is None, e[1] or 0.0))
    cash_from = wb.defined_names[C.CASH_FROM]
    sheet, ref = next(iter(cash_from.destinations))
    t0 = wb[sheet][ref.replace("$", "")].value
    t0 = C.serial(t0) if hasattr(t0, "year") else float(t0 or 0)
    inst = {i.symbol.upper(): {"Asset class": i.asset_class, "Contract size": i.contract_size,
                               "Pip size": i.pip_size, "Margin rate": i.margin_rate, "Quote currency": i.quote_currency} for i in reversed(got.instruments)}
    cols: dict[str, list] = {}
    for c in C.INPUTS + C.TRAILING:
        vals = [r[c.name] for r in rows]
        vals = [C.serial(v) if hasattr(v, "year") else v for v in vals]
        if c.kind in ("number", "date"):
            vals = [v if _num(v) else None for v in vals]
        else:
            vals = [None if v in (None, "") else str(v) for v in vals]
        cols[c.name] = vals
    # the Accounts block as the fill wrote it (one account: StartingBalance and CashFrom)
    accounts, home = AC.block_env(cols, got.settings, {}, t0)
    env = C.Env(settings=got.settings, instruments=inst, accounts=accounts, home=home, cash_from=t0,
                cash_upto=C.cash_by_account(cash, accounts, t0))
    C.compute(cols, env)
    bad = []
    for i, r in enumerate(rows):
        for c in C.CALCS:
            a, b = cols[c.name][i], r[c.name]
            a = "" if a is None else a
            b = "" if b is None else b
            same = (_close(a, b) if _num(a) and _num(b) and not isinstance(a, bool) and not isinstance(b, bool)
                    else a == b or (isinstance(a, bool) and b in (0, 1) and a == bool(b)))
            if not same:
                bad.append((i + 2, c.name, a, b))
    assert not bad, f"{len(bad)} cells differ from the twins: {bad[:10]}"


# The journal ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[Path, Path, float]:
    """A journal filled from the bundled sample statement (as ``fill --sample``), LibreOffice's
    own recalculation of it, and the starting balance."""
    tmp = tmp_path_factory.mktemp("running")
    path = tmp / "journal.xlsx"
    fill_journal([sample_statement()], path, progress=False)
    wb = _load(path, data_only=True)
    sheet, ref = next(iter(wb.defined_names["StartingBalance"].destinations))
    start = wb[sheet][ref.replace("$", "")].value
    assert _num(start)
    return path, tmp, float(start)


def _trade_rows(path: Path) -> int:
    return sum(1 for r in _rows(path) if r["Entry"] not in (None, ""))


def _col(name: str) -> str:
    return C.letter(C.INDEX[name])


def test_the_filled_journal_recalculates_as_cached(filled, tmp_path):
    path, _, start = filled
    out = tmp_path / "same.xlsx"
    edit_in_libreoffice(path, out, [{"op": "recalc"}], tmp_path)
    no_error_cells(out)
    running_figures_right(out, start)
    assert _trade_rows(out) >= 20


def _edit_and_check(filled, tmp_path, steps, trades_delta: int, all_formulas: bool = True) -> tuple[Path, list[dict]]:
    path, _, start = filled
    before = _trade_rows(path)
    out = tmp_path / "edited.xlsx"
    edit_in_libreoffice(path, out, steps + [{"op": "recalc"}], tmp_path)
    no_error_cells(out)
    if all_formulas:
        formulas_everywhere(out)
    rows = running_figures_right(out, start, twins=all_formulas)
    assert _trade_rows(out) == before + trades_delta
    return out, rows


CALC_COLS = (C.INDEX[C.CALCS[0].name], C.INDEX[C.CALCS[-1].name])
assert CALC_COLS[1] - CALC_COLS[0] + 1 == len(C.CALCS)  # the calculated columns are side by side


def excel_fills(*rows: int) -> dict:
    """Excel's insert of a table row: the calculated columns' formulas in it (LibreOffice leaves it empty)."""
    return {"op": "fill_formulas", "rows": list(rows), "cols": list(CALC_COLS)}


def test_deleting_a_row_in_the_middle(filled, tmp_path):
    out, rows = _edit_and_check(filled, tmp_path, [{"op": "delete", "row": 9}], -1)
    nos = [r["No."] for r in rows]
    assert 8 not in nos and 7 in nos and 9 in nos  # a gap in No. is not an error


def test_deleting_the_first_row(filled, tmp_path):
    out, rows = _edit_and_check(filled, tmp_path, [{"op": "delete", "row": 2}], -1)
    assert rows[0]["No."] == 2 and _close(rows[0]["Cumulative P/L"], rows[0]["Net P/L"] or 0)


def test_deleting_the_last_row_and_a_block_and_single_rows(filled, tmp_path):
    n = _trade_rows(filled[0])
    _edit_and_check(filled, tmp_path, [{"op": "delete", "row": n + 1}, {"op": "delete", "row": 5, "count": 4},
                                       {"op": "delete", "row": 12}, {"op": "delete", "row": 2}], -7)


def test_inserting_blank_rows_shows_blanks(filled, tmp_path):
    # as LibreOffice inserts them (no formulas) and as Excel does (the table's formulas, blank)
    _edit_and_check(filled, tmp_path, [{"op": "insert", "row": 6}, {"op": "insert", "row": 2},
                                       {"op": "insert", "row": 12, "count": 3}], 0, all_formulas=False)
    _edit_and_check(filled, tmp_path, [{"op": "insert", "row": 6}, excel_fills(6), {"op": "insert", "row": 12, "count": 3},
                                       excel_fills(12, 13, 14), {"op": "insert", "row": 3}, excel_fills(3)], 0)


def _typed_trade(row: int, no: object, net: float) -> dict:
    cells = {f"{_col('Trade ID')}{row}": "typed-1", f"{_col('Symbol')}{row}": "EURUSD",
             f"{_col('Side')}{row}": "buy", f"{_col('Quantity')}{row}": "1", f"{_col('Entry')}{row}": "1.1",
             f"{_col('Exit')}{row}": "1.1005", f"{_col('Profit')}{row}": str(net)}
    if no is not None:
        cells[f"{_col('No.')}{row}"] = str(no)
    return {"op": "type", "cells": cells}


@pytest.mark.parametrize("no", [None, 6.5], ids=["without a No.", "No. 6.5"])
@pytest.mark.parametrize("excel", [True, False], ids=["as Excel inserts", "as LibreOffice inserts"])
def test_a_trade_typed_into_an_inserted_row_counts_in_its_place(filled, tmp_path, no, excel):
    # rows 2..: No. 1, 2, ...; a row inserted above No. 7 (row 8) and a trade typed there: the row
    # below reads the row above through a range that an insertion directly above does not grow
    steps = [{"op": "insert", "row": 8}] + ([excel_fills(8)] if excel else []) + [_typed_trade(8, no, 123.45)]
    out, rows = _edit_and_check(filled, tmp_path, steps, 1, all_formulas=excel)
    assert rows[6]["Trade ID"] == "typed-1"
    assert _close(rows[7]["Cumulative P/L"], rows[5]["Cumulative P/L"] + 123.45 + (rows[7]["Net P/L"] or 0))
    if excel:
        assert _close(rows[6]["Net P/L"], 123.45)
    else:  # its own row has no formulas: the peak below says so (running_figures_right checks every row)
        assert rows[6]["Net P/L"] is None and rows[7]["Peak P/L"] == C.NO_FORMULAS


def test_a_trade_typed_below_the_last_row(filled, tmp_path):
    n = _trade_rows(filled[0])
    path, _, start = filled
    out = tmp_path / "typed.xlsx"
    # the row below the table: its formulas copied down (as Excel's table does when it grows)
    edit_in_libreoffice(path, out, [{"op": "delete", "row": 4}, excel_fills(n + 1), _typed_trade(n + 1, None, -50.0),
                                    {"op": "recalc"}], tmp_path)
    no_error_cells(out)
    rows = [r for r in _rows(out)]
    assert rows[n - 1]["Trade ID"] == "typed-1"
    assert _close(rows[n - 1]["Cumulative P/L"], rows[n - 2]["Cumulative P/L"] - 50.0)


def test_sorting_by_another_column_says_so_and_sorting_by_no_brings_the_figures_back(filled, tmp_path):
    path, _, start = filled
    want = {str(r["Trade ID"]): r for r in _rows(path)}
    by_profit = tmp_path / "by_profit.xlsx"
    edit_in_libreoffice(path, by_profit, [{"op": "delete", "row": 9}, {"op": "insert", "row": 4}, excel_fills(4),
                                          {"op": "sort", "col": C.INDEX["Profit"], "ncols": NCOLS},
                                          {"op": "recalc"}], tmp_path)
    no_error_cells(by_profit)
    rows = [r for r in _rows(by_profit) if r["Entry"] not in (None, "")]
    first_bad = next(i for i, r in enumerate(rows) if r["Cumulative P/L"] == C.OUT_OF_ORDER)
    assert first_bad <= 3
    for r in rows[first_bad:]:
        assert r["Peak P/L"] == C.OUT_OF_ORDER and r["Drawdown"] == C.OUT_OF_ORDER, r["Trade ID"]
    for r in rows:  # the trade's own figures do not depend on the order
        for name in ("Net P/L", "Notional", "Margin", "Leverage used", "Cash in/out"):
            assert r[name] == want[str(r["Trade ID"])][name] or _close(r[name], want[str(r["Trade ID"])][name])
    twins_right(by_profit, _rows(by_profit))

    back = tmp_path / "back.xlsx"
    edit_in_libreoffice(by_profit, back, [{"op": "sort", "col": C.INDEX["No."], "ncols": NCOLS}, {"op": "recalc"}],
                        tmp_path)
    no_error_cells(back)
    formulas_everywhere(back)
    running_figures_right(back, start)


def test_the_next_fill_into_the_edited_file_leaves_every_cell_right(filled, tmp_path):
    path, _, start = filled
    n = _trade_rows(path)
    edited = tmp_path / "edited.xlsx"
    edit_in_libreoffice(path, edited, [{"op": "delete", "row": 9}, {"op": "delete", "row": 2},
                                       {"op": "insert", "row": 6}, excel_fills(6), _typed_trade(6, None, 77.0),
                                       {"op": "delete", "row": n - 1, "count": 2}, {"op": "recalc"}], tmp_path)
    no_error_cells(edited)
    running_figures_right(edited, start)
    kept = _trade_rows(edited)
    assert kept == n - 3
    # the same statement again: the deleted trades stay deleted, the typed one stays
    fill_journal([sample_statement()], edited, progress=False)
    assert _trade_rows(edited) == kept
    no_error_cells(edited)
    formulas_everywhere(edited)
    running_figures_right(edited, start)  # the cached values the fill left
    again = tmp_path / "again.xlsx"
    edit_in_libreoffice(edited, again, [{"op": "recalc"}], tmp_path)
    no_error_cells(again)
    rows = running_figures_right(again, start)
    assert any(r["Trade ID"] == "typed-1" for r in rows)


def test_recalculation_from_scratch_of_an_edited_file(filled, tmp_path):
    """The saved file opened with a full recalculation on load (another user's LibreOffice)."""
    path, _, start = filled
    edited = tmp_path / "edited.xlsx"
    edit_in_libreoffice(path, edited, [{"op": "delete", "row": 3, "count": 2}, {"op": "insert", "row": 10, "count": 2},
                                       excel_fills(10, 11), {"op": "recalc"}], tmp_path)
    recalculated = convert(edited, "xlsx:Calc MS Excel 2007 XML", tmp_path / "recalc", recalc=True)
    no_error_cells(recalculated)
    running_figures_right(recalculated, start)
