"""Statistics of a trading journal: what a column of closed trades says about the trader's edge.

The arguments are columns of numbers as a journal holds them (one value per closed trade, money or
R multiples); ``None`` stands for an empty cell and is skipped, as Excel's AVERAGE skips empty
cells. A trade with a P/L of exactly 0 is a scratch: neither a win nor a loss.

Win rate, profit factor, payoff ratio and expectancy are the figures trade journals lead with
(TraderSync, Edgewonk, Tradervue); SQN is Van K. Tharp's System Quality Number; the Kelly fraction
and the risk of ruin turn a win rate and a payoff ratio into a bet size and a probability of
losing a given number of risk units.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .errors import RiskInputError, must

_SQN_TRADES_CAP = 100  # Tharp: beyond 100 trades the square root inflates SQN; count at most 100
_RUIN_BISECTIONS = 200  # halvings of the root bracket: far more than the 53 bits of a float need


def _journal_numbers(name: str, values: Iterable[float | None]) -> list[float]:
    """The numbers of a column with its empty cells (None) left out; an error when none is left."""
    out = []
    for i, v in enumerate(values, start=1):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise RiskInputError(f"{name} value {i} must be a number (got {v!r})")
        out.append(float(v))
    if not out:
        raise RiskInputError(f"{name} is required (the range holds no numbers)")
    return out


def _wins_and_losses(name: str, pnls: Iterable[float | None]) -> tuple[list[float], list[float]]:
    values = _journal_numbers(name, pnls)
    return [v for v in values if v > 0], [v for v in values if v < 0]


def win_rate(pnls: Iterable[float | None]) -> float:
    """Share of decided trades that won: ``wins / (wins + losses)``, a fraction (0.6 is 60%).

    A trade with pnl = 0 is neither a win nor a loss. Units: none (pnls in any one currency, or R).
    Source: the journals' definition (TraderSync, Edgewonk: "winning trades / total trades" over
    trades with a result).

    Three wins, two losses and a scratch: 3 / 5.

    >>> win_rate([120.0, -50.0, None, 80.0, 0.0, -40.0, 30.0])
    0.6
    """
    wins, losses = _wins_and_losses("pnls", pnls)
    if not wins and not losses:
        raise RiskInputError("pnls must hold a winning or a losing trade (every pnl is 0)")
    return len(wins) / (len(wins) + len(losses))


def profit_factor(pnls: Iterable[float | None]) -> float:
    """Money won per unit of money lost: ``sum of winning pnls / abs(sum of losing pnls)``.

    Above 1 the system makes money. Units: none. Source: Tradervue / TraderSync "profit factor".
    With no losing trade there is nothing to divide by: an error saying so.

    Won 120 + 80 + 30 = 230, lost 50 + 40 = 90: 230 / 90.

    >>> round(profit_factor([120.0, -50.0, None, 80.0, 0.0, -40.0, 30.0]), 4)
    2.5556
    """
    wins, losses = _wins_and_losses("pnls", pnls)
    if not losses:
        raise RiskInputError("no losing trades in pnls: the profit factor divides by the gross loss")
    return math.fsum(wins) / -math.fsum(losses)


def payoff_ratio(pnls: Iterable[float | None]) -> float:
    """Size of the average win against the average loss: ``mean winning pnl / abs(mean losing pnl)``.

    Units: none. Source: Edgewonk / TraderSync "payoff ratio" (average win / average loss).
    It needs at least one win and one loss.

    Average win 230 / 3 = 76.67, average loss 90 / 2 = 45: 1.7037.

    >>> round(payoff_ratio([120.0, -50.0, None, 80.0, 0.0, -40.0, 30.0]), 4)
    1.7037
    """
    wins, losses = _wins_and_losses("pnls", pnls)
    if not losses:
        raise RiskInputError("no losing trades in pnls: the payoff ratio divides by the average loss")
    if not wins:
        raise RiskInputError("no winning trades in pnls: the payoff ratio needs an average win")
    return (math.fsum(wins) / len(wins)) / (-math.fsum(losses) / len(losses))


def expectancy(values: Iterable[float | None]) -> float:
    """What a trade makes on average: the mean of ``values``.

    Over R multiples it is the expectancy in R (Van K. Tharp, *Trade Your Way to Financial Freedom*);
    over money P/L it is the average result per trade, in that currency. Scratches (0) count as trades.

    >>> expectancy([120.0, -50.0, None, 80.0, 0.0, -40.0, 30.0])
    23.333333333333332
    """
    numbers = _journal_numbers("values", values)
    return math.fsum(numbers) / len(numbers)


def sqn(r_multiples: Iterable[float | None]) -> float:
    """Van K. Tharp's System Quality Number: ``√min(n, 100) × mean(R) / stdev(R)``.

    stdev is the sample standard deviation (n − 1). Tharp caps n at 100 because the square root
    rewards long samples beyond what the system deserves (*The Definitive Guide to Position Sizing*,
    2008). Units: none. His scale: below 1.6 hard to trade, 2-2.5 average, 2.5-3 good, 3-5 excellent.

    Tharp's own example of eight trades (*Super Trader*: expectancy 0.675R, standard deviation
    1.86R, ratio 0.36): √8 × 0.675 / 1.8568 = 1.03.

    >>> round(sqn([0.86, 4.40, -0.72, 0.44, 1.57, 1.13, -1.70, -0.58]), 4)
    1.0282
    """
    values = _journal_numbers("r_multiples", r_multiples)
    n = len(values)
    if n < 2:
        raise RiskInputError(f"needs 2 or more R multiples (r_multiples holds {n})")
    mean = math.fsum(values) / n
    deviations = [v - mean for v in values]
    stdev = math.sqrt(math.fsum(d * d for d in deviations) / (n - 1))
    if math.isinf(stdev):
        raise OverflowError("the R multiples are too large to square")
    if stdev == 0:
        raise RiskInputError("r_multiples must not all be equal (their standard deviation is 0)")
    return math.sqrt(min(n, _SQN_TRADES_CAP)) * mean / stdev


def kelly_fraction(win_rate: float, payoff_ratio: float) -> float:
    """Kelly's fraction of capital to risk per trade: ``win_rate − (1 − win_rate) / payoff_ratio``.

    J. L. Kelly, "A New Interpretation of Information Rate" (1956), for a bet that wins
    ``payoff_ratio`` times the stake with probability ``win_rate`` and loses the stake otherwise.
    A fraction of capital; zero or below means the edge is none and the answer is not to trade.

    55% winners paid 2:1 risk 32.5%; 40% winners paid 1:1 have a negative edge:

    >>> round(kelly_fraction(0.55, 2.0), 4), round(kelly_fraction(0.4, 1.0), 4)
    (0.325, -0.2)
    """
    if not 0 <= win_rate <= 1:
        raise must("win_rate", "between 0 and 1 (55% is 0.55)", win_rate)
    if not 0 < payoff_ratio < math.inf:
        raise must("payoff_ratio", "> 0", payoff_ratio)
    return win_rate - (1 - win_rate) / payoff_ratio


def risk_of_ruin(win_rate: float, capital_units: float, payoff_ratio: float = 1.0) -> float:
    """Probability of ever losing ``capital_units`` risk units when every trade wins ``payoff_ratio``
    units with probability p = ``win_rate`` or loses 1 unit: ``z ^ capital_units``, z the root in
    (0, 1) of ``p·z^(b+1) − z + (1 − p) = 0`` (b = payoff_ratio); 1 when ``p·b ≤ 1 − p`` (no edge).

    z is the probability of ever falling one unit below the start: the first trade either loses
    that unit (1 − p) or wins b units, after which b + 1 units must be lost (p·z^(b+1)). The walk
    falls one unit at a time, so losing k units takes k such falls: z^k. Exact for whole-number b
    and units; b = 1 gives the gambler's ruin ``((1 − p) / p) ^ units`` (Feller, *An Introduction
    to Probability Theory and Its Applications* I, XIV.2), b = 2 the root
    ``(−p + √(p² + 4·p·(1 − p))) / (2p)``. A probability from 0 to 1.

    55% even bets with 20 units; 40% winners paid 2:1 with 10 units:

    >>> round(risk_of_ruin(0.55, 20), 4), round(risk_of_ruin(0.4, 10, 2), 4)
    (0.0181, 0.1423)
    """
    if not 0 <= win_rate <= 1:
        raise must("win_rate", "between 0 and 1 (55% is 0.55)", win_rate)
    if not 0 <= capital_units < math.inf:
        raise must("capital_units", ">= 0", capital_units)
    if not 0 < payoff_ratio < math.inf:
        raise must("payoff_ratio", "> 0", payoff_ratio)
    p, b = win_rate, payoff_ratio
    q = 1 - p
    if p * b <= q:
        return 1.0
    if q == 0:
        return 0.0 if capital_units > 0 else 1.0
    if b == 1:
        z = q / p
    else:
        # f(z) = p·z^(b+1) − z + q is convex, f(0) = q > 0, f(1) = 0 and f'(1) = p·b − q > 0: it
        # dips below 0 before 1, lowest at z_low, and the root sought lies in (0, z_low).
        lo, hi = 0.0, (1 / (p * (b + 1))) ** (1 / b)
        for _ in range(_RUIN_BISECTIONS):
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if p * mid ** (b + 1) - mid + q > 0:
                lo = mid
            else:
                hi = mid
        z = (lo + hi) / 2
    return z ** capital_units
