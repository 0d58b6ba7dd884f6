"""Volatility: how far a market moves in a bar (Wilder's average true range), and the stop it implies.

Prices are in the instrument's quote currency; the ATR is in the same unit as the prices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import NoPrice, RiskInputError, must

_ATR_SIDES = (1, -1)


def _bars(highs: Sequence[float | None], lows: Sequence[float | None],
          closes: Sequence[float | None]) -> list[tuple[float, float, float]]:
    """(high, low, close) per bar in order; a bar whose three cells are empty is skipped."""
    if not len(highs) == len(lows) == len(closes):
        raise RiskInputError(f"highs, lows and closes must be ranges of the same size "
                             f"(got {len(highs)}, {len(lows)} and {len(closes)} cells)")
    names = ("highs", "lows", "closes")
    out = []
    for i, bar in enumerate(zip(highs, lows, closes), start=1):
        if all(v is None for v in bar):
            continue
        for name, v in zip(names, bar):
            if v is None:
                raise RiskInputError(f"{name} value {i} is required (the bar has its other prices)")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise RiskInputError(f"{name} value {i} must be a number (got {v!r})")
        high, low, close = (float(v) for v in bar)
        if high < low:
            raise must(f"highs value {i}", f">= the bar's low {low:.10g}", high)
        out.append((high, low, close))
    return out


def true_ranges(highs: Sequence[float | None], lows: Sequence[float | None],
                closes: Sequence[float | None]) -> list[float]:
    """Wilder's true range of each bar: ``max(high − low, abs(high − previous close), abs(low −
    previous close))``; the first bar, with no previous close, ``high − low``. Price units.

    The second bar gaps up past the first close: its true range reaches down to that close.

    >>> true_ranges([10.0, 12.5], [9.0, 12.0], [9.5, 12.2])
    [1.0, 3.0]
    """
    out = []
    previous = None
    for high, low, close in _bars(highs, lows, closes):
        if previous is None:
            out.append(high - low)
        else:
            out.append(max(high - low, abs(high - previous), abs(low - previous)))
        previous = close
    return out


def atr(highs: Sequence[float | None], lows: Sequence[float | None], closes: Sequence[float | None],
        period: float = 14) -> float:
    """Wilder's average true range at the last bar, in price units.

    The first ATR is the mean of the first ``period`` true ranges; each later bar smooths:
    ``ATR = (previous ATR × (period − 1) + TR) / period``. Source: J. Welles Wilder, *New Concepts
    in Technical Trading Systems* (1978); StockCharts ChartSchool "Average True Range (ATR)" (its
    worked QQQ table is in the tests); the same as TradingView's ``ta.atr``. MetaTrader's built-in
    ATR differs: it is the simple mean of the last ``period`` true ranges (MetaQuotes' ATR.mq5), so
    it reacts faster: on the StockCharts table its last value is 1.627 against Wilder's 1.316 (+24%).
    Needs at least ``period`` bars.

    Three bars, period 2: TRs 1, 3, 2; first ATR (1 + 3) / 2 = 2; then (2 × 1 + 2) / 2 = 2.

    >>> atr([10.0, 12.5, 12.4], [9.0, 12.0, 10.4], [9.5, 12.2, 11.0], period=2)
    2.0
    """
    if not (1 <= period < math.inf and float(period).is_integer()):
        raise must("period", "a whole number of bars >= 1", period)
    n = int(period)
    trs = true_ranges(highs, lows, closes)
    if len(trs) < n:
        raise RiskInputError(f"period is {n} bars: highs, lows and closes must hold at least {n} "
                             f"(they hold {len(trs)})")
    value = math.fsum(trs[:n]) / n
    for tr in trs[n:]:
        value = (value * (n - 1) + tr) / n
    return value


def atr_stop(side: int, entry: float, atr: float, multiple: float = 2.0) -> float:
    """Volatility stop: ``entry − side × multiple × atr`` (a long's stop below entry, a short's above).

    Price units (quote currency). A long whose stop would be at or below 0 has no such stop.
    Source: the ATR stop of Wilder's volatility system and Chuck LeBeau's chandelier exit, placed
    here from the entry price.

    A long at 1.1000 with an ATR of 0.0060 and the usual 2 ATRs: 1.0880; a short: 1.1120.

    >>> round(atr_stop(1, 1.1, 0.006), 4), round(atr_stop(-1, 1.1, 0.006), 4)
    (1.088, 1.112)
    """
    if side not in _ATR_SIDES:
        raise must("side", "long/buy, short/sell, 1 or -1", side)
    if not 0 < entry < math.inf:
        raise must("entry", "> 0", entry)
    if not 0 < atr < math.inf:
        raise must("atr", "> 0", atr)
    if not 0 < multiple < math.inf:
        raise must("multiple", "> 0", multiple)
    stop = entry - side * multiple * atr
    if stop <= 0:
        raise NoPrice(f"no stop: {multiple:.10g} ATR below entry is at or below 0 ({stop:.10g})")
    return stop
