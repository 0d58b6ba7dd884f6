"""An Excel formula engine (pycel) recalculates every formula of a filled journal and must find the
values the build cached in the file: the Trades columns' native formulas against their Python twins
(addin.risk), on sample journals and on a journal filled from real broker exports.

The add-in's functions are bound to their Python implementations (addin.udfs) as a pycel plugin.
Two fixes to pycel 1.0b30 are applied here, for the test only:

* its openpyxl wrapper reads ``workbook.defined_names.definedName``, gone in openpyxl 3.1 (defined
  names are a dict there), and resolves a name to cells only: a constant name gets a scratch cell;
* a one-row table column reaches MATCH/INDEX/SUMPRODUCT as a single value, not a 1x1 range (Excel
  passes a range): wrapped back into a range;
* ROWS, which the running columns use, is not in pycel: the number of rows of the range.
"""

from __future__ import annotations

import math
import sys
import types
from datetime import datetime

import openpyxl
import pytest
from openpyxl.utils.datetime import to_excel

from addin import udfs
from addin.journal.settings import Settings
from addin.journal import columns as C
from addin.journal.workbook import build_journal
from tools.sample_trades import edge_trades, sample_cash, sample_trades

pycel = pytest.importorskip("pycel")
from pycel import ExcelCompiler  # noqa: E402
from pycel import excelwrapper  # noqa: E402
from pycel import excellib as pycel_excellib  # noqa: E402
from pycel.lib import lookup as pycel_lookup  # noqa: E402
from pycel.lib.function_helpers import FUNC_META  # noqa: E402

PLUGIN = "addin_journal_pycel_udfs"


CONSTS = "pycelconsts"  # the scratch sheet of the constant defined names


def _defined_names(self):
    """pycel's ExcelOpxWrapper.defined_names for openpyxl 3.1 (a dict of DefinedName); a constant name
    (the Settings' hidden TemplateDefault_ marks: ``30.0``, ``"USD"``) is given a cell of a scratch
    sheet holding its value, which pycel can read (it resolves names to cells only)."""
    if self.workbook is not None and self._defined_names is None:
        self._defined_names = {}
        consts = []
        for name, dn in self.workbook.defined_names.items():
            try:
                dest = [(alias, ws) for ws, alias in dn.destinations if ws in self.workbook]
            except Exception:  # a structured reference (TradeIDs): not an A1 destination
                continue
            if dest:
                self._defined_names[str(name)] = dest
            elif dn.value and not any(c in dn.value for c in "![("):
                consts.append((str(name), dn.value.strip()))
        if consts:
            for book in (self.workbook, self.workbook_dataonly):
                ws = book.create_sheet(CONSTS)
                for i, (name, v) in enumerate(consts, 1):
                    ws.cell(i, 1).value = v[1:-1].replace('""', '"') if v.startswith('"') else float(v)
            for i, (name, _) in enumerate(consts, 1):
                self._defined_names[name] = [(f"$A${i}", CONSTS)]
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

    def sumproduct(*args):
        return pycel_excellib.sumproduct(*[_as_range(a) for a in args])

    def rows(array):  # ROWS (not in pycel 1.0b30): a one-cell range reaches it as a single value
        return len(_as_range(array))

    setattr(mod, "rows", rows)
    for f, orig in ((match, pycel_lookup.match), (index, pycel_lookup.index), (sumproduct, pycel_excellib.sumproduct)):
        if hasattr(orig, FUNC_META):
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


# The Stats and Account sheets compute with array arithmetic inside SUMPRODUCT (SEARCH,
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
    return sample_trades(60, seed=11) + edge_trades()


@pytest.fixture(scope="module")
def cash(trades):
    """Deposits, a withdrawal, a credit at the very second a trade closed, a fee after the last
    trade, an undated adjustment and the opening deposit before the first trade."""
    return sample_cash(trades)


def test_every_formula_agrees_with_its_cached_value(tmp_path, trades, cash):
    """Trades (native formulas, cached values from the addin.risk twins), Dashboard and Planner
    (the add-in's functions bound to addin.udfs), Cash."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades, cash=cash)
    count, bad = recalculate(path)
    assert count > 66 * len(C.CALCS)
    assert not bad, f"{len(bad)} of {count} cells differ:\n" + "\n".join(bad[:20])


def test_fca_settings(tmp_path):
    trades = sample_trades(16, seed=12) + edge_trades()
    path = tmp_path / "fca.xlsx"
    build_journal(path, trades, settings=Settings(regulator="FCA", risk_per_trade=0.02, stop_out_level=0.2,
                                                  starting_balance=3000, account_leverage=500),
                  cash=sample_cash(trades))
    count, bad = recalculate(path)
    assert count > 22 * len(C.CALCS)
    assert not bad, "\n".join(bad[:20])


# Small real exports of several brokers, merged into one journal: IB options assigned at 0, stocks,
# a CFD, forex; MetaTrader 5's own xlsx. (The large ones are recalculated by LibreOffice.)
REAL_SMALL = ("ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile01.xml",
              "ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile02.xml",
              "ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile13.xml",
              "ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile28.xml",
              "ibkr_activity_statement_csv/oittaa_data_multi_account.csv",
              "ibkr_activity_statement_csv/oittaa_data_option_assignment.csv",
              "ibkr_activity_statement_csv/oittaa_data_shorting_stocks.csv",
              "ibkr_activity_statement_csv/oittaa_data_warrants.csv",
              "mt5_report/Wizard-hash2_ReportHistory.xlsx")


@pytest.mark.statements
def test_every_formula_of_a_journal_of_real_statements_agrees_with_addin_risk(tmp_path):
    from conftest import shared_statement

    from addin.fill import fill_journal

    paths = [shared_statement(r) for r in REAL_SMALL]
    path = tmp_path / "real.xlsx"
    fill_journal(paths, path, progress=False)
    n = openpyxl.load_workbook(path, read_only=True)["Trades"].max_row - 1
    assert n >= 40
    count, bad = recalculate(path)
    assert count >= n * len(C.CALCS)
    assert not bad, f"{len(bad)} of {count} cells differ:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_journals(tmp_path, n):
    path = tmp_path / "tiny.xlsx"
    trades = sample_trades(n, seed=2)
    build_journal(path, trades, cash=sample_cash(sample_trades(5, seed=2))[:n + 2])
    count, bad = recalculate(path)
    assert count > 40
    assert not bad, "\n".join(bad[:20])


def _col(name: str) -> str:
    return C.letter(C.INDEX[name])


def test_balance_follows_the_cash_table(tmp_path, trades, cash):
    """Edit the Cash table as a user would: the engine's Balance and Drawdown move as documented."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades, cash=cash)
    col = {h: _col(h) for h in ("Balance", "Drawdown", "Cash in/out")}
    # the last trade of the journal's first account (the cash rows, without an account, are its own)
    vals = openpyxl.load_workbook(path, data_only=True)["Trades"]
    last = max(c.row for c in vals[col["Balance"]][1:] if isinstance(c.value, float))
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


def test_editing_the_first_profit_moves_every_later_balance(tmp_path):
    """The running total is the row above's plus this row's: a corrected profit in row 2 reaches the last row."""
    trades = sample_trades(12, seed=4)
    path = tmp_path / "j.xlsx"
    build_journal(path, trades)
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    last = len(trades) + 1
    cells = [f"Trades!{_col('Balance')}{last}", f"Trades!{_col('Cumulative P/L')}{last}", f"Trades!{_col('Profit')}2"]
    before = dict(zip(cells, xl.evaluate(cells)))
    xl.set_value(f"Trades!{_col('Profit')}2", before[cells[2]] + 250.0)
    after = dict(zip(cells, xl.evaluate(cells)))
    assert math.isclose(after[cells[0]], before[cells[0]] + 250, rel_tol=1e-12)
    assert math.isclose(after[cells[1]], before[cells[1]] + 250, rel_tol=1e-12)


def test_an_unknown_regulator_and_an_over_cap_trade_read_as_words(tmp_path):
    """Over cap compares the leverage used with the regulator's cap: a 1:500 account under ESMA."""
    trades = sample_trades(20, seed=6)
    path = tmp_path / "j.xlsx"
    build_journal(path, trades, settings=Settings(account_leverage=500))
    vals = openpyxl.load_workbook(path, data_only=True)["Trades"]
    head = [c.value for c in vals[1]]
    rows = [dict(zip(head, r)) for r in vals.iter_rows(min_row=2, values_only=True)]
    fx = [r for r in rows if r["Cap class"] == "FX_MAJOR" and r["Leverage"] == 500]
    assert fx and all(r["Over cap"] is True and r["Leverage cap"] == 30 for r in fx)
    capped = [r for r in rows if r["Leverage"] is None and isinstance(r["Leverage cap"], float)]
    assert capped and all(r["Leverage used"] == r["Leverage cap"] and r["Over cap"] is False for r in capped)
    assert all(r["Leverage source"] == "regulator's cap" for r in capped)
    gold = [r for r in rows if r["Cap class"] == "GOLD" and r["Leverage"] is None]
    assert all(r["Leverage used"] == 20 for r in gold)  # ESMA caps gold at 20:1, not the account's 1:500


def test_selected_trade_other_than_the_last(tmp_path, trades):
    """The risk card follows the dropdown: pick another trade and pycel recomputes the card."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades)
    dash = openpyxl.load_workbook(path)["Dashboard"]
    r_cell = next(f"E{c.row}" for c in dash["D"] if c.value == "R multiple")
    allowed = next(f"E{c.row}" for c in dash["D"] if c.value == "Size the risk budget allowed")
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    pick = next(t for t in trades if t.stop is not None and t.exit is not None)
    xl.evaluate(["Dashboard!B7", f"Dashboard!{r_cell}", f"Dashboard!{allowed}"])  # place them before changing B3
    xl.set_value("Dashboard!B3", pick.trade_id)
    row = [t.trade_id for t in trades].index(pick.trade_id) + 1
    assert xl.evaluate("Dashboard!B4") == row
    assert xl.evaluate("Dashboard!B7") == pick.symbol
    r = xl.evaluate(f"Dashboard!{r_cell}")
    want = udfs.R_MULTIPLE(pick.side, pick.entry, pick.stop, pick.exit)
    assert math.isclose(r, want, rel_tol=1e-12)
    assert isinstance(xl.evaluate(f"Dashboard!{allowed}"), float)  # an add-in call, recomputed


def test_hostile_cells_typed_by_hand_agree_with_the_twins_and_show_no_error_code(tmp_path):
    """A trader types text where a number belongs, a zero entry, a stop on the wrong side, an
    unknown side, leverage as "1:30", no No.: every calculated cell is what its twin says, in words
    where it cannot be a number, never an Excel error code."""
    from datetime import datetime as dt

    from openpyxl.utils.datetime import to_excel as serial

    from addin.journal.instruments import DEFAULT_INSTRUMENTS
    from addin.journal.workbook import trade_columns

    src, path = tmp_path / "j.xlsx", tmp_path / "hostile.xlsx"
    build_journal(src, sample_trades(9, seed=8))
    wb = openpyxl.load_workbook(src)
    ws = wb["Trades"]
    at = {c.name: j + 1 for j, c in enumerate(C.COLUMNS)}
    edits = {3: {"Quantity": "two"}, 4: {"Entry": 0.0}, 5: {"Side": "sideways"}, 6: {"Leverage": "1:30"},
             7: {"No.": None, "FX to account": "n/a"}, 8: {"Stop": -5.0, "Exit": 0.0}, 9: {"Entry": None},
             10: {"Contract size": "lot", "Open time": "yesterday"}}
    for row, cells in edits.items():
        for name, v in cells.items():
            cell = ws.cell(row=row, column=at[name])
            cell.value = v
            if isinstance(v, str):
                cell.data_type = "s"
    wb.save(path)
    # the twins on the same inputs
    cols, _ = trade_columns([], Settings(), list(DEFAULT_INSTRUMENTS), [])
    inputs = {c.name: [] for c in C.COLUMNS if c.kind != "calc"}
    for r in range(2, 11):
        for name in inputs:
            v = ws.cell(row=r, column=at[name]).value
            inputs[name].append(serial(v) if isinstance(v, dt) else v)
    env = C.Env(settings=Settings(), instruments={i.symbol.upper(): {"Asset class": i.asset_class,
                "Contract size": i.contract_size, "Pip size": i.pip_size, "Margin rate": i.margin_rate,
                "Quote currency": i.quote_currency}
                for i in reversed(DEFAULT_INSTRUMENTS)}, cash_upto=lambda k, t: 0.0,
                leverage_assumed=True, start_assumed=True)  # the template's defaults, marked
    C.compute(inputs, env)
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    bad = []
    for r in range(2, 11):
        for col in C.CALCS:
            coord = f"Trades!{C.letter(C.INDEX[col.name])}{r}"
            got, want = xl.evaluate(coord), inputs[col.name][r - 2]
            if isinstance(got, str) and got.startswith("#"):
                bad.append(f"{coord} {col.name}: engine shows {got}")
            elif not _same(got, want):
                bad.append(f"{coord} {col.name}: engine {got!r}, twin {want!r}")
    assert not bad, "\n".join(bad[:25])
    assert all(inputs[c.name][7] == "" for c in C.CALCS)  # the row without an entry is blank


# The Planner: one plan, the add-in's functions, twins from addin.risk -----------------------------

def _plan(tmp_path, monkeypatch, settings=None, **inputs) -> tuple[dict, dict]:
    """Build a journal whose Planner holds ``inputs``; (cached values, pycel's values) by label."""
    from addin.journal import planner

    monkeypatch.undo()  # the template's plan, not the one a previous call set
    monkeypatch.setattr(planner, "DEFAULT_PLAN", {**planner.DEFAULT_PLAN, **inputs})
    path = tmp_path / "plan.xlsx"
    build_journal(path, [], settings=settings)
    formulas = openpyxl.load_workbook(path)["Planner"]
    cached = openpyxl.load_workbook(path, data_only=True)["Planner"]
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    at = {r[0].value: r[1].coordinate for r in formulas.iter_rows(min_row=15, max_col=2)
          if r[0].value and r[1].data_type == "f"}
    return ({k: cached[c].value for k, c in at.items()},
            {k: xl.evaluate(f"Planner!{c}") for k, c in at.items()})


def test_planner_profit_at_a_target_below_a_longs_entry_is_a_loss(tmp_path, monkeypatch):
    """Long EURUSD 1.0850, stop 1.0800, target 1.0750 (below entry): a loss, not ABS()'s profit."""
    from addin import risk

    cached, engine = _plan(tmp_path, monkeypatch, Side="long", Entry=1.085, Stop=1.08, Target=1.075)
    size = cached["Position size"]
    assert size == 0.2  # $100 (1% of 10,000) over 50 pips at $10 a pip per lot
    want = risk.profit_at_price(1, 1.085, 1.075, 0.2, 100_000)
    assert want == pytest.approx(-200.0)
    for got in (cached, engine):
        assert got["Profit at the target"] == pytest.approx(want, rel=1e-12)
        assert got["Reward-to-risk"].startswith("target must be above entry for a long")
        assert got["Check"] == "OK"


def test_planner_sides_typed_as_the_functions_read_them(tmp_path, monkeypatch):
    """-1 and "Sell" are shorts: the target below entry is a profit; an unreadable side says so."""
    for side in (-1, "Sell", "SHORT"):
        cached, engine = _plan(tmp_path, monkeypatch, Side=side, Entry=1.085, Stop=1.09, Target=1.075)
        for got in (cached, engine):
            assert got["Profit at the target"] == pytest.approx(200.0, rel=1e-9), side
            assert got["Reward-to-risk"] == pytest.approx(2.0, rel=1e-9)
            assert got["Stop-out price"] > 1.085 and got["Check"] == "OK"
    cached, engine = _plan(tmp_path, monkeypatch, Side="sideways")
    for got in (cached, engine):
        assert got["Check"] == "side must be long/buy, short/sell, 1 or -1"
        assert got["Profit at the target"].startswith("side must be long/buy, short/sell, 1 or -1")


def test_planner_usdjpy_in_a_usd_account_uses_the_base_currency_margin_model(tmp_path, monkeypatch):
    """USDJPY short 150.00, stop 150.50, target 148.50, $10,000 at 1:30, stop-out 50%: the account
    currency is the base currency, so margin = lots x 100,000 / 30 dollars whatever the price, and the
    profit is converted at 1/price. Every figure as addin.risk's own functions give it."""
    from addin import risk

    settings = Settings(account_currency="USD", starting_balance=10_000, account_leverage=30,
                        stop_out_level=0.5, risk_per_trade=0.01)
    cached, engine = _plan(tmp_path, monkeypatch, settings=settings, Symbol="USDJPY", Side="short",
                           Entry=150.0, Stop=150.5, Target=148.5, **{"FX to account": 1 / 150})
    size = risk.position_size(100.0, 150.0, 150.5, 100_000 / 150, 0.01)
    assert size == 0.3  # 50 pips of 0.01 yen at 1,000 yen (~$6.67) a pip per lot: $100 buys 0.30 lots
    so = risk.stop_out_price(-1, 150.0, size, 10_000, 30, 0.5, 100_000, 1, 0, True)
    # independently: equity + profit(P) = 0.5 x margin, profit(P) = -(P - 150) x Q / P, Q = 30,000
    q, margin = size * 100_000, size * 100_000 / 30
    assert 10_000 - (so - 150) * q / so == pytest.approx(0.5 * margin, rel=1e-12)
    want = {
        "Account is base currency": True,
        "Margin": margin,
        "Margin call price (100%)": risk.margin_call_price(-1, 150.0, size, 10_000, 30, 1, 100_000, 1, 0, True),
        "Stop-out price": so,
        "Wipe-out distance, % of price": risk.wipeout_move(30, 0.5, -1, True),
        "Profit at the target": risk.profit_at_price(-1, 150.0, 148.5, size, 100_000, 1, 0, True),
        "Check": "OK",
    }
    assert want["Profit at the target"] == pytest.approx(1.5 * 30_000 / 148.5)  # 45,000 yen at 148.50
    assert want["Wipe-out distance, % of price"] == pytest.approx(0.5 / (30 - 0.5))
    for got in (cached, engine):
        for label, value in want.items():
            assert _same(got[label], value), (label, got[label], value)
    # the same pair in a EUR account is the quote kind: margin revalued at the price, FX applied
    settings = Settings(account_currency="EUR", starting_balance=10_000, account_leverage=30)
    cached, engine = _plan(tmp_path, monkeypatch, settings=settings, Symbol="USDJPY", Side="short",
                           Entry=150.0, Stop=150.5, Target=148.5, **{"FX to account": 0.006})
    for got in (cached, engine):
        assert got["Account is base currency"] is False
        assert got["Margin"] == pytest.approx(risk.margin_required(got["Position size"], 150, 30, 100_000, 0.006))
        assert got["Profit at the target"] == pytest.approx(
            risk.profit_at_price(-1, 150.0, 148.5, got["Position size"], 100_000, 0.006))


def test_planner_explains_an_unknown_symbol_and_a_size_of_zero_lots(tmp_path, monkeypatch):
    cached, engine = _plan(tmp_path, monkeypatch, Symbol="EURXYZ", **{"Lot step": 100_000.0})
    for got in (cached, engine):
        assert got["Contract size"] == 1 and got["Position size"] == 0
        assert got["Check"] == ("EURXYZ is not in the Instruments sheet: contract size 1 and pip 0.0001 assumed; "
                                "the risk budget does not cover one lot step (100000)")
    # $1 of risk (1% of $100) over 50 pips of EURUSD is 0.002 lots: below the 0.01 step
    cached, engine = _plan(tmp_path, monkeypatch, Equity=100.0)
    for got in (cached, engine):
        assert got["Position size"] == 0
        assert got["Check"] == "the risk budget does not cover one lot step (0.01)"


def test_dashboard_reads_side_minus_one_as_short(tmp_path, trades):
    """A short typed as -1 in Trades: its stop (above entry) against its stop-out (further above)
    is the same distance as when it read "short", not its negative."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades)
    cached = openpyxl.load_workbook(path, data_only=True)["Trades"]
    dash = openpyxl.load_workbook(path)["Dashboard"]
    gap = next(f"E{c.row}" for c in dash["D"] if c.value == "Stop to stop-out, pips")
    side_col, so_col = C.letter(C.INDEX["Side"]), C.letter(C.INDEX["Stop-out price"])
    pip_col = C.letter(C.INDEX["Pip size"])
    r, pick = next((i + 2, t) for i, t in enumerate(trades) if t.side == "short" and t.stop is not None
                   and isinstance(cached[f"{so_col}{i + 2}"].value, float))
    so, pip = cached[f"{so_col}{r}"].value, cached[f"{pip_col}{r}"].value
    xl = ExcelCompiler(filename=str(path), plugins=[PLUGIN])
    xl.evaluate([f"Dashboard!{gap}", "Dashboard!B8"])
    xl.set_value("Dashboard!B3", pick.trade_id)
    for side in ("short", -1, "SELL", "Sell"):  # (pycel's TRIM keeps outer spaces; Excel's does not)
        xl.set_value(f"Trades!{side_col}{r}", side)
        assert xl.evaluate("Dashboard!B8") == side
        assert xl.evaluate(f"Dashboard!{gap}") == pytest.approx((so - pick.stop) / pip, rel=1e-12), side
