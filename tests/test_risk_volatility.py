"""ATR and ATR_STOP: Wilder's average true range against a published worked example on a real price
series, and against a straightforward independent implementation; the stop it implies."""

from __future__ import annotations

import math

import pytest

import addin.udfs as udfs
from addin import risk
from addin.risk import NoPrice, RiskInputError

# StockCharts ChartSchool, "Average True Range (ATR)": the worked example spreadsheet (QQQ daily
# bars, April-May 2010) with its TR and 14-day ATR columns, as published in
# https://school.stockcharts.com/doku.php?id=technical_indicators:average_true_range_atr
# (the table is also kept as test data by the `ta` library: bukosabino/ta test/data/cs-atr.csv).
# date, high, low, close, TR, ATR (None before the 14th bar)
STOCKCHARTS_QQQ = [
    ("2010-04-01", 48.70, 47.79, 48.16, 0.91, None),
    ("2010-04-05", 48.72, 48.14, 48.61, 0.58, None),
    ("2010-04-06", 48.90, 48.39, 48.75, 0.51, None),
    ("2010-04-07", 48.87, 48.37, 48.63, 0.50, None),
    ("2010-04-08", 48.82, 48.24, 48.74, 0.58, None),
    ("2010-04-09", 49.05, 48.635, 49.03, 0.415, None),
    ("2010-04-12", 49.20, 48.94, 49.07, 0.26, None),
    ("2010-04-13", 49.35, 48.86, 49.32, 0.49, None),
    ("2010-04-14", 49.92, 49.50, 49.91, 0.60, None),
    ("2010-04-15", 50.19, 49.87, 50.13, 0.32, None),
    ("2010-04-16", 50.12, 49.20, 49.53, 0.93, None),
    ("2010-04-19", 49.66, 48.90, 49.50, 0.76, None),
    ("2010-04-20", 49.88, 49.43, 49.75, 0.45, None),
    ("2010-04-21", 50.19, 49.725, 50.03, 0.465, 0.555),
    ("2010-04-22", 50.36, 49.26, 50.31, 1.10, 0.5939285714),
    ("2010-04-23", 50.57, 50.09, 50.52, 0.48, 0.5857908163),
    ("2010-04-26", 50.65, 50.30, 50.41, 0.35, 0.5689486152),
    ("2010-04-27", 50.43, 49.21, 49.34, 1.22, 0.6154522855),
    ("2010-04-28", 49.63, 48.98, 49.37, 0.65, 0.6179199794),
    ("2010-04-29", 50.33, 49.61, 50.23, 0.96, 0.6423542666),
    ("2010-04-30", 50.29, 49.20, 49.2375, 1.09, 0.6743289618),
    ("2010-05-03", 50.17, 49.43, 49.93, 0.9325, 0.6927697503),
    ("2010-05-04", 49.32, 48.08, 48.43, 1.85, 0.7754290538),
    ("2010-05-05", 48.50, 47.64, 48.18, 0.86, 0.7814698357),
    ("2010-05-06", 48.3201, 41.55, 46.57, 6.7701, 1.209229133),
    ("2010-05-07", 46.80, 44.2833, 45.41, 2.5167, 1.302619909),
    ("2010-05-10", 47.80, 47.31, 47.77, 2.39, 1.380289916),
    ("2010-05-11", 48.39, 47.20, 47.72, 1.19, 1.366697779),
    ("2010-05-12", 48.66, 47.90, 48.62, 0.94, 1.336219366),
    ("2010-05-13", 48.79, 47.7301, 47.85, 1.0599, 1.316482269),
]
HIGHS = [r[1] for r in STOCKCHARTS_QQQ]
LOWS = [r[2] for r in STOCKCHARTS_QQQ]
CLOSES = [r[3] for r in STOCKCHARTS_QQQ]


def column(values):
    return [[v] for v in values]


def test_true_ranges_match_the_stockcharts_table():
    assert risk.true_ranges(HIGHS, LOWS, CLOSES) == pytest.approx([r[4] for r in STOCKCHARTS_QQQ], abs=1e-9)


def test_atr_matches_the_stockcharts_table_at_every_bar():
    for i, row in enumerate(STOCKCHARTS_QQQ):
        if row[5] is None:
            continue
        n = i + 1
        got = risk.atr(HIGHS[:n], LOWS[:n], CLOSES[:n], 14)
        assert got == pytest.approx(row[5], rel=1e-9), row[0]


def test_the_excel_function_on_the_table_with_empty_rows_below_it():
    # a trader selects more rows than the data holds: the empty bars at the end are skipped
    got = udfs.ATR(column(HIGHS + [None, None]), column(LOWS + [None, None]), column(CLOSES + ["", None]))
    assert got == pytest.approx(1.316482269, rel=1e-9)
    assert udfs.ATR(column(HIGHS), column(LOWS), column(CLOSES), 14) == got
    assert udfs.ATR([HIGHS], [LOWS], [CLOSES]) == got  # bars in a row work as well


def test_first_atr_is_the_plain_mean_of_the_first_period_true_ranges():
    # 21-Apr-2010: (0.91 + 0.58 + ... + 0.465) / 14 = 7.77 / 14 = 0.555
    assert risk.atr(HIGHS[:14], LOWS[:14], CLOSES[:14]) == pytest.approx(0.555, abs=1e-12)
    # one bar later: (0.555 x 13 + 1.10) / 14
    assert risk.atr(HIGHS[:15], LOWS[:15], CLOSES[:15]) == pytest.approx((0.555 * 13 + 1.10) / 14, abs=1e-12)


def wilder_atr_reference(bars, period):
    """An independent, deliberately plain implementation: Wilder's smoothing is an exponential
    average with alpha = 1/period seeded with the simple mean of the first period true ranges."""
    trs = []
    for i, (h, lo, _c) in enumerate(bars):
        if i == 0:
            trs.append(h - lo)
        else:
            prev_close = bars[i - 1][2]
            trs.append(max(h, prev_close) - min(lo, prev_close))  # the range stretched to the prior close
    value = sum(trs[:period]) / period
    alpha = 1 / period
    for tr in trs[period:]:
        value = value + alpha * (tr - value)
    return value


def deterministic_bars(n):
    """A price path with trends, gaps and quiet spells, the same on every run."""
    bars, close, seed = [], 100.0, 12345
    for i in range(n):
        seed = (1103515245 * seed + 12345) % 2**31
        u = seed / 2**31
        gap = (u - 0.5) * (3.0 if i % 17 == 0 else 0.6)
        open_ = close + gap
        drift = math.sin(i / 9) * 0.8
        close_new = open_ + drift * (0.5 + u)
        high = max(open_, close_new) + 0.3 * u
        low = min(open_, close_new) - 0.3 * (1 - u)
        bars.append((high, low, close_new))
        close = close_new
    return bars


@pytest.mark.parametrize("period", [1, 5, 14, 50])
def test_atr_equals_an_independent_implementation_on_a_long_series(period):
    bars = deterministic_bars(400)
    got = risk.atr([b[0] for b in bars], [b[1] for b in bars], [b[2] for b in bars], period)
    assert got == pytest.approx(wilder_atr_reference(bars, period), rel=1e-12)


def test_a_gap_counts_from_the_previous_close():
    # closed at 9.5, next bar trades 12.0-12.5: the true range is 12.5 - 9.5 = 3, not 0.5
    assert risk.true_ranges([10.0, 12.5], [9.0, 12.0], [9.5, 12.2]) == [1.0, 3.0]


def test_bad_bars_are_messages_naming_the_argument_and_bar():
    assert udfs.ATR([[10.0], [11.0]], [[9.0], [None]], [[9.5], [10.5]], 1) == \
        "lows value 2 is required (the bar has its other prices)"
    assert udfs.ATR([[10.0], [9.0]], [[9.0], [9.5]], [[9.5], [9.2]], 1) == \
        "highs value 2 must be >= the bar's low 9.5 (got 9)"
    assert udfs.ATR([[10.0], [11.0]], [[9.0]], [[9.5], [10.5]], 1) == \
        "highs, lows and closes must be ranges of the same size (got 2, 1 and 2 cells)"
    assert udfs.ATR(column(HIGHS[:10]), column(LOWS[:10]), column(CLOSES[:10])) == \
        "period is 14 bars: highs, lows and closes must hold at least 14 (they hold 10)"
    assert udfs.ATR(column(HIGHS), column(LOWS), column(CLOSES), 2.5) == \
        "period must be a whole number of bars >= 1 (got 2.5)"
    assert udfs.ATR(column(HIGHS), column(LOWS), column(CLOSES), [[14.0], [5.0]]) == \
        "period must be a single cell (got 2×1 cells)"
    assert udfs.ATR([[10.0], ["#N/A"]], [[9.0], [9.0]], [[9.5], [9.5]], 1) == "highs value 2 is an Excel error (#N/A)"


# --- ATR_STOP ------------------------------------------------------------------------------------

def test_atr_stop_long_below_short_above():
    # EURUSD at 1.1000, ATR 60 pips: two ATRs is 120 pips
    assert risk.atr_stop(1, 1.1, 0.006) == pytest.approx(1.088)
    assert risk.atr_stop(-1, 1.1, 0.006) == pytest.approx(1.112)
    assert risk.atr_stop(1, 50.31, 0.5939285714, 3) == pytest.approx(50.31 - 3 * 0.5939285714)


def test_atr_stop_in_excel_spills_over_a_column_of_sides():
    got = udfs.ATR_STOP([["long"], ["sell"], ["up"]], 1.1, 0.006)
    assert got[0][0] == pytest.approx(1.088) and got[1][0] == pytest.approx(1.112)
    assert got[2][0] == "side must be long/buy, short/sell, 1 or -1 (got 'up')"


def test_a_long_stop_at_or_below_zero_does_not_exist():
    with pytest.raises(NoPrice):
        risk.atr_stop(1, 1.0, 0.5)
    assert udfs.ATR_STOP("long", 1.0, 0.6) == "no stop: 2 ATR below entry is at or below 0 (-0.2)"
    assert udfs.ATR_STOP("short", 1.0, 0.6) == pytest.approx(2.2)  # a short's stop above is always a price
    with pytest.raises(RiskInputError):
        risk.atr_stop(1, 1.0, 0.0)


def test_metatraders_simple_average_is_not_wilders_atr():
    # MetaTrader's built-in ATR (MetaQuotes' ATR.mq5) averages the last `period` true ranges; after the
    # 6-May-2010 spike on the StockCharts table it stands 24% above Wilder's smoothed value
    trs = risk.true_ranges(HIGHS, LOWS, CLOSES)
    simple = sum(trs[-14:]) / 14
    assert simple == pytest.approx(1.627086, abs=1e-6)
    assert simple / risk.atr(HIGHS, LOWS, CLOSES) - 1 == pytest.approx(0.236, abs=0.001)
