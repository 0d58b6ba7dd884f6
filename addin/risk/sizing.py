"""Sizing a trade to its risk: start from the money you accept to lose, not from the leverage.

``point_value`` is the account-currency profit of a 1.0 price move for 1.0 of quantity
(contract_size × fx_rate: EUR/USD lots in a USD account have point_value 100,000).
``commission`` is the round-trip commission per 1.0 of quantity, account currency.
"""

from __future__ import annotations

import math

from .errors import RiskInputError, must
from .leverage import STEP_TOLERANCE, round_down
from .margin_models import open_profit

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

    rounded down to ``lot_step`` (0 = no rounding) and never above the budget: the loss at the stop
    of the size returned, as :func:`risk_at_stop` computes it, is at most ``risk_amount`` (× (1 + 1e-12),
    the floating-point noise of prices such as 1.095). 0 when even
    ``min_size`` would lose more than the risk; capped at ``max_size`` when it is > 0. Units: quantity
    in the unit point_value prices.

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
    per_unit = abs(entry - stop_price) * point_value + commission
    size = round_down(risk_amount / per_unit, lot_step)
    # Never above the budget as risk_at_stop() computes the loss (beyond the floating-point noise of the
    # prices, STEP_TOLERANCE): round_down never rounds up, and the division's own noise is checked here.
    # risk_at_stop()'s expression inline, the same operations in the same order: this runs once per row.
    if size > 0 and abs(entry - stop_price) * size * point_value + commission * size > risk_amount * (1 + STEP_TOLERANCE):
        size = round_down(risk_amount / per_unit * (1 - 1e-9), lot_step)  # float noise: a hair less
        if not risk_at_stop(size, entry, stop_price, point_value, commission) <= risk_amount:
            raise OverflowError("the loss at the stop cannot be computed within the float range")
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


def _risk_distance(side: int, entry: float, stop_price: float) -> float:
    """The stop's distance from entry, checked to be on the losing side: side × (entry − stop_price) > 0."""
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < stop_price < _INF:
        raise must("stop_price", "> 0", stop_price)
    if entry == stop_price:
        raise RiskInputError(f"stop_price must differ from entry (both {entry:.10g})")
    distance = side * (entry - stop_price)
    if distance < 0:
        where = "below" if side == 1 else "above"
        raise RiskInputError(f"stop_price must be {where} entry for a {'long' if side == 1 else 'short'} "
                             f"(got {stop_price:.10g} against entry {entry:.10g}): a stop on the profit side risks nothing")
    return distance


def r_multiple(side: int, entry: float, stop_price: float, exit_price: float) -> float:
    """Result in units of initial risk: ``side × (exit_price − entry) / abs(entry − stop_price)``.

    The stop must be on the losing side of entry (below a long's entry, above a short's): a stop on
    the profit side has no initial risk to count in, and raises RiskInputError.

    Long at 1.1000, stop 1.0950, out at 1.1100: +2R.

    >>> round(r_multiple(1, 1.1, 1.095, 1.11), 6)
    2.0
    """
    distance = _risk_distance(side, entry, stop_price)
    if not 0 < exit_price < _INF:
        raise must("exit_price", "> 0", exit_price)
    return side * (exit_price - entry) / distance


def reward_risk(side: int, entry: float, stop_price: float, target: float) -> float:
    """Planned reward per unit of risk: ``side × (target − entry) / abs(entry − stop_price)``.

    The stop must be on the losing side of entry and the target on the winning side: otherwise
    there is no reward-to-risk ratio, and the function raises RiskInputError saying which.

    >>> round(reward_risk(-1, 1.1, 1.105, 1.085), 6)
    3.0
    """
    distance = _risk_distance(side, entry, stop_price)
    if not 0 < target < _INF:
        raise must("target", "> 0", target)
    if side * (target - entry) <= 0:
        where = "above" if side == 1 else "below"
        raise RiskInputError(f"target must be {where} entry for a {'long' if side == 1 else 'short'} "
                             f"(got {target:.10g} against entry {entry:.10g}): no reward")
    return side * (target - entry) / distance


def profit_at_price(side: int, entry: float, price: float, quantity: float, contract_size: float = 1.0,
                    fx_rate: float = 1.0, commission: float = 0.0, account_is_base: bool = False) -> float:
    """Signed profit in account currency if the position is closed at ``price`` (a target, a stop),
    commission included: the profit of :func:`addin.risk.margin_models.open_profit` (quote currency
    converted at ``fx_rate``, or at 1/price when the account currency is the pair's base currency)
    minus ``commission × abs(quantity)``. Negative when ``price`` is on the losing side.

    0.2 lots EUR/USD long 1.1000, target 1.1100: +$200; the same target for a short: −$200:

    >>> round(profit_at_price(1, 1.1, 1.11, 0.2, 100_000), 2), round(profit_at_price(-1, 1.1, 1.11, 0.2, 100_000), 2)
    (200.0, -200.0)

    1 lot USD/JPY long 150 → 151 in a USD account (profit converted at 151):

    >>> round(profit_at_price(1, 150.0, 151.0, 1, 100_000, 1, 0, True), 2)
    662.25
    """
    if not 0 <= commission < _INF:
        raise must("commission", ">= 0", commission)
    profit = open_profit(side, entry, price, quantity, contract_size, fx_rate, account_is_base)
    return profit - commission * abs(quantity)
