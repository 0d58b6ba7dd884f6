"""The excursions of statement trades over bar series: the API the fill and the journal call.

:func:`trade_excursions` takes :class:`~addin.statements.model.Trade` objects (any reader's) and
the :class:`~addin.bars.model.BarSeries` of their symbols, and returns one
:class:`TradeExcursion` per trade, in the trades' order: MAE and MFE (price distances), in R where
the trade has a stop, the worst and best price, and whether the bars cover the trade. The
arithmetic is :func:`addin.risk.excursion.excursions` (one sweep per series); the lowest margin
level follows from ``worst_price`` with :func:`addin.risk.lowest_margin_level` once the journal
knows the trade's equity, leverage and contract size.

Clocks: a naive trade time is taken to be on the bars' clock (a MetaTrader statement and the same
broker's bar export share the server time; a Binance trade and Binance klines share UTC), and the
result says so (``same_clock_assumed``). An aware trade time is converted into the bars' zone when
the series states one; against bars whose zone is unknown it cannot be placed, and the result says
why instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ..risk import RiskInputError, excursion_r, symbols
from ..risk.excursion import ExcursionTrade, RangeExtremes, excursions
from ..statements.model import Trade
from .model import BarSeries, from_seconds, to_seconds
from .read import _zone


class TradeExcursion(BaseModel):
    """One trade's excursions over its symbol's bars (see :class:`addin.risk.excursion.Excursion`).

    ``mae`` / ``mfe``: price distances in the quote currency (None when no bar covers the trade);
    ``mae_r`` / ``mfe_r``: the same in units of the initial risk, None with ``r_note`` saying why
    (no stop, a stop on the profit side). ``coverage`` "full", "partial" (``missing_before`` /
    ``missing_after`` seconds of the trade outside the series) or "none"; ``first_bar`` /
    ``last_bar`` the start times of the bars used. ``bars_file`` the file the series came from.
    """

    model_config = ConfigDict(frozen=True)

    key: tuple[str, str, str]
    symbol: str
    bars_file: str | None = None
    bars_symbol: str | None = None
    mae: float | None = None
    mfe: float | None = None
    mae_r: float | None = None
    mfe_r: float | None = None
    r_note: str = ""
    worst_price: float | None = None
    best_price: float | None = None
    coverage: str = "none"
    missing_before: float = 0.0
    missing_after: float = 0.0
    first_bar: datetime | None = None
    last_bar: datetime | None = None
    bars: int = 0
    entry_in_range: bool | None = None
    same_clock_assumed: bool = False
    note: str = ""


def _symbol_key(symbol: str) -> str:
    """A symbol compared loosely: the one classifier's name (:func:`addin.risk.symbols.name`: upper
    case, a broker's suffix or prefix such as ".m", "_i", "#", "i" and separators dropped)."""
    return re.sub(r"[^A-Z0-9]", "", symbols.name(symbol))


def _index(series: Iterable[BarSeries] | Mapping[str, BarSeries]) -> tuple[dict, dict]:
    items = list(series.items()) if isinstance(series, Mapping) else [(s.symbol, s) for s in series]
    exact: dict[str, BarSeries] = {}
    loose: dict[str, list[BarSeries]] = {}
    for name, s in items:
        if name in exact and exact[name] is not s:
            raise ValueError(f"two bar series for the symbol {name!r}: {exact[name].file} and {s.file}")
        exact[name] = s
        loose.setdefault(_symbol_key(name), []).append(s)
    return exact, loose


def _on_clock(moment: datetime, series: BarSeries) -> tuple[float | None, bool, str]:
    """(seconds on the series' clock, same clock assumed, why not) for one trade time."""
    if moment.tzinfo is None:
        return to_seconds(moment), True, ""
    if series.time_zone is None:
        return None, False, (f"the trade's time carries a zone ({moment.tzinfo}) but the bars' zone is not stated: "
                             "read the bars with tz=... to place the trade")
    local = moment.astimezone(_zone(series.time_zone, series.file)).replace(tzinfo=None)
    return to_seconds(local), False, ""


def trade_excursions(trades: Iterable[Trade], series: Iterable[BarSeries] | Mapping[str, BarSeries],
                     edge_bars: bool = True) -> list[TradeExcursion]:
    """One :class:`TradeExcursion` per trade, in order, over the bar series of its symbol.

    ``series``: bar series by symbol (a mapping), or a list of series keyed by their own symbol. A
    trade's symbol matches a series exactly, else loosely (case, a broker suffix such as ".m" and
    separators ignored: "EURUSD.m" finds "EURUSD", "BTC/USDT" finds "BTCUSDT") when exactly one
    series matches so. ``edge_bars`` as in :func:`addin.risk.excursion.excursions` (the bars of the
    open and close minute count whole).
    """
    trades = list(trades)
    exact, loose = _index(series)
    results: list[TradeExcursion | None] = [None] * len(trades)
    jobs: dict[int, tuple[BarSeries, list]] = {}
    for k, t in enumerate(trades):
        base = dict(key=t.key, symbol=t.symbol)
        s = exact.get(t.symbol)
        if s is None:
            found = loose.get(_symbol_key(t.symbol), [])
            if len(found) == 1:
                s = found[0]
            else:
                why = (f"no bars for {t.symbol}" if not found else
                       f"{len(found)} bar series match {t.symbol} loosely ({', '.join(f.symbol for f in found)})")
                results[k] = TradeExcursion(**base, note=why)
                continue
        base.update(bars_file=s.file, bars_symbol=s.symbol)
        if t.open_time is None:
            results[k] = TradeExcursion(**base, note="the trade has no open time")
            continue
        if t.close_time is None and t.exit is not None:
            results[k] = TradeExcursion(**base, note="the trade is closed but has no close time: the bars after "
                                                     "its close cannot be told apart")
            continue
        if not t.entry > 0:
            results[k] = TradeExcursion(**base, note="the trade has no entry price (0)")
            continue
        opened, assumed, why = _on_clock(t.open_time, s)
        closed = None
        if why == "" and t.close_time is not None:
            closed, assumed_close, why = _on_clock(t.close_time, s)
            assumed = assumed or assumed_close
        if why:
            results[k] = TradeExcursion(**base, note=why)
            continue
        if closed is not None and closed < opened:
            results[k] = TradeExcursion(**base, note="the trade closes before it opens")
            continue
        jobs.setdefault(id(s), (s, []))[1].append((k, ExcursionTrade(1 if t.side == "long" else -1, t.entry,
                                                                      opened, closed), assumed, base))
    for s, items in jobs.values():
        extremes = RangeExtremes(s.lows, s.highs)
        found = excursions([job for _, job, _, _ in items], s.times, s.lows, s.highs, s.bar_seconds,
                           edge_bars, extremes)
        for (k, job, assumed, base), ex in zip(items, found):
            trade = trades[k]
            mae_r = mfe_r = None
            r_note = ""
            if ex.mae is not None:
                try:
                    mae_r = excursion_r(ex.mae, trade.entry, trade.stop, job.side)
                    mfe_r = excursion_r(ex.mfe, trade.entry, trade.stop, job.side)
                except RiskInputError as exc:
                    r_note = str(exc)
            results[k] = TradeExcursion(
                **base, mae=ex.mae, mfe=ex.mfe, mae_r=mae_r, mfe_r=mfe_r, r_note=r_note,
                worst_price=ex.worst_price, best_price=ex.best_price, coverage=ex.coverage,
                missing_before=ex.missing_before, missing_after=ex.missing_after,
                first_bar=None if ex.first_bar is None else from_seconds(s.times[ex.first_bar]),
                last_bar=None if ex.last_bar is None else from_seconds(s.times[ex.last_bar]),
                bars=ex.bars, entry_in_range=ex.entry_in_range, same_clock_assumed=assumed, note=ex.note)
    return results  # type: ignore[return-value]
