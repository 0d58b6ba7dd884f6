"""Readers for the price-bar files traders already have, told apart by their content.

* **MetaTrader 5** (Symbols → Bars → Export): tab-separated, a header of ``<DATE> <TIME> <OPEN>
  <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>``, dates ``2025.03.03``, times ``00:00:00`` (or
  ``00:00``), in the broker's server time. A daily export may have no ``<TIME>`` column.
* **MetaTrader 4** (History Center → Export): comma-separated, no header,
  ``2025.03.03,00:00,open,high,low,close,volume``, server time.
* **TradingView** (chart → Export chart data): ``time,open,high,low,close[,...]``, ``time`` as Unix
  seconds (UTC) or ISO text, with an offset (converted to UTC) or without (the chart's zone).
* **Binance** (data.binance.vision klines): open time in milliseconds (microseconds in newer
  files), open, high, low, close, volume, close time, ...; UTC; with or without the
  ``open_time,open,...`` header of the futures files.

:func:`read_bars` returns a :class:`~addin.bars.model.BarSeries` and accounts for every line
(:class:`~addin.bars.model.BarLedger`): a bar, a skipped header or blank line, or a rejected line
with its number and reason. A later line with the time of an earlier bar, a high below the low, an
open or close outside the low-high range, a short line, text where a number belongs: each is
rejected and listed, never merged or dropped. A file that is not bars at all (its first 1,000 data
lines all rejected), empty, or beyond the size limit raises :class:`~addin.bars.model.BarsError`
naming the file; nothing else is raised.
"""

from __future__ import annotations

import calendar
import math
import re
from array import array
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..statements.model import RejectedRow, SourceRef, StatementError
from ..statements.safety import read_limited
from .model import BarLedger, BarsError, BarSeries

FORMATS = ("mt5", "mt4", "tradingview", "binance")

#: Rejected lines listed one by one (the rest are counted in ``rejected_not_listed``).
MAX_LISTED = 10_000
#: Data lines all rejected, with no bar read, after which the file is taken for not being bars.
JUNK_LINES = 1_000

_MT4_LINE = re.compile(r"^\d{4}\.\d{2}\.\d{2},\d{1,2}:\d{2}(:\d{2})?,")
_BINANCE_LINE = re.compile(r"^\d{10,17},-?[\d.]+(e-?\d+)?,")
_MT_HEADER = re.compile(r"^<[A-Z]+>")


def _decode(raw: bytes, file: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BarsError(file, f"not readable as UTF-16 text (byte {exc.start})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # MetaTrader 4 writes the system code page; digits read the same


def _first_line(text: str) -> str:
    for line in text.split("\n", 50)[:50]:
        if line.strip():
            return line.strip()
    return ""


def sniff_text(text: str) -> str | None:
    """The format of a file from its text (its first non-blank line), or None."""
    first = _first_line(text)
    low = first.lower().replace('"', "")
    if _MT_HEADER.match(first) and ("<OPEN>" in first.upper() or "<DATE>" in first.upper()):
        return "mt5"
    if low.startswith(("time,open,high,low,close", "time;open;high;low;close")):
        return "tradingview"
    if low.startswith("open_time,open,high,low,close"):
        return "binance"
    if _MT4_LINE.match(first):
        return "mt4"
    if _BINANCE_LINE.match(first) and first.count(",") >= 5:
        return "binance"
    return None


def looks_like_bars(path: str | Path) -> str | None:
    """The bar format of ``path`` ("mt5", "mt4", "tradingview", "binance") judged from its first
    64 KiB, or None when it is none of them (or cannot be opened). Never raises."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    try:
        return sniff_text(_decode(head, str(path)))
    except BarsError:
        return None


# --- symbol from the file name -------------------------------------------------------------------

_MT_PERIODS = "M1|M2|M3|M4|M5|M6|M10|M12|M15|M20|M30|H1|H2|H3|H4|H6|H8|H12|D1|W1|MN1|MN"
_SYMBOL_PATTERNS = (
    # Binance: BTCUSDT-1m-2024-01.csv, ETHUSDT-1h-2024-01-15.csv
    re.compile(r"^(?P<s>[A-Z0-9]+)-\d+(?:s|m|h|d|w|mo|M)-\d{4}-\d{2}(?:-\d{2})?$"),
    # HistData: DAT_MT_EURUSD_M1_202006.csv
    re.compile(r"^DAT_[A-Z]+_(?P<s>[A-Z0-9]+)_M1_\d+$"),
    # MetaTrader 5: EURUSD_M1.csv, EURUSD_M1_202301020000_202312292358.csv, EURUSD.m_H1.csv
    re.compile(rf"^(?P<s>[A-Za-z0-9.#&+-]+?)_(?:{_MT_PERIODS})(?:_\d+_\d+)?$"),
    # MetaTrader 4 History Center: EURUSD1.csv, EURUSD60.csv, XAUUSD1440.csv (the period in minutes)
    re.compile(r"^(?P<s>[A-Za-z][A-Za-z.#]*[A-Za-z.#])(?:1|2|3|4|5|6|10|12|15|20|30|60|120|180|240|360|480|720|"
               r"1440|10080|43200)$"),
    # TradingView: "BINANCE_BTCUSDT, 60.csv", "OANDA_EURUSD, 1D.csv" (exchange prefix dropped)
    re.compile(r"^(?:.*_)?(?P<s>[A-Za-z0-9.!]+), \w+$"),
)


def symbol_from_name(path: str | Path) -> str | None:
    """The symbol a bar file's name gives, or None: ``EURUSD_M1.csv``, ``EURUSD1.csv``,
    ``BTCUSDT-1m-2024-01.csv``, ``BINANCE_BTCUSDT, 60.csv``, ``DAT_MT_EURUSD_M1_202006.csv``."""
    stem = Path(path).name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    for pattern in _SYMBOL_PATTERNS:
        m = pattern.match(stem)
        if m:
            return m["s"]
    return None


# --- time zones ----------------------------------------------------------------------------------

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


def _zone(tz: str, file: str):
    """A tzinfo for ``tz``: an IANA name ("Europe/Athens"), "UTC", or a fixed offset ("UTC+2", "+02:00")."""
    text = tz.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    m = _OFFSET.match(text)
    if m:
        minutes = int(m[2]) * 60 + int(m[3] or 0)
        if minutes > 18 * 60:
            raise BarsError(file, f"tz {tz!r} is beyond ±18 hours")
        return timezone(timedelta(minutes=minutes if m[1] == "+" else -minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BarsError(file, f"tz {tz!r} is not a time zone: give an IANA name such as 'Europe/Athens', "
                              "'UTC', or an offset such as 'UTC+2'") from None


def _utc_to_zone(times: array, zone) -> array:
    """UTC seconds to wall-clock seconds in ``zone`` (offset looked up once per hour)."""
    offsets: dict[int, float] = {}
    out = array("d", bytes(8 * len(times)))
    for k, t in enumerate(times):
        hour = int(t // 3600)
        off = offsets.get(hour)
        if off is None:
            moment = datetime.fromtimestamp(hour * 3600, timezone.utc)
            off = offsets[hour] = moment.astimezone(zone).utcoffset().total_seconds()
        out[k] = t + off
    return out


# --- reading ---------------------------------------------------------------------------------------

class _Rows:
    """The columns being filled and the ledger of one file."""

    def __init__(self, file: str):
        self.file = file
        self.times, self.opens, self.highs = array("d"), array("d"), array("d")
        self.lows, self.closes = array("d"), array("d")
        self.lines = array("q")  # source line of each bar
        self.seen = self.skipped = self.rejected_count = 0
        self.rejected: list[RejectedRow] = []
        self.unsorted = False

    def reject(self, line: int, reason: str, raw: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append(RejectedRow(source=SourceRef(file=self.file, row=line), reason=reason,
                                             raw=raw[:200]))
        if self.rejected_count >= JUNK_LINES and not self.times:
            raise BarsError(self.file, f"the first {self.rejected_count:,} data lines were all rejected (the "
                                       f"first, line {self.rejected[0].source.row}: {self.rejected[0].reason}): "
                                       "this is not a bar file of the format its first line suggests")

    def add(self, line: int, t: float, o: float, h: float, lo: float, c: float, raw: str) -> None:
        if math.isinf(o) or math.isinf(h) or math.isinf(lo) or math.isinf(c):
            return self.reject(line, "a price is infinite", raw)
        if not _YEAR_1 <= t < _YEAR_10000:
            return self.reject(line, "the time lies outside the years 1 to 9999", raw)
        if not (h >= lo):
            return self.reject(line, f"high {h:g} is below low {lo:g}", raw)
        if not (lo <= o <= h and lo <= c <= h):
            return self.reject(line, f"open {o:g} or close {c:g} lies outside the bar's low {lo:g} - high {h:g}", raw)
        times = self.times
        if times:
            last = times[-1]
            if t == last:
                return self.reject(line, f"same time as the bar on line {self.lines[-1]} (duplicate bar)", raw)
            if t < last:
                self.unsorted = True
        times.append(t)
        self.opens.append(o)
        self.highs.append(h)
        self.lows.append(lo)
        self.closes.append(c)
        self.lines.append(line)


_DAY_CACHE_LIMIT = 100_000
_INF = math.inf
_YEAR_1 = -62_135_596_800.0  # calendar.timegm of 0001-01-01
_YEAR_10000 = 253_402_300_800.0  # of 10000-01-01


def _mt_date(text: str, cache: dict) -> float:
    """``2025.03.03`` (MetaTrader) or ``2025-03-03`` as seconds at midnight; ValueError otherwise."""
    got = cache.get(text)
    if got is None:
        if len(text) != 10 or text[4] not in ".-/" or text[7] != text[4]:
            raise ValueError(f"date {text!r} is not YYYY.MM.DD")
        got = float(calendar.timegm((datetime(int(text[:4]), int(text[5:7]), int(text[8:10]))).timetuple()))
        if len(cache) < _DAY_CACHE_LIMIT:
            cache[text] = got
    return got


def _clock(text: str, cache: dict) -> float:
    """``13:45`` or ``13:45:30`` (optionally ``.123`` milliseconds) as seconds after midnight."""
    got = cache.get(text)
    if got is None:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(p.replace(".", "", 1).isdigit() for p in parts):
            raise ValueError(f"time {text!r} is not HH:MM[:SS]")
        h, m = int(parts[0]), int(parts[1])
        s = float(parts[2]) if len(parts) == 3 else 0.0
        if not (h < 24 and m < 60 and s < 60):
            raise ValueError(f"time {text!r} is out of range")
        got = h * 3600.0 + m * 60.0 + s
        if len(cache) < _DAY_CACHE_LIMIT:
            cache[text] = got
    return got


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{what} {text.strip()[:40]!r} is not a number") from None
    if v != v:
        raise ValueError(f"{what} is not a number (NaN)")
    return v


def _read_mt(rows: _Rows, lines: list[str], header: bool) -> None:
    """MetaTrader 5 (header, tab or comma) and MetaTrader 4 (no header, comma)."""
    days: dict = {}
    clocks: dict = {}
    sep = ","
    idx = {"DATE": 0, "TIME": 1, "OPEN": 2, "HIGH": 3, "LOW": 4, "CLOSE": 5}
    width = 6
    start = 0
    if header:
        # the header is the first non-blank line
        while start < len(lines) and not lines[start].strip():
            rows.seen += 1
            rows.skipped += 1
            start += 1
        head = lines[start].strip()
        sep = "\t" if "\t" in head else ";" if ";" in head else ","
        names = [h.strip().strip("<>").upper() for h in head.split(sep)]
        missing = [n for n in ("DATE", "OPEN", "HIGH", "LOW", "CLOSE") if n not in names]
        if missing:
            raise BarsError(rows.file, f"line {start + 1}: the MetaTrader header lacks {', '.join(missing)} "
                                       f"(got {head[:120]!r})")
        idx = {n: names.index(n) for n in ("DATE", "TIME", "OPEN", "HIGH", "LOW", "CLOSE") if n in names}
        width = len(names)
        rows.seen += 1
        rows.skipped += 1
        start += 1
    i_date, i_time = idx["DATE"], idx.get("TIME")
    i_o, i_h, i_l, i_c = idx["OPEN"], idx["HIGH"], idx["LOW"], idx["CLOSE"]
    need = max(idx.values()) + 1
    times, opens, highs, lows, closes, numbers = rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.lines
    days_get, clocks_get = days.get, clocks.get
    last = -_INF
    for n in range(start, len(lines)):
        # The common line is read inline (a year of minute bars is 370,000 of them); anything unusual
        # (a blank or short line, a new date, a bad number, a bar out of order or inconsistent) goes
        # through _mt_line, which says what is wrong.
        fields = lines[n].split(sep)
        try:
            t = days_get(fields[i_date])
            t += clocks_get(fields[i_time]) if i_time is not None else 0.0
            o, h, lo, c = float(fields[i_o]), float(fields[i_h]), float(fields[i_l]), float(fields[i_c])
        except (IndexError, TypeError, ValueError):
            t = None
        if t is not None and t > last and lo <= o <= h and lo <= c <= h and h - lo < _INF:
            times.append(t)
            opens.append(o)
            highs.append(h)
            lows.append(lo)
            closes.append(c)
            numbers.append(n + 1)
            last = t
            continue
        _mt_line(rows, lines[n], n + 1, sep, need, width, i_date, i_time, (i_o, i_h, i_l, i_c), days, clocks)
        if times:
            last = times[-1] if not rows.unsorted else _INF  # out of order: every later line takes the checked path
    rows.seen += len(lines) - start


def _mt_line(rows: _Rows, raw: str, line: int, sep: str, need: int, width: int, i_date: int, i_time: int | None,
             prices: tuple[int, int, int, int], days: dict, clocks: dict) -> None:
    """One MetaTrader line the fast path did not take: a blank line, a bar, or a rejected line."""
    if not raw or raw.isspace():
        rows.skipped += 1
        return
    fields = raw.rstrip("\r").split(sep)
    try:
        if len(fields) < need:
            raise ValueError(f"{len(fields)} fields, expected {width}")
        t = _mt_date(fields[i_date], days)
        if i_time is not None:
            t += _clock(fields[i_time], clocks)
        o, h, lo, c = (_number(fields[i], what) for i, what in zip(prices, ("open", "high", "low", "close")))
    except ValueError as exc:
        rows.reject(line, str(exc), raw)
        return
    rows.add(line, t, o, h, lo, c, raw)


def _iso_seconds(text: str) -> tuple[float, bool]:
    """An ISO date/time as (seconds, had_offset): with an offset, UTC seconds; without, wall clock."""
    s = text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    moment = datetime.fromisoformat(s)
    if moment.tzinfo is not None:
        return moment.timestamp(), True
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6, False


def _read_tradingview(rows: _Rows, lines: list[str]) -> str:
    """TradingView chart data; returns "unix", "offset" or "naive" (how times were written)."""
    start = 0
    while start < len(lines) and not lines[start].strip():
        rows.seen += 1
        rows.skipped += 1
        start += 1
    head = lines[start]
    sep = ";" if head.count(";") > head.count(",") else ","
    rows.seen += 1
    rows.skipped += 1
    kinds: set[str] = set()
    add = rows.add
    for n in range(start + 1, len(lines)):
        raw = lines[n]
        rows.seen += 1
        if not raw or raw.isspace():
            rows.skipped += 1
            continue
        fields = raw.rstrip("\r").split(sep)
        try:
            if len(fields) < 5:
                raise ValueError(f"{len(fields)} fields, expected at least 5 (time,open,high,low,close)")
            stamp = fields[0].strip().strip('"')
            if stamp.isdigit():
                t = float(stamp)
                if t > 1e11:  # milliseconds
                    t /= 1000.0
                kind = "unix"
            else:
                try:
                    t, offset = _iso_seconds(stamp)
                except ValueError:
                    raise ValueError(f"time {stamp[:40]!r} is neither Unix seconds nor an ISO date/time") from None
                kind = "offset" if offset else "naive"
            o = _number(fields[1], "open")
            h = _number(fields[2], "high")
            lo = _number(fields[3], "low")
            c = _number(fields[4], "close")
        except (ValueError, OverflowError, OSError) as exc:
            rows.reject(n + 1, str(exc), raw)
            continue
        if kinds and kind not in kinds and ("naive" in kinds or kind == "naive"):
            rows.reject(n + 1, f"time {stamp[:40]!r} mixes times with and without a zone in one file", raw)
            continue
        kinds.add(kind)
        add(n + 1, t, o, h, lo, c, raw)
    return "naive" if "naive" in kinds else "utc"


def _read_binance(rows: _Rows, lines: list[str]) -> None:
    times, opens, highs, lows, closes, numbers = rows.times, rows.opens, rows.highs, rows.lows, rows.closes, rows.lines
    last = -_INF
    for n, raw in enumerate(lines):
        # the common line inline, as in _read_mt; the rest through _binance_line
        fields = raw.split(",", 5)
        try:
            stamp = fields[0]
            t = int(stamp) / (1e6 if len(stamp) >= 15 else 1e3)
            o, h, lo, c = float(fields[1]), float(fields[2]), float(fields[3]), float(fields[4])
        except (IndexError, ValueError):
            t = None
        if (t is not None and t > last and len(fields) == 6 and stamp.isdigit() and lo <= o <= h and lo <= c <= h
                and h - lo < _INF and t < _YEAR_10000):
            times.append(t)
            opens.append(o)
            highs.append(h)
            lows.append(lo)
            closes.append(c)
            numbers.append(n + 1)
            last = t
            continue
        _binance_line(rows, raw, n)
        if times:
            last = times[-1] if not rows.unsorted else _INF
    rows.seen += len(lines)


def _binance_line(rows: _Rows, raw: str, n: int) -> None:
    if not raw or raw.isspace():
        rows.skipped += 1
        return
    if n < 5 and raw.lower().startswith("open_time"):
        rows.skipped += 1
        return
    fields = raw.rstrip("\r").split(",")
    try:
        if len(fields) < 6:
            raise ValueError(f"{len(fields)} fields, expected 12 (open time, open, high, low, close, volume, ...)")
        stamp = fields[0].strip()
        if not stamp.isdigit():
            raise ValueError(f"open time {stamp[:40]!r} is not a whole number of milliseconds")
        t = float(stamp)
        t = t / 1e6 if t >= 1e14 else t / 1e3  # microseconds in files from 2025 on, milliseconds before
        o = _number(fields[1], "open")
        h = _number(fields[2], "high")
        lo = _number(fields[3], "low")
        c = _number(fields[4], "close")
    except ValueError as exc:
        rows.reject(n + 1, str(exc), raw)
        return
    rows.add(n + 1, t, o, h, lo, c, raw)


def _sort(rows: _Rows) -> None:
    """Sort the bars by time (a file written out of order) and reject the later line of each
    duplicate time."""
    order = sorted(range(len(rows.times)), key=lambda k: (rows.times[k], rows.lines[k]))
    cols = [rows.times, rows.opens, rows.highs, rows.lows, rows.closes]
    new = [array("d") for _ in cols]
    lines = array("q")
    last = None
    for k in order:
        t = rows.times[k]
        if t == last:
            rows.reject(rows.lines[k], f"same time as the bar on line {lines[-1]} (duplicate bar)", "")
            continue
        last = t
        for src, dst in zip(cols, new):
            dst.append(src[k])
        lines.append(rows.lines[k])
    rows.times, rows.opens, rows.highs, rows.lows, rows.closes = new
    rows.lines = lines


def _bar_seconds(times: array) -> float:
    if len(times) < 2:
        return 0.0
    sample = times[:200_001]
    gaps = Counter(b - a for a, b in zip(sample, sample[1:]))
    return gaps.most_common(1)[0][0]


def read_bars(path: str | Path, symbol: str | None = None, tz: str | None = None,
              bar_seconds: float | None = None) -> BarSeries:
    """Read one bar file (format detected from its content) into a :class:`BarSeries`.

    ``symbol``: the instrument; without it the file name gives it (``EURUSD_M1.csv``,
    ``EURUSD1.csv``, ``BTCUSDT-1m-2024-01.csv``...) and ``symbol_source`` says so; a name that gives
    none raises BarsError asking for it. ``tz``: for a file whose times carry no zone (MetaTrader's
    server time, TradingView's chart zone) the zone they are in, recorded on the series; for a UTC
    file (Binance, TradingView Unix or offset times) the zone to express the times in (converted),
    so the bars share the clock of a statement written in that zone. ``bar_seconds`` overrides the
    bar length otherwise inferred as the most common gap (a file of one bar needs it).
    """
    file = str(path)
    try:
        raw = read_limited(Path(path))
    except BarsError:
        raise
    except StatementError as exc:
        raise BarsError(file, str(exc).removeprefix(f"{file}: ")) from None
    if not raw.strip():
        raise BarsError(file, "the file is empty")
    text = _decode(raw, file)
    fmt = sniff_text(text)
    if fmt is None:
        first = _first_line(text)
        raise BarsError(file, f"line 1: not a bar file we know (got {first[:80]!r}); expected a MetaTrader 5 "
                              "export (<DATE>\\t<TIME>\\t<OPEN>...), a MetaTrader 4 History Center CSV "
                              "(2025.03.03,00:00,...), a TradingView chart export (time,open,high,low,close) or "
                              "a Binance kline CSV")
    zone = _zone(tz, file) if tz is not None else None
    if symbol is not None:
        if not isinstance(symbol, str) or not symbol.strip():
            raise BarsError(file, f"symbol must be non-empty text (got {symbol!r})")
        symbol, symbol_source = symbol.strip(), "argument"
    else:
        symbol = symbol_from_name(file)
        symbol_source = "file name"
        if symbol is None:
            raise BarsError(file, f"the file name {Path(file).name!r} does not say the symbol (EURUSD_M1.csv, "
                                  "EURUSD1.csv, BTCUSDT-1m-2024-01.csv); pass it: read_bars(path, symbol='EURUSD')")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    rows = _Rows(file)
    if fmt in ("mt5", "mt4"):
        _read_mt(rows, lines, header=fmt == "mt5")
        utc = False
    elif fmt == "tradingview":
        utc = _read_tradingview(rows, lines) == "utc"
    else:
        _read_binance(rows, lines)
        utc = True
    if rows.unsorted:
        _sort(rows)
    if not rows.times:
        first = f" (the first, line {rows.rejected[0].source.row}: {rows.rejected[0].reason})" if rows.rejected else ""
        raise BarsError(file, f"no bars: {rows.seen:,} lines, {rows.rejected_count:,} rejected{first}")
    times = rows.times
    if utc:
        if zone is None or zone is timezone.utc:
            zone_name, note = "UTC", "UTC, as the format states"
        else:
            times = _utc_to_zone(times, zone)
            zone_name, note = tz, f"converted from UTC to {tz} (tz argument)"
    elif zone is not None:
        zone_name, note = tz, f"{tz}, as the caller stated (the file does not say)"
    else:
        zone_name = None
        note = ("the file's own clock, zone not stated (MetaTrader writes the broker's server time)"
                if fmt in ("mt5", "mt4") else "the chart's clock, zone not stated")
    length = bar_seconds if bar_seconds is not None else _bar_seconds(times)
    if not length or not length > 0 or not math.isfinite(length):
        raise BarsError(file, "cannot infer the bar length from a single bar: pass bar_seconds")
    ledger = BarLedger(seen=rows.seen, bars=len(times), skipped=rows.skipped, rejected=rows.rejected_count)
    if not ledger.balanced:  # every branch above counts each line once; kept as the contract
        raise BarsError(file, f"line accounting failed (a reader bug, please report it): {ledger}")
    return BarSeries(
        file=file, format=fmt, symbol=symbol, symbol_source=symbol_source, bar_seconds=float(length),
        time_zone=zone_name, time_zone_note=note, times=times, opens=rows.opens, highs=rows.highs,
        lows=rows.lows, closes=rows.closes, ledger=ledger, rejected=rows.rejected,
        rejected_not_listed=max(0, rows.rejected_count - len(rows.rejected)))
