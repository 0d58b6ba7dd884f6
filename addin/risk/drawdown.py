"""Drawdown: what a run of losses does to an account, and what it takes to get back (the risk of
ruin, a probability over many trades, is in :mod:`addin.risk.stats`)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .errors import RiskInputError, must

_INF = math.inf
# ceil() forgives this much so that ln(0.25)/ln(0.5) = 2.0000000000000004 counts as 2 losses.
_CEIL_TOLERANCE = 1e-9


def recovery_gain(drawdown: float) -> float:
    """Gain needed to get back to the peak after a fall of ``drawdown``: ``drawdown / (1 − drawdown)``.

    A 50% drawdown needs +100%; 20% needs +25%:

    >>> recovery_gain(0.5), recovery_gain(0.2)
    (1.0, 0.25)
    """
    if not 0 <= drawdown < 1:
        raise must("drawdown", ">= 0 and < 1", drawdown)
    return drawdown / (1 - drawdown)


def losses_to_drawdown(risk_per_trade: float, drawdown: float) -> int:
    """Consecutive losing trades, each losing ``risk_per_trade`` of current equity, that reach
    ``drawdown``: ``ceil(ln(1 − drawdown) / ln(1 − risk_per_trade))``.

    At 1% a trade it takes 69 losses in a row to halve the account:

    >>> losses_to_drawdown(0.01, 0.5)
    69
    """
    if not 0 < risk_per_trade < 1:
        raise must("risk_per_trade", "> 0 and < 1", risk_per_trade)
    if not 0 < drawdown < 1:
        raise must("drawdown", "> 0 and < 1", drawdown)
    return math.ceil(math.log1p(-drawdown) / math.log1p(-risk_per_trade) - _CEIL_TOLERANCE)


def equity_after_losses(equity: float, risk_per_trade: float, losses: float) -> float:
    """Equity after ``losses`` consecutive losing trades: ``equity × (1 − risk_per_trade) ^ losses``.

    >>> round(equity_after_losses(10_000, 0.02, 10), 2)
    8170.73
    """
    if not -_INF < equity < _INF:
        raise must("equity", "a finite number", equity)
    if not 0 <= risk_per_trade <= 1:
        raise must("risk_per_trade", ">= 0 and <= 1", risk_per_trade)
    if not 0 <= losses < _INF:
        raise must("losses", ">= 0", losses)
    return equity * (1 - risk_per_trade) ** losses


def max_drawdown(equity_curve: Iterable[float]) -> float:
    """Largest peak-to-trough fall of an equity curve, as a fraction of the peak:
    ``max over t of (peak_t − equity_t) / peak_t`` with peak_t the highest value up to t.

    Empty values (None) are skipped; the first value must be > 0.

    >>> max_drawdown([100, 120, 90, 130, 117])
    0.25
    """
    peak = None
    worst = 0.0
    for i, v in enumerate(equity_curve, start=1):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not -_INF < v < _INF:
            raise RiskInputError(f"equity_curve value {i} must be a number (got {v!r})")
        if peak is None:
            if v <= 0:
                raise must(f"equity_curve value {i} (the first)", "> 0", v)
            peak = v
        elif v > peak:
            peak = v
        else:
            dd = (peak - v) / peak
            if dd > worst:
                worst = dd
    if peak is None:
        raise RiskInputError("equity_curve must hold at least one number")
    return float(worst)

