"""Price-bar files in the fill: MAE, MFE, their R multiples and the lowest margin level per trade.

The bundled sample statement (an MT4 Detailed Statement) is filled with synthetic MetaTrader bar
files the tests write, with extremes planted inside and just outside chosen trades, so every figure
can be checked by hand; the real bar excerpts in tests/data/bars go in beside a real MT4 statement.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import ROOT

from addin.fill import fill_journal, sample_statement
from addin.fill.excursions import NO_STOP, NOT_COVERED, PARTIAL_FLAG
from journal_reader import read_journal

BARS = ROOT / "tests" / "data" / "bars"
MT4_STATEMENT = ROOT.parent / "shared" / "statements" / "mt4_statement_html" / "jsacap_Tradeslide_Statement.htm"
FIVE = ("MAE", "MFE", "MAE R", "MFE R", "Lowest margin level")

# Sample trades used (entry, stop, open - close, server time):
SHORT_EU = "48210077"   # eurusd short 1.09417, stop 1.09742, 2024-01-02 17:40:45 - 23:21:35
LONG_EU = "48210286"    # eurusd long 1.08994, stop 1.08768, 2024-01-05 04:10:01 - 08:33:12
NOSTOP_EU = "48210319"  # eurusd short 1.09292, no stop, 2024-01-05 06:19:49 - 11:48:02
SHORT_JPY = "48210123"  # usdjpy short 141.297, stop 141.667, 2024-01-03 01:52:59 - 07:51:01
LATER_EU = "48210475"   # eurusd long, 2024-01-08: after every bar written here
GBP = "48210091"        # gbpusd: no bar file for its symbol


def run(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "addin", "fill", *map(str, args), "--no-progress"],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def minute_bars(start: datetime, end: datetime, base: float, plants: dict[datetime, tuple[float, float]]):
    """(time, open, high, low, close) a minute from start to end (excluded), flat at ``base``
    except the planted (high, low) bars."""
    t = start
    while t < end:
        high, low = plants.get(t, (base, base))
        yield t, base, max(high, base), min(low, base), base
        t += timedelta(minutes=1)


def write_mt4(path: Path, bars) -> Path:
    """MetaTrader 4 History Center layout: no header, ``2024.01.02,17:40,o,h,l,c,volume``."""
    path.write_text("".join(f"{t:%Y.%m.%d,%H:%M},{o!r},{h!r},{lo!r},{c!r},10\n" for t, o, h, lo, c in bars))
    return path


def write_mt5(path: Path, bars) -> Path:
    """MetaTrader 5 Export Bars layout: tab-separated, the <DATE> header, CRLF."""
    head = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n"
    path.write_text(head + "".join(f"{t:%Y.%m.%d}\t{t:%H:%M:%S}\t{o!r}\t{h!r}\t{lo!r}\t{c!r}\t10\t0\t2\r\n"
                                   for t, o, h, lo, c in bars), newline="")
    return path


def trades_of(journal: Path) -> dict[str, dict]:
    """The Trades rows by Trade ID, cached values (what a reader that does not calculate sees)."""
    ws = load_workbook(journal, data_only=True)["Trades"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    return {str(r[head.index("Trade ID")]): dict(zip(head, r)) for r in rows[1:] if r[head.index("Trade ID")]}


def five(rows: dict[str, dict]) -> dict[str, tuple]:
    return {k: tuple(r[c] for c in FIVE) for k, r in rows.items()}


D = datetime
SHORT_EU_PLANTS = {D(2024, 1, 2, 19, 0): (1.0960, 1.0930),   # the short's worst: 1.0960
                   D(2024, 1, 2, 20, 0): (1.0930, 1.0910),   # its best: 1.0910
                   D(2024, 1, 2, 17, 39): (1.1000, 1.0930),  # the minute before the open: not the trade's
                   D(2024, 1, 2, 23, 22): (1.0930, 1.0800)}  # the minute after the close: not the trade's


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """The sample filled four times: without bars, with one day of EURUSD bars, with four days of
    EURUSD bars and a USDJPY file (the extremes planted at the rows' stop-out prices), and again
    without bars. Returns the folder, the stop-out prices read after the first fill, the rows after
    each fill and the command outputs."""
    d = tmp_path_factory.mktemp("excursions")
    journal = d / "Journal.xlsx"
    out = {"journal": journal, "dir": d}
    first = run("--sample", "--journal", journal, cwd=d)
    assert first.returncode == 0, first.stderr
    out["plain"] = trades_of(journal)
    so_long = out["plain"][LONG_EU]["Stop-out price"]
    so_jpy = out["plain"][SHORT_JPY]["Stop-out price"]
    assert isinstance(so_long, float) and isinstance(so_jpy, float)
    out["so_long"], out["so_jpy"] = so_long, so_jpy

    day = d / "one_day"
    day.mkdir()
    eu1 = write_mt4(day / "EURUSD1.csv", minute_bars(D(2024, 1, 2), D(2024, 1, 3), 1.0930, SHORT_EU_PLANTS))
    second = run("--sample", eu1, "--journal", journal, cwd=d)
    assert second.returncode == 0, second.stderr
    out["one_day"], out["one_day_out"] = trades_of(journal), second.stdout

    plants = dict(SHORT_EU_PLANTS)
    plants[D(2024, 1, 5, 6, 0)] = (1.0930, so_long)   # the long's worst: exactly its stop-out price
    plants[D(2024, 1, 5, 7, 0)] = (1.0950, 1.0930)    # the long's best; the no-stop short's worst
    eu = write_mt4(d / "EURUSD_M1.csv", minute_bars(D(2024, 1, 2), D(2024, 1, 6), 1.0930, plants))
    jpy = write_mt5(d / "USDJPY_M1.csv", minute_bars(D(2024, 1, 3), D(2024, 1, 3, 12), 141.0,
                                                       {D(2024, 1, 3, 3, 0): (so_jpy, 141.0)}))
    third = run("--sample", eu, "--prices", jpy, "--journal", journal, cwd=d)
    assert third.returncode == 0, third.stderr
    out["more"], out["more_out"] = trades_of(journal), third.stdout
    out["eu"], out["jpy"] = eu, jpy

    fourth = run("--sample", "--journal", journal, cwd=d)
    assert fourth.returncode == 0, fourth.stderr
    out["again"], out["again_out"] = trades_of(journal), fourth.stdout
    return out


def test_a_fill_without_bars_leaves_the_five_columns_empty(filled):
    assert all(v is None for r in five(filled["plain"]).values() for v in r)


def test_mae_and_mfe_of_a_short_by_hand_edges_excluded(filled):
    row = filled["one_day"][SHORT_EU]
    assert row["MAE"] == pytest.approx(1.0960 - 1.09417, abs=1e-12)   # not 1.1000, the minute before the open
    assert row["MFE"] == pytest.approx(1.09417 - 1.0910, abs=1e-12)   # not 1.0800, the minute after the close
    assert row["MAE R"] == pytest.approx((1.0960 - 1.09417) / (1.09742 - 1.09417), rel=1e-9)
    assert row["MFE R"] == pytest.approx((1.09417 - 1.0910) / (1.09742 - 1.09417), rel=1e-9)
    level = row["Lowest margin level"]
    # (equity + open P/L at 1.0960) / (margin at 1.0960): 0.14 lot, 100,000, 1:30, USD account
    k = 0.14 * 100_000
    assert level == pytest.approx((row["Equity"] - (1.0960 - 1.09417) * k) / (k * 1.0960 / 30), rel=1e-12)


def test_trades_the_bars_do_not_reach_say_so_and_other_symbols_stay_empty(filled):
    rows = filled["one_day"]
    for tid in (LONG_EU, LATER_EU):
        assert tuple(rows[tid][c] for c in FIVE) == (NOT_COVERED,) * 5
    assert all(rows[GBP][c] is None for c in FIVE)  # no gbpusd bars given: nothing said
    assert all(rows[SHORT_JPY][c] is None for c in FIVE)


def test_the_lowest_margin_level_at_the_stop_out_price_is_the_stop_out_level(filled):
    rows = filled["more"]
    long_ = rows[LONG_EU]
    assert long_["MAE"] == pytest.approx(1.08994 - filled["so_long"], rel=1e-12)
    assert long_["MFE"] == pytest.approx(1.0950 - 1.08994, abs=1e-12)
    assert long_["MAE R"] == pytest.approx((1.08994 - filled["so_long"]) / (1.08994 - 1.08768), rel=1e-9)
    assert long_["Lowest margin level"] == pytest.approx(0.5, rel=1e-9)  # the StopOutLevel setting
    assert long_["Stop-out price"] == filled["so_long"]
    # USDJPY in a USD account (a pair based on the account currency), valued as its row's
    # Stop-out price values it; the high was planted at that price.
    jpy = rows[SHORT_JPY]
    assert jpy["Stop-out price"] == filled["so_jpy"]
    assert jpy["MAE"] == pytest.approx(filled["so_jpy"] - 141.297, rel=1e-12)
    assert jpy["MFE"] == pytest.approx(141.297 - 141.0, rel=1e-9)
    assert jpy["Lowest margin level"] == pytest.approx(0.5, rel=1e-9)


def test_a_trade_without_a_stop_has_no_r_but_its_excursions(filled):
    row = filled["more"][NOSTOP_EU]
    assert row["MAE"] == pytest.approx(1.0950 - 1.09292, abs=1e-12)
    assert (row["MAE R"], row["MFE R"]) == (NO_STOP, NO_STOP)
    assert isinstance(row["Lowest margin level"], float)


def test_a_refill_with_more_bars_updates_and_keeps_what_they_confirm(filled):
    before, after = five(filled["one_day"]), five(filled["more"])
    assert before[SHORT_EU] == after[SHORT_EU]
    assert before[LONG_EU] == (NOT_COVERED,) * 5 and isinstance(after[LONG_EU][0], float)
    assert after[LATER_EU] == (NOT_COVERED,) * 5


def test_a_refill_without_bars_keeps_every_figure(filled):
    assert five(filled["again"]) == five(filled["more"])
    assert any(isinstance(v[0], float) for v in five(filled["again"]).values())


def test_the_summary_gives_each_bar_file_its_ledger_clock_and_coverage(filled):
    text = filled["more_out"]
    assert "EURUSD_M1.csv  [bars: mt4, EURUSD from the file name]" in text
    assert "5,760 lines: 5,760 bars, 0 header/blank, 0 rejected" in text
    assert "USDJPY_M1.csv  [bars: mt5, USDJPY from the file name]" in text
    assert "721 lines: 720 bars, 1 header/blank, 0 rejected" in text
    assert "zone not stated (MetaTrader writes the broker's server time)" in text
    assert "taken on this same clock" in text
    eu = text[text.index("EURUSD_M1.csv  [bars"):text.index("USDJPY_M1.csv  [bars")]
    assert "trades covered:       3\n" in eu  # the short of the 2nd, the long and the no-stop short of the 5th
    assert "trades of EURUSD outside the bars:" in eu
    assert "bars" not in filled["again_out"].split("\n\n", 1)[1]  # no bar file: no bar section


def test_a_new_journal_gets_the_same_figures_as_the_refills(filled, tmp_path):
    fresh = tmp_path / "Fresh.xlsx"
    out = run("--sample", filled["eu"], "--prices", filled["jpy"], "--journal", fresh, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got, want = five(trades_of(fresh)), five(filled["more"])
    assert got.keys() == want.keys()
    for k in want:
        for a, b in zip(got[k], want[k]):
            assert a == pytest.approx(b, rel=1e-12) if isinstance(b, float) else a == b, (k, a, b)


def test_the_journal_reads_back_with_the_words_in_the_figure_columns(filled):
    contents = read_journal(filled["journal"])
    assert len(contents.trades) == 41
    by_id = {t.trade_id: t for t in contents.trades}
    assert by_id[LATER_EU].mae == NOT_COVERED and isinstance(by_id[LONG_EU].mae, float)


def test_a_partly_covered_trade_is_flagged(tmp_path):
    # bars from 20:00 on the 2nd: the short that opened at 17:40:45 is covered only in part
    bars = write_mt4(tmp_path / "EURUSD_M1.csv", minute_bars(D(2024, 1, 2, 20), D(2024, 1, 3), 1.0930, {}))
    report = fill_journal([sample_statement(), bars], tmp_path / "J.xlsx", progress=False)
    row = trades_of(tmp_path / "J.xlsx")[SHORT_EU]
    assert row["MAE"] == 0 and row["MFE"] == pytest.approx(1.09417 - 1.0930, abs=1e-12)
    assert f"{PARTIAL_FLAG}: the bars start 2h 19m after the open" in row["Flags"]
    assert report.bars[0].partial == 1 and report.bars[0].covered == 1


def test_an_open_trade_is_measured_up_to_the_last_bar_and_says_so(tmp_path):
    # 48210868: eurusd long 1.09557, stop 1.09257, opened 2024-01-12 20:01:27, still open
    bars = write_mt4(tmp_path / "EURUSD_M1.csv", minute_bars(D(2024, 1, 12, 20), D(2024, 1, 12, 22), 1.0950,
                                                             {D(2024, 1, 12, 21, 0): (1.0950, 1.0930)}))
    fill_journal([sample_statement(), bars], tmp_path / "J.xlsx", progress=False)
    row = trades_of(tmp_path / "J.xlsx")["48210868"]
    assert row["Exit"] is None
    assert row["MAE"] == pytest.approx(1.09557 - 1.0930, abs=1e-12)
    assert row["MAE R"] == pytest.approx((1.09557 - 1.0930) / (1.09557 - 1.09257), rel=1e-9)
    assert f"{PARTIAL_FLAG}: still open, measured up to the last bar (2024-01-12 21:59)" in row["Flags"]


def test_a_typed_stop_gives_the_r_multiples(filled, tmp_path):
    import shutil

    from addin.fill.xlsx_edit import Package  # noqa: F401  (the journal is edited with openpyxl here)
    journal = tmp_path / "J.xlsx"
    shutil.copy(filled["journal"], journal)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    head = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[head.index("Trade ID")].value == NOSTOP_EU:
            row[head.index("Stop")].value = 1.0950  # the trader's stop, 208 points above the short's entry
    wb.save(journal)
    out = run("--sample", filled["eu"], "--journal", journal, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    row = trades_of(journal)[NOSTOP_EU]
    assert row["Stop"] == 1.0950
    assert row["MAE R"] == pytest.approx(1.0, rel=1e-9)  # price went exactly to the typed stop


# --- Options and refusals ---------------------------------------------------------------------------

def test_a_file_named_without_its_symbol_needs_prices_symbol(filled, tmp_path):
    bars = tmp_path / "bars.csv"
    bars.write_bytes(filled["eu"].read_bytes())
    journal = tmp_path / "J.xlsx"
    out = run("--sample", "--prices", bars, "--journal", journal, cwd=tmp_path)
    assert out.returncode == 2 and "does not say the symbol" in out.stderr and "--prices-symbol bars.csv=" in out.stderr
    assert not journal.exists()
    wrong = run("--sample", "--prices", bars, "--prices-symbol", "other.csv=EURUSD", "--journal", journal, cwd=tmp_path)
    assert wrong.returncode == 2 and "'other.csv' is none of the price files (bars.csv)" in wrong.stderr
    ok = run("--sample", "--prices", bars, "--prices-symbol", "bars.csv=EURUSD", "--journal", journal, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "bars.csv  [bars: mt4, EURUSD from the --prices-symbol option]" in ok.stdout
    assert five(trades_of(journal))[LONG_EU] == five(filled["more"])[LONG_EU]


def test_a_utc_bar_file_converted_to_the_statement_clock(filled, tmp_path):
    # The same bars as UTC Binance klines two hours behind the server clock, converted with --prices-tz.
    lines = []
    for t, o, h, lo, c in minute_bars(D(2024, 1, 5), D(2024, 1, 6), 1.0930,
                                      {D(2024, 1, 5, 6, 0): (1.0930, filled["so_long"])}):
        ms = int((t - timedelta(hours=2) - D(1970, 1, 1)).total_seconds() * 1000)
        lines.append(f"{ms},{o!r},{h!r},{lo!r},{c!r},1,{ms + 59_999},1,1,1,1,0\n")
    bars = tmp_path / "EURUSD-1m-2024-01-05.csv"
    bars.write_text("".join(lines))
    journal = tmp_path / "J.xlsx"
    out = run("--sample", bars, "--prices-tz", "UTC+2", "--journal", journal, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "converted from UTC to UTC+2" in out.stdout
    assert trades_of(journal)[LONG_EU]["Lowest margin level"] == pytest.approx(0.5, rel=1e-9)


def test_overlapping_files_of_one_symbol_are_refused(filled, tmp_path):
    other = tmp_path / "EURUSD_M1_2.csv"
    other.write_bytes(filled["eu"].read_bytes())
    journal = tmp_path / "J.xlsx"
    out = run("--sample", filled["eu"], "--prices", other, "--prices-symbol", f"{other.name}=EURUSD",
              "--journal", journal, cwd=tmp_path)
    assert out.returncode == 2 and "without overlap" in out.stderr and not journal.exists()


def test_two_months_of_one_symbol_are_joined(tmp_path):
    a = write_mt4(tmp_path / "EURUSD_M1_a.csv", minute_bars(D(2024, 1, 2), D(2024, 1, 2, 19), 1.0930, {}))
    b = write_mt4(tmp_path / "EURUSD_M1_b.csv", minute_bars(D(2024, 1, 2, 19), D(2024, 1, 3), 1.0930,
                                                             SHORT_EU_PLANTS))
    report = fill_journal([sample_statement()], tmp_path / "J.xlsx", progress=False, prices=[a, b],
                          prices_symbol=["EURUSD_M1_a.csv=EURUSD", "EURUSD_M1_b.csv=EURUSD"])
    row = trades_of(tmp_path / "J.xlsx")[SHORT_EU]
    assert row["MAE"] == pytest.approx(1.0960 - 1.09417, abs=1e-12)
    assert [r.covered for r in report.bars] == [1, 1]  # the short spans both files


# --- Real files ---------------------------------------------------------------------------------------

def test_real_bar_excerpts_are_told_from_a_real_statement_by_content(tmp_path):
    files = [BARS / "DAT_MT_EURUSD_M1_202006.csv", MT4_STATEMENT, BARS / "ALGOUSDT-1m-2025-02.csv"]
    journal = tmp_path / "J.xlsx"
    out = run(*files, "--journal", journal, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "jsacap_Tradeslide_Statement.htm  [mt4_html]" in out.stdout
    assert "DAT_MT_EURUSD_M1_202006.csv  [bars: mt4, EURUSD from the file name]" in out.stdout
    assert "ALGOUSDT-1m-2025-02.csv  [bars: binance, ALGOUSDT from the file name]" in out.stdout
    assert "300 lines: 300 bars" in out.stdout and "301 lines: 300 bars, 1 header/blank" in out.stdout
    rows = trades_of(journal)
    eur = [r for r in rows.values() if "EURUSD" in str(r["Symbol"]).upper()]
    assert len(eur) == 13  # traded 2023-09 to 2024-01; the excerpt is June 2020
    assert all(r["MAE"] == NOT_COVERED for r in eur)
    assert all(r["MAE"] is None for r in rows.values() if "EURUSD" not in str(r["Symbol"]).upper())


def test_a_journal_without_the_columns_is_told(filled, tmp_path):
    import shutil

    journal = tmp_path / "Old.xlsx"
    shutil.copy(filled["journal"], journal)
    wb = load_workbook(journal)
    ws = wb["Trades"]
    table = ws.tables["Trades"]
    head = [c.value for c in ws[1]]
    for name in ("MAE", "MFE", "MAE R", "MFE R", "Lowest margin level"):  # an old journal: renamed away
        ws.cell(row=1, column=head.index(name) + 1).value = f"old {name}"
    for col in table.tableColumns:
        if col.name in FIVE:
            col.name = f"old {col.name}"
    wb.save(journal)
    out = run("--sample", filled["eu"], "--journal", journal, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert ("the Trades table has no MAE, MFE, MAE R, MFE R, Lowest margin level column(s) (a journal made "
            "before they existed)") in out.stdout


# --- Hostile rows: whatever a trader typed, the merge says something and never raises ------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from addin.fill.excursions import row_changes  # noqa: E402
from addin.statements.model import SourceRef, Trade  # noqa: E402

_cell = st.one_of(st.none(), st.just(""), st.booleans(), st.text(max_size=8),
                  st.floats(allow_nan=False, allow_infinity=True), st.integers(-10**6, 10**6))
_row = st.fixed_dictionaries({name: _cell for name in ("Side", "Entry", "Stop", "Quantity", "Equity", "Leverage",
                                                       "Contract size", "FX to account", "Instrument", "Symbol",
                                                       "Flags", *FIVE)})


def _trade(mae):
    base = dict(broker="b", trade_id="1", symbol="EURUSD", side="long", quantity=1, entry=1.1,
                source=SourceRef(file="s"))
    if isinstance(mae, str):
        return Trade(**base, mae=mae, mfe=mae, mae_r=mae, mfe_r=mae, lowest_margin_level=mae)
    return Trade(**base, mae=mae, mfe=0.001, mae_r=1.0, mfe_r=0.5, lowest_margin_level=2.0, worst_price=1.1 - mae)


@settings(max_examples=300, deadline=None)
@given(_row, st.one_of(st.floats(0, 1.0), st.just(NOT_COVERED)))
def test_row_changes_on_any_row(row, mae):
    t = _trade(mae)
    got = row_changes(row, t, lambda r: None)
    assert set(got) <= set(FIVE) | {"Flags"}
    for name in FIVE:
        if name in got:
            assert isinstance(got[name], str) or (isinstance(got[name], float) and got[name] == got[name])
    if isinstance(mae, str) and isinstance(row["MAE"], (int, float)) and not isinstance(row["MAE"], bool):
        assert got == {}  # a reason never replaces figures
    if not isinstance(mae, str):
        assert got.get("MAE", row["MAE"]) == mae  # figures always land
