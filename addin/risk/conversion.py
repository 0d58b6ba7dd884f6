"""Converting a trade's quote currency into the account currency when a statement gives no rate."""

from __future__ import annotations

import math
from typing import NamedTuple

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


HALF_CENT = 0.005  # the most a statement's profit, printed to the cent, is off its exact value
OUTLIER_TOLERANCE = 0.02  # how far (fraction) a trade's profit may be from the fitted rate's, past rounding


class RateFit(NamedTuple):
    """One quote-to-account rate fitted to several closed trades (see :func:`fit_fx_rate`).

    ``rate``: account currency per unit of quote currency. ``uncertainty``: the larger of
    ``rounding_bound`` (the most cent rounding alone can move the fit) and ``std_error`` (the
    scatter the trades actually show), same unit. ``used``: how many trades the fit rests on;
    ``dropped``: the positions, in the input, of the trades left out as disagreeing with the others.
    """

    rate: float
    uncertainty: float
    rounding_bound: float
    std_error: float
    used: int
    dropped: tuple[int, ...]


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = sorted(range(len(values)), key=values.__getitem__)
    half = math.fsum(weights) / 2
    run = 0.0
    for i in order:
        run += weights[i]
        if run >= half:
            return values[i]
    return values[order[-1]]


def _wls(profits: list[float], moves: list[float], keep: list[int]) -> float:
    return math.fsum(profits[i] * moves[i] for i in keep) / math.fsum(moves[i] ** 2 for i in keep)


def fit_fx_rate(profits, move_values, tolerance: float = OUTLIER_TOLERANCE,
                half_cent: float = HALF_CENT) -> RateFit:
    """The quote-to-account rate several closed trades imply together, weighted by size.

    Trade i moved ``d_i = side × (exit − entry) × |quantity| × contract_size`` (quote currency) and
    the statement prints its profit ``p_i`` (account currency) rounded to the cent, so on its own it
    implies ``r_i = p_i / d_i`` give or take ``half_cent / |d_i|``: a small trade's rate is mostly
    rounding. The fit is the least-squares line through the origin,

        r = Σ p_i·d_i / Σ d_i²        (weights ∝ d_i², the inverse of each r_i's rounding variance)

    with, as its uncertainty, the larger of

        rounding_bound = half_cent × Σ|d_i| / Σ d_i²     (the most cent rounding alone can move r)
        std_error = √(n/(n−1) × Σ e_i²·d_i²) / Σ d_i²,   e_i = p_i − r·d_i

    (the heteroscedasticity-consistent standard error: valid whether the scatter is rounding, the
    same in money for every trade, or the rate moving during the day, proportional to size).

    Robustness: a profit that rounding and the rate's movement cannot explain (a misread row, a
    profit booked net of something else) would pull a least-squares fit towards itself, the more so
    the larger the trade. So the fit starts from the |d_i|-weighted median of the r_i (a majority of
    the trades by size decides) and keeps only the trades whose profit lies within
    ``half_cent + tolerance × |r·d_i|`` of the fit's, refitting until that set no longer changes.
    A plain weighted median would ignore the rounding: every small trade would count as much as its
    noisy r_i says; trimming then refitting keeps the least-squares weights for the trades that agree.

    Units: profits in account currency, moves in quote currency; the rate in account currency per
    unit of quote currency. Trades whose price did not move (d_i = 0) say nothing and are skipped.

    Three EURGBP trades in a USD account: 1 lot up 20 pips made $254.00 (1.27 a pound), 0.5 lot up
    10 pips $63.00 (1.26), 0.1 lot up 30 pips $38.40 (1.28); the big trade weighs most:

    >>> fit = fit_fx_rate([254.0, 63.0, 38.4], [200.0, 50.0, 30.0])
    >>> round(fit.rate, 6), fit.used, fit.dropped
    (1.269631, 3, ())
    >>> round(fit.rounding_bound, 7), round(fit.std_error, 6)
    (3.23e-05, 0.000839)
    """
    p = list(profits)
    d = list(move_values)
    if len(p) != len(d):
        raise RiskInputError(f"profits and move_values must be as long as each other (got {len(p)} and {len(d)})")
    if not 0 <= tolerance < _INF:
        raise must("tolerance", ">= 0", tolerance)
    if not 0 <= half_cent < _INF:
        raise must("half_cent", ">= 0", half_cent)
    for i, (pi, di) in enumerate(zip(p, d)):
        if isinstance(pi, bool) or not isinstance(pi, (int, float)) or not -_INF < pi < _INF:
            raise must(f"profits[{i}]", "a finite number", pi)
        if isinstance(di, bool) or not isinstance(di, (int, float)) or not -_INF < di < _INF:
            raise must(f"move_values[{i}]", "a finite number", di)
    moved = [i for i in range(len(d)) if d[i] != 0]
    if not moved:
        raise NoPrice("no rate: no trade's price moved")
    center = _weighted_median([p[i] / d[i] for i in moved], [abs(d[i]) for i in moved])
    keep: list[int] = []
    for _ in range(50):
        now = [i for i in moved if abs(p[i] - center * d[i]) <= half_cent + tolerance * abs(center * d[i])]
        if now == keep or not now:  # settled (an empty set cannot happen in practice: keep the last)
            break
        keep = now
        center = _wls(p, d, keep)
    rate = center
    if not rate > 0:
        raise NoPrice("no rate: the profits' signs contradict the price moves")
    n = len(keep)
    sum_d2 = math.fsum(d[i] ** 2 for i in keep)
    bound = half_cent * math.fsum(abs(d[i]) for i in keep) / sum_d2
    if n > 1:
        spread = math.fsum((p[i] - rate * d[i]) ** 2 * d[i] ** 2 for i in keep) * n / (n - 1)
        std_error = math.sqrt(spread) / sum_d2
    else:
        std_error = 0.0
    dropped = tuple(i for i in moved if i not in set(keep))
    return RateFit(rate, max(bound, std_error), bound, std_error, n, dropped)
