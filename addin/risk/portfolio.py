"""The account as a whole: several open positions share one equity, and one currency can hide in many.

Margin calls happen to accounts, not to trades. Notionals and margins are in the account currency;
``None`` stands for an empty cell and is skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .errors import NoPrice, RiskInputError, must
from .symbols import currency_legs  # noqa: F401  (the one classifier's, part of this module's API)

def portfolio_stop_out_move(equity: float, notionals: Sequence[float | None], margins: Sequence[float | None],
                            stop_out_level: float = 0.5) -> float:
    """The adverse move, as a fraction of each position's price, that all open positions together may
    make before the margin level ``equity / Σ margins`` falls to ``stop_out_level``, margins held
    at their current values: ``(equity − stop_out_level × Σ margins) / Σ abs(notionals)``.

    Every position losing the same fraction x of its price loses x × its notional, so equity falls
    by x × Σ abs(notionals). Units: a fraction (0.05 is 5%). Source: the broker's stop-out rule
    (MetaTrader "Stop Out level"; ESMA's 50% margin close-out for retail CFDs).
    A move ≤ 0 means the account is already at or past the stop-out: no move is left.

    Equity 10,000; a 100,000 EURUSD long (margin 3,333.33) and a 50,000 USDJPY short (1,666.67):
    (10,000 − 0.5 × 5,000) / 150,000 = 5%.

    >>> portfolio_stop_out_move(10_000, [100_000, 50_000], [10_000 / 3, 5_000 / 3])
    0.05
    """
    if not -math.inf < equity < math.inf:
        raise must("equity", "a finite number", equity)
    if not 0 <= stop_out_level < math.inf:
        raise must("stop_out_level", ">= 0 (50% is 0.5)", stop_out_level)
    total_notional = []
    for i, v in enumerate(notionals, start=1):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise RiskInputError(f"notionals value {i} must be a number (got {v!r})")
        total_notional.append(abs(float(v)))
    total_margin = []
    for i, v in enumerate(margins, start=1):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise RiskInputError(f"margins value {i} must be a number (got {v!r})")
        if v < 0:
            raise must(f"margins value {i}", ">= 0", float(v))
        total_margin.append(float(v))
    if not total_margin:
        raise RiskInputError("margins is required (the range holds no numbers)")
    exposure = math.fsum(total_notional)
    if exposure == 0:
        raise RiskInputError("notionals must hold an open position (no notional in the range is above 0)")
    used = math.fsum(total_margin)
    room = equity - stop_out_level * used
    if room <= 0:
        level = f"{equity / used:.1%}" if used > 0 else "none"
        raise NoPrice(f"the account is already at or past the stop-out (margin level {level}, "
                      f"stop-out at {stop_out_level:.1%}): no move is left")
    return room / exposure


def currency_exposure(symbols: Sequence[str | None], sides: Sequence[int | None],
                      notionals: Sequence[float | None],
                      account_currency: str | None = None) -> list[tuple[str, float]]:
    """Net exposure per currency, in account currency, largest absolute first: an FX pair BASEQUOTE
    adds ``side × notional`` to BASE and ``−side × notional`` to QUOTE (a EURUSD long is long EUR,
    short USD); any other symbol adds ``side × notional`` under its own name. The account currency
    is left out when given (it is the unit, not a bet).

    ``sides`` are +1/−1; ``notionals`` the positions' values in account currency (sign ignored).
    A row whose three cells are empty is skipped. Ties keep alphabetical order. Source: the
    net-open-position idea of bank FX risk reporting (Basel "net open position" per currency).

    Long 100,000 EURUSD, long 50,000 EURGBP, short 30,000 US500, in a USD account:

    >>> currency_exposure(["EURUSD", "EURGBP", "US500"], [1, 1, -1], [100_000, 50_000, 30_000], "USD")
    [('EUR', 150000.0), ('GBP', -50000.0), ('US500', -30000.0)]
    """
    if not len(symbols) == len(sides) == len(notionals):
        raise RiskInputError(f"symbols, sides and notionals must be ranges of the same size "
                             f"(got {len(symbols)}, {len(sides)} and {len(notionals)} cells)")
    account = None
    if account_currency is not None:
        account = account_currency.strip().upper()
        if not re.fullmatch(r"[A-Z]{3,5}", account):  # USD, and a crypto account's USDT, USDC, BUSD
            raise must("account_currency", "a currency code like USD or USDT", account_currency)
    totals: dict[str, list[float]] = {}
    rows = 0
    for i, (symbol, side, size) in enumerate(zip(symbols, sides, notionals), start=1):
        if symbol is None and side is None and size is None:
            continue
        for name, v in (("symbols", symbol), ("sides", side), ("notionals", size)):
            if v is None:
                raise RiskInputError(f"{name} value {i} is required (the row has its other cells)")
        if not isinstance(symbol, str) or not symbol.strip():
            raise must(f"symbols value {i}", "a symbol like EURUSD", symbol)
        if side not in (1, -1) or isinstance(side, bool):
            raise must(f"sides value {i}", "long/buy, short/sell, 1 or -1", side)
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not math.isfinite(size):
            raise RiskInputError(f"notionals value {i} must be a number (got {size!r})")
        rows += 1
        amount = side * abs(float(size))
        legs = currency_legs(symbol)
        if legs is None:
            totals.setdefault(symbol.strip().upper(), []).append(amount)
        else:
            totals.setdefault(legs[0], []).append(amount)
            totals.setdefault(legs[1], []).append(-amount)
    if rows == 0:
        raise RiskInputError("symbols is required (the ranges hold no position)")
    net = [(name, math.fsum(amounts)) for name, amounts in sorted(totals.items()) if name != account]
    net.sort(key=lambda item: -abs(item[1]))
    return net
