"""Sizing a trade to its risk: start from the money you accept to lose, not from the leverage.

``point_value`` is the account-currency profit of a 1.0 price move for 1.0 of quantity
(contract_size × fx_rate: EUR/USD lots in a USD account have point_value 100,000).
``commission`` is the round-trip commission per 1.0 of quantity, account currency.
"""

from __future__ import annotations

import math

from .errors import RiskInputError, must
from .leverage import round_down

_INF = math.inf


def risk_amount(equity: float, risk_pct: float) -> float:
    """Money at risk on one trade: ``equity × risk_pct``.

    1% of a $5,000 account is $50:

    >>> risk_amount(5_000, 0.01)
    50.0
    """
    if not -_INF < equity < _INF:
        raise must("equity", "a finite number", equity)
    if not 0 <= risk_pct <= 1:
        raise must("risk_pct", "between 0 and 1 (1% is 0.01)", risk_pct)
    return equity * risk_pct


def position_size(risk_amount: float, entry: float, stop_price: float, point_value: float = 1.0,
                  lot_step: float = 0.0, commission: float = 0.0, min_size: float = 0.0,
                  max_size: float = 0.0) -> float:
    """Largest quantity whose loss at the stop, commission included, stays within ``risk_amount``:

        size = risk_amount / (abs(entry − stop_price) × point_value + commission)

    rounded down to ``lot_step`` (0 = no rounding); 0 when even ``min_size`` would lose more than
    the risk; capped at ``max_size`` when it is > 0. Units: quantity in the unit point_value prices.

    Risk $100, EUR/USD stop 50 pips, lots (point_value 100,000), step 0.01: 0.20 lots.

    >>> position_size(100, 1.1000, 1.0950, 100_000, 0.01)
    0.2

    Risk $50 with a 200-pip stop in units (point_value 1): 2,500 units.

    >>> round(position_size(50, 1.1000, 1.0800))
    2500
    """
    if not 0 <= risk_amount < _INF:
        raise must("risk_amount", ">= 0", risk_amount)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < stop_price < _INF:
        raise must("stop_price", "> 0", stop_price)
    if entry == stop_price:
        raise RiskInputError(f"stop_price must differ from entry (both {entry:.10g})")
    if not 0 < point_value < _INF:
        raise must("point_value", "> 0", point_value)
    if not 0 <= lot_step < _INF:
        raise must("lot_step", ">= 0", lot_step)
    if not 0 <= commission < _INF:
        raise must("commission", ">= 0", commission)
    if not 0 <= min_size < _INF:
        raise must("min_size", ">= 0", min_size)
    if not 0 <= max_size < _INF:
        raise must("max_size", ">= 0 (0 = no cap)", max_size)
    size = round_down(risk_amount / (abs(entry - stop_price) * point_value + commission), lot_step)
    if size < min_size or size <= 0:
        return 0.0
    if max_size > 0 and size > max_size:
        return round_down(max_size, lot_step)
    return size


def risk_at_stop(quantity: float, entry: float, stop_price: float, point_value: float = 1.0,
                 commission: float = 0.0) -> float:
    """Money lost if the stop is hit, commission included:
    ``abs(entry − stop_price) × abs(quantity) × point_value + commission × abs(quantity)``.

    0.20 lots of EUR/USD with a 50-pip stop lose $100:

    >>> round(risk_at_stop(0.2, 1.1, 1.095, 100_000), 2)
    100.0
    """
    if not -_INF < quantity < _INF:
        raise must("quantity", "a finite number", quantity)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < stop_price < _INF:
        raise must("stop_price", "> 0", stop_price)
    if not 0 < point_value < _INF:
        raise must("point_value", "> 0", point_value)
    if not 0 <= commission < _INF:
        raise must("commission", ">= 0", commission)
    q = abs(quantity)
    return abs(entry - stop_price) * q * point_value + commission * q


def _r(side: int, entry: float, stop_price: float, price: float, price_name: str) -> float:
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < stop_price < _INF:
        raise must("stop_price", "> 0", stop_price)
    if not 0 < price < _INF:
        raise must(price_name, "> 0", price)
    if entry == stop_price:
        raise RiskInputError(f"stop_price must differ from entry (both {entry:.10g})")
    return side * (price - entry) / abs(entry - stop_price)


def r_multiple(side: int, entry: float, stop_price: float, exit_price: float) -> float:
    """Result in units of initial risk: ``side × (exit_price − entry) / abs(entry − stop_price)``.

    Long at 1.1000, stop 1.0950, out at 1.1100: +2R.

    >>> round(r_multiple(1, 1.1, 1.095, 1.11), 6)
    2.0
    """
    return _r(side, entry, stop_price, exit_price, "exit_price")


def reward_risk(side: int, entry: float, stop_price: float, target: float) -> float:
    """Planned reward per unit of risk: ``side × (target − entry) / abs(entry − stop_price)``.

    >>> round(reward_risk(-1, 1.1, 1.105, 1.085), 6)
    3.0
    """
    return _r(side, entry, stop_price, target, "target")
