"""How far a trade went against and for the trader while it was open, and how close that came to
the stop-out: maximum adverse and favourable excursion (MAE / MFE) over price bars, and the margin
level at the worst price.

MAE and MFE are the measures of John Sweeney, "Maximum Adverse Excursion: Analyzing Price
Fluctuations for Trading Management" (Wiley): the largest open loss and the largest open profit a
trade showed before it was closed, read from the highs and lows of the bars it lived through. The
formulas below are the usual statement of them (e.g. Analyzing Alpha, "Maximum Adverse Excursion",
https://analyzingalpha.com/maximum-adverse-excursion: entry minus the lowest low for a long, the
highest high minus entry for a short, zero when price never went against the trade). Here both are positive price distances in the instrument's quote currency (0 when price
never moved that way); ``excursion_r`` puts them in units of the initial risk and
``lowest_margin_level`` turns the worst price into the margin level the account showed there, by the
same margin model as the stop-out price (:mod:`addin.risk.margin_models`).

``excursions`` computes MAE and MFE for many trades over one time-sorted bar series at once: each
trade finds its first and last bar by binary search, and the lowest low / highest high between them
comes from per-block minima and maxima (blocks of :data:`EXTREME_BLOCK` bars), so a year of minute
bars and ten thousand trades cost a fraction of a second. Times are plain numbers on one clock
(seconds, e.g. ``calendar.timegm`` of the bars' and the trades' wall-clock times in one zone).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from .errors import RiskInputError, must
from .margin_models import open_profit, position_margin
from .sizing import _risk_distance

_EXC_INF = math.inf

#: Bars per block of the range-extreme index used by :func:`excursions`.
EXTREME_BLOCK = 256


def _exc_side(side: int) -> None:
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")


def _exc_extremes(lows: Sequence[float | None], highs: Sequence[float | None]) -> tuple[float, float]:
    """(lowest low, highest high) of the bars; a bar whose low and high are both empty is skipped."""
    if len(lows) != len(highs):
        raise RiskInputError(f"lows and highs must be ranges of the same size (got {len(lows)} and {len(highs)} cells)")
    lowest, highest = _EXC_INF, -_EXC_INF
    count = 0
    for i, (low, high) in enumerate(zip(lows, highs), start=1):
        if low is None and high is None:
            continue
        for name, v in (("lows", low), ("highs", high)):
            if v is None:
                raise RiskInputError(f"{name} value {i} is required (the bar has its other price)")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise RiskInputError(f"{name} value {i} must be a number (got {v!r})")
        if high < low:
            raise RiskInputError(f"highs value {i} must be >= lows value {i}, the same bar's low "
                                 f"(got high {float(high):.10g}, low {float(low):.10g})")
        count += 1
        if low < lowest:
            lowest = float(low)
        if high > highest:
            highest = float(high)
    if count == 0:
        raise RiskInputError("lows and highs must hold at least one bar (all cells are empty)")
    return lowest, highest


def _exc_entry(entry: float) -> None:
    if not 0 < entry < _EXC_INF:
        raise must("entry", "> 0", entry)


def mae(side: int, entry: float, lows: Sequence[float | None], highs: Sequence[float | None]) -> float:
    """Maximum adverse excursion: the largest distance price went against the position over the
    bars, a positive price distance (quote currency), 0 when it never went against it.

        long:  max(0, entry − min(lows))
        short: max(0, max(highs) − entry)

    (Sweeney, "Maximum Adverse Excursion".) ``lows`` and ``highs`` are the bars from the
    trade's open to its close, same length; a bar with both cells empty is skipped.

    Long at 1.1000; the bars went down to 1.0950 and up to 1.1080: 50 pips against.

    >>> round(mae(1, 1.1, [1.0990, 1.0950, 1.1010], [1.1010, 1.1000, 1.1080]), 6)
    0.005
    """
    _exc_side(side)
    _exc_entry(entry)
    lowest, highest = _exc_extremes(lows, highs)
    return max(0.0, entry - lowest) if side == 1 else max(0.0, highest - entry)


def mfe(side: int, entry: float, lows: Sequence[float | None], highs: Sequence[float | None]) -> float:
    """Maximum favourable excursion: the largest distance price went in the position's favour over
    the bars, a positive price distance (quote currency), 0 when it never did.

        long:  max(0, max(highs) − entry)
        short: max(0, entry − min(lows))

    (Sweeney, as :func:`mae`.) Same bars as :func:`mae`.

    The long of the :func:`mae` example was 80 pips in profit at best:

    >>> round(mfe(1, 1.1, [1.0990, 1.0950, 1.1010], [1.1010, 1.1000, 1.1080]), 6)
    0.008
    """
    _exc_side(side)
    _exc_entry(entry)
    lowest, highest = _exc_extremes(lows, highs)
    return max(0.0, highest - entry) if side == 1 else max(0.0, entry - lowest)


def excursion_r(distance: float, entry: float, stop: float | None, side: int) -> float:
    """An excursion (from :func:`mae` or :func:`mfe`) in units of the initial risk:
    ``distance / abs(entry − stop)``, a positive number (an MAE of 0.5 R went half-way to the stop;
    above 1 R price went beyond it).

    As :func:`addin.risk.sizing.r_multiple`, the stop must be on the losing side of entry (below a
    long's, above a short's); a trade without a stop (None) has no initial risk to count in: both
    raise RiskInputError.

    Long at 1.1000 with its stop at 1.0960: an MAE of 50 pips is 1.25 R.

    >>> round(excursion_r(0.005, 1.1, 1.096, 1), 6)
    1.25
    """
    if stop is None:
        raise RiskInputError("stop is required: a trade without a stop has no initial risk to measure "
                             "the excursion in R")
    if not 0 <= distance < _EXC_INF:
        raise must("distance", ">= 0 (a price distance)", distance)
    return distance / _risk_distance(side, entry, stop)


def lowest_margin_level(side: int, entry: float, adverse_price: float, quantity: float, equity: float,
                        leverage: float, contract_size: float = 1.0, fx_rate: float = 1.0,
                        other_margin: float = 0.0, account_is_base: bool = False) -> float:
    """The account's margin level at the trade's worst price, as a fraction (2.65 is 265%):

        (equity + profit(adverse_price)) / (margin(adverse_price) + other_margin)

    with profit and margin by the position's margin model (:mod:`addin.risk.margin_models`: quote
    kind, margin revalued at the price; base kind, ``account_is_base`` TRUE, margin constant and
    profit converted at 1/price), exactly as :func:`addin.risk.moves.stop_out_price` solves it, so at
    the stop-out price this is the stop-out level. ``equity`` is the account equity with the position
    just opened (no P/L yet), ``other_margin`` the margin of the other open positions, both account
    currency; ``adverse_price`` the worst price the trade saw (entry − MAE for a long, entry + MAE for
    a short). The result may be negative: the loss exceeded the equity.

    1 lot EUR/USD long at 1.1000, 1:100, $1,000 equity; the worst price was 1.0960 (−$400 open,
    $1,096 margin): 54.7%.

    >>> round(lowest_margin_level(1, 1.1, 1.096, 1, 1_000, 100, 100_000), 4)
    0.5474
    """
    _exc_side(side)
    _exc_entry(entry)
    if not 0 < adverse_price < _EXC_INF:
        raise must("adverse_price", "> 0", adverse_price)
    if not -_EXC_INF < quantity < _EXC_INF or quantity == 0:
        raise must("quantity", "a non-zero number", quantity)
    if not -_EXC_INF < equity < _EXC_INF:
        raise must("equity", "a finite number", equity)
    if not 0 <= other_margin < _EXC_INF:
        raise must("other_margin", ">= 0", other_margin)
    used = position_margin(quantity, adverse_price, leverage, contract_size, fx_rate, account_is_base) + other_margin
    return (equity + open_profit(side, entry, adverse_price, quantity, contract_size, fx_rate, account_is_base)) / used


# --- Many trades over one bar series ---------------------------------------------------------------

class ExcursionTrade(NamedTuple):
    """One trade for :func:`excursions`: ``side`` +1/−1, ``entry`` price, ``open_time`` and
    ``close_time`` on the bars' clock (``close_time`` None: still open, runs to the last bar)."""

    side: int
    entry: float
    open_time: float
    close_time: float | None = None


class Excursion(NamedTuple):
    """What :func:`excursions` found for one trade.

    ``mae`` / ``mfe`` are price distances (quote currency) as :func:`mae` / :func:`mfe` define them,
    ``worst_price`` / ``best_price`` the lowest low and highest high (long) or highest high and lowest
    low (short) over the bars used; all four None when no bar covers the trade. ``coverage`` is
    "full", "partial" (the series starts after the open or ends before the close: ``missing_before``
    / ``missing_after`` say by how much, in the clock's unit) or "none". ``first_bar`` / ``last_bar``
    are the indices of the bars used (None with coverage "none"); ``bars`` their count.
    ``entry_in_range`` is False when the entry lies outside the bars' low-high range (bars of another
    symbol, zone or price side: bid bars against an ask fill differ by the spread). ``note`` says in
    words what a partial or missing coverage means.
    """

    mae: float | None
    mfe: float | None
    worst_price: float | None
    best_price: float | None
    coverage: str
    missing_before: float
    missing_after: float
    first_bar: int | None
    last_bar: int | None
    bars: int
    entry_in_range: bool | None
    note: str


class RangeExtremes:
    """Lowest low and highest high over any run of bars ``[i, j]``: per-block minima and maxima
    (``block`` bars a block) so a query reads at most two partial blocks and the block table, in C
    (``min``/``max`` over array slices). Building it is one pass; memory 2 × n / block floats."""

    __slots__ = ("lows", "highs", "block", "block_lows", "block_highs")

    def __init__(self, lows: Sequence[float], highs: Sequence[float], block: int = EXTREME_BLOCK):
        if len(lows) != len(highs):
            raise RiskInputError(f"lows and highs must have the same length (got {len(lows)} and {len(highs)})")
        if block < 1:
            raise must("block", ">= 1", block)
        self.lows = lows if isinstance(lows, array) else array("d", lows)
        self.highs = highs if isinstance(highs, array) else array("d", highs)
        self.block = block
        n = len(self.lows)
        self.block_lows = array("d", (min(self.lows[k:k + block]) for k in range(0, n - n % block, block)))
        self.block_highs = array("d", (max(self.highs[k:k + block]) for k in range(0, n - n % block, block)))

    def lowest(self, i: int, j: int) -> float:
        """min(lows[i..j]), both ends included (0 <= i <= j < n)."""
        b = self.block
        first, last = -(-i // b), (j + 1) // b  # whole blocks first..last-1
        if last - first < 2:
            return min(self.lows[i:j + 1])
        return min(min(self.lows[i:first * b] or (_EXC_INF,)), min(self.block_lows[first:last]),
                   min(self.lows[last * b:j + 1] or (_EXC_INF,)))

    def highest(self, i: int, j: int) -> float:
        """max(highs[i..j]), both ends included (0 <= i <= j < n)."""
        b = self.block
        first, last = -(-i // b), (j + 1) // b
        if last - first < 2:
            return max(self.highs[i:j + 1])
        return max(max(self.highs[i:first * b] or (-_EXC_INF,)), max(self.block_highs[first:last]),
                   max(self.highs[last * b:j + 1] or (-_EXC_INF,)))


def excursions(trades: Sequence[ExcursionTrade], times: Sequence[float], lows: Sequence[float],
               highs: Sequence[float], bar_length: float, edge_bars: bool = True,
               extremes: RangeExtremes | None = None) -> list[Excursion]:
    """MAE and MFE of each trade over one bar series, in the trades' order.

    ``times`` are the bars' start times, strictly increasing, on the trades' clock; a bar covers
    ``[time, time + bar_length)``. A trade uses the bars from the one containing its open time (or
    the first after it, when the open falls in a gap) to the last one starting at or before its
    close time; an open trade (close_time None) runs to the last bar. Extremes before the open or
    after the close do not count.

    The edge bars: with ``edge_bars`` True (default) the bar containing the open and the bar
    containing the close count whole, so their highs and lows may come from before the entry or
    after the exit within that bar: MAE and MFE are then at most one bar's range too large at each
    end, never too small (no excursion inside the trade is missed). With ``edge_bars`` False those two
    bars are left out (except an open exactly at a bar's start): a lower bound that may miss the
    excursion of the first and last bar. Minute bars keep the difference small.

    Coverage compares the trade with the series as a whole: "partial" when the first bar starts
    after the open or the last bar ends before the close (``missing_before`` / ``missing_after``),
    "none" when no bar lies between open and close. Gaps inside the series (weekends, minutes
    without ticks) are not missing data: no price traded there.

    ``extremes`` may pass a :class:`RangeExtremes` already built for these lows and highs (it is
    built here otherwise). Complexity: O(n / block) to build, O(log n + block + n / block) per trade.

    Two bars of 60 s; a long opened at 30 s into the first bar and still open:

    >>> [round(v, 4) for v in excursions([ExcursionTrade(1, 1.10, 30.0)], [0.0, 60.0], [1.09, 1.095],
    ...                                   [1.105, 1.12], 60.0)[0][:2]]
    [0.01, 0.02]
    """
    n = len(times)
    if not (len(lows) == len(highs) == n):
        raise RiskInputError(f"times, lows and highs must have the same length (got {n}, {len(lows)} and {len(highs)})")
    if not 0 < bar_length < _EXC_INF:
        raise must("bar_length", "> 0", bar_length)
    if extremes is None:
        extremes = RangeExtremes(lows, highs)
    out: list[Excursion] = []
    if n == 0:
        start = end = math.nan
    else:
        start, end = times[0], times[-1] + bar_length
    for k, trade in enumerate(trades):
        side, entry, opened, closed = trade
        _exc_side(side)
        if not 0 < entry < _EXC_INF:
            raise must(f"trades[{k}].entry", "> 0", entry)
        if closed is not None and closed < opened:
            raise RiskInputError(f"trades[{k}] closes before it opens ({closed!r} < {opened!r})")
        if n == 0:
            out.append(Excursion(None, None, None, None, "none", 0.0, 0.0, None, None, 0, None,
                                 "the bar series is empty"))
            continue
        i = bisect_right(times, opened) - 1
        if i < 0 or times[i] + bar_length <= opened or (not edge_bars and times[i] < opened):
            i += 1
        if closed is None:
            j = n - 1
        else:
            j = bisect_right(times, closed) - 1
            if not edge_bars and j >= 0 and times[j] + bar_length > closed:
                j -= 1  # the bar containing the close runs past it
        missing_before = max(0.0, start - opened)
        missing_after = 0.0 if closed is None else max(0.0, closed - end)
        if i > j:
            where = ("before the first bar" if closed is not None and closed < start else
                     "after the last bar" if opened >= end else "between two bars")
            out.append(Excursion(None, None, None, None, "none", missing_before, missing_after, None, None, 0, None,
                                 f"the bars do not cover this trade: it lies {where}"))
            continue
        lowest, highest = extremes.lowest(i, j), extremes.highest(i, j)
        if side == 1:
            adverse, favourable, worst, best = entry - lowest, highest - entry, lowest, highest
        else:
            adverse, favourable, worst, best = highest - entry, entry - lowest, highest, lowest
        partial = missing_before > 0 or missing_after > 0
        notes = []
        if missing_before > 0:
            notes.append(f"the bars start {missing_before:g} after the open")
        if missing_after > 0:
            notes.append(f"the bars end {missing_after:g} before the close")
        if closed is None:
            notes.append("open trade: up to the last bar")
        out.append(Excursion(max(0.0, adverse), max(0.0, favourable), worst, best, "partial" if partial else "full",
                             missing_before, missing_after, i, j, j - i + 1, lowest <= entry <= highest,
                             "; ".join(notes)))
    return out
