"""Adverse moves: how far price can go against a position before the margin is gone, the broker
calls, stops out, or the exchange liquidates.

``side`` is +1 (long) or −1 (short); prices in quote currency; money in account currency;
``fx_rate`` converts quote into account currency; levels and rates are fractions (50% is 0.5).
"""

from __future__ import annotations

import math

from .errors import NoPrice, RiskInputError, must
from .margin_models import price_at_margin_level

_INF = math.inf


def _check_side(side: int) -> None:
    if side != 1 and side != -1:
        raise RiskInputError(f"side must be 1 (long) or -1 (short) (got {side!r})")


def pip_value(quantity: float, pip_size: float = 0.0001, contract_size: float = 1.0,
              fx_rate: float = 1.0) -> float:
    """Account-currency value of a one-pip move: ``abs(quantity) × contract_size × pip_size × fx_rate``.

    One standard lot of EUR/USD in a USD account is $10 a pip:

    >>> round(pip_value(1, 0.0001, 100_000), 2)
    10.0
    """
    if not -_INF < quantity < _INF or quantity == 0:
        raise must("quantity", "a non-zero number", quantity)
    if not 0 < pip_size < _INF:
        raise must("pip_size", "> 0", pip_size)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    return abs(quantity) * contract_size * pip_size * fx_rate


def wipeout_pips(margin: float, quantity: float, pip_size: float = 0.0001, contract_size: float = 1.0,
                 fx_rate: float = 1.0) -> float:
    """Pips of adverse move that lose the whole margin: ``margin / pip_value``.

    $220 of margin behind 10,000 EUR/USD ($1 a pip) lasts 220 pips:

    >>> round(wipeout_pips(220, 10_000), 6)
    220.0
    """
    # The checks and formula of pip_value() inline: this runs once per row of a spilled range.
    if not 0 <= margin < _INF:
        raise must("margin", ">= 0", margin)
    if not -_INF < quantity < _INF or quantity == 0:
        raise must("quantity", "a non-zero number", quantity)
    if not 0 < pip_size < _INF:
        raise must("pip_size", "> 0", pip_size)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    return margin / (abs(quantity) * contract_size * pip_size * fx_rate)


def wipeout_move(leverage: float, stop_out_level: float = 0.0, side: int = 1, account_is_base: bool = False) -> float:
    """Adverse move, as a fraction of entry price, that takes an all-in position (equity = its margin
    at entry) to the stop-out level: ``side × (entry − P) / entry`` with P the price
    :func:`stop_out_price` gives for that position (the same margin model,
    :mod:`addin.risk.margin_models`; tests check the two agree). Its closed form, with
    s = stop_out_level and L = leverage:

        quote kind (margin revalued at the price): long (1 − s) / (L − s), short (1 − s) / (L + s)
        base kind (margin constant, profit at 1/P): long (1 − s) / (L + 1 − s), short (1 − s) / (L − 1 + s)

    At 50:1 a 2% fall wipes out a long's margin; at 10:1 it takes 10%:

    >>> wipeout_move(50), wipeout_move(10)
    (0.02, 0.1)

    With a 50% stop-out a long at 30:1 is closed after a 1.69% fall:

    >>> round(wipeout_move(30, 0.5), 5)
    0.01695
    """
    _check_side(side)
    if not 0 < leverage < _INF:
        raise must("leverage", "> 0", leverage)
    if not 0 <= stop_out_level < 1:
        raise must("stop_out_level", ">= 0 and < 1", stop_out_level)
    cushion = 1.0 - stop_out_level
    if account_is_base:  # price_at_margin_level's base-kind solution with equity = Q / leverage
        room = leverage + side * cushion
    else:  # its quote-kind solution with equity = K × entry / leverage
        room = leverage - side * stop_out_level
    if room <= 0:
        raise NoPrice("no price: an all-in position at this leverage never reaches the stop-out level"
                      if side == 1 or account_is_base else "margin level never falls to that level")
    move = cushion / room
    if side == 1 and move >= 1:
        raise NoPrice("no price: equity covers the position all the way to zero")
    return move


def _check_position(side: int, entry: float, quantity: float, equity: float, leverage: float, level: float,
                    contract_size: float, fx_rate: float, other_margin: float) -> None:
    _check_side(side)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not -_INF < quantity < _INF or quantity == 0:
        raise must("quantity", "a non-zero number", quantity)
    if not -_INF < equity < _INF:
        raise must("equity", "a finite number", equity)
    if not 0 < leverage < _INF:
        raise must("leverage", "> 0", leverage)
    if not 0 <= level < _INF:
        raise must("level", ">= 0", level)
    if not 0 < contract_size < _INF:
        raise must("contract_size", "> 0", contract_size)
    if not 0 < fx_rate < _INF:
        raise must("fx_rate", "> 0", fx_rate)
    if not 0 <= other_margin < _INF:
        raise must("other_margin", ">= 0", other_margin)


def margin_call_price(side: int, entry: float, quantity: float, equity: float, leverage: float,
                      level: float = 1.0, contract_size: float = 1.0, fx_rate: float = 1.0,
                      other_margin: float = 0.0, account_is_base: bool = False) -> float:
    """Price at which equity / used margin falls to ``level``, by the margin model of the position's
    kind (:mod:`addin.risk.margin_models`); ``other_margin`` is held by other positions and
    ``equity`` is the account equity with the position just opened (no P/L yet), account currency.

    Quote kind (``account_is_base`` FALSE): margin K × P / leverage revalued at the price, in account
    currency, profit side × (P − entry) × K with K = abs(quantity) × contract_size × fx_rate (fx_rate
    held fixed). Closed form:

        P = (equity − side × entry × K − level × other_margin) / (K × (level / leverage − side))

    Base kind (``account_is_base`` TRUE: USDJPY or USDCHF in a USD account, EURUSD in a EUR
    account): margin Q / leverage in the account (= base) currency, constant; profit in the quote
    currency converted at the current price, side × (P − entry) × Q / P, Q = abs(quantity) × contract_size.
    Closed form, T = level × (Q / leverage + other_margin):

        P = entry / (1 + side × (equity − T) / Q)

    Raises NoPrice when the level can never be reached (a long whose equity covers the position) or
    is already breached at entry.

    1 lot EUR/USD at 1.1000, 1:100, $1,000 equity, stop-out at 50%:

    >>> round(margin_call_price(1, 1.1, 1, 1_000, 100, 0.5, 100_000), 5)
    1.09548

    1 lot USD/JPY long at 150.00 in a USD account, 1:100 ($1,000 margin), $2,000 equity, stop-out at
    50%: the stop-out takes a $1,500 loss, 100,000 × (150 − P) / P = 1,500, P = 150 / 1.015:

    >>> round(margin_call_price(1, 150.0, 1, 2_000, 100, 0.5, 100_000, 1, 0, True), 3)
    147.783
    """
    _check_position(side, entry, quantity, equity, leverage, level, contract_size, fx_rate, other_margin)
    return price_at_margin_level(side, entry, quantity, equity, leverage, level, contract_size, fx_rate,
                                 other_margin, account_is_base)


def stop_out_price(side: int, entry: float, quantity: float, equity: float, leverage: float,
                   level: float = 0.5, contract_size: float = 1.0, fx_rate: float = 1.0,
                   other_margin: float = 0.0, account_is_base: bool = False) -> float:
    """Price at which the broker closes the position: :func:`margin_call_price` (same margin model,
    same currencies, same closed form) at the stop-out level (default 50%, the close-out rule for
    retail CFDs under ESMA, FCA and ASIC).

    >>> round(stop_out_price(-1, 1.1, 1, 1_000, 100, 0.5, 100_000), 5)
    1.10448
    """
    return margin_call_price(side, entry, quantity, equity, leverage, level, contract_size, fx_rate,
                             other_margin, account_is_base)


def stock_margin_call_price(entry: float, initial_margin: float, maintenance_margin: float,
                            side: int = 1) -> float:
    """Price at which a stock bought (or shorted) on margin hits the maintenance requirement.

    Long: ``entry × (1 − initial) / (1 − maintenance)``;
    short: ``entry × (1 + initial) / (1 + maintenance)``.

    A long bought with 100% initial margin has no loan and no call price; an initial margin at or
    below the maintenance margin is at the call from entry: both raise NoPrice.

    Bought at 100 with 50% initial (Reg T) and 30% maintenance:

    >>> round(stock_margin_call_price(100, 0.5, 0.3), 2)
    71.43
    """
    _check_side(side)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < initial_margin <= 1:
        raise must("initial_margin", "> 0 and <= 1", initial_margin)
    if not 0 <= maintenance_margin < 1:
        raise must("maintenance_margin", ">= 0 and < 1", maintenance_margin)
    if side == 1 and initial_margin == 1:
        raise NoPrice("no margin call: with 100% initial margin nothing is borrowed (no loan)")
    if initial_margin <= maintenance_margin:
        raise NoPrice(f"no price: the initial margin ({initial_margin:.4g}) is not above the maintenance margin "
                      f"({maintenance_margin:.4g}), so the account is at the call from entry")
    if side == 1:
        return entry * (1 - initial_margin) / (1 - maintenance_margin)
    return entry * (1 + initial_margin) / (1 + maintenance_margin)


def futures_margin_call_price(side: int, entry: float, equity: float, maintenance_margin: float,
                              multiplier: float, contracts: float = 1.0) -> float:
    """Price at which account equity falls below ``maintenance_margin × contracts``:

        P = entry − side × (equity − maintenance_margin × contracts) / (multiplier × contracts)

    ``maintenance_margin`` is money per contract; ``multiplier`` the account-currency value of a 1.0
    price move for one contract. 2 E-mini S&P (×50) at 5,000 with $30,000 and $12,000 maintenance:

    >>> futures_margin_call_price(1, 5_000, 30_000, 12_000, 50, 2)
    4940.0
    """
    _check_side(side)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not -_INF < equity < _INF:
        raise must("equity", "a finite number", equity)
    if not 0 <= maintenance_margin < _INF:
        raise must("maintenance_margin", ">= 0", maintenance_margin)
    if not 0 < multiplier < _INF:
        raise must("multiplier", "> 0", multiplier)
    if not 0 < contracts < _INF:
        raise must("contracts", "> 0", contracts)
    cushion = equity - maintenance_margin * contracts
    if cushion < 0:
        raise NoPrice("equity is already below the maintenance margin at entry")
    price = entry - side * cushion / (multiplier * contracts)
    if price <= 0:
        raise NoPrice("no price: equity covers the position all the way to zero")
    return price


def liquidation_price(side: int, entry: float, leverage: float, maintenance_rate: float = 0.005,
                      inverse: bool = False) -> float:
    """Isolated-margin liquidation price with no margin added.

    Linear (USDT-margined): long ``entry × (1 − 1/leverage + mmr)``, short ``entry × (1 + 1/leverage − mmr)``.
    Inverse (coin-margined): long ``entry × (1 + mmr) / (1 + 1/leverage)``,
    short ``entry × (1 − mmr) / (1 − 1/leverage)``.

    Raises NoPrice when 1/leverage is not above the maintenance rate (the answer would be at or
    beyond entry: 250x with 0.5% maintenance) or when the margin covers a fall to zero.

    Entry 10, 10x, maintenance 1%: long 9.10, short 10.90:

    >>> round(liquidation_price(1, 10, 10, 0.01), 2), round(liquidation_price(-1, 10, 10, 0.01), 2)
    (9.1, 10.9)
    """
    _check_side(side)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not 0 < leverage < _INF:
        raise must("leverage", "> 0", leverage)
    if not 0 <= maintenance_rate < 1:
        raise must("maintenance_rate", ">= 0 and < 1", maintenance_rate)
    inv_lev = 1.0 / leverage
    if inv_lev <= maintenance_rate:
        raise NoPrice(f"no liquidation price: the initial margin (1/leverage = {inv_lev:.4g}) is not above the "
                      f"maintenance rate ({maintenance_rate:.4g}), so the position is liquidated at entry")
    if not inverse:
        factor = 1 - inv_lev + maintenance_rate if side == 1 else 1 + inv_lev - maintenance_rate
    elif side == 1:
        factor = (1 + maintenance_rate) / (1 + inv_lev)
    else:
        if inv_lev >= 1:
            raise NoPrice("no liquidation price: a coin-margined short at 1x or less cannot be liquidated")
        factor = (1 - maintenance_rate) / (1 - inv_lev)
    if factor <= 0:
        raise NoPrice("no liquidation price: the margin covers a fall to zero")
    return entry * factor


def maintenance_amounts(floors: list[float], rates: list[float]) -> list[float]:
    """Maintenance amounts of a tier table from its floors and rates, by the exchange recurrence
    ``cum_n = floor_n × (mmr_n − mmr_(n−1)) + cum_(n−1)``, cum_0 = 0.

    Binance BTCUSDT (2024): floors 0 / 50k / 600k / 3M / 12M at 0.4% / 0.5% / 0.65% / 1% / 2%:

    >>> [round(c, 6) for c in maintenance_amounts([0, 50e3, 600e3, 3e6, 12e6], [.004, .005, .0065, .01, .02])]
    [0.0, 50.0, 950.0, 11450.0, 131450.0]
    """
    cums: list[float] = []
    for i, (floor, rate) in enumerate(zip(floors, rates)):
        cums.append(0.0 if i == 0 else floor * (rate - rates[i - 1]) + cums[-1])
    return cums


def _validate_tiers(tiers: list[list[float]]) -> list[tuple[float, float, float, float]]:
    if not tiers:
        raise RiskInputError("tiers must have at least one row (notional floor, notional cap, maintenance rate[, maintenance amount])")
    rows = []
    for i, row in enumerate(tiers, start=1):
        if len(row) not in (3, 4):
            raise RiskInputError(f"tiers row {i} must have 3 or 4 columns: notional floor, notional cap, maintenance rate[, maintenance amount] (got {len(row)})")
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not -_INF < v < _INF:
                raise RiskInputError(f"tiers row {i} column {j + 1} must be a number (got {v!r})")
        floor, cap, rate = float(row[0]), float(row[1]), float(row[2])
        if not 0 <= floor < cap:
            raise RiskInputError(f"tiers row {i} must have 0 <= notional floor < notional cap (got {floor:g}, {cap:g})")
        if not 0 <= rate < 1:
            raise must(f"tiers row {i} maintenance rate", ">= 0 and < 1", rate)
        if rows and floor < rows[-1][1] - 1e-9 * rows[-1][1] and floor != rows[-1][1]:
            raise RiskInputError(f"tiers row {i} floor {floor:g} overlaps the cap of row {i - 1} ({rows[-1][1]:g})")
        rows.append((floor, cap, rate, float(row[3]) if len(row) == 4 else math.nan))
    if any(math.isnan(r[3]) for r in rows):
        cums = maintenance_amounts([r[0] for r in rows], [r[2] for r in rows])
        rows = [(f, c, m, cum) for (f, c, m, _), cum in zip(rows, cums)]
    return rows


def liquidation_price_tiered(side: int, quantity: float, entry: float, wallet_balance: float,
                             tiers: list[list[float]], other_maintenance: float = 0.0,
                             other_upnl: float = 0.0) -> tuple[float, int]:
    """Liquidation price of a one-way USDT-margined futures position under a tier table, and the
    1-based tier row it used.

        LP = (WB − other_maintenance + other_upnl + cum − side × Q × EP) / (Q × mmr − side × Q)

    with Q = abs(quantity), EP = entry, and (mmr, cum) the maintenance rate and amount of the tier
    holding the notional Q × LP; each tier is tried and the one whose range contains its own answer
    is used. Tiers are rows of (notional floor, notional cap, maintenance rate[, maintenance amount]);
    a missing amount follows :func:`maintenance_amounts`. Raises NoPrice when LP ≤ 0, when LP is at or
    beyond entry (the wallet does not cover the maintenance margin now) and when the liquidation
    notional is beyond the last bracket's cap (the table does not say what rate applies there).

    1 BTC long at 60,000 with 6,000 in the wallet, first two BTCUSDT tiers: the first tier's answer
    (54,216.87) has a notional beyond its 50,000 cap, so the second tier (0.5%, 50) decides:

    >>> lp, tier = liquidation_price_tiered(1, 1, 60_000, 6_000, [[0, 50e3, .004, 0], [50e3, 600e3, .005, 50]])
    >>> round(lp, 2), tier
    (54221.11, 2)
    """
    _check_side(side)
    if not -_INF < quantity < _INF or quantity == 0:
        raise must("quantity", "a non-zero number", quantity)
    if not 0 < entry < _INF:
        raise must("entry", "> 0", entry)
    if not -_INF < wallet_balance < _INF:
        raise must("wallet_balance", "a finite number", wallet_balance)
    if not 0 <= other_maintenance < _INF:
        raise must("other_maintenance", ">= 0", other_maintenance)
    if not -_INF < other_upnl < _INF:
        raise must("other_upnl", "a finite number", other_upnl)
    rows = _validate_tiers(tiers)
    q = abs(quantity)
    base = wallet_balance - other_maintenance + other_upnl - side * q * entry
    for i, (floor, cap, rate, cum) in enumerate(rows):
        denom = q * rate - side * q
        if denom == 0:
            continue
        lp = (base + cum) / denom
        if floor <= q * lp < cap:
            if lp <= 0:
                raise NoPrice("no liquidation price: the wallet covers a fall to zero")
            if side * (entry - lp) <= 0:
                raise NoPrice("no liquidation price: the wallet does not cover the maintenance margin at entry "
                              "(the answer would be at or beyond entry)")
            return lp, i + 1
    # No tier contains its own answer: the price is <= 0, or its notional is beyond the table.
    lp0 = (base + rows[0][3]) / (q * rows[0][2] - side * q)
    if lp0 <= 0:
        raise NoPrice("no liquidation price: the wallet covers a fall to zero")
    last_cap = rows[-1][1]
    lp_last = (base + rows[-1][3]) / (q * rows[-1][2] - side * q)
    if q * lp_last >= last_cap:
        raise NoPrice(f"no liquidation price within the tier table: the liquidation notional (about {q * lp_last:,.0f}) "
                      f"is beyond the last bracket's cap ({last_cap:,.0f}); add the higher tiers")
    raise NoPrice("no liquidation price: no tier of the table contains its own answer (check the floors, caps "
                  "and maintenance amounts)")
