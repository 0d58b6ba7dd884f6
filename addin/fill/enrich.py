"""Complete each imported trade with what the journal's risk figures need and the statement left out.

For every trade: contract size, asset class and quote currency from the Instruments table; the
quote-to-account FX rate (stated, 1 for the account currency, 1/price for a pair based on it, or
fitted to the profits of the statement's trades of its day, :mod:`.fx_rates`). A trade's Leverage is
its own only: what the statement states for that trade or position (Binance/Bybit position
leverage, a mapped generic-CSV column), never the account's -- the account leverage (the
statement's header, ``--leverage``) goes to Settings' AccountLeverage, and the Trades formulas use
it, capped by the regulator for the instrument's class, where a trade has no leverage of its own
and its instrument no margin rate (:func:`leverage_used` is that rule in Python). Equity at entry, when the statement does not state it, is
not completed here: it is the balance the whole journal had reached when the trade opened, which the
merge computes (:func:`addin.fill.plan.balance_before`). Every assumption is written into
``Trade.flags`` so the journal shows it.
All arithmetic is :mod:`addin.risk`'s; this module only decides which rule applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..journal.columns import CASH_CLASSES
from ..risk import symbols
from ..risk.errors import RiskInputError
from ..risk.limits import max_leverage
from ..statements.model import Trade
from .fx_rates import StatementRates, journal_rate

SIDE = {"long": 1, "short": -1}


@dataclass(frozen=True)
class AccountDefaults:
    """What the user (or the journal's Settings) says when a statement does not: the journal's
    currency, and the account leverage (Settings' AccountLeverage after the fill), which is never
    written into a trade's own Leverage (:func:`leverage_used` reads it)."""

    currency: str
    leverage: float


def opening_balance(statement) -> float | None:
    """The balance just before the statement's first trade opened: its deposits, withdrawals and
    realised net P/L dated earlier (None when it records no dated cash movement before then)."""
    opens = [t.open_time for t in statement.trades if t.open_time is not None]
    if not opens or not any(e.time is not None for e in statement.balance_events):
        return None
    first = min(opens)
    balance = sum(e.amount for e in statement.balance_events if e.time is not None and e.time < first)
    balance += sum(t.net_profit for t in statement.trades
                   if t.close_time is not None and t.net_profit is not None and t.close_time < first)
    return balance if balance > 0 else None


def _instrument(t: Trade, lookup: Callable[[str], object | None]):
    """(contract size, asset class, quote currency, base currency, flags) of a trade: the statement's
    own values first, then its Instruments row."""
    flags = []
    inst = lookup(t.symbol)
    contract_size = t.contract_size
    asset_class = t.asset_class
    quote = t.quote_currency
    base = None
    if inst is not None:
        contract_size = contract_size or inst.contract_size
        asset_class = getattr(inst, "asset_class", None) or asset_class
        quote = quote or getattr(inst, "quote_currency", None)
        # A currency pair's base is the first leg of its symbol (USDJPY -> USD), by the one classifier.
        legs = symbols.currency_legs(inst.symbol) if str(asset_class or "").startswith("FX") else None
        base = legs[0] if legs else None
    elif t.contract_size is None:
        contract_size = 1.0
        flags.append("symbol not in Instruments: contract size 1 assumed")
    return contract_size, asset_class, quote, base, flags


def enrich(trades: list[Trade], defaults: AccountDefaults,
           lookup: Callable[[str], object | None], statement_currency: str | None = None, on_progress: Callable[[int], None] | None = None) -> list[Trade]:
    """Return the trades completed for the journal (new Trade objects; the inputs are not changed).

    ``lookup(symbol)`` returns the Instruments row for a symbol (with ``symbol``, ``asset_class``,
    ``contract_size`` and ``quote_currency``) or None.
    """
    journal_currency = defaults.currency
    out = []
    found = [_instrument(t, lookup) for t in trades]
    money_of = [t.account_currency or statement_currency or journal_currency for t in trades]
    rates = StatementRates((t, m, f[2], f[0]) for t, m, f in zip(trades, money_of, found))
    for i, t in enumerate(trades):
        contract_size, asset_class, quote, base, more = found[i]
        flags = list(t.flags) + more
        if asset_class is None:
            flags.append("asset class unknown: add the symbol to Instruments")
        # The currency the statement states this trade's money in; FX converts prices into it.
        money = money_of[i]
        if money != journal_currency:
            flags.append(f"amounts in {money}, the journal's currency is {journal_currency}: "
                         "not converted (the statement gives no rate)")
        fx, fx_flags = journal_rate(rates.rate_for(t, money, quote, base, contract_size))
        flags += fx_flags
        out.append(t.model_copy(update={
            "contract_size": contract_size, "asset_class": asset_class, "quote_currency": quote,
            "fx_to_account": fx,
            "account_currency": money, "flags": tuple(dict.fromkeys(flags)),
        }))
        if on_progress is not None and i % 1000 == 999:
            on_progress(1000)
    if on_progress is not None:
        on_progress(len(trades) % 1000)
    return out


def leverage_for(own: float | None, asset_class: str | None, symbol: str, day, instrument,
                 account_leverage: float, regulator: str) -> float:
    """The leverage the Trades sheet's "Leverage used" formula gives a row, in Python (for the
    figures the fill computes itself, such as the lowest margin level over price bars): its own
    (``own``), else 1 / the instrument's margin rate, else 1 for a class held outright
    (:data:`CASH_CLASSES`), else ``min(account_leverage, the regulator's cap for its class on
    ``day``)``, or the account leverage where no cap applies (a future, a class the regulator does not
    cover, every class under the Regulator NONE: :func:`max_leverage` says there is no cap)."""
    if own is not None:
        return own
    rate = getattr(instrument, "margin_rate", None) if instrument is not None else None
    if rate:
        return 1 / rate
    cls = str(asset_class or "").upper()
    if cls in CASH_CLASSES:
        return 1.0
    if cls == "" or cls == "FUTURE":
        return account_leverage
    key = (instrument.symbol if instrument is not None else symbol) if cls.startswith("FX") else cls
    try:
        return min(account_leverage, max_leverage(regulator, key, day))
    except RiskInputError:
        return account_leverage


def leverage_used(t: Trade, instrument, account_leverage: float, regulator: str) -> float:
    """:func:`leverage_for` of an enriched trade."""
    return leverage_for(t.leverage, t.asset_class, t.symbol, t.open_time.date() if t.open_time else None,
                        instrument, account_leverage, regulator)
