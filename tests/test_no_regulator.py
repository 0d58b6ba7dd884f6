"""The Regulator NONE: an offshore broker or a professional client, to whom no retail leverage cap
applies. Under it the account leverage is used as stated (1:100 stays 1:100), Leverage cap says
there is no cap, Over cap is FALSE where the leverage is known ("unknown" while it is assumed), the
over-cap share counts those rows as not over, and nothing shows an error: in the risk functions,
the fill's twins, pycel with the add-in bound, and LibreOffice recalculating the journal.

Hand-checked figure: PopovMP's MetaQuotes-Demo MT5 report (EUR, hedged account, leverage 1:100 not
printed) states a used margin of 1,081.91 EUR; under ESMA the journal charges 100/30 of it (the
majors capped at 30:1), under NONE the broker's own figure within 0.3%.
"""

from __future__ import annotations

import doctest
import math
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, strategies as st

from addin import udfs
from addin.fill import OptionError, fill_journal, validate_options
from addin.fill.enrich import leverage_for
from addin.journal import caps as caps_sheet
from addin.journal import columns as C
from addin.journal.instruments import lookup
from addin.journal.layout import NO_ADDIN
from addin.journal.settings import VALIDATIONS, Settings
from addin.journal.workbook import build_journal
from addin.risk import RiskInputError, limits, max_leverage
from addin.risk.caps import INSTRUMENT_CLASSES, NO_CAP_REGIME
from addin.statements.model import SourceRef, Trade
from conftest import ROOT, shared_statement
from lo_uno import available as lo_available, office
from test_journal_account import figures
from test_journal_formulas import patched_pycel, recalculate  # noqa: F401 (patched_pycel: autouse fixture)
from tools.sample_trades import edge_trades, sample_cash, sample_trades

WORDS = "no retail leverage cap for 'EURUSD' under NONE (offshore broker or professional client)"
SRC = SourceRef(file="hand.csv", row=1)


# --- addin/risk ------------------------------------------------------------------------------------

def test_none_is_a_regime_and_max_leverage_says_there_is_no_cap():
    assert limits.REGIMES[-1] == NO_CAP_REGIME == "NONE"
    assert {"ESMA", "FCA", "ASIC", "NFA", "JFSA", "REGT"} < set(limits.REGIMES)
    with pytest.raises(RiskInputError) as err:
        max_leverage("NONE", "EURUSD")
    assert str(err.value) == WORDS
    for spelling in ("none", " None ", "NONE"):
        with pytest.raises(RiskInputError, match="no retail leverage cap"):
            max_leverage(spelling, "EURUSD", date(2010, 1, 1))
    # an instrument nobody can classify is refused as under any regime, in the same words
    with pytest.raises(RiskInputError) as esma:
        max_leverage("ESMA", "NOSUCH")
    with pytest.raises(RiskInputError) as none:
        max_leverage("NONE", "NOSUCH")
    assert str(none.value) == str(esma.value) and "instrument must be" in str(none.value)


@given(st.sampled_from(INSTRUMENT_CLASSES + ("EURUSD", "AUDUSD", "XAUUSD", "BTCUSD", "US30")),
       st.dates(min_value=date(1900, 1, 1)))
def test_no_class_on_no_day_has_a_cap_under_none(instrument, day):
    try:
        got = max_leverage("NONE", instrument, day)
    except RiskInputError as err:
        assert "no retail leverage cap" in str(err) or "instrument must be" in str(err)
    else:
        pytest.fail(f"NONE gave a cap: {got}")


def test_the_limits_docstring_examples_hold():
    result = doctest.testmod(limits)
    assert result.attempted >= 4 and result.failed == 0


def test_the_excel_function_answers_in_words_not_an_error():
    assert udfs.MAX_LEVERAGE("NONE", "EURUSD") == WORDS
    assert udfs.MAX_LEVERAGE("ESMA", "EURUSD") == 30.0
    got = udfs.MAX_LEVERAGE([["NONE"], ["ESMA"]], "GOLD")
    assert got[0][0].startswith("no retail leverage cap") and got[1][0] == 20.0


# --- Settings, the fill's option, the fill's own leverage ------------------------------------------

def test_settings_and_the_fill_option_accept_none():
    assert Settings(regulator=" none ").regulator == "NONE"
    kind, _, allowed, _, prompt, _ = VALIDATIONS["regulator"]
    assert kind == "list" and "NONE" in allowed.strip('"').split(",")
    assert "offshore broker or professional client" in prompt and len(prompt) <= 255  # Excel's limit
    assert validate_options(regulator="none") == {"regulator": "NONE"}
    with pytest.raises(OptionError, match="NONE"):
        validate_options(regulator="OFFSHORE")  # the error lists what is allowed, NONE included


def test_the_fills_leverage_is_the_account_leverage_uncapped():
    eurusd, gold = lookup("EURUSD"), lookup("XAUUSD")
    day = date(2024, 3, 1)
    assert leverage_for(None, "FX_MAJOR", "EURUSD", day, eurusd, 100.0, "ESMA") == 30.0
    assert leverage_for(None, "FX_MAJOR", "EURUSD", day, eurusd, 100.0, "NONE") == 100.0
    assert leverage_for(None, "GOLD", "XAUUSD", day, gold, 500.0, "NONE") == 500.0
    assert leverage_for(None, "STOCK", "AAPL", day, None, 500.0, "NONE") == 1.0  # held outright still 1
    assert leverage_for(50.0, "FX_MAJOR", "EURUSD", day, eurusd, 500.0, "NONE") == 50.0  # the trade's own


def test_the_caps_sheet_has_no_rows_for_none_and_says_why():
    assert not [r for r in caps_sheet.cap_rows() if r[0] == "NONE"]
    assert not [r for r in caps_sheet.major_rows() if r[0] == "NONE"]


# --- The Trades twins ------------------------------------------------------------------------------

def _row(**kw) -> dict:
    r = {c.name: None for c in C.COLUMNS}
    r.update(kw)
    return r


def _env(regulator="NONE", **kw) -> C.Env:
    return C.Env(settings=Settings(regulator=regulator, account_leverage=100), instruments={},
                 cash_upto=lambda t: 0.0, **kw)


def test_twins_leverage_cap_and_over_cap_under_none():
    env = _env(leverage_assumed=False, start_assumed=False)
    r = _row(Entry=1.0865, Class="FX_MAJOR", Symbol="EURUSD", Equity=397.0)
    assert C._cap_class(r, None, env) == "FX_MAJOR"  # the class as it is: no regulator's list of majors
    r["Cap class"] = "FX_MAJOR"
    assert C._leverage_cap(r, None, env) == C.NO_CAP == "no retail cap (Regulator NONE)"
    r["Leverage cap"] = C.NO_CAP
    assert C._leverage_used(r, None, env) == 100.0
    # 1.78 lots on 397 of equity (487x) is over ESMA's 30:1; under NONE there is nothing to be over
    r.update({"Leverage used": 100.0, "Effective leverage": 1.78 * 100_000 * 1.0865 / 397})
    assert C._over_cap(r, None, env) is False
    assert C._over_cap(r, None, _env(leverage_assumed=True, start_assumed=False)) == C.UNKNOWN
    own = dict(r, Leverage=500.0, **{"Leverage used": 500.0})
    assert C._over_cap(own, None, _env(leverage_assumed=True, start_assumed=True)) is False  # its own leverage
    stock = _row(Entry=180.0, Class="STOCK", **{"Leverage cap": C.NO_CAP, "Leverage used": 1})
    assert C._over_cap(stock, None, _env(leverage_assumed=True, start_assumed=True)) is False
    # under ESMA the same pair is capped, and the 487x trade is over
    esma = _env("ESMA", leverage_assumed=False, start_assumed=False)
    assert C._leverage_cap(dict(r, **{"Open time": 45_000.0}), None, esma) == 30.0
    assert C._over_cap(dict(r, **{"Leverage cap": 30.0, "Leverage used": 30.0}), None, esma) is True


def _trades() -> list[Trade]:
    """Sample trades (own leverage 30, 100, 500 or none), the edge cases, and one of each kind the
    cap touches: gold and a minor without a leverage, a share held outright, a future."""
    extra = [Trade(broker="B", account="1", trade_id="x1", symbol="XAUUSD", side="long", quantity=1, entry=2000.0,
                   exit=2010.0, profit=1000.0, open_time=datetime(2024, 3, 3), close_time=datetime(2024, 3, 4),
                   source=SRC),
             Trade(broker="B", account="1", trade_id="a1", symbol="AUDUSD", side="short", quantity=3, entry=0.66,
                   exit=0.65, profit=3000.0, open_time=datetime(2024, 3, 5), close_time=datetime(2024, 3, 6),
                   equity=2_000.0, source=SRC),
             Trade(broker="B", account="1", trade_id="s1", symbol="AAPL", side="long", quantity=10, entry=180.0,
                   exit=185.0, profit=50.0, open_time=datetime(2024, 3, 2), close_time=datetime(2024, 3, 3),
                   asset_class="STOCK", contract_size=1, fx_to_account=1, source=SRC)]
    return sample_trades(40, seed=21) + edge_trades() + extra


def _rows(path: Path) -> list[dict]:
    ws = openpyxl.load_workbook(path, data_only=True)["Trades"]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:] if r[0] is not None]


def _stat(path: Path, label: str) -> object:
    ws = openpyxl.load_workbook(path, data_only=True)["Stats"]
    return next(ws.cell(c.row, c.column + 1).value for row in ws.iter_rows() for c in row if c.value == label)


@pytest.mark.parametrize("leverage", [None, 100])
def test_a_journal_under_none(tmp_path, leverage):
    """Every row: no cap; the leverage used is the trade's own, the instrument's margin rate, 1 held
    outright, or AccountLeverage uncapped; Over cap never TRUE; the share 0% of the known rows; pycel
    (with the add-in's functions bound) recalculates every formula to the cached value."""
    trades = _trades()
    path = tmp_path / "none.xlsx"
    settings = Settings(regulator="NONE", **({"account_leverage": leverage} if leverage else {}))
    # every account's statement states the same leverage (the first account's is AccountLeverage)
    levs = {C.account_key(t.broker, t.account): leverage for t in trades} if leverage else {}
    build_journal(path, trades, settings=settings, cash=sample_cash(trades), account_leverages=levs)
    rows = _rows(path)
    acct = leverage or 30
    assert {r["Leverage cap"] for r in rows} == {C.NO_CAP}
    for r in rows:
        if r["Leverage"] is not None:
            assert r["Leverage used"] == r["Leverage"], r["Trade ID"]
        elif r["Class"] == "STOCK":
            assert (r["Leverage used"], r["Over cap"]) == (1, False)
        else:  # gold and a minor pair too: not capped at 20:1
            assert r["Leverage used"] == acct and r["Leverage source"].endswith(("AccountLeverage", C.SRC_UNKNOWN))
            assert r["Over cap"] == (C.UNKNOWN if leverage is None else False), r["Trade ID"]
    by = {r["Trade ID"]: r for r in rows}
    assert by["x1"]["Leverage used"] == acct and by["x1"]["Margin"] == pytest.approx(2000 * 100 / acct)
    assert by["wide-1"]["Over cap"] is False  # 1:500 stated, 2 lots on 1,000: over any retail cap, not over none
    assert by["btc-1"]["Over cap"] is False  # barred by the FCA, capped at 2:1 by ESMA: nothing under NONE
    over = [r["Over cap"] for r in rows]
    assert True not in over and over.count(False) >= 10
    assert _stat(path, "Over the regulator's cap") == 0
    unknown = _stat(path, "Over cap unknown")
    assert unknown == (0 if leverage else sum(1 for r in rows if r["Over cap"] == C.UNKNOWN and r["Net P/L"] is not None))
    count, bad = recalculate(path)
    assert count > len(rows) * len(C.CALCS)
    assert not bad, f"{len(bad)} of {count} cells differ:\n" + "\n".join(bad[:20])
    planner = openpyxl.load_workbook(path, data_only=True)["Planner"]
    assert C.NO_CAP in [c.value for row in planner.iter_rows() for c in row]


def test_switching_the_regulator_to_none_changes_only_the_cap_figures(tmp_path):
    """The same trades under ESMA and under NONE, 1:100 stated: rows with their own leverage keep
    every figure; rows on the account leverage keep 1:100 instead of the class's cap."""
    trades = _trades()
    a, b = tmp_path / "esma.xlsx", tmp_path / "none.xlsx"
    build_journal(a, trades, settings=Settings(regulator="ESMA", account_leverage=100))
    build_journal(b, trades, settings=Settings(regulator="NONE", account_leverage=100))
    for x, y in zip(_rows(a), _rows(b)):
        if x["Leverage"] is not None:
            assert (x["Margin"], x["Leverage used"]) == (y["Margin"], y["Leverage used"])
        elif isinstance(x["Leverage cap"], float) and x["Leverage cap"] < 100 and x["Class"] != "STOCK":
            assert (x["Leverage used"], y["Leverage used"]) == (x["Leverage cap"], 100)
            assert y["Margin"] == pytest.approx(x["Margin"] * x["Leverage cap"] / 100)


# --- LibreOffice ------------------------------------------------------------------------------------

needs_lo = pytest.mark.skipif(not lo_available(), reason="LibreOffice with python3-uno is not installed")
SHEETS = ("Trades", "Stats", "Dashboard", "Planner")
GUARD = f'"{NO_ADDIN}")'  # the end of an add-in call (layout.guarded)
REF = re.compile(r"(?<![A-Za-z_\[])\$?([A-Z]{1,3})\$?(\d+)(?![\d(])")


def formula(cell) -> str | None:
    """A cell's formula (an array formula's text too), None for a value."""
    f = cell.value if cell.data_type == "f" else getattr(cell.value, "text", None)
    return f if isinstance(f, str) else None


def addin_cells(ws) -> dict[str, bool]:
    """The cells of ``ws`` that call the add-in (True) or read such a cell, directly or not (False);
    the Planner's cap under NONE calls none (its IF answers before MAX_LEVERAGE)."""
    formulas = {c.coordinate: formula(c) for row in ws.iter_rows() for c in row if formula(c)}
    out = {k: True for k, f in formulas.items() if GUARD in f and not f.startswith(f"=IF({C.UNCAPPED},")}
    grew = True
    while grew:
        grew = False
        for k, f in formulas.items():
            if k not in out and any(a + b in out for a, b in REF.findall(f)):
                out[k], grew = False, True
    return out


def _as_lo(v: object) -> object:
    """A cached value as LibreOffice's dump holds it: booleans and dates are numbers."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, datetime):
        return (v - datetime(1899, 12, 30)).total_seconds() / 86400
    return "" if v is None else v


def _same(a: object, b: object) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@needs_lo
@pytest.mark.libreoffice
def test_libreoffice_recalculates_a_journal_under_none_with_no_error(tmp_path):
    """Hard recalculation (every formula) of a journal under NONE: no error cell on Trades, Stats,
    Dashboard or Planner; every cell LibreOffice computes without the add-in equals the cached value,
    the Planner's cap included (it needs no add-in under NONE); the add-in's cells say so."""
    trades = _trades()
    path = tmp_path / "none.xlsx"
    build_journal(path, trades, settings=Settings(regulator="NONE"), cash=sample_cash(trades))
    dump = office().run({"input": str(path), "recalc_on_load": False, "steps": [["calculate_all"]],
                         "sheets": list(SHEETS), "dump": str(tmp_path / "dump.json")})
    errors = [f"{t}!{c}: {v[1]}" for t in SHEETS for c, v in dump[t]["cells"].items() if v[0] == "e"]
    assert not errors, errors[:20]
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    bad, compared, addin = [], 0, 0
    for t in SHEETS:
        calls = addin_cells(formulas[t])
        for row in formulas[t].iter_rows():
            for cell in row:
                if formula(cell) is None:
                    continue
                got = dump[t]["cells"].get(cell.coordinate, ["s", "", "", ""])[1]
                want = _as_lo(cached[t][cell.coordinate].value)
                if cell.coordinate in calls:  # without the add-in: its words, or "" in a cell reading them
                    addin += calls[cell.coordinate]
                    assert got in (NO_ADDIN, "") if calls[cell.coordinate] else _same(want, got) or got == "", (
                        t, cell.coordinate, got)
                    continue
                compared += 1
                if not _same(want, got):
                    bad.append(f"{t}!{cell.coordinate}: cached {want!r}, LibreOffice {got!r}")
    assert not bad, f"{len(bad)} of {compared} cells differ:\n" + "\n".join(bad[:20])
    n = len(trades)
    assert compared > n * len(C.CALCS) and addin > 0
    trades_ws = formulas["Trades"]
    head = [c.value for c in trades_ws[1]]
    cap_col = openpyxl.utils.get_column_letter(head.index("Leverage cap") + 1)
    assert {dump["Trades"]["cells"][f"{cap_col}{r}"][1] for r in range(2, n + 2)} == {C.NO_CAP}
    over_col = openpyxl.utils.get_column_letter(head.index("Over cap") + 1)
    over = [dump["Trades"]["cells"].get(f"{over_col}{r}", ["s", ""])[1] for r in range(2, n + 2)]
    assert 1.0 not in over and 0.0 in over and C.UNKNOWN in over
    planner = [v[1] for v in dump["Planner"]["cells"].values()]
    assert C.NO_CAP in planner


# --- Real statements ---------------------------------------------------------------------------------

MT5_HEDGED = "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"


def test_real_mt5_hedged_account_under_none_keeps_its_1_100(tmp_path):
    """The MT5 hedged account of tests/test_journal_account.py (1:100, MetaQuotes-Demo: a broker
    outside ESMA) filled with --regulator NONE: the Account sheet's used margin is the statement's
    1,081.91 EUR within 0.3% (under ESMA it is 100/30 of it), 1,787 without hedging relief."""
    src = shared_statement(MT5_HEDGED)
    path = tmp_path / "mt5.xlsx"
    fill_journal([src], path, leverage=100, regulator="NONE", progress=False)
    f = figures(openpyxl.load_workbook(path, data_only=True)["Account"])
    assert f["Used margin"] == pytest.approx(1081.91, rel=0.003)
    assert f["Margin without hedging relief"] == pytest.approx(1787, rel=0.01)
    rows = _rows(path)
    fx = [r for r in rows if r["Leverage"] is None and str(r["Class"]).startswith("FX_")]
    assert fx and {(r["Leverage used"], r["Leverage source"], r["Over cap"]) for r in fx} == {
        (100, C.SRC_ACCOUNT, False)}


@pytest.mark.statements
def test_the_command_line_fill_takes_regulator_none(tmp_path):
    journal = tmp_path / "j.xlsx"
    run = subprocess.run([sys.executable, "-m", "addin", "fill", str(shared_statement(MT5_HEDGED)), "--journal",
                          str(journal), "--leverage", "1:100", "--regulator", "none", "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    wb = openpyxl.load_workbook(journal)
    sheet, cell = next(iter(wb.defined_names["Regulator"].destinations))
    assert wb[sheet][cell.replace("$", "")].value == "NONE"
    bad = subprocess.run([sys.executable, "-m", "addin", "fill", "--sample", "--journal", str(tmp_path / "k.xlsx"),
                          "--regulator", "offshore", "--no-progress"], capture_output=True, text=True, cwd=ROOT,
                         timeout=600)
    assert bad.returncode != 0 and "NONE" in bad.stderr and not (tmp_path / "k.xlsx").exists()
