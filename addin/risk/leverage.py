"""Leverage and margin: how much exposure, and how much collateral behind it.

Money is in the account currency unless said otherwise; ``price`` is in the instrument's quote
currency and ``fx_rate`` converts quote into account currency (1 when they are the same).
Rates are fractions: a 2% margin rate is 0.02.
"""

from __future__ import annotations

import math

from .errors import must
from .margin_models import position_margin

_INF = math.inf
# Rounding down to a lot step forgives this relative error of the quantity (floating-point noise of
# the inputs: 1.1 - 1.095 is not exactly 0.005 in binary), so that 0.2 / 0.01 is 20 steps, not 19.
STEP_TOLERANCE = 1e-12


def leverage(margin_rate: float) -> float:
    """Leverage from a margin rate: ``1 / margin_rate``.

    Units: margin_rate is a fraction of notional; the result is a multiplier (50 means 50:1).

    >>> leverage(0.02)
    50.0
    """
    if not 0 < margin_rate < _INF:
        raise must("margin_rate", "> 0", margin_rate)
    return 1.0 / margin_rate


def margin_rate(leverage: float) -> float:
    """Margin rate from leverage: ``1 / leverage``. 50:1 is a 2% margin rate.

    >>> margin_rate(50)
    0.02
    """
    if not 0 < leverage < _INF:
        raise must("leverage", "> 0", leverage)
    return 1.0 / leverage


def notional(quantity: float, price: float, contract_size: float = 1.0, fx_rate: float = 1.0) -> float:
    """Position value in account currency: ``abs(quantity) × contract_size × price × fx_rate``.

    10,000 EUR/USD at 1.1000 in a USD account:

    >>> round(notional(10_000, 1.1), 2)
    11000.0
    """
    if not 0 < price < _INF:
        raise must("price", "> 0", price)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    if not -_INF < quantity < _INF:
        raise must("quantity", "a finite number", quantity)
    return abs(quantity) * contract_size * price * fx_rate


def margin_required(quantity: float, price: float, leverage: float, contract_size: float = 1.0,
                    fx_rate: float = 1.0, account_is_base: bool = False) -> float:
    """Margin (collateral) a position needs, account currency, by the margin model of its kind
    (:mod:`addin.risk.margin_models`): ``notional / leverage``, or, when the account currency is the
    pair's base currency (``account_is_base``), MetaTrader's Forex margin
    ``abs(quantity) × contract_size / leverage`` in that currency, whatever the price.

    10,000 EUR/USD at 1.1000 with 50:1 needs $220; 1 lot of USDJPY at 1:100 in a USD account $1,000:

    >>> round(margin_required(10_000, 1.1, 50), 2), margin_required(1, 150.0, 100, 100_000, 1, True)
    (220.0, 1000.0)
    """
    # The checks and formula of position_margin() inline: this runs once per row of a spilled range.
    if not 0 < leverage < _INF:
        raise must("leverage", "> 0", leverage)
    if not 0 < price < _INF:
        raise must("price", "> 0", price)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    if not -_INF < quantity < _INF:
        raise must("quantity", "a finite number", quantity)
    if account_is_base:
        return position_margin(quantity, price, leverage, contract_size, fx_rate, True)
    return abs(quantity) * contract_size * price * fx_rate / leverage


def effective_leverage(notional: float, equity: float) -> float:
    """Exposure per unit of own capital: ``notional / equity``.

    A $5,000 position on $1,000 of equity is 5x:

    >>> effective_leverage(5_000, 1_000)
    5.0
    """
    if not 0 <= notional < _INF:
        raise must("notional", ">= 0", notional)
    if not 0 < equity < _INF:
        raise must("equity", "> 0", equity)
    return notional / equity


def margin_level(equity: float, used_margin: float) -> float:
    """Margin level: ``equity / used_margin`` as a fraction (2.727 is 272.7%).

    >>> margin_level(600, 220)
    2.727272727272727
    """
    if not -_INF < equity < _INF:
        raise must("equity", "a finite number", equity)
    if not 0 < used_margin < _INF:
        raise must("used_margin", "> 0", used_margin)
    return equity / used_margin


def free_margin(equity: float, used_margin: float) -> float:
    """Margin still free for new positions: ``equity − used_margin``, account currency.

    >>> free_margin(1_000, 220)
    780.0
    """
    if not -_INF < equity < _INF:
        raise must("equity", "a finite number", equity)
    if not 0 <= used_margin < _INF:
        raise must("used_margin", ">= 0", used_margin)
    return float(equity - used_margin)


def return_on_margin(pnl: float, margin: float) -> float:
    """Profit as a fraction of the margin that carried it: ``pnl / margin``.

    +100 pips on 10,000 EUR/USD is $100 on $220 of margin, 45.5%:

    >>> round(return_on_margin(100, 220), 3)
    0.455
    """
    if not -_INF < pnl < _INF:
        raise must("pnl", "a finite number", pnl)
    if not 0 < margin < _INF:
        raise must("margin", "> 0", margin)
    return pnl / margin


def round_down(quantity: float, lot_step: float) -> float:
    """``quantity`` rounded down to a whole number of ``lot_step`` (0 = no rounding), never more
    than floating-point noise above ``quantity``: the result is at most quantity × (1 + 1e-12).

    That noise is forgiven so that 0.2 / 0.01 (19.999999999999996 in binary floating point) is 20
    steps, not 19; it is relative to the quantity, not to the number of steps, so a step of 1e-8 on
    100 lots (10^10 steps) cannot round up. The result is rounded to the step's decimals.

    >>> round_down(0.2, 0.01), round_down(0.239, 0.01), round_down(1234.5, 0), round_down(123.456789999, 1e-8)
    (0.2, 0.23, 1234.5, 123.45678999)
    """
    if lot_step == 0:
        return quantity
    if not quantity / lot_step < 2 ** 52:  # whole steps are beyond the float resolution of the quantity
        raise OverflowError("the quantity holds too many lot steps to round")
    digits = max(0, -math.floor(math.log10(lot_step))) + 6
    allowed = quantity * (1 + STEP_TOLERANCE)
    ratio = quantity / lot_step
    steps = math.floor(ratio)
    if ratio - steps > 0.999 and round((steps + 1) * lot_step, digits) <= allowed:  # 19.999999999999996 steps
        steps += 1
    size = round(steps * lot_step, digits)
    if size > allowed:  # float noise in steps x lot_step: one step less
        size = round((steps - 1) * lot_step, digits)
    return size if size <= allowed else 0.0


def max_position_size(free_margin: float, price: float, leverage: float, contract_size: float = 1.0,
                      fx_rate: float = 1.0, lot_step: float = 0.0, account_is_base: bool = False) -> float:
    """Largest quantity whose margin (:func:`margin_required`, the same model) fits in ``free_margin``,
    rounded down to ``lot_step``: ``free_margin × leverage / (contract_size × price × fx_rate)``, or
    ``free_margin × leverage / contract_size`` when the account currency is the pair's base currency.

    $1,000 free at 30:1 on EUR/USD 1.1000, lots of 100,000, step 0.01:

    >>> max_position_size(1_000, 1.1, 30, 100_000, 1, 0.01)
    0.27
    """
    if not 0 <= free_margin < _INF:
        raise must("free_margin", ">= 0", free_margin)
    if not 0 < price < _INF:
        raise must("price", "> 0", price)
    if not 0 < leverage < _INF:
        raise must("leverage", "> 0", leverage)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    if not 0 <= lot_step < _INF:
        raise must("lot_step", ">= 0", lot_step)
    per_unit = position_margin(1.0, price, leverage, contract_size, fx_rate, account_is_base)
    size = round_down(free_margin / per_unit, lot_step)
    budget = free_margin * (1 + STEP_TOLERANCE)
    if size > 0 and position_margin(size, price, leverage, contract_size, fx_rate, account_is_base) > budget:
        size = round_down(free_margin / per_unit * (1 - 1e-9), lot_step)  # float noise: a hair less
    return size
