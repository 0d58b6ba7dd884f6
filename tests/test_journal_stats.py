"""The Stats sheet: each statistic on a hand-computed example, against an independent computation on
journals filled from real statements, recalculated by LibreOffice, and rendered as a user sees it.

The hand example (six closed trades and an open one, see ``hand_trades``):

  trade  side   symbol  opened     net P/L  R      setup     tags
  1      long   EURUSD  Mon 3 Jun  +120     +2     breakout  breakout, news
  2      short  EURUSD  Tue 4 Jun   -50     -1     breakout  news
  3      long   GBPUSD  Mon 10 Jun  +80     +1     pullback  newsflow
  4      long   GBPUSD  Wed 12 Jun    0      0     pullback
  5      short  USDJPY  Mon 1 Jul   -40     -0.5   (none)    fade
  6      long   EURUSD  Fri 5 Jul   +30     (no stop: no R)
  7      long   EURUSD  open

All closed trades: 6 trades, 3 wins, 2 losses; win rate 3/5 = 60%; profit factor (120+80+30)/(50+40)
= 2.5556; payoff (230/3)/(90/2) = 1.7037; expectancy 140/6 = 23.33; expectancy in R over the five Rs
(2 - 1 + 1 + 0 - 0.5)/5 = 0.3; SQN = sqrt(5) x 0.3 / stdev(2, -1, 1, 0, -0.5) = sqrt(5) x 0.3 / 1.2042
= 0.5571. Net P/L by month: June 2024 150, July 2024 -10.
"""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from addin.journal import stats as S
from addin.journal import trades as TS
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal
from addin.risk import stats as rs
from addin.statements.model import SourceRef, Trade
from tools.render_docs import convert, only_sheet, soffice
from tools.sample_trades import edge_trades, sample_cash, sample_trades
from conftest import shared_statement

SRC = SourceRef(file="hand.csv")


def _t(i: int, side: str, symbol: str, opened: datetime, net: float | None, entry: float, stop: float | None,
       exit_: float | None, closed: datetime | None = None) -> Trade:
    return Trade(broker="Hand", trade_id=f"H{i}", symbol=symbol, side=side, quantity=1.0, entry=entry, stop=stop,
                 exit=exit_, open_time=opened, close_time=closed or (opened if exit_ is not None else None),
                 profit=net, account_currency="USD", leverage=100, source=SRC)


def hand_trades() -> list[Trade]:
    d = datetime
    return [
        _t(1, "long", "EURUSD", d(2024, 6, 3, 9), 120.0, 1.1000, 1.0990, 1.1020, d(2024, 6, 3, 15)),
        _t(2, "short", "EURUSD", d(2024, 6, 4, 9), -50.0, 1.1000, 1.1010, 1.1010, d(2024, 6, 4, 12)),
        _t(3, "long", "GBPUSD", d(2024, 6, 10, 9), 80.0, 1.2500, 1.2490, 1.2510, d(2024, 6, 10, 11)),
        _t(4, "long", "GBPUSD", d(2024, 6, 12, 9), 0.0, 1.2500, 1.2490, 1.2500, d(2024, 6, 12, 10)),
        _t(5, "short", "USDJPY", d(2024, 7, 1, 9), -40.0, 150.00, 151.00, 150.50, d(2024, 7, 1, 16)),
        _t(6, "long", "EURUSD", d(2024, 7, 5, 9), 30.0, 1.0900, None, 1.0930, d(2024, 7, 5, 18)),
        _t(7, "long", "EURUSD", d(2024, 7, 8, 9), None, 1.0950, 1.0900, None),
    ]


HAND_SETUPS = ["breakout", "breakout", "pullback", "pullback", None, None, "breakout"]
HAND_TAGS = ["breakout, news", "news", "newsflow", None, "fade", None, "news"]


@pytest.fixture
def trader_columns(monkeypatch):
    """Setup and Tags as a trader typed them (a fill keeps them on rows already in the journal; the
    build writes whatever the columns hold): ``trader_columns(setups, tags)`` before build_journal."""
    def install(setups, tags):
        original = TS.input_columns

        def with_labels(trades, instruments):
            cols = original(trades, instruments)
            cols["Setup"], cols["Tags"] = list(setups), list(tags)
            return cols
        monkeypatch.setattr(TS, "input_columns", with_labels)
    return install


def sections(ws) -> dict[tuple[str, str], int]:
    """(section title, key) -> row of the Stats sheet's breakdown; ("", "All closed trades") too."""
    out: dict[tuple[str, str], int] = {}
    section = ""
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        v = cell.value
        if isinstance(v, str) and v.startswith("By "):
            section = v
        elif v == "All closed trades":
            out[("", v)] = cell.row
        elif section and isinstance(v, str) and ws[f"B{cell.row}"].value is not None:
            out[(section, v)] = cell.row
        if v == "Net P/L by month closed":
            break
    return out


def stat(ws, row: int, key: str):
    return ws[f"{S.COL[key]}{row}"].value


@pytest.fixture
def hand_journal(tmp_path, trader_columns):
    trader_columns(HAND_SETUPS, HAND_TAGS)
    path = tmp_path / "hand.xlsx"
    build_journal(path, hand_trades(), settings=Settings(starting_balance=10_000))
    return path


def test_hand_example_all_trades(hand_journal):
    ws = openpyxl.load_workbook(hand_journal, data_only=True)["Stats"]
    row = sections(ws)[("", "All closed trades")]
    got = {k: stat(ws, row, k) for k, *_ in S.STAT_COLUMNS}
    assert (got["n"], got["wins"], got["losses"]) == (6, 3, 2)
    assert got["net"] == pytest.approx(140)
    assert got["win_rate"] == pytest.approx(0.6)
    assert got["pf"] == pytest.approx(230 / 90)
    assert got["payoff"] == pytest.approx((230 / 3) / (90 / 2))
    assert got["exp"] == pytest.approx(140 / 6)
    assert got["exp_r"] == pytest.approx(0.3)
    rs_ = [2, -1, 1, 0, -0.5]
    sd = math.sqrt(sum((r - 0.3) ** 2 for r in rs_) / 4)
    assert got["sqn"] == pytest.approx(math.sqrt(5) * 0.3 / sd)
    assert got["sqn"] == pytest.approx(0.5571, abs=1e-4)
    # The card shows the same figures, with their explanations.
    card = {ws[f"A{r}"].value: ws[f"B{r}"].value for r in range(S.CARD_TOP, S.CARD_TOP + len(S.EXPLAINED))}
    assert card["Win rate"] == pytest.approx(0.6) and card["Closed trades"] == 6
    assert card["Expectancy in R"] == pytest.approx(0.3)
    assert ws[f"C{S.CARD_TOP + 2}"].value.startswith("winning trades out of those")


def test_hand_example_breakdowns(hand_journal):
    ws = openpyxl.load_workbook(hand_journal, data_only=True)["Stats"]
    rows = sections(ws)
    by = {k: (stat(ws, r, "n"), stat(ws, r, "net")) for k, r in rows.items()}
    assert by[("By symbol", "EURUSD")] == (3, 100)      # trades 1, 2, 6 (7 is open)
    assert by[("By symbol", "GBPUSD")] == (2, 80)
    assert by[("By symbol", "USDJPY")] == (1, -40)
    assert by[("By symbol", S.NOT_LISTED)][0] == 0
    assert by[("By side", "long")] == (4, 230) and by[("By side", "short")] == (2, -90)
    assert by[("By setup", "breakout")] == (2, 70) and by[("By setup", "pullback")] == (2, 80)
    assert by[("By setup", S.NOT_LISTED)][0] == 2       # trades 5 and 6 have no setup
    assert by[("By tag", "news")] == (2, 70)           # whole words: "newsflow" is not "news"
    assert by[("By tag", "newsflow")] == (1, 80) and by[("By tag", "breakout")] == (1, 120)
    assert by[("By weekday opened", "Monday")] == (3, 160)  # 3 Jun, 10 Jun, 1 Jul
    assert by[("By weekday opened", "Tuesday")] == (1, -50)
    assert by[("By weekday opened", "Friday")] == (1, 30)
    assert ("By weekday opened", "Thursday") in rows and by[("By weekday opened", "Thursday")][0] == 0
    r = rows[("By symbol", "USDJPY")]
    assert stat(ws, r, "win_rate") == 0 and stat(ws, r, "pf") == 0 and stat(ws, r, "payoff") == S.NO_WIN
    assert stat(ws, rows[("By symbol", "GBPUSD")], "pf") == S.NO_LOSS
    assert stat(ws, rows[("By symbol", "USDJPY")], "sqn") == S.FEW_R


def test_hand_example_month_grid_and_histogram(hand_journal):
    ws = openpyxl.load_workbook(hand_journal, data_only=True)["Stats"]
    year_row = next(c.row for c in ws["A"] if c.value == 2024)
    head = year_row - 1
    months = {ws.cell(head, j).value: ws.cell(year_row, j).value for j in range(2, 15)}
    assert months["Jun"] == pytest.approx(150) and months["Jul"] == pytest.approx(-10)
    assert months["Jan"] == 0 and ws[f"N{year_row}"].value == pytest.approx(140)
    bins = {ws[f"A{r}"].value: ws[f"D{r}"].value for r in range(1, ws.max_row + 1)
            if isinstance(ws[f"A{r}"].value, str) and ws[f"A{r}"].value.endswith("R") and ws[f"D{r}"].value is not None}
    assert bins["2 to 2.5R"] == 1 and bins["-1 to -0.5R"] == 1 and bins["-0.5 to 0R"] == 1
    assert bins["0 to 0.5R"] == 1 and bins["1 to 1.5R"] == 1 and sum(bins.values()) == 5


def test_no_addin_call_on_the_stats_sheet(hand_journal):
    from addin import udfs
    names = {n for n in dir(udfs) if n.isupper() and callable(getattr(udfs, n))}
    ws = openpyxl.load_workbook(hand_journal)["Stats"]
    formulas = [getattr(c.value, "text", c.value) for row in ws.iter_rows() for c in row
                if isinstance(getattr(c.value, "text", c.value), str) and str(getattr(c.value, "text", c.value)).startswith("=")]
    assert len(formulas) > 100
    called = {n for f in formulas for n in re.findall(r"([A-Z][A-Z0-9_.]*)\(", f)} & names
    assert not called, called


def test_empty_journal_stats(tmp_path):
    path = tmp_path / "empty.xlsx"
    build_journal(path, [])
    ws = openpyxl.load_workbook(path, data_only=True)["Stats"]
    row = sections(ws)[("", "All closed trades")]
    assert stat(ws, row, "n") == 0 and stat(ws, row, "win_rate") in (None, "")


# Real statements ----------------------------------------------------------------------------------

REAL = [
    "mt4_statement_html/jsacap_Tradeslide_Statement.htm",
    "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html",
    "tradingview_list_of_trades_csv/AlphaDogsResearch_TRIX_Signal_Strategy_BINANCE_ETHUSDT.P_2026-02-26.csv",
    "ibkr_activity_statement_csv/oittaa_data_multi_account.csv",
]


@pytest.mark.parametrize("relative", REAL, ids=lambda r: r.split("/")[0])
def test_real_statement_stats_match_independent_computation(tmp_path, relative):
    from addin.fill import fill_journal

    src = shared_statement(relative)
    path = tmp_path / "journal.xlsx"
    fill_journal([src], path, progress=False)
    wb = openpyxl.load_workbook(path, data_only=True)
    trades = wb["Trades"]
    head = [c.value for c in trades[1]]
    col = {h: [r[head.index(h)] for r in trades.iter_rows(min_row=2, values_only=True)] for h in head}
    # Stats counts money in the home currency: a closed trade of an account without a rate to home
    # is left out (and the note under the title counts it)
    pnl = [v for v in col["Net P/L home"] if isinstance(v, (int, float))]
    assert pnl, f"{src.name}: no closed trades"
    num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    left_out = sum(1 for a, b in zip(col["Net P/L"], col["Net P/L home"]) if num(a) and not num(b))
    if left_out:
        assert f"{left_out} closed trades of accounts without a rate to home are left out" in wb["Stats"]["A2"].value
    rm = [r for r, p in zip(col["R multiple"], col["Net P/L home"]) if num(r) and num(p)]
    lev = [e for e, p in zip(col["Effective leverage"], col["Net P/L home"]) if num(e) and num(p)]
    ws = wb["Stats"]
    row = sections(ws)[("", "All closed trades")]
    got = {k: stat(ws, row, k) for k, *_ in S.STAT_COLUMNS}

    # Independent: plain counting and the textbook formulas, no project code.
    wins, losses = [p for p in pnl if p > 0], [p for p in pnl if p < 0]
    assert got["n"] == len(pnl) and got["wins"] == len(wins) and got["losses"] == len(losses)
    assert got["net"] == pytest.approx(sum(pnl), rel=1e-9, abs=1e-6)
    assert got["win_rate"] == pytest.approx(len(wins) / (len(wins) + len(losses)), rel=1e-12)
    if losses:
        assert got["pf"] == pytest.approx(sum(wins) / -sum(losses), rel=1e-9)
    if losses and wins:
        assert got["payoff"] == pytest.approx(statistics.mean(wins) / -statistics.mean(losses), rel=1e-9)
    assert got["exp"] == pytest.approx(statistics.mean(pnl), rel=1e-9, abs=1e-9)
    if len(rm) >= 2:
        assert got["exp_r"] == pytest.approx(statistics.mean(rm), rel=1e-9, abs=1e-12)
        assert got["sqn"] == pytest.approx(math.sqrt(min(len(rm), 100)) * statistics.mean(rm) / statistics.stdev(rm),
                                           rel=1e-9, abs=1e-12)
    if lev:
        assert got["lev_avg"] == pytest.approx(statistics.mean(lev), rel=1e-9)
        assert got["lev_max"] == pytest.approx(max(lev), rel=1e-12)
    # ... and the journal statistics functions (addin.risk.stats, the add-in's WIN_RATE etc.)
    assert got["win_rate"] == pytest.approx(rs.win_rate(pnl), rel=1e-12)
    if losses:
        assert got["pf"] == pytest.approx(rs.profit_factor(pnl), rel=1e-9)
    assert got["exp"] == pytest.approx(rs.expectancy(pnl), rel=1e-9, abs=1e-9)
    if len(rm) >= 2:
        assert got["sqn"] == pytest.approx(rs.sqn(rm), rel=1e-9)
    oc = [v for v, p in zip(col["Over cap"], col["Net P/L"]) if isinstance(v, bool) and num(p)]
    if oc:
        assert got["over_cap"] == pytest.approx(sum(oc) / len(oc), rel=1e-12)
    sb = [v for v, p in zip(col["Stop beyond stop-out"], col["Net P/L"]) if isinstance(v, bool) and num(p)]
    if sb:
        assert got["beyond"] == pytest.approx(sum(sb) / len(sb), rel=1e-12)
    # Max drawdown: the deepest fall of the trading balance, recomputed from cumulative P/L.
    card = {ws[f"A{r}"].value: ws[f"B{r}"].value for r in range(S.CARD_TOP, S.CARD_TOP + len(S.EXPLAINED))}
    dd = [v for v in col["Drawdown"] if num(v)]
    assert card["Max drawdown"] == pytest.approx(max(dd) if dd else 0.0)
    # Every closed trade lands in one month cell: the grid adds up to the net P/L.
    year_cells = [ws[f"N{c.row}"].value for c in ws["A"] if isinstance(c.value, int) and 1990 < c.value < 2100]
    with_close = [p for p, t in zip(col["Net P/L home"], col["Close time"]) if num(p) and t is not None]
    assert sum(year_cells) == pytest.approx(sum(with_close), rel=1e-9, abs=1e-6)
    # The breakdowns by symbol and by side cover every closed trade once.
    rows = sections(ws)
    for sec in ("By symbol", "By side"):
        assert sum(stat(ws, r, "n") for (s_, _), r in rows.items() if s_ == sec) == len(pnl)
    assert sum(stat(ws, r, "n") for (s_, _), r in rows.items() if s_ == "By weekday opened") == sum(
        1 for p, t in zip(col["Net P/L home"], col["Open time"]) if num(p) and t is not None)


# LibreOffice: recalculation and rendering -----------------------------------------------------------

needs_lo = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not on PATH: apt-get install libreoffice-calc")


def strip_cached(src: Path, dest: Path, sheets: dict[str, re.Pattern]) -> int:
    """Copy ``src`` with the cached values of the formula cells (array formulas included) whose
    reference matches the sheet's pattern removed, so LibreOffice must calculate them."""
    with zipfile.ZipFile(src) as z:
        names = re.findall(r'<sheet [^>]*name="([^"]*)"', z.read("xl/workbook.xml").decode())
        parts = {f"xl/worksheets/sheet{names.index(t) + 1}.xml": pat for t, pat in sheets.items()}
        stripped = 0
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                data = z.read(info.filename)
                if info.filename in parts:
                    pat = parts[info.filename]

                    def strip(m: re.Match) -> str:
                        nonlocal stripped
                        if not pat.fullmatch(m.group(2)):
                            return m.group(0)
                        stripped += 1
                        return f"{m.group(1)}>{m.group(4)}</c>"
                    data = re.sub(r'(<c r="(([A-Z]+)\d+)"(?: s="\d+")?)(?: t="\w+")?>(<f[^>]*>[^<]*</f>)<v>[^<]*</v></c>',
                                  lambda m: strip(m), data.decode()).encode()
                out.writestr(info, data)
    return stripped


def same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def formula_cells(path: Path, title: str) -> list[str]:
    ws = openpyxl.load_workbook(path)[title]
    return [c.coordinate for row in ws.iter_rows() for c in row
            if c.data_type == "f" or type(c.value).__name__ == "ArrayFormula"]


@needs_lo
@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_stats_sheet(tmp_path, trader_columns):
    """With every cached value of the Stats sheet removed, LibreOffice computes each cell from the
    Trades table and lands on the Python twins' values (200 sample trades, setups and tags)."""
    trades = sample_trades(200, seed=5) + edge_trades()
    # excursion figures (the "How close the trades came" section): numbers with ties, words, none
    words = "bars do not cover this trade"
    trades = [t.model_copy(update={} if i % 7 == 6 else {
        "mae_r": words if i % 11 == 3 else (i * 37 % 29) / 20, "mfe": words if i % 11 == 3 else (i * 13 % 17) / 1e4,
        "lowest_margin_level": words if i % 11 == 3 else 0.4 + (i * 7 % 23) / 10}) for i, t in enumerate(trades)]
    setups = [("breakout", "pullback", "range", None)[i % 4] for i in range(len(trades))]
    tags = [("news", "news, london", "asia", None, "london, fomc")[i % 5] for i in range(len(trades))]
    trader_columns(setups, tags)
    path = tmp_path / "journal.xlsx"
    build_journal(path, trades, cash=sample_cash(trades))
    bare = tmp_path / "bare.xlsx"
    n = strip_cached(path, bare, {"Stats": re.compile(r".*")})
    cells = formula_cells(path, "Stats")
    assert n == len(cells) > 500
    out = convert(bare, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    ours = openpyxl.load_workbook(path, data_only=True)["Stats"]
    theirs = openpyxl.load_workbook(out, data_only=True)["Stats"]
    bad = [f"{c}: cached {ours[c].value!r}, LibreOffice {theirs[c].value!r}" for c in cells
           if not same(ours[c].value, theirs[c].value)]
    assert not bad, "\n".join(bad[:20])
    rows = sections(ours)
    assert {("By setup", "breakout"), ("By tag", "london"), ("By tag", "fomc")} <= set(rows)
    assert isinstance(ours[f"{S.COL['sqn']}{rows[('', 'All closed trades')]}"].value, float)


def pdf_text(xlsx: Path, sheet: str, tmp: Path) -> str:
    one = only_sheet(xlsx, sheet, tmp / f"{sheet}.xlsx")
    pdf = convert(one, "pdf", tmp)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=120).stdout


@needs_lo
@pytest.mark.libreoffice
@pytest.mark.skipif(subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
                    reason="pdftotext (poppler-utils) is not installed")
def test_stats_sheet_renders_in_libreoffice(tmp_path, hand_journal):
    text = pdf_text(hand_journal, "Stats", tmp_path)
    for words in ("Statistics of the closed trades", "Win rate", "60.0%", "Profit factor", "2.56", "SQN", "0.56",
                  "Equity curve", "Net P/L by month closed", "R multiples: trades per bin", "By symbol", "EURUSD",
                  "By tag", "newsflow", "By weekday opened", "Monday"):
        assert words in text, words
    assert "#VALUE" not in text and "#NAME" not in text and "Err:" not in text


def test_readme_explains_each_statistic():
    from conftest import ROOT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in readme.splitlines() if line.startswith("| ")}
    for label, *_ in S.EXPLAINED:
        label = {"Average leverage used": "Average / largest leverage used",
                 "Largest leverage used": "Average / largest leverage used"}.get(label, label)
        assert label in rows, f"README has no sentence for {label}"
    assert "docs/stats.png" in readme and "docs/account.png" in readme
    assert (ROOT / "docs" / "stats.png").stat().st_size > 20_000 and (ROOT / "docs" / "account.png").stat().st_size > 20_000


def _top_level(text: str, seps: str) -> list[str]:
    parts, depth, cur, quoted = [], 0, "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        if not quoted and depth == 0 and ch in seps:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    return parts + [cur]


def sumproduct_args(formula: str) -> list[str]:
    out = []
    for m in re.finditer(r"SUMPRODUCT\(", formula):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(formula[i], 0)
            i += 1
        out += _top_level(formula[m.end():i - 1], ",")
    return out


@pytest.mark.parametrize("sheet", ["Stats", "Account", "Planner"])
def test_no_sumproduct_argument_is_a_bare_boolean_array(hand_journal, sheet):
    """Excel's SUMPRODUCT counts TRUE/FALSE array entries as 0 (LibreOffice counts TRUE as 1, so its
    recalculation cannot catch it): each argument must be arithmetic (a product, a difference) or a
    plain range."""
    ws = openpyxl.load_workbook(hand_journal)[sheet]
    formulas = [str(getattr(c.value, "text", c.value)) for row in ws.iter_rows() for c in row
                if "SUMPRODUCT" in str(getattr(c.value, "text", c.value))]
    args = [a for f in formulas for a in sumproduct_args(f)]
    assert len(args) > (100 if sheet == "Stats" else 2)
    plain_range = re.compile(r"[A-Za-z_]+\[[^\]]*\]")
    bad = [a for a in args if not plain_range.fullmatch(a) and len(_top_level(a, "*-+")) < 2]
    assert not bad, bad[:5]
