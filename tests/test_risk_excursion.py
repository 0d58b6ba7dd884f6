"""MAE / MFE, excursions in R and the lowest margin level (addin/risk/excursion.py).

By hand on small series, planted extremes for the edges (before the open, after the close, gaps,
partial coverage, open trades), the many-trade sweep against a naive scan, and the margin level
against the stop-out price at that price.
"""

from __future__ import annotations

import doctest
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin import risk
from addin.risk import NoPrice, RiskInputError, excursion
from addin.risk.excursion import ExcursionTrade, RangeExtremes, excursions


def test_docstring_examples():
    result = doctest.testmod(excursion, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


# --- MAE / MFE by hand ------------------------------------------------------------------------------

LOWS = [1.0990, 1.0950, 1.1010]
HIGHS = [1.1010, 1.1000, 1.1080]


def test_long_and_short_by_hand():
    # long 1.1000: lowest low 1.0950 (50 pips against), highest high 1.1080 (80 pips for)
    assert risk.mae(1, 1.1, LOWS, HIGHS) == pytest.approx(0.0050)
    assert risk.mfe(1, 1.1, LOWS, HIGHS) == pytest.approx(0.0080)
    # short 1.1000 mirrored: 80 pips against, 50 for
    assert risk.mae(-1, 1.1, LOWS, HIGHS) == pytest.approx(0.0080)
    assert risk.mfe(-1, 1.1, LOWS, HIGHS) == pytest.approx(0.0050)


def test_never_against_or_never_for_is_zero_not_negative():
    # a long bought at the low of a rising series: no adverse excursion at all
    assert risk.mae(1, 1.0900, [1.0900, 1.0950], [1.0960, 1.1000]) == 0.0
    # a short sold below every bar: it never showed a profit
    assert risk.mfe(-1, 1.0800, [1.0900, 1.0950], [1.0960, 1.1000]) == 0.0


def test_empty_bars_are_skipped_and_bad_bars_named():
    assert risk.mae(1, 1.1, [None, 1.09, None], [None, 1.11, None]) == pytest.approx(0.01)
    with pytest.raises(RiskInputError, match="lows value 2 is required"):
        risk.mae(1, 1.1, [1.09, None], [1.11, 1.12])
    with pytest.raises(RiskInputError, match=r"highs value 1 must be >= lows value 1, the same bar's low \(got high 1.1, low 1.2\)"):
        risk.mfe(1, 1.1, [1.2], [1.1])
    with pytest.raises(RiskInputError, match="same size"):
        risk.mae(1, 1.1, [1.0, 1.0], [1.2])
    with pytest.raises(RiskInputError, match="at least one bar"):
        risk.mae(1, 1.1, [None], [None])
    with pytest.raises(RiskInputError, match="side must be"):
        risk.mae(0, 1.1, [1.0], [1.2])
    with pytest.raises(RiskInputError, match="entry must be > 0"):
        risk.mfe(1, 0.0, [1.0], [1.2])
    with pytest.raises(RiskInputError, match="lows value 1 must be a number"):
        risk.mae(1, 1.1, [math.nan], [1.2])


# --- in R -------------------------------------------------------------------------------------------

def test_excursion_in_r_and_its_errors():
    assert risk.excursion_r(0.005, 1.1, 1.096, 1) == pytest.approx(1.25)
    assert risk.excursion_r(0.002, 1.1, 1.104, -1) == pytest.approx(0.5)
    assert risk.excursion_r(0.0, 1.1, 1.096, 1) == 0.0
    with pytest.raises(RiskInputError, match="stop is required"):
        risk.excursion_r(0.005, 1.1, None, 1)
    with pytest.raises(RiskInputError, match="profit side"):
        risk.excursion_r(0.005, 1.1, 1.104, 1)  # a long's stop above entry
    with pytest.raises(RiskInputError, match="profit side"):
        risk.excursion_r(0.005, 1.1, 1.096, -1)
    with pytest.raises(RiskInputError, match="distance must be >= 0"):
        risk.excursion_r(-0.001, 1.1, 1.096, 1)
    with pytest.raises(RiskInputError, match="differ from entry"):
        risk.excursion_r(0.001, 1.1, 1.1, 1)


def test_r_matches_r_multiple_at_the_worst_price():
    # MAE in R is minus the R multiple of closing at the worst price (same convention, same stop check)
    entry, stop = 1.1, 1.095
    adverse = risk.mae(1, entry, LOWS, HIGHS)
    assert risk.excursion_r(adverse, entry, stop, 1) == pytest.approx(-risk.r_multiple(1, entry, stop, min(LOWS)))


# --- the lowest margin level against the stop-out price ------------------------------------------------

POSITIONS = [
    # side, entry, quantity, equity, leverage, level, contract, fx, other margin, account_is_base
    (1, 1.1, 1, 1_000, 100, 0.5, 100_000, 1, 0, False),
    (-1, 1.1, 1, 1_000, 100, 0.5, 100_000, 1, 0, False),
    (1, 150.0, 1, 2_000, 100, 0.5, 100_000, 1, 0, True),  # USDJPY in a USD account
    (-1, 150.0, 0.5, 1_500, 30, 0.5, 100_000, 1, 200, True),
    (1, 165.0, 0.3, 3_000, 30, 1.0, 100_000, 1 / 150, 150, False),  # EURJPY in USD at a fixed rate
    (-1, 2_400.0, 2, 5_000, 200, 0.3, 100, 1, 1_000, False),  # gold
]


@pytest.mark.parametrize("side, entry, qty, equity, lev, level, cs, fx, other, base", POSITIONS)
def test_at_the_stop_out_price_the_margin_level_is_the_stop_out_level(side, entry, qty, equity, lev, level, cs,
                                                                        fx, other, base):
    price = risk.stop_out_price(side, entry, qty, equity, lev, level, cs, fx, other, base)
    got = risk.lowest_margin_level(side, entry, price, qty, equity, lev, cs, fx, other, base)
    assert got == pytest.approx(level, rel=1e-9)
    # halfway to the stop-out the level is higher; beyond it, lower
    assert risk.lowest_margin_level(side, entry, (entry + price) / 2, qty, equity, lev, cs, fx, other, base) > level
    beyond = price + (price - entry) * 0.1
    assert risk.lowest_margin_level(side, entry, beyond, qty, equity, lev, cs, fx, other, base) < level


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from([1, -1]), entry=st.floats(0.5, 5_000), qty=st.floats(0.01, 10),
       cushion=st.floats(1.05, 50), lev=st.floats(1, 500), level=st.floats(0.0, 1.5),
       cs=st.sampled_from([1.0, 100.0, 100_000.0]), base=st.booleans())
def test_margin_level_meets_stop_out_price_everywhere(side, entry, qty, cushion, lev, level, cs, base):
    margin = risk.position_margin(qty, entry, lev, cs, 1.0, base)
    equity = margin * cushion
    try:
        price = risk.stop_out_price(side, entry, qty, equity, lev, level, cs, 1.0, 0.0, base)
    except NoPrice:
        return  # never reached: nothing to compare
    got = risk.lowest_margin_level(side, entry, price, qty, equity, lev, cs, 1.0, 0.0, base)
    assert got == pytest.approx(level, rel=1e-7, abs=1e-9)


def test_margin_level_by_hand_and_its_errors():
    # long 1 lot EURUSD 1.1000, $1,000, 1:100; worst 1.0960: equity 1000 - 400 = 600, margin 1096
    assert risk.lowest_margin_level(1, 1.1, 1.096, 1, 1_000, 100, 100_000) == pytest.approx(600 / 1096)
    # at entry it is equity / margin
    assert risk.lowest_margin_level(1, 1.1, 1.1, 1, 1_000, 100, 100_000) == pytest.approx(1000 / 1100)
    # beyond the whole equity the level is negative, not an error
    assert risk.lowest_margin_level(1, 1.1, 1.08, 1, 1_000, 100, 100_000) < 0
    with pytest.raises(RiskInputError, match="adverse_price must be > 0"):
        risk.lowest_margin_level(1, 1.1, 0.0, 1, 1_000, 100, 100_000)
    with pytest.raises(RiskInputError, match="quantity must be a non-zero number"):
        risk.lowest_margin_level(1, 1.1, 1.09, 0, 1_000, 100, 100_000)
    with pytest.raises(RiskInputError, match="fx_rate must be 1"):
        risk.lowest_margin_level(1, 150.0, 149.0, 1, 1_000, 100, 100_000, 0.5, 0, True)


# --- many trades: planted extremes ------------------------------------------------------------------

MINUTE = 60.0


def flat_series(n: int, price: float = 100.0):
    """n minute bars (times 0, 60, ...), all with low price-1 and high price+1."""
    times = [i * MINUTE for i in range(n)]
    return times, [price - 1.0] * n, [price + 1.0] * n


def test_extremes_before_the_open_and_after_the_close_do_not_count():
    times, lows, highs = flat_series(100)
    lows[9], highs[9] = 50.0, 150.0  # minute 9: before the trade
    lows[31], highs[31] = 60.0, 140.0  # minute 31: after the trade
    lows[20], highs[15] = 97.0, 104.0  # inside
    long = ExcursionTrade(1, 100.0, 10 * MINUTE + 5, 30 * MINUTE + 30)  # open in bar 10, close in bar 30
    short = ExcursionTrade(-1, 100.0, 10 * MINUTE + 5, 30 * MINUTE + 30)
    got_long, got_short = excursions([long, short], times, lows, highs, MINUTE)
    assert (got_long.mae, got_long.mfe) == (3.0, 4.0)
    assert (got_short.mae, got_short.mfe) == (4.0, 3.0)
    assert (got_long.worst_price, got_long.best_price) == (97.0, 104.0)
    assert (got_short.worst_price, got_short.best_price) == (104.0, 97.0)
    assert (got_long.first_bar, got_long.last_bar, got_long.bars) == (10, 30, 21)
    assert got_long.coverage == "full" and got_long.entry_in_range


def test_the_open_and_close_bars_count_whole_unless_told_not_to():
    times, lows, highs = flat_series(10)
    lows[2] = 90.0  # the bar the trade opens in (its low may precede the entry)
    highs[5] = 112.0  # the bar the trade closes in (its high may follow the exit)
    trade = ExcursionTrade(1, 100.0, 2 * MINUTE + 30, 5 * MINUTE + 10)
    whole, = excursions([trade], times, lows, highs, MINUTE)
    assert (whole.mae, whole.mfe, whole.first_bar, whole.last_bar) == (10.0, 12.0, 2, 5)
    inner, = excursions([trade], times, lows, highs, MINUTE, edge_bars=False)
    assert (inner.mae, inner.mfe, inner.first_bar, inner.last_bar) == (1.0, 1.0, 3, 4)
    # an open exactly at a bar's start keeps that bar either way
    at_start, = excursions([ExcursionTrade(1, 100.0, 2 * MINUTE, 5 * MINUTE + 10)], times, lows, highs, MINUTE,
                           edge_bars=False)
    assert (at_start.first_bar, at_start.mae) == (2, 10.0)


def test_open_trades_run_to_the_last_bar():
    times, lows, highs = flat_series(50)
    lows[49] = 80.0
    got, = excursions([ExcursionTrade(1, 100.0, 40 * MINUTE)], times, lows, highs, MINUTE)
    assert (got.mae, got.last_bar, got.coverage) == (20.0, 49, "full")
    assert "open trade" in got.note


def test_partial_and_no_coverage():
    times, lows, highs = flat_series(10)
    times = [t + 1_000 * MINUTE for t in times]  # bars from minute 1000 to 1009
    before, after, both, outside, late = excursions([
        ExcursionTrade(1, 100.0, 990 * MINUTE, 1_005 * MINUTE),  # opened 10 minutes before the first bar
        ExcursionTrade(-1, 100.0, 1_005 * MINUTE, 1_020 * MINUTE),  # closed 10 minutes after the last bar ends
        ExcursionTrade(1, 100.0, 995 * MINUTE, 1_011 * MINUTE),
        ExcursionTrade(1, 100.0, 900 * MINUTE, 950 * MINUTE),  # wholly before the bars
        ExcursionTrade(1, 100.0, 1_100 * MINUTE, None),  # opened after the last bar, still open
    ], times, lows, highs, MINUTE)
    assert (before.coverage, before.missing_before, before.missing_after) == ("partial", 600.0, 0.0)
    assert (before.first_bar, before.last_bar) == (0, 5) and "start 600 after the open" in before.note
    assert (after.coverage, after.missing_before, after.missing_after) == ("partial", 0.0, 600.0)
    assert both.coverage == "partial" and both.missing_before == 300.0 and both.missing_after == 60.0
    for none in (outside, late):
        assert none.coverage == "none" and none.mae is None and none.mfe is None and none.bars == 0
        assert "do not cover this trade" in none.note
    assert "before the first bar" in outside.note and "after the last bar" in late.note


def test_a_gap_in_the_series_is_not_missing_coverage():
    # a weekend: bars to minute 10, then from minute 3000
    times = [i * MINUTE for i in range(10)] + [(3_000 + i) * MINUTE for i in range(10)]
    lows = [99.0] * 20
    highs = [101.0] * 20
    lows[12] = 95.0
    across, inside = excursions([ExcursionTrade(1, 100.0, 5 * MINUTE, 3_005 * MINUTE),
                                 ExcursionTrade(1, 100.0, 100 * MINUTE, 200 * MINUTE)], times, lows, highs, MINUTE)
    assert (across.coverage, across.mae, across.first_bar, across.last_bar) == ("full", 5.0, 5, 15)
    # opened and closed inside the gap: no bar, no price traded
    assert inside.coverage == "none" and "between two bars" in inside.note


def test_entry_outside_the_bars_is_flagged():
    times, lows, highs = flat_series(5)
    got, = excursions([ExcursionTrade(1, 150.0, 0.0, 4 * MINUTE)], times, lows, highs, MINUTE)
    assert got.entry_in_range is False and got.mae == 51.0 and got.mfe == 0.0


def test_bad_trades_and_series():
    times, lows, highs = flat_series(5)
    with pytest.raises(RiskInputError, match="closes before it opens"):
        excursions([ExcursionTrade(1, 100.0, 100.0, 50.0)], times, lows, highs, MINUTE)
    with pytest.raises(RiskInputError, match=r"trades\[0\].entry must be > 0"):
        excursions([ExcursionTrade(1, 0.0, 0.0, 50.0)], times, lows, highs, MINUTE)
    with pytest.raises(RiskInputError, match="same length"):
        excursions([], times, lows[:-1], highs, MINUTE)
    with pytest.raises(RiskInputError, match="bar_length must be > 0"):
        excursions([], times, lows, highs, 0.0)
    empty, = excursions([ExcursionTrade(1, 100.0, 0.0, 10.0)], [], [], [], MINUTE)
    assert empty.coverage == "none"


# --- many trades against a naive scan ---------------------------------------------------------------

def naive(trade, times, lows, highs, bar):
    side, entry, opened, closed = trade
    used = [k for k, t in enumerate(times) if t + bar > opened and (closed is None or t <= closed)]
    if not used:
        return None
    lo, hi = min(lows[k] for k in used), max(highs[k] for k in used)
    return (max(0.0, entry - lo), max(0.0, hi - entry)) if side == 1 else (max(0.0, hi - entry), max(0.0, entry - lo))


@pytest.mark.parametrize("seed", range(5))
def test_sweep_equals_a_naive_scan_on_random_series_with_gaps(seed):
    rnd = random.Random(seed)
    times, t = [], 0.0
    for _ in range(3_000):
        t += MINUTE if rnd.random() > 0.02 else MINUTE * rnd.randint(2, 500)  # gaps now and then
        times.append(t)
    mids = [100.0]
    for _ in range(len(times) - 1):
        mids.append(mids[-1] + rnd.gauss(0, 0.3))
    lows = [m - rnd.random() for m in mids]
    highs = [m + rnd.random() for m in mids]
    trades = []
    for _ in range(300):
        opened = rnd.uniform(-10_000, times[-1] + 10_000)
        closed = None if rnd.random() < 0.1 else opened + rnd.expovariate(1 / 20_000)
        trades.append(ExcursionTrade(rnd.choice((1, -1)), rnd.uniform(90, 110), opened, closed))
    extremes = RangeExtremes(lows, highs, block=16)  # small blocks: the block path runs often
    for trade, got in zip(trades, excursions(trades, times, lows, highs, MINUTE, extremes=extremes)):
        want = naive(trade, times, lows, highs, MINUTE)
        if want is None:
            assert got.coverage == "none"
        else:
            assert (got.mae, got.mfe) == pytest.approx(want, abs=0), trade


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), block=st.integers(1, 9), data=st.data())
def test_range_extremes_equal_min_and_max(values, block, data):
    highs = [v + 1 for v in values]
    ex = RangeExtremes(values, highs, block)
    i = data.draw(st.integers(0, len(values) - 1))
    j = data.draw(st.integers(i, len(values) - 1))
    assert ex.lowest(i, j) == min(values[i:j + 1])
    assert ex.highest(i, j) == max(highs[i:j + 1])
