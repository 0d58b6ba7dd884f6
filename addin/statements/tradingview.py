"""TradingView Strategy Tester "List of trades" CSV (Export → "List of trades").

Two rows per trade, sharing ``Trade #``: the exit row ("Exit long"/"Exit short") and the entry row
("Entry long"/"Entry short"). Both header generations are read:

* 2025: ``Trade #,Type,Date/Time,Signal,Price INR,Position size (qty),Position size (value),
  Net P&L INR,Net P&L %,Run-up INR,...,Drawdown INR,...,Cumulative P&L INR,Cumulative P&L %``
* 2026 (UTF-8 BOM): ``Date and time`` instead of ``Date/Time``, ``Favorable excursion`` /
  ``Adverse excursion`` instead of ``Run-up`` / ``Drawdown``.

The older ``Contracts`` / ``Profit <CCY>`` / ``Cum. Profit <CCY>`` column names are accepted too.
The currency in the price column's name is the quote currency, the one in the P&L column's name the
account currency. The file holds no symbol or account: both come from TradingView's file name
``<strategy>_<EXCHANGE>_<SYMBOL>_<yyyy-mm-dd>.csv`` (account = the name without the export date,
symbol = the part before the date; the whole name when it does not have that shape), unless the
caller gives the symbol (``read(path, symbol=...)``, the fill's ``--symbol``): a renamed file would
otherwise name the trades after whatever its name says, so the fill's summary warns when the symbol
came from the file name.

``profit`` is the row's Net P&L (TradingView's commission is already in it, so ``commission`` is 0).
An exit row whose signal is "Open" (or an entry row without exit for the last trade) is a trade
still open. Totals: ``closed_trades`` = distinct closed ``Trade #``, ``closed_pnl`` = the cumulative
P&L printed on the last closed trade.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from .csv_records import CsvRecord, field_count_problem, head_columns, read_csv_records
from .model import NonTradeRow, RejectedRow, SourceRef, Statement, StatementError, StatementTotals, Trade
from .ledger import JUNK_ROWS, Ledger, check_total, refuse_junk, settle
from .parsing import detect_decimal, parse_datetime, parse_number, parse_optional_number

FORMAT = "tradingview"
DESCRIPTION = 'TradingView Strategy Tester "List of trades" CSV'
BROKER = "TradingView"
SECTION = "List of trades"

_DATE_COLUMNS = ("Date and time", "Date/Time")
_QTY_COLUMNS = ("Position size (qty)", "Contracts", "Quantity", "Qty")
_NET_PREFIXES = ("Net P&L ", "Profit ")
_CUM_PREFIXES = ("Cumulative P&L ", "Cum. Profit ")
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%b %d, %Y, %H:%M", "%b %d, %Y %H:%M")
_TYPE = re.compile(r"^\s*(entry|exit)\s+(long|short)\s*$", re.IGNORECASE)
_FILE_NAME = re.compile(r"^(?P<account>.*_(?P<symbol>[^_]+))_(?P<date>\d{4}-\d{2}-\d{2})$")
EXPECTED = ('a TradingView "List of trades" CSV (columns Trade #, Type, Date/Time or Date and time, Signal, '
            "Price <CCY>, Position size (qty), Net P&L <CCY>, Cumulative P&L <CCY>)")


def _currency_column(header: list[str], prefixes: tuple[str, ...]) -> tuple[str, str] | None:
    """(column, currency) for the first column named ``<prefix><CCY>`` (not the % one)."""
    for prefix in prefixes:
        for name in header:
            if name.startswith(prefix) and not name.endswith("%"):
                ccy = name[len(prefix):].strip()
                if ccy:
                    return name, ccy
    return None


def sniff(path: Path, head: bytes) -> bool:  # noqa: ARG001
    cols = head_columns(head)
    return (
        "Trade #" in cols and "Type" in cols
        and any(c in cols for c in _DATE_COLUMNS)
        and _currency_column(cols, ("Price ",)) is not None
        and _currency_column(cols, _NET_PREFIXES) is not None
    )


def names_from_file(path: Path) -> tuple[str, str]:
    """(account, symbol) from TradingView's export file name."""
    stem = Path(path).stem
    m = _FILE_NAME.match(stem)
    if m:
        return m["account"], m["symbol"]
    return stem, stem


class _Row:
    """One parsed row of the list."""

    def __init__(self, rec: CsvRecord, number: int, kind: str, side: str, signal: str,
                 time: datetime | None, price: float | None, qty: float | None,
                 net: float | None, cum: float | None):
        self.rec, self.number, self.kind, self.side, self.signal = rec, number, kind, side, signal
        self.time, self.price, self.qty, self.net, self.cum = time, price, qty, net, cum

    @property
    def is_open_exit(self) -> bool:
        return self.kind == "exit" and (self.signal.strip().lower() == "open" or self.time is None)


def read(path: Path, symbol: str | None = None) -> Statement:
    """The list of trades in ``path``; ``symbol``: the traded instrument (default: from the file name)."""
    path = Path(path)
    if symbol is not None and not symbol.strip():
        raise StatementError(str(path), "the symbol given for a TradingView list of trades is empty")
    file = str(path)
    header, leading, records = read_csv_records(path, delimiter="auto", expected=EXPECTED, records_per_trade=2)
    cols = header.fields
    idx: dict[str, int] = {}
    for i, c in enumerate(cols):
        idx.setdefault(c, i)

    date_col = next((c for c in _DATE_COLUMNS if c in idx), None)
    qty_col = next((c for c in _QTY_COLUMNS if c in idx), None)
    price = _currency_column(cols, ("Price ",))
    net = _currency_column(cols, _NET_PREFIXES)
    cum = _currency_column(cols, _CUM_PREFIXES)
    missing = [name for name, ok in (
        ("Trade #", "Trade #" in idx), ("Type", "Type" in idx),
        ("Date/Time or Date and time", date_col), ("Price <CCY>", price),
        ("Position size (qty) or Contracts", qty_col), ("Net P&L <CCY>", net),
    ) if not ok]
    if missing:
        raise StatementError(file, f"missing column(s) {', '.join(missing)}; expected {EXPECTED}. "
                                   f"The header has: {', '.join(cols)}")
    price_col, quote_ccy = price
    net_col, account_ccy = net
    cum_col = cum[0] if cum else None
    signal_col = "Signal" if "Signal" in idx else None
    account, named = names_from_file(path)
    symbol = symbol.strip() if symbol is not None else named
    name = path.name
    ledger = Ledger(file)
    for r in leading:
        ledger.see(SECTION, r.line)
    # the decimal mark, decided once for the file from every number cell
    number_cols = [c for c in (price_col, qty_col, net_col, cum_col) if c]
    decimal, _why = detect_decimal(
        ((f"line {r.line} column {c!r}", r.fields[idx[c]]) for r in records
         if field_count_problem(r, header) is None for c in number_cols), header.delimiter)

    non_trades = [NonTradeRow(kind="blank", source=SourceRef(file=file, row=r.line, section=SECTION))
                  for r in leading]
    rejected: list[RejectedRow] = []

    def reject(rec: CsvRecord, reason: str) -> None:
        rejected.append(RejectedRow(source=SourceRef(file=file, row=rec.line, section=SECTION),
                                    reason=f"{name} line {rec.line}: {reason}", raw=rec.raw()))

    rows: list[_Row] = []
    for rec in records:
        ledger.see(SECTION, rec.line)
        if not rows and len(rejected) >= JUNK_ROWS:
            refuse_junk(file, 0, len(rejected), EXPECTED, rejected[0].reason)
        if rec.is_blank:
            non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=rec.line, section=SECTION)))
            continue
        problem = field_count_problem(rec, header)
        if problem:
            reject(rec, problem)
            continue
        f = {c: rec.fields[i] for c, i in idx.items()}
        errors: list[str] = []
        try:
            number = int(f["Trade #"].strip())
        except ValueError:
            errors.append(f"column 'Trade #': not a trade number: {f['Trade #']!r}")
            number = -1
        m = _TYPE.match(f["Type"])
        if not m:
            errors.append(f"column 'Type': {f['Type']!r} is not Entry/Exit long/short")
        signal = f[signal_col] if signal_col else ""
        is_open = bool(m) and m[1].lower() == "exit" and signal.strip().lower() == "open"
        values: dict[str, object] = {}
        for key, col, required in (("price", price_col, not is_open), ("qty", qty_col, True),
                                   ("net", net_col, False), ("cum", cum_col, False)):
            if col is None:
                values[key] = None
                continue
            try:
                v = parse_number(f[col], decimal) if required else parse_optional_number(f[col], decimal)
            except ValueError as exc:
                errors.append(f"column {col!r}: {exc}")
                continue
            if key in ("price", "qty") and v is not None and v <= 0 and not is_open:
                errors.append(f"column {col!r}: {f[col]!r} must be positive")
            values[key] = v
        time = None
        if f[date_col].strip():
            try:
                time = parse_datetime(f[date_col], _DATE_FORMATS)
            except ValueError as exc:
                errors.append(f"column {date_col!r}: {exc}")
        elif not is_open:
            errors.append(f"column {date_col!r} is empty")
        if errors:
            reject(rec, "; ".join(errors))
            continue
        rows.append(_Row(rec, number, m[1].lower(), m[2].lower(), signal, time,
                         values.get("price"), values.get("qty"), values.get("net"), values.get("cum")))

    groups: dict[int, list[_Row]] = {}
    for r in rows:
        groups.setdefault(r.number, []).append(r)
    last_number = max(groups) if groups else None

    # The file's own figures, from every readable row (a rejected pair then shows up as a mismatch).
    closed_exits = {r.number: r for r in rows if r.kind == "exit" and not r.is_open_exit}
    last_closed = closed_exits[max(closed_exits)] if closed_exits else None

    trades: list[Trade] = []
    extra_rows: list[tuple[str, int]] = []  # the second row of each trade (the first is its source)
    for number in sorted(groups):
        group = groups[number]
        entries = [r for r in group if r.kind == "entry"]
        exits = [r for r in group if r.kind == "exit"]
        if len(entries) > 1 or len(exits) > 1:
            for r in group:
                reject(r.rec, f"column 'Trade #': trade #{number} has {len(entries)} entry and {len(exits)} "
                              "exit rows; expected one of each")
            continue
        if not entries:
            reject(exits[0].rec, f"column 'Trade #': no entry row for trade #{number} (its pair is missing)")
            continue
        entry_row = entries[0]
        exit_row = exits[0] if exits else None
        if exit_row is None and number != last_number:
            reject(entry_row.rec, f"column 'Trade #': no exit row for trade #{number} (its pair is missing), and "
                                  "it is not the last trade, so it cannot still be open")
            continue
        if exit_row is not None and exit_row.side != entry_row.side:
            for r in group:
                reject(r.rec, f"column 'Type': trade #{number} enters {entry_row.side} but exits {exit_row.side}")
            continue
        is_open = exit_row is None or exit_row.is_open_exit
        first = min(group, key=lambda r: r.rec.line)
        comment = entry_row.signal if exit_row is None else f"{entry_row.signal} / {exit_row.signal}"
        try:
            trade = Trade(
                broker=BROKER, account=account, trade_id=str(number), symbol=symbol, side=entry_row.side,
                quantity=entry_row.qty, entry=entry_row.price, open_time=entry_row.time,
                exit=None if is_open else exit_row.price,
                close_time=None if is_open else exit_row.time,
                profit=None if is_open else exit_row.net,
                account_currency=account_ccy, quote_currency=quote_ccy, comment=comment,
                source=SourceRef(file=file, row=first.rec.line, section=SECTION),
            )
        except ValidationError as exc:
            for r in group:
                reject(r.rec, f"trade #{number}: " + "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
            continue
        trades.append(trade)
        extra_rows += [(SECTION, r.rec.line) for r in group if r is not first]

    totals = StatementTotals(
        closed_trades=len(closed_exits),
        closed_pnl=last_closed.cum if last_closed is not None and cum_col else None,
    )
    statement = Statement(file=file, format=FORMAT, broker=BROKER, account=account, account_currency=account_ccy,
                          trades=trades, non_trades=non_trades, rejected=rejected, totals=totals)
    closed = [t for t in trades if t.is_closed]
    # TradingView numbers trades 1, 2, 3...: a number missing below the highest one is a lost row pair
    numbers = {r.number for r in rows} | {_trade_number(r) for r in rejected} - {None}
    highest = max(numbers) if numbers else None
    return settle(statement, ledger, extra_rows, checks=[
        check_total("trades numbered", highest, len(numbers), unit="trades",
                    source="Trade # (numbered from 1 without gaps)"),
        check_total("closed trade P/L", totals.closed_pnl, round(sum(t.profit for t in closed), 2),
                    tolerance=0.005 * max(len(closed), 1), unit=account_ccy,
                    source="Cumulative P&L of the last closed trade"),
    ])


def _trade_number(rejected: RejectedRow) -> int | None:
    """The Trade # of a rejected row (its first field), when it is a number."""
    first = rejected.raw.split(",", 1)[0].strip()
    return int(first) if first.isdigit() else None
