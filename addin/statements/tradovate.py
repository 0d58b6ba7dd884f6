"""Tradovate "Performance" report CSV (futures round trips).

Header: ``symbol,_priceFormat,_priceFormatType,_tickSize,buyFillId,sellFillId,qty,buyPrice,sellPrice,
pnl,boughtTimestamp,soldTimestamp,duration``. One row per matched buy/sell fill pair, so a position
scaled in or out appears as several rows sharing a fill id. A row whose ``soldTimestamp`` precedes
``boughtTimestamp`` is a short (entry = sellPrice, exit = buyPrice); otherwise a long (entry =
buyPrice, exit = sellPrice); equal timestamps fall back to the order of the fill ids.

``pnl`` is in accounting format (``$(58.50)`` is -58.50) and in dollars, so ``account_currency`` is
USD when the cells carry ``$``. Timestamps are ``MM/DD/YYYY HH:MM:SS`` (a file re-saved in a
day-first locale, shown by a date such as ``25/12/2025``, is read day-first as a whole; the decimal
mark and ``;`` delimiter of such a file are detected likewise). The report has no commission
(``commission`` stays 0) and no multiplier: ``contract_size`` is derived per row from
``pnl / ((sellPrice - buyPrice) * qty)`` and rounded to a plain multiplier (MNQ 2, MGC 10, MES 5, ...);
it is None when the price did not move or the ratio is not a plain number.
``trade_id`` is ``"<buyFillId>-<sellFillId>"``. Totals: ``closed_trades`` = the data rows,
``closed_pnl`` = the sum of the pnl column.

Partial closes and scale-ins: a journal row is a matched pair as Tradovate prints it (the reader
takes the pairs as given and does no matching of its own), never merged: a 3-lot fill closed by three 1-lot fills is three
rows sharing its fill id, each with its own quantity and pnl, so every contract and dollar is on
exactly one row and the rows add up to the pnl column (checked on the real exports, where 15 fills
are shared by several rows).
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import ValidationError

from .csv_records import CsvRecord, field_count_problem, head_columns, read_csv_records
from .model import NonTradeRow, RejectedRow, SourceRef, Statement, StatementError, StatementTotals, Trade
from .ledger import JUNK_ROWS, Ledger, check_total, refuse_junk, settle
from .parsing import choose_date_formats, detect_decimal, parse_datetime, parse_number

FORMAT = "tradovate"
DESCRIPTION = 'Tradovate "Performance" CSV (futures round trips)'
BROKER = "Tradovate"
SECTION = "Performance"

REQUIRED = ("symbol", "buyFillId", "sellFillId", "qty", "buyPrice", "sellPrice", "pnl",
            "boughtTimestamp", "soldTimestamp")
_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")
_DAY_FIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
EXPECTED = ('a Tradovate "Performance" CSV (columns symbol, _priceFormat, _priceFormatType, _tickSize, '
            "buyFillId, sellFillId, qty, buyPrice, sellPrice, pnl, boughtTimestamp, soldTimestamp, duration)")


def sniff(path: Path, head: bytes) -> bool:  # noqa: ARG001
    cols = set(head_columns(head))
    return all(c in cols for c in REQUIRED)


def plain_multiplier(value: float) -> float | None:
    """``value`` rounded to a plain contract multiplier (3 significant digits), or None when the
    rounding would move it by more than 0.5 % (the P/L does not come from a fixed multiplier)."""
    if not math.isfinite(value) or value <= 0:
        return None
    digits = 2 - math.floor(math.log10(value))
    nice = round(value, digits)
    if nice <= 0 or abs(nice - value) > 0.005 * nice:
        return None
    return float(nice)


def derive_contract_size(pnl: float, buy: float, sell: float, qty: float) -> float | None:
    """The multiplier implied by one round trip: pnl / ((sell - buy) * qty), made plain; None if flat."""
    move = (sell - buy) * qty
    if qty <= 0 or abs(move) < 1e-12:
        return None
    return plain_multiplier(pnl / move)


def _fill_order(buy_id: str, sell_id: str) -> bool | None:
    """True when the sell fill id is the earlier one (numeric ids only)."""
    try:
        return int(sell_id) < int(buy_id)
    except ValueError:
        return None


def _date_order(file: str, records: list[CsvRecord], header: CsvRecord, idx: dict[str, int]) -> tuple[str, ...]:
    """Month-first, as Tradovate writes, unless a date in the file can only be day-first (a
    re-saved export from a day-first locale): then the whole file is read day-first. A file
    proving both orders is refused; nothing is decided per cell."""
    values = ((f"line {r.line} column {c!r}", r.fields[idx[c]]) for r in records
              if field_count_problem(r, header) is None for c in ("boughtTimestamp", "soldTimestamp"))
    try:
        return choose_date_formats(values, _DATE_FORMATS + _DAY_FIRST)
    except ValueError as exc:
        if str(exc).startswith("dates are written both"):
            raise StatementError(file, f"{exc}; expected {EXPECTED}") from None
        return _DATE_FORMATS  # nothing decides: the format's own month-first order


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    header, leading, records = read_csv_records(path, delimiter="auto", expected=EXPECTED, records_per_trade=1)
    idx: dict[str, int] = {}
    for i, c in enumerate(header.fields):
        idx.setdefault(c, i)
    missing = [c for c in REQUIRED if c not in idx]
    if missing:
        raise StatementError(file, f"missing column(s) {', '.join(missing)}; expected {EXPECTED}. "
                                   f"The header has: {', '.join(header.fields)}")
    name = path.name
    non_trades = [NonTradeRow(kind="blank", source=SourceRef(file=file, row=r.line, section=SECTION))
                  for r in leading]
    rejected: list[RejectedRow] = []
    trades: list[Trade] = []
    data_rows = 0
    pnl_sum = 0.0
    dollars = False
    seen: dict[str, int] = {}
    ledger = Ledger(file)
    for r in leading:
        ledger.see(SECTION, r.line)
    decimal, _why = detect_decimal(
        ((f"line {r.line} column {c!r}", r.fields[idx[c]]) for r in records
         if field_count_problem(r, header) is None for c in ("qty", "buyPrice", "sellPrice", "pnl")),
        header.delimiter)

    def reject(rec: CsvRecord, reason: str) -> None:
        rejected.append(RejectedRow(source=SourceRef(file=file, row=rec.line, section=SECTION),
                                    reason=f"{name} line {rec.line}: {reason}", raw=rec.raw()))

    date_formats = _date_order(file, records, header, idx)
    for rec in records:
        ledger.see(SECTION, rec.line)
        if not trades and len(rejected) >= JUNK_ROWS:
            refuse_junk(file, 0, len(rejected), EXPECTED, rejected[0].reason)
        src = SourceRef(file=file, row=rec.line, section=SECTION)
        if rec.is_blank:
            non_trades.append(NonTradeRow(kind="blank", source=src))
            continue
        data_rows += 1
        problem = field_count_problem(rec, header)
        if problem:
            reject(rec, problem)
            continue
        f = {c: rec.fields[i] for c, i in idx.items()}
        errors: list[str] = []
        num: dict[str, float] = {}
        for col in ("qty", "buyPrice", "sellPrice", "pnl"):
            try:
                num[col] = parse_number(f[col], decimal)
            except ValueError as exc:
                errors.append(f"column {col!r}: {exc}")
                continue
            if col != "pnl" and num[col] <= 0:
                errors.append(f"column {col!r}: {f[col]!r} must be positive")
        if "pnl" in num:
            pnl_sum += num["pnl"]
            dollars = dollars or "$" in f["pnl"]
        times = {}
        for col in ("boughtTimestamp", "soldTimestamp"):
            try:
                times[col] = parse_datetime(f[col], date_formats)
            except ValueError as exc:
                errors.append(f"column {col!r}: {exc}")
        for col in ("symbol", "buyFillId", "sellFillId"):
            if not f[col].strip():
                errors.append(f"column {col!r} is empty")
        if errors:
            reject(rec, "; ".join(errors))
            continue
        buy_id, sell_id = f["buyFillId"].strip(), f["sellFillId"].strip()
        trade_id = f"{buy_id}-{sell_id}"
        if trade_id in seen:
            reject(rec, f"columns 'buyFillId'/'sellFillId': the fill pair {trade_id} was already read at line {seen[trade_id]}")
            continue
        bought, sold = times["boughtTimestamp"], times["soldTimestamp"]
        short = sold < bought if sold != bought else bool(_fill_order(buy_id, sell_id))
        buy, sell, qty, pnl = num["buyPrice"], num["sellPrice"], num["qty"], num["pnl"]
        try:
            trade = Trade(
                broker=BROKER, trade_id=trade_id, symbol=f["symbol"], side="short" if short else "long",
                quantity=qty,
                entry=sell if short else buy, exit=buy if short else sell,
                open_time=sold if short else bought, close_time=bought if short else sold,
                profit=pnl, commission=0.0,
                account_currency="USD" if "$" in f["pnl"] else None,
                quote_currency="USD" if "$" in f["pnl"] else None,
                contract_size=derive_contract_size(pnl, buy, sell, qty),
                asset_class="FUTURE", source=src,
            )
        except ValidationError as exc:
            reject(rec, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
            continue
        seen[trade_id] = rec.line
        trades.append(trade)

    statement = Statement(
        file=file, format=FORMAT, broker=BROKER, account="", account_currency="USD" if dollars else None,
        trades=trades, non_trades=non_trades, rejected=rejected,
        totals=StatementTotals(closed_trades=data_rows, closed_pnl=round(pnl_sum, 2)),
    )
    unit = "USD" if dollars else ""
    return settle(statement, ledger, checks=[
        check_total("closed trade P/L", round(pnl_sum, 2), round(sum(t.profit for t in trades), 2),
                    tolerance=0.005, unit=unit, source="sum of the pnl column over every row"),
    ])
