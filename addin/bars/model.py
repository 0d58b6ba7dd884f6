"""A symbol's price bars as one validated object: columns of floats, not one object per bar.

A year of minute bars is about 370,000 rows; :class:`BarSeries` keeps each column as an
``array('d')`` (8 bytes a value, about 15 MB for that year) and checks the invariants once when it
is built: equal lengths, strictly increasing times, ``low <= open, close <= high``.

Times are the bars' start times as seconds on the file's wall clock: ``calendar.timegm`` of the
naive date and time the file prints (or of its UTC time when the format is UTC). ``time_zone`` says
which clock that is; :meth:`BarSeries.time` turns a value back into a naive ``datetime``.
"""

from __future__ import annotations

import calendar
from array import array
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..statements.model import RejectedRow, StatementError

_EPOCH = datetime(1970, 1, 1)


class BarsError(StatementError):
    """A bar file that cannot be read as a whole; the message names the file (and line)."""


def to_seconds(moment: datetime) -> float:
    """A naive wall-clock time as seconds on the bars' clock (``calendar.timegm``); an aware time is
    taken at its own wall clock, so convert it into the bars' zone first."""
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


def from_seconds(seconds: float) -> datetime:
    """The naive wall-clock time of a value on the bars' clock."""
    return _EPOCH + timedelta(seconds=seconds)


class BarLedger(BaseModel):
    """Where every line of the file went: ``seen == bars + skipped + rejected``.

    ``skipped`` counts header and blank lines; ``rejected`` every line that looked like data but
    could not be a bar (including duplicates of an earlier time and bars whose high is below their
    low), each listed in ``BarSeries.rejected`` with its line number and reason.
    """

    model_config = ConfigDict(frozen=True)

    seen: int = 0
    bars: int = 0
    skipped: int = 0
    rejected: int = 0

    @property
    def balanced(self) -> bool:
        return self.seen == self.bars + self.skipped + self.rejected

    def __str__(self) -> str:
        return f"{self.seen:,} lines: {self.bars:,} bars, {self.skipped:,} header/blank, {self.rejected:,} rejected"


class BarSeries(BaseModel):
    """One symbol's bars from one file, sorted by time.

    ``format``: "mt5" (MetaTrader 5 Export Bars, ``<DATE>\\t<TIME>\\t<OPEN>...``), "mt4" (MetaTrader 4
    History Center CSV, ``2025.03.03,00:00,open,high,low,close,volume`` without a header),
    "tradingview" (chart data export ``time,open,high,low,close,...``) or "binance" (data.binance.vision
    klines). ``symbol_source`` says where ``symbol`` came from: "argument" or "file name".
    ``bar_seconds`` is the bar length, inferred as the most common gap between consecutive bars.
    ``time_zone``: "UTC" when the format states UTC (Binance, TradingView Unix times and ISO times
    with an offset, converted), the zone the caller named (``read_bars(tz=...)``), or None: the file's
    own clock, unstated (MetaTrader writes its broker's server time). ``time_zone_note`` says which.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    file: str
    format: str
    symbol: str
    symbol_source: str
    bar_seconds: float
    time_zone: str | None
    time_zone_note: str
    times: array
    opens: array
    highs: array
    lows: array
    closes: array
    ledger: BarLedger
    rejected: list[RejectedRow] = []
    rejected_not_listed: int = 0

    @field_validator("times", "opens", "highs", "lows", "closes")
    @classmethod
    def _floats(cls, v: array) -> array:
        if not isinstance(v, array) or v.typecode != "d":
            raise ValueError("must be an array('d')")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "BarSeries":
        n = len(self.times)
        if not (len(self.opens) == len(self.highs) == len(self.lows) == len(self.closes) == n):
            raise ValueError("times, opens, highs, lows and closes must have the same length")
        if n == 0:
            raise ValueError("a bar series needs at least one bar")
        times = self.times
        if any(b <= a for a, b in zip(times, times[1:].tolist())):
            raise ValueError("times must be strictly increasing")
        if any(h < lo for h, lo in zip(self.highs, self.lows)):
            raise ValueError("every high must be >= its low")
        if not self.bar_seconds > 0:
            raise ValueError("bar_seconds must be > 0")
        if not self.ledger.balanced or self.ledger.bars != n:
            raise ValueError(f"the row ledger does not balance: {self.ledger} for {n} bars")
        return self

    def __len__(self) -> int:
        return len(self.times)

    def time(self, index: int) -> datetime:
        """The start of bar ``index`` as a naive datetime on the series' clock."""
        return from_seconds(self.times[index])

    @property
    def start(self) -> datetime:
        return self.time(0)

    @property
    def end(self) -> datetime:
        """When the last bar ends (its start plus ``bar_seconds``)."""
        return from_seconds(self.times[-1] + self.bar_seconds)
