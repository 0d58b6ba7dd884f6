"""Recording a plan and checking it later: the Plans table of a real journal.

A plan recorded with ``python -m addin plan`` (its figures the Planner's, stored as values), then the
bundled MetaTrader 4 sample statement filled in: the plan is matched to its trade (same instrument
and side, the nearest opened within 24 hours after the plan; a typed Trade ID first), the fill writes
only the empty Trade ID cell and the cached values, and the plan-vs-actual figures are checked by hand.
A re-fill with the Settings' risk % changed leaves every plan row as it was; LibreOffice recalculates
the Plans sheet to the cached values."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from addin.fill import fill_journal, sample_statement
from addin.fill.plans_match import instrument_key, match
from addin.journal import plans as PL
from addin.journal.workbook import build_journal
from addin.plans import PlanError, plan_record, record_into_journal
from conftest import ROOT
from test_fill_side_sheets import edit_cells

# The Planner inputs of each plan (B4 Equity .. B13 Lot step), and when it was recorded.
SHORT_EURUSD = {"B6": "EURUSD", "B7": "short", "B8": 1.0940, "B9": 1.0970, "B10": 1.0880}   # trade 48210077
LONG_GBPUSD = {"B6": "GBPUSD", "B7": "long", "B8": 1.2660, "B9": 1.2620, "B10": 1.2740}     # trade 48210091
SHORT_AUDUSD = {"B6": "AUDUSD", "B7": "short", "B8": 0.6790, "B9": 0.6820, "B10": 0.6730}   # none: AUDUSD long only
LONG_GOLD = {"B6": "XAUUSD", "B7": "long", "B8": 2054.0, "B9": 2044.0, "B10": 2074.0}       # typed: 48210133


def record(journal: Path, inputs: dict, when: datetime) -> dict:
    edit_cells(journal, {"Planner": inputs})
    return record_into_journal(journal, now=when)


def plan_rows(path: Path, data_only: bool = True) -> list[dict]:
    ws = openpyxl.load_workbook(path, data_only=data_only)["Plans"]
    heads = [c.value for c in ws[1]][:len(PL.HEADERS)]
    return [dict(zip(heads, (c.value for c in r))) for r in ws.iter_rows(min_row=2, max_col=len(heads))
            if r[1].value not in (None, "")]


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    """A template journal with four recorded plans (one with its Trade ID typed), before any fill."""
    journal = tmp_path_factory.mktemp("plans") / "journal.xlsx"
    build_journal(journal, [])
    record(journal, SHORT_EURUSD, datetime(2024, 1, 2, 17, 0, 5))
    record(journal, LONG_GBPUSD, datetime(2024, 1, 2, 19, 30))
    record(journal, SHORT_AUDUSD, datetime(2024, 1, 2, 10, 0))
    record(journal, LONG_GOLD, datetime(2024, 1, 1, 8, 0))
    ws = openpyxl.load_workbook(journal)["Plans"]
    edit_cells(journal, {"Plans": {f"{_col('Trade ID')}5": "48210133", f"{_col('Notes')}2": "waited for the retest"}})
    return journal


def _col(head: str) -> str:
    return openpyxl.utils.get_column_letter(PL.HEADERS.index(head) + 1)


@pytest.fixture(scope="module")
def filled(planned, tmp_path_factory) -> Path:
    journal = tmp_path_factory.mktemp("filled") / "journal.xlsx"
    journal.write_bytes(planned.read_bytes())
    fill_journal([sample_statement()], journal, progress=False)
    return journal


def test_a_recorded_plan_holds_the_planners_figures_as_values(planned):
    rows = plan_rows(planned)
    assert len(rows) == 4
    first = rows[0]
    # $10,000 x 1% = $100 over a 30-pip stop at $10 a pip per lot: 0.33 lot (0.333 rounded down)
    assert first["Recorded"] == datetime(2024, 1, 2, 17, 0, 5)
    assert (first["Symbol"], first["Side"], first["Entry"], first["Stop"], first["Target"]) == (
        "EURUSD", "short", 1.094, 1.097, 1.088)
    assert first["Size"] == 0.33 and first["Risk amount"] == 100.0
    assert first["Planned R:R"] == pytest.approx(2.0) and first["Equity"] == 10_000 and first["Risk %"] == 0.01
    assert first["Trade ID"] is None and first["Status"] == PL.NOT_MATCHED
    formulas = plan_rows(planned, data_only=False)[0]
    for head in PL.INPUTS:  # values, never formulas
        assert not str(formulas[head] or "").startswith("="), head
    for head in PL.CALCS:
        assert formulas[head] == "=" + PL.FORMULAS[head]
    table = openpyxl.load_workbook(planned)["Plans"].tables["Plans"]
    assert table.ref == f"A1:{_col(PL.HEADERS[-1])}5"  # the template's empty row, then three appended


def test_the_fill_matches_each_plan_to_its_trade_and_the_figures_check_by_hand(filled):
    rows = plan_rows(filled)
    assert [r["Trade ID"] for r in rows] == ["48210077", "48210091", None, "48210133"]
    assert [r["Status"] for r in rows] == [PL.MATCHED, PL.MATCHED, PL.NOT_MATCHED, PL.MATCHED]
    eu = rows[0]
    # trade 48210077: short 0.14 lot at 1.09417, stop 1.09742, out at 1.09064, net +48.44
    assert eu["Entry slippage"] == pytest.approx(-(1.09417 - 1.0940))      # sold 1.7 pips higher: better
    assert eu["Slippage, R"] == pytest.approx(-0.00017 / 0.003)
    assert eu["Stop moved"] == pytest.approx(1.09742 - 1.0970)             # 4.2 pips wider
    assert eu["Size ratio"] == pytest.approx(0.14 / 0.33)
    assert eu["Actual R"] == pytest.approx(48.44 / 100)
    assert eu["R vs plan"] == pytest.approx(0.4844 - 2.0)
    assert eu["Exit R on plan"] == pytest.approx((1.0940 - 1.09064) / 0.003)  # 1.12R on the plan's own stop
    assert eu["R by managing"] == pytest.approx(1.12 - 2.0)                     # left 0.88R of the target
    gb = rows[1]
    # trade 48210091: long 0.32 lot at 1.26589, stopped at 1.26198, net -129.09; plan 40-pip stop
    assert gb["Exit R on plan"] == pytest.approx((1.26198 - 1.2660) / 0.004)   # -1.005R
    assert gb["R by managing"] == pytest.approx((1.26198 - 1.2660) / 0.004 + 1)
    assert gb["Actual R"] == pytest.approx(-129.09 / gb["Risk amount"])
    assert rows[2]["Status"] == PL.NOT_MATCHED and rows[2]["Actual R"] in (None, "")
    gold = rows[3]  # typed: trade 48210133 has no stop
    assert gold["Stop moved"] == PL.NO_STOP and gold["Entry slippage"] == pytest.approx(2054.56 - 2054.0)
    assert rows[0]["Notes"] == "waited for the retest"


def test_the_fill_writes_only_the_empty_trade_id_cells(planned, filled):
    before, after = plan_rows(planned, data_only=False), plan_rows(filled, data_only=False)
    for b, a in zip(before, after):
        for head in PL.HEADERS:
            if head == "Trade ID" and b[head] is None:
                continue
            assert a[head] == b[head], head


def test_a_refill_with_another_risk_setting_leaves_past_plans_as_they_were(filled, tmp_path):
    journal = tmp_path / "journal.xlsx"
    journal.write_bytes(filled.read_bytes())
    edit_cells(journal, {"Settings": {"B7": 0.02}, "Planner": {"B5": 0.02}})  # risk per trade 1% -> 2%
    report = fill_journal([sample_statement()], journal, progress=False, stop_out_level="40%")
    assert report.changed
    wb = openpyxl.load_workbook(journal, data_only=True)
    assert wb["Settings"]["B7"].value == 0.02
    planner = {r[0].value: r[1].value for r in wb["Planner"].iter_rows(min_row=4, max_col=2)}
    assert planner["Risk amount"] == 2 * planner["Equity"] * 0.01  # the Planner follows the setting ...
    assert plan_rows(journal) == plan_rows(filled)                   # ... the recorded plans do not
    assert plan_rows(journal, data_only=False) == plan_rows(filled, data_only=False)


def test_match_rules():
    cols = {"Trade ID": ["A", "B", "C", "D", None], "Symbol": ["EURUSD.m", "EURUSDpro", "EURUSD", "EURUSD", "EURUSD"],
            "Side": ["buy", "long", "sell", "long", "long"], "Instrument": [None] * 5,
            "Open time": [100.5, 100.2, 100.1, 101.3, 100.05]}
    plans = [{"Recorded": 100.0, "Symbol": "EUR/USD", "Side": "long", "Trade ID": None},
             {"Recorded": 100.0, "Symbol": "EURUSD", "Side": "long", "Trade ID": None},
             {"Recorded": 100.0, "Symbol": "EURUSD", "Side": "long", "Trade ID": None},
             {"Recorded": 99.0, "Symbol": "EURUSD", "Side": "long", "Trade ID": "b"}]
    # B is typed (any case); the nearest of the rest (no id on the 100.05 row; C is a sell; D is beyond
    # 24 hours) is A, then nothing is left
    assert match(plans, cols) == {0: "A"}
    assert instrument_key("eurusd.m") == instrument_key("EUR/USD") == "EURUSD"


def test_a_plan_that_is_not_complete_is_refused_in_the_planners_words(tmp_path):
    journal = tmp_path / "j.xlsx"
    build_journal(journal, [])
    before = journal.read_bytes()
    edit_cells(journal, {"Planner": {"B9": 1.085}})  # stop = entry
    edited = journal.read_bytes()
    with pytest.raises(PlanError, match=r"Position size says 'stop_price must differ from entry \(both 1.085\)'"):
        record_into_journal(journal)
    assert journal.read_bytes() == edited != before
    with pytest.raises(PlanError, match="Symbol is empty"):
        plan_record({"Symbol": "", **{k: 1.0 for k in ("Side", "Entry", "Stop", "Target", "Position size", "Risk amount",
                                                        "Reward-to-risk", "Equity", "Risk per trade")}}, datetime.now())


def test_cli_plan(tmp_path):
    journal = tmp_path / "j.xlsx"
    build_journal(journal, [])
    done = subprocess.run([sys.executable, "-m", "addin", "plan", "--journal", str(journal)], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "recorded the plan" in done.stdout and "Size 0.2" in done.stdout
    assert (tmp_path / "j.xlsx.bak1").exists()
    assert len(plan_rows(journal)) == 1
    old = tmp_path / "old.xlsx"
    wb = openpyxl.load_workbook(journal)
    del wb["Plans"]
    wb.save(old)
    done = subprocess.run([sys.executable, "-m", "addin", "plan", "--journal", str(old)], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 2 and "has no Plans table" in done.stderr


# pycel and LibreOffice recalculate the Plans sheet --------------------------------------------------

def test_an_excel_engine_computes_the_plans_columns_to_the_cached_values(filled):
    pytest.importorskip("pycel")
    from test_journal_formulas import _same, recalculate  # noqa: F401  (its module fixture patches pycel)
    from pycel import ExcelCompiler
    from test_planner_native import NATIVE_PLUGIN, _native_plugin
    from test_journal_formulas import _defined_names
    from pycel import excelwrapper

    mp = pytest.MonkeyPatch()
    mp.setattr(excelwrapper.ExcelOpxWrapper, "defined_names", property(_defined_names))
    mp.setitem(sys.modules, NATIVE_PLUGIN, _native_plugin())
    try:
        xl = ExcelCompiler(filename=str(filled), plugins=[NATIVE_PLUGIN])
        ws = openpyxl.load_workbook(filled)["Plans"]
        cached = openpyxl.load_workbook(filled, data_only=True)["Plans"]
        bad, count = [], 0
        for row in ws.iter_rows(min_row=2, max_row=5):
            for c in row:
                if c.data_type == "f":
                    count += 1
                    got = xl.evaluate(f"Plans!{c.coordinate}")
                    if not _same(got, cached[c.coordinate].value):
                        bad.append((c.coordinate, got, cached[c.coordinate].value))
        assert count == 4 * len(PL.CALCS) and not bad, bad
    finally:
        mp.undo()


UNO_PYTHON = "/usr/bin/python3"


def _uno() -> bool:
    return Path(UNO_PYTHON).exists() and subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


@pytest.mark.libreoffice
@pytest.mark.skipif(not _uno(), reason="LibreOffice with python3-uno is not installed")
def test_libreoffice_recalculates_the_plans_sheet_to_the_cached_values(filled, tmp_path):
    from test_journal_formulas import _same

    job = {"input": str(filled), "recalc_on_load": True, "steps": [["calculate_all"]], "dump": str(tmp_path / "d.json")}
    (tmp_path / "job.json").write_text(json.dumps(job), encoding="utf-8")
    done = subprocess.run([UNO_PYTHON, str(ROOT / "tests" / "lo_uno.py"), str(tmp_path / "job.json")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lo = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["Plans"]["cells"]
    ws = openpyxl.load_workbook(filled)["Plans"]
    cached = openpyxl.load_workbook(filled, data_only=True)["Plans"]
    bad, count = [], 0
    for row in ws.iter_rows(min_row=2, max_row=5):
        for c in row:
            if c.data_type == "f":
                count += 1
                kind, value, _, _ = lo.get(c.coordinate, ["s", "", "", ""])
                want = cached[c.coordinate].value
                if kind == "e" or not _same(value, "" if want is None else want):
                    bad.append((c.coordinate, kind, value, want))
    assert count == 4 * len(PL.CALCS) and not bad, bad
