"""Quote-to-account FX rates for a whole statement, one per currency and day, from its own trades.

A statement rarely prints the rate it converted each trade's profit at, but every closed trade in a
foreign quote currency implies it: profit ÷ (price move × quantity × contract size). One small trade
says little (its profit is rounded to the cent: a 0.01-lot EURGBP trade that moved 3 pips implies
GBP→USD only to ±15%), so the rate is fitted to all the closed trades of a day that imply it,
weighted by size (:func:`addin.risk.conversion.fit_fx_rate`). Each trade then gets:

1. the rate the statement states for it;
2. 1 when its quote currency is the account currency;
3. for a currency pair one of whose legs is the account currency, the pair's own price (USDJPY in a
   USD account: JPY→USD = 1/price, at the exit for a closed trade, at the entry for an open one);
4. the fitted rate of its day: the close day for a closed trade (its profit was converted then), the
   open day for an open trade (the journal's figures for it are at entry); a day without one takes
   the nearest day's that has one (the earlier of two as near);
5. a closed trade whose quote currency is unknown: the rate its own profit implies;
6. otherwise no rate: left empty, never 1 presented as data (see :func:`journal_rate`).

Every trade converted by rule 3 to 5 carries a label in its Flags saying where its rate came from.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ..risk import NoPrice, RiskInputError, implied_fx_rate, pair_fx_rate
from ..risk.conversion import HALF_CENT, RateFit, fit_fx_rate
from ..statements.model import Trade

SIDE = {"long": 1, "short": -1}

# The words each label starts or ends with, so a summary can count the trades by source.
OWN_PRICE = "from the pair's own price"
DAY = "from the statement's"
NEAREST = "the nearest day"
OWN_PROFIT = "from this trade's own profit"
NO_RATE = "no FX rate for"
CHECK = "check its profit"


@dataclass(frozen=True)
class Conversion:
    """One trade's quote-to-account rate (None: unknown) and what to write in its Flags."""

    rate: float | None
    flags: tuple[str, ...] = ()


def _pair(quote: str, account: str) -> str:
    return f"{quote}->{account}"


def _pct(uncertainty: float, rate: float) -> str:
    """An uncertainty as a percentage of the rate, two significant digits: ±0.074%."""
    return f"±{uncertainty / rate * 100:.2g}%"


def move_value(trade: Trade, contract_size: float) -> float | None:
    """side × (exit − entry) × |quantity| × contract size, in the quote currency (None: not closed)."""
    if trade.exit is None or trade.profit is None:
        return None
    return SIDE[trade.side] * (trade.exit - trade.entry) * abs(trade.quantity) * contract_size


class StatementRates:
    """The rates one statement's trades imply, by (quote currency, account currency) and day.

    ``items`` are (trade, account currency, quote currency or None, contract size): every trade of
    the statement, open ones too (they are the ones needing a rate from other days).
    """

    def __init__(self, items: Iterable[tuple[Trade, str, str | None, float]]):
        data: dict[tuple[str, str], dict[date, list[tuple[Trade, float]]]] = defaultdict(lambda: defaultdict(list))
        for trade, account, quote, contract_size in items:
            if quote is None or quote == account or trade.close_time is None:
                continue
            d = move_value(trade, contract_size)
            if d is not None and d != 0:
                data[(quote, account)][trade.close_time.date()].append((trade, d))
        self.fits: dict[tuple[str, str], dict[date, RateFit]] = {}
        self.dropped: dict[int, float] = {}  # id(trade) → the rate its own profit implies
        for key, by_day in data.items():
            fits = {}
            for day, group in by_day.items():
                try:
                    fit = fit_fx_rate([t.profit for t, _ in group], [d for _, d in group])
                except NoPrice:  # every profit 0.00, or signs against the moves: the day says nothing
                    continue
                fits[day] = fit
                for i in fit.dropped:
                    t, d = group[i]
                    self.dropped[id(t)] = t.profit / d
            if fits:
                self.fits[key] = fits
        self._days = {key: sorted(fits) for key, fits in self.fits.items()}

    def day_rate(self, quote: str, account: str, day: date) -> tuple[date, RateFit] | None:
        """The fit of ``day``, else of the nearest day that has one (the earlier of two as near)."""
        days = self._days.get((quote, account))
        if not days:
            return None
        i = bisect_left(days, day)
        if i < len(days) and days[i] == day:
            return day, self.fits[(quote, account)][day]
        near = [x for x in (days[i - 1] if i else None, days[i] if i < len(days) else None) if x is not None]
        best = min(near, key=lambda x: (abs((x - day).days), x))
        return best, self.fits[(quote, account)][best]

    def rate_for(self, trade: Trade, account: str, quote: str | None, base: str | None,
                 contract_size: float) -> Conversion:
        """The trade's rate and its label (see the module's rules 1 to 6)."""
        if trade.fx_to_account is not None:
            return Conversion(trade.fx_to_account)
        if quote is not None and quote == account:
            return Conversion(1.0)
        price = trade.exit if trade.exit is not None else trade.entry
        if quote is not None and base is not None and account in (base, quote):
            try:
                return Conversion(pair_fx_rate(base, quote, account, price),
                                  (f"{_pair(quote, account)} rate {OWN_PRICE}",))
            except (NoPrice, RiskInputError):  # e.g. an option expiry printed at price 0
                pass
        if quote is None:
            if trade.profit is not None and trade.exit is not None:
                try:
                    rate = implied_fx_rate(trade.profit, SIDE[trade.side], trade.entry, trade.exit,
                                           trade.quantity, contract_size)
                    return Conversion(rate, (f"quote currency unknown: rate {OWN_PROFIT}",))
                except (NoPrice, RiskInputError):
                    pass
            return Conversion(None, (f"{NO_RATE} this trade (quote currency unknown): "
                                     "figures in the account currency are not computed",))
        moment = trade.close_time if trade.exit is not None and trade.close_time is not None else trade.open_time
        found = None
        if moment is not None:
            found = self.day_rate(quote, account, moment.date())
        elif self._days.get((quote, account)):
            last = self._days[(quote, account)][-1]
            found = last, self.fits[(quote, account)][last]
        if found is None:
            return Conversion(None, (f"{NO_RATE} {_pair(quote, account)}: figures in the account currency "
                                     "are not computed",))
        day, fit = found
        pair = _pair(quote, account)
        trades = f"{fit.used} trade{'s' if fit.used != 1 else ''}"
        if moment is None or day != moment.date():
            when = "no open or close time" if moment is None else f"none on {moment:%Y-%m-%d}"
            return Conversion(fit.rate, (f"{pair} rate {DAY} {trades} closed {day:%Y-%m-%d}, {NEAREST} "
                                         f"({when}; {_pct(fit.uncertainty, fit.rate)})",))
        own = self.dropped.get(id(trade))
        if own is not None:
            return Conversion(fit.rate, (
                f"{pair} rate {DAY} {trades} closed {day:%Y-%m-%d} ({_pct(fit.uncertainty, fit.rate)})",
                f"this trade's profit implies {pair} {own:.6g}, {own / fit.rate - 1:+.1%} off its day's "
                f"{fit.rate:.6g}: {CHECK}"))
        d = move_value(trade, contract_size) if trade.close_time is not None else None
        if d and trade.profit / d > 0 and HALF_CENT / abs(d) < fit.uncertainty:
            # A trade large enough that its own cent-rounded profit gives its rate more precisely than
            # its day's fit does (which also spreads with the rate's moves during the day).
            return Conversion(trade.profit / d, (
                f"{pair} rate {OWN_PROFIT} ({_pct(HALF_CENT / abs(d), trade.profit / d)}; "
                f"its day's {trades}: {fit.rate:.6g} {_pct(fit.uncertainty, fit.rate)})",))
        return Conversion(fit.rate, (f"{pair} rate {DAY} {trades} closed {day:%Y-%m-%d} "
                                     f"({_pct(fit.uncertainty, fit.rate)})",))


def journal_rate(conversion: Conversion) -> tuple[float | None, tuple[str, ...]]:
    """The rate to write in the journal's FX to account (None: left empty), and the flags.

    An unknown rate is left empty, never written as 1: the journal's Point value then says "no FX
    rate" (it reads an empty FX to account as 1 only where the quote currency is the account
    currency), and so do the figures that need it. The flag replaces "not computed" by what to do.
    """
    if conversion.rate is not None:
        return conversion.rate, conversion.flags
    flags = tuple(f.replace("figures in the account currency are not computed",
                            "FX to account left empty, so its figures in the account currency say "
                            "\"no FX rate\": type the rate") for f in conversion.flags)
    return None, flags


def summary(trades: Iterable[Trade]) -> list[str]:
    """Lines for the fill's report: per quote currency → account currency, how many trades took
    their rate from where, and the trades for which there was none."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for t in trades:
        if t.quote_currency is not None and t.quote_currency == t.account_currency:
            counts[f"{t.account_currency} (the account currency)"]["rate 1"] += 1
            continue
        if t.quote_currency is None or t.account_currency is None:
            if t.quote_currency is None and any(f.startswith(NO_RATE) for f in t.flags):
                counts["unknown quote currency"]["no rate (left empty, flagged)"] += 1
            elif t.quote_currency is None and any(OWN_PROFIT in f for f in t.flags):
                counts["unknown quote currency"]["its own profit"] += 1
            continue
        key = _pair(t.quote_currency, t.account_currency)
        flags = " ".join(t.flags)
        if CHECK in flags:
            counts[key]["a profit its day's rate does not explain (flagged)"] += 1
        if any(f.startswith(NO_RATE) for f in t.flags):
            counts[key]["no rate (left empty, flagged)"] += 1
        elif OWN_PRICE in flags:
            counts[key]["the pair's own price"] += 1
        elif OWN_PROFIT in flags:
            counts[key]["their own profit (large trades)"] += 1
        elif NEAREST in flags:
            counts[key]["a nearby day's trades"] += 1
        elif DAY in flags:
            counts[key]["their day's trades"] += 1
        else:
            counts[key]["stated by the statement"] += 1
    lines = []
    for key in sorted(counts):
        parts = ", ".join(f"{n} with {src}" if src.startswith(("no rate", "a profit")) else f"{n} at {src}" if src == "rate 1"
                          else f"{n} from {src}" for src, n in sorted(counts[key].items(), key=lambda kv: -kv[1]))
        lines.append(f"{key}: {parts}")
    return lines
