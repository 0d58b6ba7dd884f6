"""Bar files (addin/bars): real exports from public repositories (tests/data/bars/SOURCES.md),
synthetic files for every rejected-line rule, hostile files, and the excursions of statement trades
over them, checked by hand against the files' own lines."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.bars import BarsError, looks_like_bars, read_bars, symbol_from_name, to_seconds, trade_excursions
from addin.statements.model import SourceRef, Trade

DATA = Path(__file__).parent / "data" / "bars"
MT5 = DATA / "EURUSD_H1.csv"
MT4 = DATA / "DAT_MT_EURUSD_M1_202006.csv"
BINANCE = DATA / "ALGOUSDT-1m-2025-02.csv"
TV_HOURLY = DATA / "BINANCE_BTCUSDT, 60.csv"
TV_DAILY = DATA / "BINANCE_BTCUSDT, 1D.csv"


# --- the real files -----------------------------------------------------------------------------------

def test_metatrader5_export():
    s = read_bars(MT5)
    assert (s.format, s.symbol, s.symbol_source) == ("mt5", "EURUSD", "file name")
    assert s.bar_seconds == 3600 and s.time_zone is None and "server time" in s.time_zone_note
    assert len(s) == 200 and str(s.ledger) == "201 lines: 200 bars, 1 header/blank, 0 rejected"
    assert s.start == datetime(2025, 6, 23, 0, 0)  # first line: 2025.06.23 00:00:00 1.14565 1.14745 1.14565 1.14721
    assert (s.opens[0], s.highs[0], s.lows[0], s.closes[0]) == (1.14565, 1.14745, 1.14565, 1.14721)
    assert s.time(199) == datetime(2025, 7, 3, 7, 0) and s.closes[199] == 1.17891  # last line
    # the weekend is a gap in the series, not a rejected line
    assert max(b - a for a, b in zip(s.times, s.times[1:])) == 49 * 3600


def test_metatrader4_history_center_layout_needs_the_symbol_or_a_name_that_gives_it():
    s = read_bars(MT4, symbol="EURUSD")
    assert (s.format, s.symbol, s.symbol_source, s.bar_seconds) == ("mt4", "EURUSD", "argument", 60)
    assert str(s.ledger) == "300 lines: 300 bars, 0 header/blank, 0 rejected"
    assert s.start == datetime(2020, 6, 1) and (s.opens[0], s.highs[0], s.lows[0], s.closes[0]) == (
        1.11329, 1.11345, 1.11325, 1.11344)
    assert read_bars(MT4).symbol == "EURUSD"  # HistData's DAT_MT_EURUSD_M1_... names the pair too


def test_binance_klines_in_utc():
    s = read_bars(BINANCE)
    assert (s.format, s.symbol, s.time_zone, s.bar_seconds) == ("binance", "ALGOUSDT", "UTC", 60)
    assert str(s.ledger) == "301 lines: 300 bars, 1 header/blank, 0 rejected"  # the futures files' header
    assert s.start == datetime(2025, 2, 1) and s.times[0] == 1738368000
    assert (s.opens[1], s.highs[1], s.lows[1], s.closes[1]) == (0.3789, 0.3792, 0.3778, 0.3782)


def test_tradingview_exports_with_offsets_are_read_as_utc():
    hourly = read_bars(TV_HOURLY)
    assert (hourly.format, hourly.symbol, hourly.time_zone, hourly.bar_seconds) == ("tradingview", "BTCUSDT", "UTC", 3600)
    assert hourly.start == datetime(2024, 1, 21, 14, 0)  # 2024-01-21T23:00:00+09:00
    daily = read_bars(TV_DAILY)
    assert daily.bar_seconds == 86400 and daily.start == datetime(2017, 8, 17) and len(daily) == 100


def test_sniffing():
    assert [looks_like_bars(p) for p in (MT5, MT4, BINANCE, TV_HOURLY)] == ["mt5", "mt4", "binance", "tradingview"]
    assert looks_like_bars(DATA / "SOURCES.md") is None
    assert looks_like_bars(DATA / "no such file.csv") is None
    assert looks_like_bars(Path(__file__).parents[1] / "addin" / "samples" / "example_trades.csv") is None


@pytest.mark.parametrize("name, symbol", [
    ("EURUSD_M1.csv", "EURUSD"), ("EURUSD1.csv", "EURUSD"), ("EURUSD60.csv", "EURUSD"), ("XAUUSD1440.csv", "XAUUSD"),
    ("EURUSD_M1_202301020000_202312292358.csv", "EURUSD"), ("EURUSD.m_H1.csv", "EURUSD.m"), ("US500_M5.csv", "US500"),
    ("BTCUSDT-1m-2024-01.csv", "BTCUSDT"), ("ETHUSDT-1h-2024-01-15.csv", "ETHUSDT"),
    ("BINANCE_BTCUSDT, 60.csv", "BTCUSDT"), ("OANDA_EURUSD, 1D.csv", "EURUSD"), ("FX_IDC_EURUSD, 5.csv", "EURUSD"),
    ("DAT_MT_EURUSD_M1_202006.csv", "EURUSD"), ("bars.csv", None), ("US5001.csv", None), ("export.txt", None),
])
def test_symbol_from_the_file_name(name, symbol):
    assert symbol_from_name(name) == symbol


# --- synthetic files: every rule -----------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


MT5_HEADER = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n"


def test_bad_lines_are_rejected_with_their_line_number_and_reason(tmp_path):
    p = write(tmp_path, "EURUSD_M1.csv", MT5_HEADER + "\r\n".join([
        "2025.03.03\t00:00:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",   # line 2: a bar
        "2025.03.03\t00:01:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",   # 3: a bar
        "2025.03.03\t00:01:00\t1.1\t1.3\t1.0\t1.1\t5\t0\t1",   # 4: duplicate of line 3
        "2025.03.03\t00:02:00\t1.1\t1.0\t1.2\t1.1\t5\t0\t1",   # 5: high below low
        "",                                                    # 6: blank
        "2025.03.03\t00:03:00\t1.1\t1.2",                      # 7: cut short
        "2025.03.03\t00:04:00\tabc\t1.2\t1.0\t1.1\t5\t0\t1",   # 8: text for the open
        "2025.13.03\t00:05:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",   # 9: month 13
        "2025.03.03\t00:06:00\t1.3\t1.2\t1.0\t1.1\t5\t0\t1",   # 10: open above the high
        "2025.03.03\t00:07:61\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",   # 11: 61 seconds
        "2025.03.03\t00:08:00\tnan\t1.2\t1.0\t1.1\t5\t0\t1",   # 12: NaN
        "2025.03.03\t00:09:00\t1.1\tinf\t1.0\t1.1\t5\t0\t1",   # 13: infinite
        "2025.03.03\t00:10:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",   # 14: a bar
    ]) + "\r\n")
    s = read_bars(p)
    assert len(s) == 3 and str(s.ledger) == "14 lines: 3 bars, 2 header/blank, 9 rejected"
    reasons = {r.source.row: r.reason for r in s.rejected}
    assert reasons[4] == "same time as the bar on line 3 (duplicate bar)"
    assert reasons[5] == "high 1 is below low 1.2"
    assert reasons[7].startswith("4 fields, expected 9")
    assert reasons[8] == "open 'abc' is not a number"
    assert "month must be in 1..12" in reasons[9]
    assert "outside the bar's low" in reasons[10]
    assert "out of range" in reasons[11]
    assert reasons[12] == "open is not a number (NaN)"
    assert reasons[13] == "a price is infinite"
    assert all(r.source.file == str(p) for r in s.rejected)
    assert s.highs[1] == 1.2  # the first of the duplicates is kept, the second listed, nothing merged


def test_out_of_order_files_are_sorted_and_their_duplicates_rejected(tmp_path):
    p = write(tmp_path, "GBPUSD5.csv", "\n".join([
        "2025.03.03,00:10,1.1,1.2,1.0,1.1,5",
        "2025.03.03,00:00,1.1,1.2,1.0,1.1,5",
        "2025.03.03,00:05,1.1,1.2,1.0,1.1,5",
        "2025.03.03,00:00,1.1,1.25,1.0,1.1,5",
    ]))
    s = read_bars(p)
    assert (s.format, s.symbol, s.bar_seconds, len(s)) == ("mt4", "GBPUSD", 300, 3)
    assert [s.time(i).minute for i in range(3)] == [0, 5, 10]
    assert [(r.source.row, r.reason) for r in s.rejected] == [(4, "same time as the bar on line 2 (duplicate bar)")]


def test_tradingview_unix_seconds_and_naive_times(tmp_path):
    unix = write(tmp_path, "FX_EURUSD, 1.csv", "time,open,high,low,close,Volume\n"
                 "1709251200,1.08,1.09,1.07,1.085,10\n1709251260,1.085,1.086,1.08,1.081,3\n")
    s = read_bars(unix)
    assert (s.time_zone, s.start, s.bar_seconds, s.symbol) == ("UTC", datetime(2024, 3, 1), 60, "EURUSD")
    naive = write(tmp_path, "naive.csv", "time,open,high,low,close\n2024-03-01 09:30:00,10,11,9,10.5\n"
                  "2024-03-01 09:31:00,10,11,9,10.5\n2024-03-01T09:32:00Z,10,11,9,10.5\n")
    s = read_bars(naive, symbol="AAPL")
    assert s.time_zone is None and len(s) == 2 and "mixes times with and without a zone" in s.rejected[0].reason


def test_binance_microseconds_without_header_and_a_time_zone(tmp_path):
    line = "{t},0.5,0.6,0.4,0.55,100,{c},50,10,1,1,0"
    t0 = 1735689600_000_000  # 2025-01-01 00:00 UTC in microseconds
    p = write(tmp_path, "XRPUSDT-1m-2025-01.csv",
              "\n".join(line.format(t=t0 + k * 60_000_000, c=t0 + k * 60_000_000 + 59_999_999) for k in range(3)))
    s = read_bars(p)
    assert (s.format, s.start, s.time_zone, len(s)) == ("binance", datetime(2025, 1, 1), "UTC", 3)
    athens = read_bars(p, tz="Europe/Athens")  # UTC+2 in winter
    assert athens.start == datetime(2025, 1, 1, 2) and athens.time_zone == "Europe/Athens"
    assert "converted from UTC" in athens.time_zone_note
    fixed = read_bars(p, tz="UTC-5")
    assert fixed.start == datetime(2024, 12, 31, 19)


def test_summer_time_is_looked_up_per_hour(tmp_path):
    # 2025-03-30 01:00 UTC: Europe/Athens moves from UTC+2 to UTC+3
    start = int(datetime(2025, 3, 30, 0, 0, tzinfo=timezone.utc).timestamp() * 1000)
    p = write(tmp_path, "BTCUSDT-1h-2025-03.csv",
              "\n".join(f"{start + k * 3_600_000},1,2,0.5,1.5,1,0,0,0,0,0,0" for k in range(3)))
    s = read_bars(p, tz="Europe/Athens")
    assert [s.time(i).hour for i in range(3)] == [2, 4, 5]


def test_the_caller_can_state_a_metatrader_files_zone(tmp_path):
    s = read_bars(MT5, tz="Etc/GMT-3")
    assert s.time_zone == "Etc/GMT-3" and s.start == datetime(2025, 6, 23)  # recorded, times unchanged
    assert "as the caller stated" in s.time_zone_note


def test_utf16_and_a_byte_order_mark(tmp_path):
    text = MT5_HEADER + "2025.03.03\t00:00:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1\r\n2025.03.03\t00:01:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1\r\n"
    assert len(read_bars(write(tmp_path, "EURUSD_M1.csv", text, "utf-16"))) == 2
    assert len(read_bars(write(tmp_path, "EURUSD_M1.csv", "\ufeff" + text))) == 2


def test_daily_metatrader_export_without_a_time_column(tmp_path):
    p = write(tmp_path, "XAUUSD_D1.csv", "<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n"
              "2025.03.03\t2860\t2890\t2850\t2880\t1000\n2025.03.04\t2880\t2920\t2870\t2915\t1000\n")
    s = read_bars(p)
    assert s.bar_seconds == 86400 and s.time(1) == datetime(2025, 3, 4)


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("   \n\n", "the file is empty"),
    ("ticket,symbol,profit\n1,EURUSD,5\n", "not a bar file we know"),
    ("<DATE>\t<TIME>\t<TICKVOL>\n2025.03.03\t00:00\t5\n", "header lacks OPEN, HIGH, LOW, CLOSE"),
    (MT5_HEADER, "no bars: 1 lines, 0 rejected"),
    (MT5_HEADER + "2025.03.03\t00:00:00\t1.1\t1.0\t1.2\t1.1\t5\t0\t1\n", "no bars: 2 lines, 1 rejected (the first, line 2"),
])
def test_files_that_are_not_bars_raise_naming_the_file(tmp_path, text, message):
    p = write(tmp_path, "EURUSD_M1.csv", text)
    with pytest.raises(BarsError, match=re.escape(message)) as info:
        read_bars(p)
    assert str(info.value).startswith(str(p))


def test_other_whole_file_errors(tmp_path):
    with pytest.raises(BarsError, match="cannot open"):
        read_bars(tmp_path / "missing.csv")
    with pytest.raises(BarsError, match="does not say the symbol"):
        read_bars(write(tmp_path, "export.csv", MT5_HEADER + "2025.03.03\t00:00:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1\n"))
    one = write(tmp_path, "EURUSD_M1.csv", MT5_HEADER + "2025.03.03\t00:00:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1\n")
    with pytest.raises(BarsError, match="pass bar_seconds"):
        read_bars(one)
    assert read_bars(one, bar_seconds=60).bar_seconds == 60
    with pytest.raises(BarsError, match="not a time zone"):
        read_bars(one, tz="Mars/Olympus", bar_seconds=60)
    junk = write(tmp_path, "EURUSD1.csv", "2025.03.03,00:00,1,1,1,1,1\n" if False else
                 "".join(f"2025.03.03,00:00,x{k},1,1,1,1\n" for k in range(1_500)))
    with pytest.raises(BarsError, match="the first 1,000 data lines were all rejected"):
        read_bars(junk)


# --- hostile files ------------------------------------------------------------------------------------

HEADS = [MT5_HEADER, "time,open,high,low,close\n", "open_time,open,high,low,close,volume,close_time\n", "",
         "2025.03.03,00:00,1.1,1.2,1.0,1.1,5\n", "1735689600000,1,2,0.5,1.5,1,0,0,0,0,0,0\n"]
CELLS = st.one_of(st.sampled_from(["2025.03.03", "00:00", "00:01:00", "1.1", "1.2", "1.0", "-1", "nan", "inf", "1e400",
                                   "", "2025-03-03T00:00:00+02:00", "1735689600000", "99999999999999999999",
                                   "1735689600", "<DATE>", "2025.02.30", "24:00", "\x00", "é"]),
                  st.text(string.printable, max_size=8))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(HEADS), sep=st.sampled_from(["\t", ",", ";"]),
       rows=st.lists(st.lists(CELLS, min_size=0, max_size=12), max_size=30),
       newline=st.sampled_from(["\n", "\r\n"]), tz=st.sampled_from([None, "UTC", "Europe/Athens", "UTC+3"]))
def test_hostile_files_raise_only_bars_errors_and_every_line_is_accounted_for(tmp_path, head, sep, rows, newline, tz):
    p = tmp_path / "EURUSD_M1.csv"
    p.write_text(head + newline.join(sep.join(r) for r in rows), encoding="utf-8")
    try:
        s = read_bars(p, tz=tz)
    except BarsError:
        return
    assert s.ledger.balanced and s.ledger.bars == len(s) > 0
    assert len(s.rejected) + s.rejected_not_listed == s.ledger.rejected
    assert all(b > a for a, b in zip(s.times, s.times[1:]))
    assert all(lo <= o <= h and lo <= c <= h for o, h, lo, c in zip(s.opens, s.highs, s.lows, s.closes))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_bars_errors(tmp_path, data):
    p = tmp_path / "EURUSD_M1.csv"
    p.write_bytes(data)
    try:
        s = read_bars(p)
    except BarsError:
        return
    assert s.ledger.balanced


# --- statement trades over the real files, checked by hand --------------------------------------------

def trade(symbol, side, entry, opened, closed=None, exit=None, stop=None, tid="1"):
    return Trade(broker="test", trade_id=tid, symbol=symbol, side=side, quantity=1, entry=entry, open_time=opened,
                 close_time=closed, exit=exit if exit is not None else (entry if closed else None), stop=stop,
                 source=SourceRef(file="statement.htm", row=1))


def test_excursions_of_trades_over_a_metatrader_export_by_hand():
    bars = read_bars(MT5)
    long = trade("EURUSD", "long", 1.15000, datetime(2025, 6, 23, 5, 30), datetime(2025, 6, 23, 9, 20), stop=1.14800)
    short = trade("EURUSD.m", "short", 1.15100, datetime(2025, 6, 23, 10, 15), datetime(2025, 6, 23, 11, 45),
                  tid="2")
    got_long, got_short = trade_excursions([long, short], [bars])
    # long: bars 05:00-09:00, lows 1.14920 1.14920 1.14851 1.14903 1.15033, highs up to 1.15208 (09:00).
    # The 03:00 low of 1.14807 is before the open and the 12:00 low of 1.14533 after the close.
    assert got_long.mae == pytest.approx(0.00149) and got_long.mfe == pytest.approx(0.00208)
    assert (got_long.worst_price, got_long.best_price) == (1.14851, 1.15208)
    assert got_long.mae_r == pytest.approx(0.00149 / 0.002) and got_long.mfe_r == pytest.approx(0.00208 / 0.002)
    assert (got_long.first_bar, got_long.last_bar, got_long.bars) == (datetime(2025, 6, 23, 5), datetime(2025, 6, 23, 9), 5)
    assert got_long.coverage == "full" and got_long.same_clock_assumed and got_long.bars_file == str(MT5)
    # short (symbol with a broker suffix): bars 10:00-11:00, highs 1.15160 1.15019, lows 1.14896 1.14800;
    # the 09:00 high of 1.15208 is before its open
    assert got_short.mae == pytest.approx(0.00060) and got_short.mfe == pytest.approx(0.00300)
    assert got_short.bars_symbol == "EURUSD" and got_short.mae_r is None and "stop is required" in got_short.r_note


def test_excursions_over_binance_and_tradingview_files_by_hand():
    algo, btc = read_bars(BINANCE), read_bars(TV_HOURLY)
    # ALGO long 0.3785 from 00:00:20 to 00:04:30 UTC: lows down to 0.3775, highs up to 0.3795
    a = trade("ALGOUSDT", "long", 0.3785, datetime(2025, 2, 1, 0, 0, 20), datetime(2025, 2, 1, 0, 4, 30))
    # BTC short 41700, times with their zone (+09:00): 15:10-17:59 UTC, bars 15:00-17:00 UTC:
    # highs 41860 41673.06 41695.07, lows 41605 41525 41599.39; the 14:00 high 41881.39 precedes the open
    jst = timezone(timedelta(hours=9))
    b = trade("BTC/USDT", "short", 41700.0, datetime(2024, 1, 22, 0, 10, tzinfo=jst),
              datetime(2024, 1, 22, 2, 59, tzinfo=jst), tid="2")
    got_a, got_b = trade_excursions([a, b], {"ALGOUSDT": algo, "BTCUSDT": btc})
    assert got_a.mae == pytest.approx(0.0010) and got_a.mfe == pytest.approx(0.0010) and got_a.bars == 5
    assert got_b.mae == pytest.approx(160.0) and got_b.mfe == pytest.approx(175.0) and got_b.bars == 3
    assert got_b.same_clock_assumed is False and got_b.first_bar == datetime(2024, 1, 21, 15)


def test_trades_the_bars_cannot_place():
    bars = read_bars(MT5)
    aware = datetime(2025, 6, 23, 5, tzinfo=timezone.utc)
    closed_untimed = trade("EURUSD", "long", 1.15, datetime(2025, 6, 23, 5), exit=1.16, tid="6")
    assert closed_untimed.close_time is None and closed_untimed.is_closed
    got, = trade_excursions([closed_untimed], [bars])
    assert got.mae is None and "has no close time" in got.note
    missing, zoned, early, opened, no_time = trade_excursions([
        trade("GBPUSD", "long", 1.3, datetime(2025, 6, 23, 5)),
        trade("EURUSD", "long", 1.15, aware, tid="2"),
        trade("EURUSD", "long", 1.15, datetime(2025, 6, 1), datetime(2025, 6, 2), tid="3"),
        trade("EURUSD", "long", 1.17, datetime(2025, 7, 3, 6, 10), tid="4"),
        trade("EURUSD", "long", 1.17, None, tid="5"),
    ], {"EURUSD": bars})
    assert missing.note == "no bars for GBPUSD" and missing.coverage == "none"
    assert "bars' zone is not stated" in zoned.note and zoned.mae is None
    assert early.coverage == "none" and "do not cover this trade" in early.note
    assert opened.coverage == "full" and opened.last_bar == datetime(2025, 7, 3, 7) and "open trade" in opened.note
    assert no_time.note == "the trade has no open time"


def test_to_seconds_is_the_bars_clock():
    assert to_seconds(datetime(1970, 1, 2)) == 86400
    assert to_seconds(datetime(2025, 2, 1)) == read_bars(BINANCE).times[0]


def test_no_real_statement_is_taken_for_a_bar_file(statements_dir):
    files = [p for p in statements_dir.rglob("*") if p.is_file()]
    assert files
    assert [p for p in files if looks_like_bars(p)] == []
