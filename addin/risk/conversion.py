"""Converting a trade's quote currency into the account currency when a statement gives no rate."""

from __future__ import annotations

import math

from .errors import NoPrice, RiskInputError, must

_INF = math.inf


def implied_fx_rate(profit: float, side: int, entry: float, exit: float, quantity: float,
                    contract_size: float = 1.0) -> float:
    """Quote-to-account rate implied by a closed trade's own realised profit:

        fx = profit / (side × (exit − entry) × abs(quantity) × contract_size)

    Units: profit in account currency, prices in quote currency; the result is account currency
    per unit of quote currency. USDJPY 1 lot long 150.00 → 151.00 that made $662.25 implies
    1/151.0 (the rate at the close):

    >>> round(1 / implied_fx_rate(662.25, 1, 150.0, 151.0, 1, 100_000), 2)
    151.0
    """
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")
    if not -_INF < profit < _INF:
        raise must("profit", "a finite number", profit)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < exit < _INF:
        raise must("exit", "> 0", exit)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not -_INF < quantity < _INF or quantity == 0:
        raise must("quantity", "a non-zero number", quantity)
    move_value = side * (exit - entry) * abs(quantity) * contract_size
    if move_value == 0:
        raise NoPrice("no rate: the price did not move")
    rate = profit / move_value
    if rate <= 0:
        raise NoPrice("no rate: the profit's sign contradicts the price move")
    return rate


def pair_fx_rate(base: str, quote: str, account: str, price: float) -> float:
    """Quote-to-account rate of a currency pair traded at ``price`` when one leg is the account
    currency: 1 when the quote is the account currency, 1/price when the base is.

    >>> pair_fx_rate("EUR", "USD", "USD", 1.1), round(pair_fx_rate("USD", "JPY", "USD", 150.0), 6)
    (1.0, 0.006667)
    """
    if not 0 < price < _INF:
        raise must("price", "> 0", price)
    if quote == account:
        return 1.0
    if base == account:
        return 1.0 / price
    raise NoPrice(f"no rate: neither {base} nor {quote} is the account currency {account}")
