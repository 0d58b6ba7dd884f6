"""The Planner without the add-in: every figure of the plan is a native formula that an Excel engine
(pycel, with no add-in function bound) and LibreOffice (recalculating on load) compute to the value
the build cached from addin.risk; the only add-in call left is the regulator's cap, and the sheet says
so beside it. Bad inputs show the add-in's own words, not an Excel error."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import openpyxl
import pytest

from addin import risk, udfs
from addin.journal import planner
from addin.journal.layout import NO_ADDIN
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal
from conftest import ROOT

pycel = pytest.importorskip("pycel")
from pycel import ExcelCompiler  # noqa: E402
from pycel import excelwrapper  # noqa: E402
from test_journal_formulas import _defined_names, _same  # noqa: E402

NATIVE_PLUGIN = "addin_planner_native_pycel"
# Spreadsheet functions the plan's formulas may use (Excel 2016+, LibreOffice 7, Google Sheets).
NATIVE = {"IF", "IFERROR", "AND", "OR", "NOT", "ISNUMBER", "ISERROR", "ISLOGICAL", "ISNA", "CHOOSE", "ERROR.TYPE",
          "ABS", "INT", "ROUND", "LOG10", "MAX", "MIN", "INDEX", "MATCH", "LEFT", "RIGHT", "MID", "UPPER", "LOWER",
          "TRIM", "SUBSTITUTE", "FIND", "LEN", "VALUE"}


def _native_plugin() -> types.ModuleType:
    """pycel's fixes of tests/test_journal_formulas.py, and no add-in function: a formula that calls one
    cannot evaluate."""
    from test_journal_formulas import _plugin
    full = _plugin()
    mod = types.ModuleType(NATIVE_PLUGIN)
    for name in ("match", "index", "sumproduct", "rows"):
        setattr(mod, name, getattr(full, name))
    return mod


@pytest.fixture(scope="module", autouse=True)
def patched_pycel():
    mp = pytest.MonkeyPatch()
    mp.setattr(excelwrapper.ExcelOpxWrapper, "defined_names", property(_defined_names))
    mp.setitem(sys.modules, NATIVE_PLUGIN, _native_plugin())
    yield
    mp.undo()


def plan_journal(path: Path, monkeypatch, settings=None, **inputs) -> Path:
    monkeypatch.setattr(planner, "DEFAULT_PLAN", {**planner.DEFAULT_PLAN, **inputs})
    build_journal(path, [], settings=settings)
    monkeypatch.undo()
    return path


def plan_cells(path: Path) -> dict[str, str]:
    """Label -> cell of each figure of the plan (rows 15 to the Check line)."""
    ws = openpyxl.load_workbook(path)["Planner"]
    out = {}
    for a, b in ws.iter_rows(min_row=15, max_col=2):
        if a.value and b.data_type == "f":
            out[a.value] = b.coordinate
        if a.value == "Check":
            return out
    raise AssertionError("no Check line")


def cached(path: Path) -> dict[str, object]:
    ws = openpyxl.load_workbook(path, data_only=True)["Planner"]
    return {label: ws[c].value for label, c in plan_cells(path).items()}


def engine(path: Path) -> dict[str, object]:
    """pycel's values of every figure but the regulator's cap (an add-in call)."""
    xl = ExcelCompiler(filename=str(path), plugins=[NATIVE_PLUGIN])
    return {label: xl.evaluate(f"Planner!{c}") for label, c in plan_cells(path).items() if label != "Regulator's cap"}


CASES = {
    "default": {},
    "short -1 target below": {"Side": -1, "Entry": 1.085, "Stop": 1.09, "Target": 1.075},
    "usdjpy base kind": {"Symbol": "USDJPY", "Side": "Sell", "Entry": 150.0, "Stop": 150.5, "Target": 148.5,
                         "FX to account": 1 / 150},
    "leverage as text": {"Leverage": "1:100"},
    "leverage 500": {"Leverage": 500},
    "equity text": {"Equity": "ten thousand"},
    "risk over 100%": {"Risk per trade": 1.5},
    "entry negative": {"Entry": -1.0},
    "stop equals entry": {"Stop": 1.085},
    "stop on the profit side": {"Stop": 1.09},
    "target on the wrong side": {"Target": 1.08},
    "side unreadable": {"Side": "sideways"},
    "side number 2": {"Side": 2},
    "leverage unreadable": {"Leverage": "lots"},
    "leverage zero": {"Leverage": 0},
    "lot step negative": {"Lot step": -0.01},
    "no lot step": {"Lot step": 0},
    "budget below one step": {"Equity": 100.0},
    "unknown symbol": {"Symbol": "EURXYZ"},
}


@pytest.mark.parametrize("case", CASES)
def test_every_figure_is_native_and_equals_the_cached_value(case, tmp_path, monkeypatch):
    path = plan_journal(tmp_path / "plan.xlsx", monkeypatch, **CASES[case])
    want, got = cached(path), engine(path)
    bad = [(k, got[k], want[k]) for k in got if not _same(got[k], want[k])]
    assert not bad, bad
    errors = [(k, v) for k, v in want.items() if isinstance(v, str) and v.startswith("#")]
    assert not errors, errors


def test_only_the_regulators_cap_calls_the_addin_and_says_so(tmp_path, monkeypatch):
    path = plan_journal(tmp_path / "plan.xlsx", monkeypatch)
    ws = openpyxl.load_workbook(path)["Planner"]
    cells = plan_cells(path)
    for label, c in cells.items():
        used = set(re.findall(r"([A-Z][A-Z0-9._]*)\(", re.sub(r'"[^"]*"', "", ws[c].value)))
        if label == "Regulator's cap":
            assert "MAX_LEVERAGE" in used and NO_ADDIN in ws[c].value
            note = ws[c.replace("B", "C")].value
            assert note.startswith("needs the add-in (MAX_LEVERAGE)")
        else:
            assert used <= NATIVE, (label, used - NATIVE)


def test_the_default_plan_by_hand(tmp_path, monkeypatch):
    """$10,000 x 1% = $100; EURUSD long 1.0850 stop 1.0800 (50 pips, $10 a pip a lot): 0.20 lot; notional
    0.2 x 100,000 x 1.085 = 21,700; margin at 1:30 = 723.33; target 1.0950: 2R, +$200; stop: -$100."""
    v = cached(plan_journal(tmp_path / "plan.xlsx", monkeypatch))
    assert v["Risk amount"] == 100.0 and v["Position size"] == 0.2
    assert v["Risk at the stop"] == pytest.approx(100.0)
    assert v["Notional"] == pytest.approx(21_700.0) and v["Margin"] == pytest.approx(21_700 / 30)
    assert v["Reward-to-risk"] == pytest.approx(2.0) and v["Profit at the target"] == pytest.approx(200.0)
    assert v["Profit at the stop"] == pytest.approx(-100.0)
    assert v["Stop-out price"] == pytest.approx(risk.stop_out_price(1, 1.085, 0.2, 10_000, 30, 0.5, 100_000))
    assert v["Liquidation price (isolated)"] == pytest.approx(1.085 * (1 - 1 / 30 + 0.005))


def test_bad_inputs_show_the_addins_own_words(tmp_path, monkeypatch):
    """The figure that first reads a bad input says what the add-in's function says for it."""
    def plan(**inputs):
        return cached(plan_journal(tmp_path / "plan.xlsx", monkeypatch, **inputs))

    assert plan(Equity="ten thousand")["Risk amount"] == udfs.RISK_AMOUNT("ten thousand", 0.01)
    assert plan(**{"Risk per trade": 1.5})["Risk amount"] == udfs.RISK_AMOUNT(10_000, 1.5)
    assert plan(Entry=-1.0)["Size before rounding"] == udfs.POSITION_SIZE(100, -1.0, 1.08, 100_000, 0.01)
    assert plan(Stop=1.085)["Size before rounding"] == udfs.POSITION_SIZE(100, 1.085, 1.085, 100_000, 0.01)
    assert plan(**{"Lot step": -0.01})["Size before rounding"] == udfs.POSITION_SIZE(100, 1.085, 1.08, 100_000, -0.01)
    assert plan(Stop=1.09)["Reward-to-risk"] == udfs.REWARD_RISK("long", 1.085, 1.09, 1.095)
    assert plan(Target=1.08)["Reward-to-risk"] == udfs.REWARD_RISK("long", 1.085, 1.08, 1.08)
    assert plan(Side="sideways")["Reward-to-risk"] == udfs.REWARD_RISK("sideways", 1.085, 1.08, 1.095)
    assert plan(Leverage="lots")["Leverage used"] == udfs.MARGIN_REQUIRED(0.2, 1.085, "lots")
    assert plan(Leverage=0)["Leverage used"] == udfs.MARGIN_REQUIRED(0.2, 1.085, 0)
    v = plan(Leverage=500)
    assert v["Liquidation price (isolated)"] == udfs.LIQUIDATION_PRICE("long", 1.085, 500)
    assert v["Margin"] == pytest.approx(0.2 * 100_000 * 1.085 / 500)
    assert plan(Leverage="1:100")["Margin"] == pytest.approx(udfs.MARGIN_REQUIRED(0.2, 1.085, "1:100", 100_000))


def test_usdjpy_in_a_usd_account_uses_the_base_currency_model_natively(tmp_path, monkeypatch):
    settings = Settings(account_currency="USD", starting_balance=10_000, account_leverage=30, stop_out_level=0.5)
    path = plan_journal(tmp_path / "plan.xlsx", monkeypatch, settings=settings, **CASES["usdjpy base kind"])
    v, got = cached(path), engine(path)
    size = v["Position size"]
    assert v["Account is base currency"] is True and size == 0.3
    want = {"Margin": risk.margin_required(size, 150.0, 30, 100_000, 1, True),
            "Stop-out price": risk.stop_out_price(-1, 150.0, size, 10_000, 30, 0.5, 100_000, 1, 0, True),
            "Margin call price (100%)": risk.margin_call_price(-1, 150.0, size, 10_000, 30, 1, 100_000, 1, 0, True),
            "Profit at the target": risk.profit_at_price(-1, 150.0, 148.5, size, 100_000, 1, 0, True),
            "Profit at the stop": risk.profit_at_price(-1, 150.0, 150.5, size, 100_000, 1, 0, True),
            "Wipe-out distance, % of price": risk.wipeout_move(30, 0.5, -1, True)}
    for label, value in want.items():
        assert _same(v[label], value) and _same(got[label], value), (label, v[label], got[label], value)


# LibreOffice, recalculating on load with no add-in ------------------------------------------------

UNO_PYTHON = "/usr/bin/python3"


def _uno() -> bool:
    return Path(UNO_PYTHON).exists() and subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


@pytest.mark.libreoffice
@pytest.mark.skipif(not _uno(), reason="LibreOffice with python3-uno is not installed")
@pytest.mark.parametrize("case", ["default", "usdjpy base kind", "leverage as text", "leverage 500", "equity text",
                                  "stop on the profit side", "side number 2", "budget below one step"])
def test_libreoffice_recalculates_the_plan_to_the_cached_values(case, tmp_path, monkeypatch):
    path = plan_journal(tmp_path / "plan.xlsx", monkeypatch, **CASES[case])
    job = {"input": str(path), "recalc_on_load": True, "steps": [["calculate_all"]], "dump": str(tmp_path / "d.json")}
    (tmp_path / "job.json").write_text(json.dumps(job), encoding="utf-8")
    done = subprocess.run([UNO_PYTHON, str(ROOT / "tests" / "lo_uno.py"), str(tmp_path / "job.json")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lo = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["Planner"]["cells"]
    want = cached(path)
    bad = []
    for label, c in plan_cells(path).items():
        kind, value, text, _ = lo.get(c, ["s", "", "", ""])
        if label == "Regulator's cap":
            assert value == NO_ADDIN
            continue
        if label == "Account is base currency":
            value = bool(value)
        if kind == "e" or not _same(value, want[label]):
            bad.append((label, kind, value, want[label]))
    assert not bad, bad


# Hostile inputs: the figures never raise and are a number or words -------------------------------

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

_ANY = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False, width=32),
                 st.integers(-5, 5), st.sampled_from(["", "abc", "1:30", "30x", "long", "-1", "#N/A", "0"]))


@hsettings(max_examples=300, deadline=None)
@given(equity=_ANY, risk_pct=_ANY, side=_ANY, entry=_ANY, stop=_ANY, target=_ANY, leverage=_ANY, fx=_ANY,
       step=_ANY)
def test_hostile_inputs_give_numbers_or_words(equity, risk_pct, side, entry, stop, target, leverage, fx, step):
    from addin.journal.instruments import DEFAULT_INSTRUMENTS

    plan = {"Equity": equity, "Risk per trade": risk_pct, "Symbol": "EURUSD", "Side": side, "Entry": entry,
            "Stop": stop, "Target": target, "Leverage": leverage, "FX to account": fx, "Lot step": step}
    values = planner.figures(plan, Settings(), DEFAULT_INSTRUMENTS)
    for label, v in values.items():
        if label in plan:
            continue
        assert isinstance(v, (int, float, str)), (label, v)
        if isinstance(v, str):
            assert not v.startswith("#"), (label, v)
        if label == "Position size" and isinstance(v, float) and isinstance(values["Risk at the stop"], float):
            assert values["Risk at the stop"] <= values["Risk amount"] * (1 + 1e-12)
