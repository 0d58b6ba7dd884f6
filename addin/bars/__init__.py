"""Price bars from the files traders already have (MetaTrader 5 and 4, TradingView, Binance), and
the excursions of their trades over them.

* :func:`read_bars` / :func:`looks_like_bars` (:mod:`.read`): one file into a
  :class:`BarSeries` (:mod:`.model`), every line accounted for.
* :func:`trade_excursions` (:mod:`.trades`): MAE, MFE, their R multiples, the worst and best price
  and the coverage of each statement :class:`~addin.statements.model.Trade` over the bar series of
  its symbol; the arithmetic is :mod:`addin.risk.excursion`.
"""

from .model import BarLedger, BarsError, BarSeries, from_seconds, to_seconds
from .read import FORMATS, looks_like_bars, read_bars, symbol_from_name
from .trades import TradeExcursion, trade_excursions

__all__ = ["BarLedger", "BarsError", "BarSeries", "FORMATS", "TradeExcursion", "from_seconds", "looks_like_bars",
           "read_bars", "symbol_from_name", "to_seconds", "trade_excursions"]
