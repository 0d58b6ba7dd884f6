"""Margin of hedged positions: longs and shorts of one symbol held together, as MetaTrader charges them.

On a hedging account (MetaTrader 4, and MetaTrader 5 with "Hedge" position accounting) a trader may
hold buy and sell positions of the same symbol at once. The broker charges the hedged (covered)
volume -- the smaller of the two legs, ``min(long lots, short lots)`` -- at the symbol's hedged
margin rate instead of the full rate, and the uncovered volume in full. The hedged rate is the
symbol specification's "Hedged margin" (``SYMBOL_MARGIN_HEDGED``, in contract units) divided by the
contract size: 50,000 for a 100,000-unit Forex lot is 50%, MetaTrader's usual setting for Forex,
under which a buy 1 lot / sell 1 lot lock costs the margin of one lot. 0% charges nothing for the
lock, 100% gives no relief. Sources: MetaTrader 5 Help, "Margin requirements: hedged positions"
(the margin of the hedged volume uses MarginHedged; the uncovered volume is charged as a normal
position), and MetaQuotes, "MetaTrader 5 features hedging position accounting system" (mql5.com,
article 2299, 2016).

Units: lots (or any quantity unit, the same for every position of the symbol), margins in the
account currency, rates as fractions (0.5 is 50%).
"""

from __future__ import annotations

from collections.abc import Sequence

import math

from .errors import must


def _check(name: str, value: float, ok: bool, rule: str) -> None:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and ok):
        raise must(name, rule, value)


def hedged_lots(long_lots: float, short_lots: float) -> float:
    """The hedged (covered) volume of one symbol: ``min(long lots, short lots)``, both ≥ 0.

    >>> hedged_lots(0.12, 0.08)
    0.08
    """
    _check("long_lots", long_lots, long_lots >= 0, ">= 0")
    _check("short_lots", short_lots, short_lots >= 0, ">= 0")
    return min(long_lots, short_lots)


def hedged_position_margin(full_margin: float, lots: float, side_lots: float, hedged: float,
                           hedged_rate: float) -> float:
    """The margin one position is charged: its share of its leg's hedged volume at the hedged rate,
    the rest in full: ``full_margin × (1 − hedged / side_lots × (1 − hedged_rate))``.

    ``lots`` is the position's own volume (only checked: it is part of ``side_lots``, the volume of
    all positions of its symbol on its side); ``hedged`` the symbol's :func:`hedged_lots`. Each
    position of a leg carries the same fraction ``hedged / side_lots`` of hedged volume, so the
    symbol's total is ``uncovered lots × margin per lot + hedged lots × 2 × hedged_rate × margin
    per lot`` when both legs have the same margin per lot (a Forex pair: margin in the base
    currency, no price): at 50% the lock costs one leg's margin.

    EURUSD at 1:100 (1,000 EUR a lot): buy 0.10, sell 0.07. The hedged volume is 0.07; the buy
    position's 100 EUR is charged 100 × (1 − 0.07/0.10 × 0.5) = 65, the sell's 70 EUR
    70 × (1 − 0.07/0.07 × 0.5) = 35: 100 EUR together, the margin of 0.03 uncovered lots plus one
    0.07-lot leg.

    >>> round(hedged_position_margin(100, 0.10, 0.10, 0.07, 0.5), 10), hedged_position_margin(70, 0.07, 0.07, 0.07, 0.5)
    (65.0, 35.0)
    """
    _check("full_margin", full_margin, full_margin >= 0, ">= 0")
    _check("hedged_rate", hedged_rate, 0 <= hedged_rate <= 1, "between 0 and 1")
    _check("lots", lots, lots >= 0, ">= 0")
    _check("side_lots", side_lots, side_lots >= lots * (1 - 1e-12), ">= lots")
    _check("hedged", hedged, 0 <= hedged <= side_lots * (1 + 1e-12), "between 0 and side_lots")
    if side_lots == 0:
        return full_margin
    return full_margin * (1 - hedged / side_lots * (1 - hedged_rate))


def hedged_margin(sides: Sequence[int], lots: Sequence[float], full_margins: Sequence[float],
                  hedged_rate: float) -> float:
    """The margin of all positions of ONE symbol: ``sides`` +1 long / -1 short, ``lots`` ≥ 0, each
    position's ``full_margins`` (its margin as if alone); the hedged volume charged at ``hedged_rate``.

    >>> round(hedged_margin([1, -1, 1], [0.06, 0.07, 0.04], [60, 70, 40], 0.5), 10)
    100.0
    >>> hedged_margin([1, -1], [1, 1], [1000, 1000], 1.0)
    2000.0
    """
    if not len(sides) == len(lots) == len(full_margins):
        raise must("sides, lots and full_margins", "of the same length", (len(sides), len(lots), len(full_margins)))
    long_lots = sum(q for s, q in zip(sides, lots) if s > 0)
    short_lots = sum(q for s, q in zip(sides, lots) if s < 0)
    h = hedged_lots(long_lots, short_lots)
    return sum(hedged_position_margin(m, q, long_lots if s > 0 else short_lots, h, hedged_rate)
               for s, q, m in zip(sides, lots, full_margins))
