"""One margin model per instrument kind: the margin and the open profit of a position at a price P,
and the price at which their ratio (the margin level) reaches a given level.

Every function that needs margin (MARGIN_REQUIRED, MAX_POSITION_SIZE, MARGIN_CALL_PRICE,
STOP_OUT_PRICE, WIPEOUT_MOVE, SAFE_LEVERAGE) goes through this module, so the same position has one
margin and one stop-out wherever it is asked about. The kinds follow MetaTrader's calculation modes
(MQL5 reference, ENUM_SYMBOL_CALC_MODE; MetaTrader 5 help, "Margin Calculation: Retail Forex"):

Quote kind (``account_is_base`` False): CFDs, stocks and indices on margin, a Forex pair whose quote
currency is the account currency (EURUSD in a USD account), and a cross held at a fixed conversion
rate (EURJPY in a USD account with ``fx_rate`` = 1/USDJPY). With K = abs(quantity) × contract_size × fx_rate:

    margin(P) = K × P / leverage           account currency, revalued at the current price
    profit(P) = side × (P − entry) × K     account currency, fx_rate held fixed

This is MetaTrader's Forex margin (Lots × Contract_Size / Leverage in the base currency) converted
into the account currency at the base's current rate (P × fx_rate), and its CFD-leverage margin
(Lots × Contract_Size × Market_Price / Leverage) in the quote currency converted at fx_rate.

Base kind (``account_is_base`` True): a Forex pair whose base currency is the account currency
(USDJPY or USDCHF in a USD account, EURUSD in a EUR account). With Q = abs(quantity) × contract_size:

    margin    = Q / leverage               account (= base) currency, constant as the price moves
    profit(P) = side × (P − entry) × Q / P quote-currency profit converted at the current price 1/P

which is MetaTrader's Forex rule taken literally: the margin is Lots × Contract_Size / Leverage in
the base currency, and the profit (close − open) × Contract_Size × Lots is in the quote currency and
converted into the account currency at the current price. ``fx_rate`` does not apply (it is 1/P, not
a constant) and must be left at 1.
"""

from __future__ import annotations

import math

from .errors import NoPrice, RiskInputError, must

_INF = math.inf


def _kind_rate(fx_rate: float, account_is_base: bool) -> None:
    if account_is_base and fx_rate != 1:
        raise RiskInputError(
            f"fx_rate must be 1 (or empty) when account_is_base is TRUE: the profit is converted at 1/price "
            f"(got {fx_rate:.10g})")


def position_margin(quantity: float, price: float, leverage: float, contract_size: float = 1.0,
                    fx_rate: float = 1.0, account_is_base: bool = False) -> float:
    """Margin of a position in account currency, by kind (see the module docstring):
    quote kind ``abs(quantity) × contract_size × price × fx_rate / leverage``; base kind
    ``abs(quantity) × contract_size / leverage`` whatever the price.

    1 lot of USDJPY at 150 with 1:100 in a USD account holds $1,000; 1 lot of EURUSD at 1.1 in a USD
    account holds $1,100:

    >>> position_margin(1, 150.0, 100, 100_000, account_is_base=True), round(position_margin(1, 1.1, 100, 100_000), 6)
    (1000.0, 1100.0)
    """
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
        _kind_rate(fx_rate, True)
        return abs(quantity) * contract_size / leverage
    return abs(quantity) * contract_size * price * fx_rate / leverage


def open_profit(side: int, entry: float, price: float, quantity: float, contract_size: float = 1.0,
                fx_rate: float = 1.0, account_is_base: bool = False) -> float:
    """Open profit in account currency at ``price``, by kind: quote kind
    ``side × (price − entry) × abs(quantity) × contract_size × fx_rate``; base kind the same quote-
    currency profit divided by ``price`` (converted at the current rate).

    1 lot USDJPY long 150 → 151 in a USD account: 100,000 yen, $662.25 at 151:

    >>> round(open_profit(1, 150.0, 151.0, 1, 100_000, account_is_base=True), 2)
    662.25
    """
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < price < _INF:
        raise must("price", "> 0", price)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    if not -_INF < quantity < _INF:
        raise must("quantity", "a finite number", quantity)
    quote_profit = side * (price - entry) * abs(quantity) * contract_size
    if account_is_base:
        _kind_rate(fx_rate, True)
        return quote_profit / price
    return quote_profit * fx_rate


def price_at_margin_level(side: int, entry: float, quantity: float, equity: float, leverage: float,
                          level: float, contract_size: float = 1.0, fx_rate: float = 1.0,
                          other_margin: float = 0.0, account_is_base: bool = False) -> float:
    """The price P at which (equity + profit(P)) / (margin(P) + other_margin) = level, closed form.

    Quote kind, K = abs(quantity) × contract_size × fx_rate (margin revalued at P):

        P = (equity − side × entry × K − level × other_margin) / (K × (level / leverage − side))

    Base kind, Q = abs(quantity) × contract_size, T = level × (Q / leverage + other_margin):

        P = entry / (1 + side × (equity − T) / Q)

    Raises NoPrice when the level is already breached at entry, or is never reached (a long whose
    equity covers a fall to zero; in the base kind a short, whose loss in account currency never
    exceeds Q however far the price rises, when equity − T ≥ Q). Arguments are checked by the callers.
    """
    if account_is_base:
        _kind_rate(fx_rate, True)
        q = abs(quantity) * contract_size
        target = level * (q / leverage + other_margin)
        if equity < target:
            raise NoPrice(f"margin level is already below {level:.4g} at entry")
        denominator = 1 + side * (equity - target) / q
        if denominator <= 0:
            raise NoPrice("no price: the margin is in the account (base) currency and the equity covers the "
                          "largest loss a short can make, however far the price rises")
        return entry / denominator
    k = abs(quantity) * contract_size * fx_rate
    if equity < level * (k * entry / leverage + other_margin):
        raise NoPrice(f"margin level is already below {level:.4g} at entry")
    slope = k * (level / leverage - side)
    if side == 1 and slope >= 0:
        raise NoPrice("margin level never falls to that level as price falls")
    numerator = equity - side * entry * k - level * other_margin
    if abs(numerator) <= 1e-12 * (abs(equity) + entry * k + level * other_margin):
        numerator = 0.0  # rounding noise: the equity exactly covers the position (a price of 0)
    price = numerator / slope
    if price <= 0:
        raise NoPrice("no price: equity covers the position all the way to zero")
    return price
