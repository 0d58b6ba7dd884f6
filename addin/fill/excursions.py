"""How close each trade came to the stop-out: the fill's excursion columns, from price-bar files.

A fill given bar files (MetaTrader 5/4, TradingView, Binance: :mod:`addin.bars`) measures each
enriched trade over the bars of its symbol and stores five figures on the
:class:`~addin.statements.model.Trade`, which the journal writes as the statement-owned columns
``MAE``, ``MFE``, ``MAE R``, ``MFE R`` and ``Lowest margin level``:

* MAE / MFE: how far price went against / for the trade while it was open, positive price
  distances (:func:`addin.risk.excursion.mae`);
* MAE R / MFE R: the same in units of the initial risk ``|entry - stop|``
  (:func:`addin.risk.excursion_r`), or "no stop", "stop on the profit side: no initial risk";
* Lowest margin level: the margin level the position alone would have had at the adverse
  extreme, ``(Equity used + open P/L) / margin`` at that price
  (:func:`addin.risk.lowest_margin_level`), with exactly the arguments the row's ``Stop-out price``
  is solved with (:func:`addin.journal.columns._stop_out`: Direction, Entry, Quantity, Equity used,
  Leverage used, Point value = contract size x FX to account as the contract size, FX 1, no other
  margin). At the row's stop-out price it is the StopOutLevel setting; below it the broker would have
  closed the position. A pair based on the account currency (USDJPY in a USD account) is valued as
  that row's stop-out price values it: through its FX to account rate.

A trade the bars of its symbol do not reach says "bars do not cover this trade" in the five columns;
a trade whose symbol has no bar file keeps its cells as they are. In a journal already holding
figures, :func:`row_changes` decides what a fill writes: figures from bars always replace the old
ones (more bars, a later close), a reason never replaces figures, and a fill without bars writes
nothing. The R multiples and the margin level are computed from the row's own cells (a Stop the
trader typed, the Equity the journal kept), so they match the row's R multiple and Stop-out price.

Clocks: a MetaTrader statement and MetaTrader bars are both on the broker's server clock, so naive
times are taken to be on the same clock, and the fill summary says so; ``--prices-tz`` states a bar
file's zone, or converts UTC bars (Binance, TradingView) to the statement's clock.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .. import risk
from ..risk import symbols
from ..bars import BarLedger, BarsError, BarSeries, looks_like_bars, read_bars, symbol_from_name, trade_excursions
from ..journal import columns as C
from ..risk.errors import RiskInputError
from ..statements.model import Trade

NOT_COVERED = "bars do not cover this trade"
NO_STOP = "no stop"
PARTIAL_FLAG = "MAE/MFE over part of the trade only"  # the start of the flag a partly covered trade gets
COLUMNS = C.EXCURSION_COLUMNS


class PriceOptionError(Exception):
    """A --prices-symbol / --prices-tz value that names no price file, or a bar file that cannot
    be combined with another (overlapping bars of one symbol)."""


@dataclass
class BarFileReport:
    """One bar file's part of a fill: its ledger, clock and how many trades it covered."""
    file: str
    format: str
    symbol: str
    symbol_source: str
    ledger: BarLedger
    time_zone_note: str
    first_bar: object
    end: object
    bar_seconds: float
    rejected: list = field(default_factory=list)
    covered: int = 0          # trades of its symbol with at least one of its bars inside the trade
    partial: int = 0          # of those, trades the bars cover only in part
    not_covered: int = 0      # trades of its symbol no bar of the symbol reaches
    same_clock: bool = False  # trade times taken on the bars' clock (naive times on both sides)


# --- Options: which file has which symbol and zone ------------------------------------------------

def split_statements(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(statements, bar files): the files whose content is a bar export (:func:`looks_like_bars`)
    apart from the rest, each kept in its order."""
    statements, bars = [], []
    for p in paths:
        (bars if looks_like_bars(p) else statements).append(Path(p))
    return statements, bars


def assign(files: Sequence[Path], specs: Sequence[str] | None, flag: str) -> dict[Path, str]:
    """The value of ``flag`` (``--prices-symbol`` / ``--prices-tz``) for each bar file.

    A spec is ``FILE=VALUE`` (the file named by its path or its name) or a bare ``VALUE``: for a
    symbol, every file whose name does not say its symbol; for a zone, every file."""
    out: dict[Path, str] = {}
    # FILE=VALUE first, so a bare VALUE applies to the files no spec names, whatever the order given
    for spec in sorted(specs or (), key=lambda v: "=" not in str(v)):
        name, sep, value = str(spec).rpartition("=")
        value = value.strip()
        if not value:
            raise PriceOptionError(f"{flag} {spec!r}: the value is empty")
        if not sep:
            targets = [f for f in files if f not in out and (flag != "--prices-symbol" or symbol_from_name(f) is None)]
            if not targets:
                raise PriceOptionError(f"{flag} {value}: no price file it could apply to"
                                       + (" (every file name says its symbol; name one with FILE=SYMBOL)"
                                          if flag == "--prices-symbol" and files else ""))
        else:
            targets = [f for f in files if str(f) == name or f.name == name or str(f.resolve()) == name]
            if not targets:
                raise PriceOptionError(f"{flag} {spec!r}: {name!r} is none of the price files "
                                       f"({', '.join(f.name for f in files) or 'none given'})")
        for f in targets:
            out[f] = value
    return out


def read_price_files(files: Sequence[Path], symbols: Sequence[str] | None = None,
                     zones: Sequence[str] | None = None) -> list[BarSeries]:
    """Each bar file read (:func:`addin.bars.read_bars`) with its symbol and zone from the options."""
    files = [Path(f) for f in files]
    sym, tz = assign(files, symbols, "--prices-symbol"), assign(files, zones, "--prices-tz")
    out = []
    for f in files:
        try:
            out.append(read_bars(f, symbol=sym.get(f), tz=tz.get(f)))
        except BarsError as exc:
            if "does not say the symbol" in str(exc):
                raise BarsError(str(f), f"the file name {f.name!r} does not say the symbol: give it with "
                                        f"--prices-symbol {f.name}=SYMBOL") from None
            raise
    return out


def combine(series: Sequence[BarSeries]) -> dict[str, BarSeries]:
    """The bar series by symbol; several files of one symbol (a month each) joined end to end.

    Files of one symbol must have one bar length and one clock and must not overlap (the bars of one
    moment from two files could differ): otherwise PriceOptionError names them."""
    by: dict[str, list[BarSeries]] = {}
    for s in series:
        by.setdefault(s.symbol, []).append(s)
    out: dict[str, BarSeries] = {}
    for symbol, group in by.items():
        if len(group) == 1:
            out[symbol] = group[0]
            continue
        group = sorted(group, key=lambda s: s.times[0])
        for a, b in zip(group, group[1:]):
            if b.bar_seconds != a.bar_seconds or b.time_zone != a.time_zone:
                raise PriceOptionError(f"{a.file} and {b.file} both hold {symbol} but with other bar lengths or "
                                       "zones: give bars of one length and one clock per symbol")
            if b.times[0] <= a.times[-1]:
                raise PriceOptionError(f"{a.file} and {b.file} both hold {symbol} bars from {b.start:%Y-%m-%d %H:%M}"
                                       f" to {min(a.time(len(a) - 1), b.time(len(b) - 1)):%Y-%m-%d %H:%M}: "
                                       "give one file per period, without overlap")
        cols = {k: array("d") for k in ("times", "opens", "highs", "lows", "closes")}
        for s in group:
            for k, v in cols.items():
                v.extend(getattr(s, k))
        ledger = BarLedger(seen=sum(s.ledger.seen for s in group), bars=sum(s.ledger.bars for s in group),
                           skipped=sum(s.ledger.skipped for s in group),
                           rejected=sum(s.ledger.rejected for s in group))
        out[symbol] = BarSeries(file=" + ".join(s.file for s in group), format=group[0].format, symbol=symbol,
                                symbol_source=group[0].symbol_source, bar_seconds=group[0].bar_seconds,
                                time_zone=group[0].time_zone, time_zone_note=group[0].time_zone_note,
                                ledger=ledger, **cols)
    return out


# --- The figures of one row ----------------------------------------------------------------------

def _num(v: object) -> bool:
    return type(v) in (int, float)


def _r(distance: float, entry: float, stop: object, side: int) -> float | str:
    if stop is None or stop == "":
        return NO_STOP
    if not _num(stop):
        return "stop must be a number"
    try:
        return risk.excursion_r(distance, entry, float(stop), side)
    except RiskInputError as err:
        text = str(err)
        if "profit side" in text:
            return C.STOP_ON_PROFIT_SIDE
        if "differ" in text:
            return "stop equals entry"
        return text


def figures(row: dict, mae: float, mfe: float, worst: float,
            contract_size: Callable[[dict], object] | None = None,
            context: Callable[[dict], dict] | None = None) -> dict[str, float | str]:
    """The five cells of a row from its MAE, MFE and worst price and the row's own cells (by
    column name: Side, Entry, Stop, Quantity, Contract size, FX to account, Equity, Leverage).

    The margin level takes the arguments the row's Stop-out price formula takes: Point value
    (Contract size, else ``contract_size(row)`` -- the Instruments table's -- else 1, times FX to
    account, else 1 where the row's Quote currency is its Account currency, else no level: "no FX
    rate"), the row's Equity and Leverage. A row whose Equity cell is empty gets its Equity used from
    running figures this function does not repeat: it says so instead of a level. A row without its
    own Leverage takes the Leverage used, and a pair based on the account currency the base kind,
    from ``context(row)`` (:func:`margin_context`)."""
    if context is not None:
        row = {**row, **context(row)}
    out: dict[str, float | str] = {"MAE": mae, "MFE": mfe}
    try:
        side = risk.parse_side(row.get("Side"))
    except RiskInputError:
        why = C.BAD_SIDE
        return {"MAE": mae, "MFE": mfe, "MAE R": why, "MFE R": why, "Lowest margin level": why}
    entry = row.get("Entry")
    if not (_num(entry) and entry > 0):
        why = "entry must be > 0"
        return {"MAE": mae, "MFE": mfe, "MAE R": why, "MFE R": why, "Lowest margin level": why}
    out["MAE R"] = _r(mae, entry, row.get("Stop"), side)
    out["MFE R"] = _r(mfe, entry, row.get("Stop"), side)
    out["Lowest margin level"] = _level(row, side, entry, worst, contract_size)
    return out


def _level(row: dict, side: int, entry: float, worst: float, contract_size) -> float | str:
    q, eq, lev = row.get("Quantity"), row.get("Equity"), row.get("Leverage")
    cs = row.get("Contract size")
    if cs is None or cs == "":
        cs = contract_size(row) if contract_size is not None else None
        cs = 1 if cs is None or cs == "" else cs
    fx = row.get("FX to account")
    if fx is None or fx == "":
        # 1 only for a price in the account currency, as the row's Point value reads it; never assumed.
        quote, money = (str(row.get(k) or "").strip().upper() for k in ("Quote currency", "Account currency"))
        if not quote or quote != money:
            return C.NO_FX
        fx = 1
    if eq is None or eq == "":
        return "no Equity in the row"
    if lev is None or lev == "":
        return "no Leverage in the row"
    if not (_num(q) and _num(eq) and _num(lev) and _num(cs) and _num(fx)):
        return "quantity, equity, leverage, contract size and FX must be numbers"
    if q == 0:
        return "quantity must be non-zero"
    if lev <= 0:
        return "leverage must be > 0"
    try:
        if row.get("Account is base"):  # USDJPY in a USD account: the base kind (addin.risk.margin_models)
            return risk.lowest_margin_level(side, entry, worst, q, eq, lev, cs, 1.0, 0.0, True)
        return risk.lowest_margin_level(side, entry, worst, q, eq, lev, cs * fx)
    except RiskInputError as err:
        return str(err)


def _row_of(t: Trade, leverage_of: Callable[[Trade], float] | None = None, account_currency: str | None = None) -> dict:
    """The figures' inputs from a trade; ``leverage_of`` gives the leverage of a trade without its own;
    a currency pair whose base is ``account_currency`` is margined in the base kind."""
    lev = t.leverage if t.leverage is not None or leverage_of is None else leverage_of(t)
    base = (account_currency is not None and str(t.asset_class or "").upper().startswith("FX")
            and symbols.account_is_base(t.symbol, account_currency))
    return {"Side": t.side, "Entry": t.entry, "Stop": t.stop, "Quantity": t.quantity, "Equity": t.equity,
            "Leverage": lev, "Contract size": t.contract_size, "FX to account": t.fx_to_account,
            "Account is base": base, "Quote currency": t.quote_currency, "Account currency": t.account_currency}


# --- The fill: every trade over its symbol's bars -------------------------------------------------

def _files_of(s: BarSeries, parts: dict[str, list[BarSeries]]) -> list[BarSeries]:
    return parts.get(s.file, [s])


def apply(trade_lists: Sequence[list[Trade]], series: Sequence[BarSeries],
          leverage_of: Callable[[Trade], float] | None = None, account_currency: str | None = None) -> list[BarFileReport]:
    """Measure every trade in ``trade_lists`` (enriched: equity, contract size, FX known) over the
    bar series of its symbol; each list is replaced in place by the trades with their excursion
    figures set. ``leverage_of(trade)``: the leverage of a trade without its own (the Trades
    sheet's Leverage used); ``account_currency``: the journal's (a pair based on it is margined in
    the base kind, as the Trades formulas do). Returns one report per bar file."""
    reports = {s.file: BarFileReport(file=s.file, format=s.format, symbol=s.symbol, symbol_source=s.symbol_source,
                                     ledger=s.ledger, time_zone_note=s.time_zone_note, first_bar=s.start, end=s.end,
                                     bar_seconds=s.bar_seconds, rejected=list(s.rejected))
               for s in series}
    joined = combine(series)
    parts: dict[str, list[BarSeries]] = {}
    for s in series:
        parts.setdefault(joined[s.symbol].file, []).append(s)
    for trades in trade_lists:
        found = trade_excursions(trades, joined)
        for k, (t, ex) in enumerate(zip(trades, found)):
            if ex.bars_file is None:
                continue  # no bars for this symbol: nothing to say, the cells stay as they are
            files = _files_of(joined[ex.bars_symbol], parts)
            if ex.mae is None:
                why = NOT_COVERED if "do not cover" in ex.note else ex.note
                reports[files[0].file].not_covered += 1
                trades[k] = t.model_copy(update={c: why for c in ("mae", "mfe", "mae_r", "mfe_r",
                                                                   "lowest_margin_level")})
                continue
            cells = figures(_row_of(t, leverage_of, account_currency), ex.mae, ex.mfe, ex.worst_price)
            flags = [f for f in t.flags if not f.startswith(PARTIAL_FLAG)]
            if ex.coverage == "partial":
                flags.append(partial_flag(ex.missing_before, ex.missing_after))
            elif t.close_time is None:
                flags.append(f"{PARTIAL_FLAG}: still open, measured up to the last bar ({ex.last_bar:%Y-%m-%d %H:%M})")
            trades[k] = t.model_copy(update={
                "mae": cells["MAE"], "mfe": cells["MFE"], "mae_r": cells["MAE R"], "mfe_r": cells["MFE R"],
                "lowest_margin_level": cells["Lowest margin level"], "worst_price": ex.worst_price,
                "flags": tuple(flags)})
            for f in files:
                if f.start <= ex.last_bar and f.time(len(f) - 1) >= ex.first_bar:
                    reports[f.file].covered += 1
                    reports[f.file].partial += ex.coverage == "partial"
                    reports[f.file].same_clock |= ex.same_clock_assumed
    return list(reports.values())


def _span(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return " ".join(p for p in (f"{days}d" if days else "", f"{hours}h" if hours else "",
                                f"{mins}m" if mins or not (days or hours) else "") if p)


def partial_flag(missing_before: float, missing_after: float) -> str:
    """The flag of a trade the bars cover in part: which end is missing, and by how much."""
    ends = []
    if missing_before > 0:
        ends.append(f"the bars start {_span(missing_before)} after the open")
    if missing_after > 0:
        ends.append(f"end {_span(missing_after)} before the close")
    return f"{PARTIAL_FLAG}: " + " and ".join(ends)


# --- The in-place merge: what a fill writes into a row that already exists --------------------------

def _is_figure(v: object) -> bool:
    return _num(v) and not isinstance(v, bool)


def row_changes(cur: dict, t: Trade, contract_size: Callable[[dict], object] | None = None,
                context: Callable[[dict], dict] | None = None) -> dict[str, object]:
    """The excursion cells (and Flags) a fill changes in an existing row ``cur`` (its cells by
    column name, with this fill's other changes applied) for the trade ``t``.

    * ``t`` measured over bars: the five figures, the R multiples and the margin level from the
      row's own Stop, Equity, Leverage, Contract size and FX (see :func:`figures`); they replace
      what the row held. Flags gains or loses the partial-coverage note;
    * ``t`` not covered by the bars given: the reason, only where the row holds no figures yet;
    * nothing measured (no bars for the symbol, or no bar files at all): no change.
    """
    if t.mae is None:
        return {}
    out: dict[str, object] = {}
    if isinstance(t.mae, str):
        if _is_figure(cur.get("MAE")):
            return {}
        new = {name: t.mae for name in COLUMNS}
    else:
        new = figures(cur, float(t.mae), float(t.mfe), float(t.worst_price), contract_size, context)
        old_flags = [f for f in str(cur.get("Flags") or "").split("; ") if f]
        flags = [f for f in old_flags if not f.startswith(PARTIAL_FLAG)]
        flags += [f for f in t.flags if f.startswith(PARTIAL_FLAG)]
        if flags != old_flags:
            out["Flags"] = "; ".join(flags) or None
    for name, v in new.items():
        old = cur.get(name)
        if _is_figure(old) and _is_figure(v) and float(old) == float(v):
            continue
        if isinstance(old, str) and isinstance(v, str) and old == v:
            continue
        out[name] = v
    return out


def missing_columns(pkg, reports: Sequence[BarFileReport]) -> list[str]:
    """A note for the summary when bars were given but the journal's Trades table lacks some of the
    five columns (a journal made before they existed): the figures of those columns were not written."""
    if not reports:
        return []
    have = {C.RENAMED.get(h, h) for h in pkg.tables[C.TABLE].columns}
    missing = [c for c in COLUMNS if c not in have]
    if not missing:
        return []
    return [f"the Trades table has no {', '.join(missing)} column(s) (a journal made before they existed): "
            "those excursion figures were not written. Add columns with exactly these headers to the table "
            "and fill again with the bars"]


# --- The summary -----------------------------------------------------------------------------------

def print_reports(reports: Sequence[BarFileReport], w: Callable[[str], object]) -> None:
    """The fill summary's part for the bar files: ledger, clock, trades covered."""
    for r in reports:
        w(f"\n{Path(r.file).name}  [bars: {r.format}, {r.symbol} from the "
          f"{'file name' if r.symbol_source == 'file name' else '--prices-symbol option'}]\n")
        w(f"  bar ledger:           {r.ledger}\n")
        w(f"  bars:                 {r.first_bar:%Y-%m-%d %H:%M} to {r.end:%Y-%m-%d %H:%M}, "
          f"{_span(r.bar_seconds)} each\n")
        w(f"  clock:                {r.time_zone_note}\n")
        if r.same_clock:
            w("                        the trades' times are taken on this same clock (a statement and bars "
              "from one broker share its server time)\n")
        w(f"  trades covered:       {r.covered}" + (f" ({r.partial} only in part: see their Flags)" if r.partial
                                                     else "") + "\n")
        if r.not_covered:
            w(f"  trades of {r.symbol} outside the bars: {r.not_covered} (\"{NOT_COVERED}\")\n")
        if r.ledger.rejected:
            w(f"  rejected lines:       {r.ledger.rejected}\n")
            for rej in r.rejected[:5]:
                w(f"    line {rej.source.row}: {rej.reason}\n")
            if r.ledger.rejected > 5:
                w(f"    ... and {r.ledger.rejected - 5} more\n")


def contract_sizes(instruments: Iterable | None) -> Callable[[dict], object]:
    """The Contract size a row's Point value falls back to when its own cell is empty: the
    Instruments row whose Symbol is the row's Instrument (else its Symbol), upper case, the first
    such row -- as the formula's INDEX/MATCH finds it; None when there is none (then 1)."""
    table: dict[str, object] = {}
    for inst in reversed(list(instruments or [])):
        table[inst.symbol.upper()] = inst.contract_size

    def of(row: dict) -> object:
        key = row.get("Instrument") or row.get("Symbol")
        return table.get(str(key).upper()) if key not in (None, "") else None
    return of


def margin_context(instruments: Iterable | None, settings) -> Callable[[dict], dict]:
    """For a Trades row (cells by column name): the leverage its "Leverage used" formula gives
    (its own, else the instrument's margin rate, else 1 held outright, else AccountLeverage capped
    by the Regulator on its open day: :func:`addin.fill.enrich.leverage_for`) and whether its pair's
    base currency is the account currency (the base margin kind), as ``figures`` reads them."""
    from ..journal.instruments import lookup
    from .enrich import leverage_for
    table = list(instruments) if instruments is not None else None

    def of(row: dict) -> dict:
        symbol = str(row.get("Instrument") or row.get("Symbol") or "")
        inst = lookup(symbol, table)
        cls = row.get("Asset class") or (inst.asset_class if inst is not None else None)
        own = row.get("Leverage")
        opened = row.get("Open time")
        day = (opened.date() if isinstance(opened, datetime) else
               (C.schema.EPOCH + timedelta(days=int(opened))) if _num(opened) else None)
        lev = leverage_for(own if _num(own) else None, cls, symbol, day, inst, settings.account_leverage,
                           settings.regulator)
        base = str(cls or "").upper().startswith("FX") and symbols.account_is_base(
            inst.symbol if inst is not None else symbol, settings.account_currency)
        return {"Leverage": lev, "Account is base": base}
    return of
