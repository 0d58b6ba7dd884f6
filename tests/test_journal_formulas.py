"""An Excel formula engine (pycel) recalculates every formula of a filled journal and must find the
values the build cached in the file.

The add-in's functions are bound to their Python implementations (addin.udfs) as a pycel plugin.
Two fixes to pycel 1.0b30 are applied here, for the test only:

* its openpyxl wrapper reads ``workbook.defined_names.definedName``, gone in openpyxl 3.1 (defined
  names are a dict there);
* a one-row table column reaches MATCH/INDEX as a single value, not a 1x1 range (Excel passes a
  range): wrapped back into a range.
"""

from __future__ import annotations

import math
import sys
import time
import types
from datetime import datetime

import openpyxl
import pytest
from openpyxl.utils.datetime import to_excel

from addin import udfs
from addin.journal.sample import edge_trades, sample_cash, sample_trades
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal

pycel = pytest.importorskip("pycel")
from pycel import ExcelCompiler  # noqa: E402
from pycel import excelwrapper  # noqa: E402
from pycel.lib import lookup as pycel_lookup  # noqa: E402
from pycel.lib.function_helpers import FUNC_META  # noqa: E402

PLUGIN = "addin_journal_pycel_udfs"


def _defined_names(self):
    """pycel's ExcelOpxWrapper.defined_names for openpyxl 3.1 (a dict of DefinedName)."""
    if self.workbook is not None and self._defined_names is None:
        self._defined_names = {}
        for name, dn in self.workbook.defined_names.items():
            try:
                dest = [(alias, ws) for ws, alias in dn.destinations if ws in self.workbook]
            except Exception:  # a structured reference (TradeIDs): not an A1 destination
                continue
            if dest:
                self._defined_names[str(name)] = dest
    return self._defined_names


def _as_range(v):
    return v if isinstance(v, tuple) else ((v,),)


def _cells(a):
    """A pycel range (tuple of tuples) as the list of rows xlwings hands a UDF."""
    if isinstance(a, tuple):
        return [list(r) for r in a]
    return a


def _plugin() -> types.ModuleType:
    mod = types.ModuleType(PLUGIN)
    for name in dir(udfs):
        fn = getattr(udfs, name)
        if name.isupper() and callable(fn):
            setattr(mod, name.lower(), (lambda f: lambda *args: f(*[_cells(a) for a in args]))(fn))

    def match(lookup_value, lookup_array, match_type=1):
        return pycel_lookup.match(lookup_value, _as_range(lookup_array), match_type)

    def index(array, row_num, col_num=None):
        return pycel_lookup.index(_as_range(array), row_num, col_num)

    for f, orig in ((match, pycel_lookup.match), (index, pycel_lookup.index)):
        setattr(f, FUNC_META, dict(getattr(orig, FUNC_META)))
        setattr(mod, f.__name__, f)
    return mod


@pytest.fixture(scope="module", autouse=True)
def patched_pycel():
    mp = pytest.MonkeyPatch()
    mp.setattr(excelwrapper.ExcelOpxWrapper, "defined_names", property(_defined_names))
    mp.setitem(sys.modules, PLUGIN, _plugin())
    yield
    mp.undo()


def _same(got, cached) -> bool:
    if isinstance(cached, datetime):
        cached = to_excel(cached)
    if cached is None:
        cached = ""
    if isinstance(got, bool) or isinstance(cached, bool):
        return got is cached or (isinstance(got, bool) and isinstance(cached, bool) and got == cached)
    if isinstance(got, (int, float)) and isinstance(cached, (int, float)):
        return math.isclose(got, cached, rel_tol=1e-9, abs_tol=1e-12)
    return got == cached


# The Stats and Account sheets (issue 14) compute with array arithmetic inside SUMPRODUCT (SEARCH,
# WEEKDAY over ranges) and classic array formulas, which pycel 1.0b30 does not evaluate;
# LibreOffice recalculates every one of their cells in tests/test_journal_stats.py.
ARRAY_SHEETS = ("Stats", "Account")


def recalculate(path) -> tuple[int, list[str]]:
    """Evaluate every formula cell with pycel (but those of ARRAY_SHEETS); (cells evaluated, mismatches)."""
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    bad: list[str] = []
    count = 0
    for ws in formulas.worksheets:
        if ws.title in ARRAY_SHEETS:
            continue
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                count += 1
                got = xl.evaluate(f"{ws.title}!{cell.coordinate}")
                want = cached[ws.title][cell.coordinate].value
                if not _same(got, want):
                    bad.append(f"{ws.title}!{cell.coordinate}: engine {got!r}, cached {want!r}  ({cell.value[:120]})")
    return count, bad


@pytest.fixture(scope="module")
def trades():
    return sample_trades(240, seed=11) + edge_trades()


@pytest.fixture(scope="module")
def cash(trades):
    """Deposits, a withdrawal, a credit at the very second a trade closed, a fee after the last
    trade, an undated adjustment and the opening deposit before the first trade."""
    return sample_cash(trades)


@pytest.mark.parametrize("settings", [Settings(), Settings(regulator="FCA", risk_per_trade=0.02,
                                                            stop_out_level=0.2, starting_balance=3000)],
                         ids=["esma", "fca"])
def test_every_formula_agrees_with_its_cached_value(tmp_path, trades, cash, settings):
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades, settings=settings, cash=cash)
    start = time.perf_counter()
    count, bad = recalculate(path)
    elapsed = time.perf_counter() - start
    assert count > 246 * 20
    assert not bad, f"{len(bad)} of {count} cells differ:\n" + "\n".join(bad[:20])
    assert elapsed < 30, f"pycel took {elapsed:.1f}s"


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_journals(tmp_path, n):
    path = tmp_path / "tiny.xlsx"
    trades = sample_trades(n, seed=2)
    build_journal(path, trades, cash=sample_cash(sample_trades(5, seed=2))[:n + 2])
    count, bad = recalculate(path)
    assert count > 40
    assert not bad, "\n".join(bad[:20])


def test_balance_follows_the_cash_table(tmp_path, trades, cash):
    """Edit the Cash table as a user would: the engine's Balance and Drawdown move as documented."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades, cash=cash)
    ws = openpyxl.load_workbook(path)["Trades"]
    head = [c.value for c in ws[1]]
    col = {h: openpyxl.utils.get_column_letter(head.index(h) + 1) for h in ("Balance", "Drawdown", "Cash in/out")}
    last = len(trades) + 1
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    out = next(c.row for c in openpyxl.load_workbook(path)["Cash"]["C"] if c.value == "withdrawal")
    cells = [f"Trades!{col[h]}{last}" for h in col] + [f"Cash!B{out}"]
    before = dict(zip(cells, xl.evaluate(cells)))
    assert before[f"Cash!B{out}"] == -2500
    xl.set_value(f"Cash!B{out}", -12_500.0)  # a bigger withdrawal: balance down 10,000, no new loss
    after = dict(zip(cells, xl.evaluate(cells)))
    assert math.isclose(after[f"Trades!{col['Balance']}{last}"], before[f"Trades!{col['Balance']}{last}"] - 10_000)
    assert math.isclose(after[f"Trades!{col['Cash in/out']}{last}"],
                        before[f"Trades!{col['Cash in/out']}{last}"] - 10_000)
    dd_before, dd_after = before[f"Trades!{col['Drawdown']}{last}"], after[f"Trades!{col['Drawdown']}{last}"]
    assert dd_after == 0 or dd_after >= dd_before  # the same money lost, out of a smaller base


def test_selected_trade_other_than_the_last(tmp_path, trades):
    """The risk card follows the dropdown: pick another trade and pycel recomputes the card."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades)
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    pick = next(t for t in trades if t.stop is not None and t.exit is not None)
    xl.evaluate(["Dashboard!B7", "Dashboard!E23"])  # place the cells in pycel's map before changing B3
    xl.set_value("Dashboard!B3", pick.trade_id)
    row = [t.trade_id for t in trades].index(pick.trade_id) + 1
    assert xl.evaluate("Dashboard!B4") == row
    assert xl.evaluate("Dashboard!B7") == pick.symbol
    assert openpyxl.load_workbook(path)["Dashboard"]["D23"].value == "R multiple"
    r = xl.evaluate("Dashboard!E23")
    want = udfs.R_MULTIPLE(pick.side, pick.entry, pick.stop, pick.exit)
    assert math.isclose(r, want, rel_tol=1e-12)
