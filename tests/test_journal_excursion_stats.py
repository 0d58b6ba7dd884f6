"""The Stats sheet's "How close the trades came" and the Dashboard's excursion lines.

The hand example (``hand_trades``; StopOutLevel 50%, so "within 1.5x" means a level <= 75%):

  trade  side   net P/L  entry   exit    MFE     MAE R          lowest margin level
  W1     long   +120     1.1000  1.1020  0.0040  0.1            90%
  W2     long    +90     1.1000  1.1030  0.0030  0.25 (edge)    75% (exactly 1.5x)
  W3     short   +60     1.1000  1.0990  0.0040  0.6            200%
  L1     long    -50     1.1000  1.0990  0.0010  1.0 (edge)     50%
  L2     short   -40     1.1000  1.1008  0.0016  0.8            60%
  L3     long    -30     1.1000  1.0970  words   "no stop"      words
  Z      long      0     1.1000  1.1000  0       0.3            60% (ties with L2)
  N      long    +10     1.1000  1.1010  (none: no bars)
  O      long    open    1.1000  -       0.0020  0.1            55% (open: not counted)

MAE R table: winners 1 / 1 / 1 / 0 / 0 in 0-0.25, 0.25-0.5, 0.5-0.75, 0.75-1, 1R or more; losers
0 / 0 / 0 / 1 / 1 (L3's words skipped, Z neither won nor lost, O open). Exit efficiency over the five
closed trades with an MFE above 0: (0.5 + 1 + 0.25 - 1 - 0.5) / 5 = 0.05. Margin levels measured on
six closed trades, four of them at 75% or below: 4/6. Closest calls: L1 50%, L2 60%, Z 60% (the tie
in row order), W2 75%, W1 90%.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from addin.journal import dashboard as DB
from addin.journal import stats as S
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal
from addin.statements.model import SourceRef, Trade
from conftest import ROOT
from test_fill_excursions import minute_bars, run, write_mt4, write_mt5

SRC = SourceRef(file="hand.csv")
UNO_PYTHON = "/usr/bin/python3"
DRIVER = ROOT / "tests" / "lo_uno.py"


def _t(tid: str, day: int, side: str, net: float | None, exit_: float | None, stop: float | None = None,
       **figures) -> Trade:
    opened = datetime(2024, 6, day, 9)
    stop = stop if stop is not None else (1.0990 if side == "long" else 1.1010)
    return Trade(broker="Hand", trade_id=tid, symbol="EURUSD" if day % 2 else "GBPUSD", side=side, quantity=1.0,
                 entry=1.1000, stop=stop, exit=exit_, open_time=opened,
                 close_time=opened + timedelta(hours=3) if exit_ is not None else None, profit=net,
                 account_currency="USD", leverage=100, source=SRC, **figures)


def hand_trades() -> list[Trade]:
    words = "bars do not cover this trade"
    return [
        _t("W1", 3, "long", 120.0, 1.1020, mae=0.0001, mfe=0.0040, mae_r=0.1, mfe_r=4.0, lowest_margin_level=0.9),
        _t("W2", 4, "long", 90.0, 1.1030, mae=0.00025, mfe=0.0030, mae_r=0.25, mfe_r=3.0, lowest_margin_level=0.75),
        _t("W3", 5, "short", 60.0, 1.0990, mae=0.0006, mfe=0.0040, mae_r=0.6, mfe_r=4.0, lowest_margin_level=2.0),
        _t("L1", 6, "long", -50.0, 1.0990, mae=0.0010, mfe=0.0010, mae_r=1.0, mfe_r=1.0, lowest_margin_level=0.5),
        _t("L2", 7, "short", -40.0, 1.1008, mae=0.0008, mfe=0.0016, mae_r=0.8, mfe_r=1.6, lowest_margin_level=0.6),
        _t("L3", 10, "long", -30.0, 1.0970, mae=0.0030, mfe=words, mae_r="no stop", mfe_r="no stop",
           lowest_margin_level=words),
        _t("Z", 11, "long", 0.0, 1.1000, mae=0.0003, mfe=0.0, mae_r=0.3, mfe_r=0.0, lowest_margin_level=0.6),
        _t("O", 12, "long", None, None, mae=0.0001, mfe=0.0020, mae_r=0.1, mfe_r=2.0, lowest_margin_level=0.55),
        _t("N", 13, "long", 10.0, 1.1010),  # the latest closed trade: the Dashboard opens on it
    ]


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hand") / "journal.xlsx"
    build_journal(path, hand_trades())
    return path


def layout(path: Path) -> dict:
    """The section's cells found by their labels on the Stats sheet (as a reader sees it)."""
    ws = openpyxl.load_workbook(path)["Stats"]
    col_a = {c.value: c.row for c in ws["A"] if isinstance(c.value, str)}
    head = col_a["MAE R, closed trades"]
    calls = col_a["Closest calls: the lowest margin levels"] + 2
    return {"bins": list(range(head + 1, head + 6)),
            "figures": {label: f"B{col_a[label]}" for label, *_ in S.EXCURSION_EXPLAINED},
            "closest": list(range(calls, calls + S.CLOSEST)), "top": col_a[S.EXCURSION_TITLE]}


def values(path: Path, sheet: str = "Stats"):
    return openpyxl.load_workbook(path, data_only=True)[sheet]


def section(path: Path) -> dict:
    """The section's cached values: bins [(winners, losers)], the four figures, the closest calls."""
    at, ws = layout(path), values(path)
    return {"bins": [(ws[f"D{r}"].value, ws[f"E{r}"].value) for r in at["bins"]],
            **{label: ws[cell].value for label, cell in at["figures"].items()},
            "closest": [tuple(ws[f"{c}{r}"].value for c in "ABCD") for r in at["closest"]]}


def test_hand_example(hand):
    got = section(hand)
    assert got["bins"] == [(1, 0), (1, 0), (1, 0), (0, 1), (0, 1)]
    assert got["Trades with an MFE"] == 5
    assert got["Exit efficiency"] == pytest.approx(0.05, abs=1e-9)
    assert got["Trades with a margin level"] == 6
    assert got["Came within 1.5x of the stop-out"] > 0
    assert got["Came within 1.5x of the stop-out"] == pytest.approx(4 / 6, rel=1e-12)
    assert [(i, sym, lvl, row) for i, sym, lvl, row in got["closest"]] == [
        ("L1", "EURUSD" if 6 % 2 else "GBPUSD", 0.5, 4), ("L2", "EURUSD", 0.6, 5), ("Z", "EURUSD", 0.6, 7),
        ("W2", "GBPUSD", 0.75, 2), ("W1", "EURUSD", 0.9, 1)]


def test_the_share_follows_the_stop_out_level_setting(tmp_path):
    """StopOutLevel 40%: within 1.5x means <= 60%: L1, L2 and Z of the six (1.5 x 0.4 is
    0.6000000000000001 in binary, so 60% counts, in the formula as in its twin)."""
    path = tmp_path / "journal.xlsx"
    build_journal(path, hand_trades(), settings=Settings(stop_out_level=0.4))
    assert section(path)["Came within 1.5x of the stop-out"] == pytest.approx(3 / 6, rel=1e-12)


def test_a_journal_without_figures_says_so(tmp_path):
    path = tmp_path / "journal.xlsx"
    build_journal(path, [_t("A", 3, "long", 10.0, 1.1010)])
    got = section(path)
    assert got["bins"] == [(0, 0)] * 5
    assert got["Exit efficiency"] == S.NO_MFE and got["Came within 1.5x of the stop-out"] == S.NO_LEVEL
    assert all(c in (None, "") for row in got["closest"] for c in row)
    empty = tmp_path / "empty.xlsx"
    build_journal(empty, [])
    assert section(empty)["Exit efficiency"] == S.NO_MFE


def test_no_number_inside_a_criterion_string_and_no_newer_functions(hand):
    ws = openpyxl.load_workbook(hand)["Stats"]
    top = layout(hand)["top"]
    texts = [getattr(c.value, "text", c.value) for row in ws.iter_rows(min_row=top) for c in row
             if c.data_type == "f" or type(c.value).__name__ == "ArrayFormula"]
    assert len(texts) >= 5 * 2 + 4 + 5 * 4
    for f in texts:
        assert not re.search(r'"[<>=]+-?\d', f), f
        assert not re.search(r"\b(LET|FILTER|MAXIFS|MINIFS|XLOOKUP|AGGREGATE|SORT)\(", f), f


def dash_card(path: Path) -> dict[str, object]:
    ws = values(path, "Dashboard")
    return {c.value: ws[f"E{c.row}"].value for c in ws["D"] if isinstance(c.value, str)}


def test_dashboard_of_a_trade_without_bars(hand):
    card = dash_card(hand)
    assert values(hand, "Dashboard")["B3"].value == "N"
    for label in ("MAE, price", "MFE, price", "MAE in R", "Lowest margin level"):
        assert card[label] == DB.NO_BARS, label
    assert isinstance(card["Stop-out price"], float)


def test_dashboard_of_a_measured_trade(tmp_path):
    trades = hand_trades()[:-1]  # the latest closed trade is now Z
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades)
    card = dash_card(path)
    assert values(path, "Dashboard")["B3"].value == "Z"
    assert (card["MAE, price"], card["MFE, price"], card["MAE in R"], card["Lowest margin level"]) == (
        0.0003, 0.0, 0.3, 0.6)


# LibreOffice ------------------------------------------------------------------------------------

def _uno_available() -> bool:
    if shutil.which("soffice") is None or not Path(UNO_PYTHON).exists():
        return False
    return subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


needs_uno = pytest.mark.skipif(not _uno_available(), reason="LibreOffice with python3-uno is not installed")


def run_lo(job: dict, tmp: Path) -> dict:
    """One LibreOffice job (see tests/lo_uno.py); its dump."""
    job = dict(job, dump=str(tmp / "dump.json"))
    path = tmp / "job.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    done = subprocess.run([UNO_PYTHON, str(DRIVER), str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(Path(job["dump"]).read_text(encoding="utf-8"))


def section_cells(path: Path) -> list[str]:
    at = layout(path)
    return ([f"{c}{r}" for r in at["bins"] for c in "DE"] + list(at["figures"].values())
            + [f"{c}{r}" for r in at["closest"] for c in "ABCD"])


def lo_value(dump: dict, sheet: str, cell: str) -> object:
    got = dump[sheet]["cells"].get(cell)
    if got is None:
        return ""
    kind, value, _, _ = got
    assert kind != "e", f"{sheet}!{cell}: {value}"
    return value


def same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def check_lo(path: Path, tmp: Path, locale: str, pick: str | None = None) -> dict:
    """Recalculate ``path`` in LibreOffice (every formula, hard) in ``locale``, optionally after
    picking a trade on the Dashboard; the section's values must equal the cached ones."""
    steps = [["type", "Dashboard", "B3", pick]] if pick else []
    dump = run_lo({"input": str(path), "locale": locale, "recalc_on_load": False,
                   "steps": steps + [["calculate_all"]]}, tmp)
    ours = values(path)
    bad = [f"{c}: cached {ours[c].value!r}, LibreOffice {lo_value(dump, 'Stats', c)!r}" for c in section_cells(path)
           if not same(ours[c].value, lo_value(dump, "Stats", c))]
    assert not bad, "\n".join(bad)
    return dump


@needs_uno
@pytest.mark.libreoffice
def test_libreoffice_in_a_comma_locale_agrees_and_picks_a_trade(hand, tmp_path):
    """de-DE reads "0,25" where en-US reads "0.25": the criteria built from cells hold in both; a
    trade picked on the Dashboard shows its figures."""
    dump = check_lo(hand, tmp_path, "de-DE", pick="L2")
    dash = openpyxl.load_workbook(hand)["Dashboard"]
    at = {c.value: f"E{c.row}" for c in dash["D"] if isinstance(c.value, str)}
    got = [lo_value(dump, "Dashboard", at[k]) for k in ("MAE, price", "MFE, price", "MAE in R", "Lowest margin level")]
    assert got == pytest.approx([0.0008, 0.0016, 0.8, 0.6], rel=1e-12)
    assert section(hand)["Exit efficiency"] == pytest.approx(0.05, abs=1e-9)


@needs_uno
@pytest.mark.libreoffice
def test_libreoffice_counts_an_edited_mae_r_in_a_comma_locale(hand, tmp_path):
    """In de-DE (where a criterion ">="&0.25 becomes the text ">=0,25"), W1's MAE R set to 0.9 moves
    it from the first bin to 0.75-1R, and StopOutLevel set to 20% (1.5 x 20% = 30%) leaves no margin
    level within reach: LibreOffice computes the new cells, not only shows their cached values.
    (The driver sets cells through the API, which reads "0.9" whatever the locale.)"""
    trades = openpyxl.load_workbook(hand)["Trades"]
    col = next(c.column_letter for c in trades[1] if c.value == "MAE R")
    settings = openpyxl.load_workbook(hand)["Settings"]
    so = next(f"B{c.row}" for c in settings["A"] if c.value == "Stop-out level")
    dump = run_lo({"input": str(hand), "locale": "de-DE", "recalc_on_load": False,
                   "steps": [["type", "Trades", f"{col}2", "0.9"], ["type", "Settings", so, "0.2"],
                             ["calculate_all"]]}, tmp_path)
    at = layout(hand)
    assert [(lo_value(dump, "Stats", f"D{r}"), lo_value(dump, "Stats", f"E{r}")) for r in at["bins"]] == [
        (0, 0), (1, 0), (1, 0), (1, 1), (0, 1)]
    assert lo_value(dump, "Stats", at["figures"]["Came within 1.5x of the stop-out"]) == 0


# A real statement filled with synthetic bars ----------------------------------------------------

D = datetime


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """The bundled MT4 sample statement filled, then filled again with minute bars of EURUSD, GBPUSD
    and USDJPY over its first twelve days (synthetic: flat, a dip and a spike planted here and there,
    one EURUSD long's low at its stop-out price), so winners and losers of three symbols get
    figures, one trade reaches the stop-out level, and the rows the bars miss say so in words."""
    d = tmp_path_factory.mktemp("filled")
    journal = d / "Journal.xlsx"
    first = run("--sample", "--journal", journal, cwd=d)
    assert first.returncode == 0, first.stderr
    so_long = next(r["Stop-out price"] for r in trades_rows(journal) if str(r["Trade ID"]) == "48210286")
    start, end = D(2024, 1, 2), D(2024, 1, 14)
    eu = write_mt4(d / "EURUSD_M1.csv", minute_bars(start, end, 1.0930, {
        D(2024, 1, 2, 19, 0): (1.0960, 1.0930), D(2024, 1, 2, 20, 0): (1.0930, 1.0910),
        D(2024, 1, 5, 6, 0): (1.0930, so_long), D(2024, 1, 5, 7, 0): (1.0950, 1.0930),  # 48210286: at its stop-out
        D(2024, 1, 10, 12, 0): (1.0990, 1.0900), D(2024, 1, 11, 3, 0): (1.0960, 1.0890)}))
    gu = write_mt4(d / "GBPUSD_M1.csv", minute_bars(start, end, 1.2700, {
        D(2024, 1, 3, 0, 0): (1.2760, 1.2650), D(2024, 1, 4, 10, 0): (1.2720, 1.2600),
        D(2024, 1, 9, 9, 0): (1.2790, 1.2690), D(2024, 1, 11, 20, 0): (1.2740, 1.2660)}))
    jpy = write_mt5(d / "USDJPY_M1.csv", minute_bars(D(2024, 1, 3), end, 141.0,
                                                       {D(2024, 1, 3, 3, 0): (141.9, 140.6),
                                                        D(2024, 1, 10, 2, 0): (142.5, 140.0)}))
    done = run("--sample", eu, gu, "--prices", jpy, "--journal", journal, cwd=d)
    assert done.returncode == 0, done.stderr
    return journal


def trades_rows(path: Path) -> list[dict]:
    ws = values(path, "Trades")
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def _n(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def test_filled_statement_matches_a_count_of_the_trades_rows(filled):
    """Every figure of the section against a computation straight from the Trades rows."""
    rows = trades_rows(filled)
    closed = [(k + 1, r) for k, r in enumerate(rows) if _n(r["Net P/L"])]
    assert sum(1 for _, r in closed if _n(r["MAE R"])) >= 5, "the bars must reach several closed trades"
    assert any(isinstance(r["MAE R"], str) and r["MAE R"] for _, r in closed), "a row with words is part of the test"
    edges = [0, 0.25, 0.5, 0.75, 1, math.inf]
    want_bins = [(sum(1 for _, r in closed if r["Net P/L"] > 0 and _n(r["MAE R"]) and lo - 1e-9 <= r["MAE R"] < hi - 1e-9),
                  sum(1 for _, r in closed if r["Net P/L"] < 0 and _n(r["MAE R"]) and lo - 1e-9 <= r["MAE R"] < hi - 1e-9))
                 for lo, hi in zip(edges, edges[1:])]
    ratios = [(r["Exit"] - r["Entry"]) * {"buy": 1, "long": 1, "sell": -1, "short": -1}[r["Side"].lower()] / r["MFE"]
              for _, r in closed if _n(r["MFE"]) and r["MFE"] > 0]
    levels = [(r["Lowest margin level"], k, r) for k, r in closed if _n(r["Lowest margin level"])]
    so = values(filled, "Settings")
    so_level = next(so[f"B{c.row}"].value for c in so["A"] if c.value == "Stop-out level")
    got = section(filled)
    assert got["bins"] == [(float(w), float(lo)) for w, lo in want_bins]
    assert sum(w + lo for w, lo in want_bins) > 0
    assert got["Trades with an MFE"] == len(ratios) > 0
    assert got["Exit efficiency"] == pytest.approx(sum(ratios) / len(ratios), rel=1e-9)
    assert got["Trades with a margin level"] == len(levels)
    assert got["Came within 1.5x of the stop-out"] > 0
    assert got["Came within 1.5x of the stop-out"] == pytest.approx(
        sum(1 for v, *_ in levels if v <= 1.5 * so_level) / len(levels), rel=1e-12)
    best = sorted(levels, key=lambda x: (x[0], x[1]))[:S.CLOSEST]
    assert [(a, b, c, d) for a, b, c, d in got["closest"][:len(best)]] == [
        (str(r["Trade ID"]), r["Symbol"], v, k) for v, k, r in best]
    assert got["closest"][0][0] == "48210286" and got["closest"][0][2] == pytest.approx(so_level, rel=1e-9)


@needs_uno
@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_filled_section(filled, tmp_path):
    check_lo(filled, tmp_path, "en-US")
