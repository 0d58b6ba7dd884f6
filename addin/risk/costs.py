"""Costs of carrying a position: perpetual-futures funding and margin-loan interest."""

from __future__ import annotations

import math

from .errors import RiskInputError, must

_INF = math.inf


def funding_cost(side: int, quantity: float, mark_price: float, funding_rate: float,
                 periods: float = 1.0) -> float:
    """Perpetual funding paid (positive) or received (negative):
    ``side × abs(quantity) × mark_price × funding_rate × periods``. A long pays when the rate is positive.

    2 ETH long at 3,000 through three 0.01% fundings pays 1.80:

    >>> round(funding_cost(1, 2, 3_000, 0.0001, 3), 2)
    1.8
    """
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")
    if not -_INF < quantity < _INF:
        raise must("quantity", "a finite number", quantity)
    if not 0 < mark_price < _INF:
        raise must("mark_price", "> 0", mark_price)
    if not -1 < funding_rate < 1:
        raise must("funding_rate", "a fraction between -1 and 1 (0.01% is 0.0001)", funding_rate)
    if not 0 <= periods < _INF:
        raise must("periods", ">= 0", periods)
    return side * abs(quantity) * mark_price * funding_rate * periods


def margin_interest(borrowed: float, annual_rate: float, days: float, day_count: float = 360) -> float:
    """Interest on a margin loan: ``borrowed × annual_rate × days / day_count``.

    $50,000 borrowed at 8% for 30 days (actual/360):

    >>> round(margin_interest(50_000, 0.08, 30), 2)
    333.33
    """
    if not 0 <= borrowed < _INF:
        raise must("borrowed", ">= 0", borrowed)
    if not 0 <= annual_rate < 1:
        raise must("annual_rate", ">= 0 and < 1 (8% is 0.08)", annual_rate)
    if not 0 <= days < _INF:
        raise must("days", ">= 0", days)
    if day_count not in (360, 365):
        raise must("day_count", "360 or 365", day_count)
    return borrowed * annual_rate * days / day_count
