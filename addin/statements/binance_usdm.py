"""Binance USDⓈ-M Futures "Export Trade History" (XLSX, or the newer CSV), one row per fill.

Two layouts are read:

* XLSX (checked against real exports): ``Date(UTC), Symbol, Side, Price, Quantity, Amount, Fee,
  Fee Coin, Realized Profit, Quote Asset``, every cell stored as text, newest fill first.
* CSV (2026; layout from public parsers' fixtures, no real file checked): ``[Uid,] Time, Symbol,
  Side, Price, Quantity, Amount, Fee, Realized Profit, Buyer, Maker, Trade ID, Order ID`` with a
  BOM and CRLF; the fee carries its coin (``0.0243USDT``, ``0.29528919 USDT``); times are in the
  zone the file name states (``Binance-Futures-Trade-History-202608302008(UTC+3).csv``) and are
  converted to UTC; the year may have 2 digits (``26-03-17 09:34:12``).

``Side`` is the ORDER side. Fills are grouped into positions in one-way mode by
:func:`perpetuals.group_positions` (a fill against the position reduces it; a larger one flips it;
a fill with a non-zero ``Realized Profit`` and no position open closes one opened before the
export, whose entry is derived from that profit). Each position is one :class:`Trade`:
``profit`` = the sum of the exchange's ``Realized Profit`` (gross of fees and funding),
``commission`` = minus the fees paid in the quote asset (a fee in another coin, e.g. BNB, is not
converted and is named in the trade's flags), ``swap`` 0 (funding is in the separate transaction
history, not this export). Linear USDT/USDC/BUSD-margined: asset class CRYPTO, contract size 1,
money in the quote asset; the export gives no leverage.

Every row is accounted for: a fill of a trade, a blank row, or a rejected row naming the file,
row, column and reason. ``trade_id`` is ``"<symbol> <open time>"`` (``"<symbol>-<first Trade ID>"``
for the CSV); a position closed before the export's first fill is ``"<symbol> closed <time>"``.
Totals: ``closed_trades`` = closed positions, ``closed_pnl`` = realised profit minus quote-asset
fees over every fill read.

Partial closes, scale-ins and flips: a journal row is a position (from flat to flat): scale-ins and
partial closes are fills of the same row (quantity-weighted entry and exit, profit and fees summed);
a fill that crosses zero closes one row and opens the next, its fee split in proportion (checked on
the real bot export: 44 such flips, realised profit and fees reconcile to the cent).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from .generic_csv import field_count_problem, head_columns, read_csv_records
from .model import NonTradeRow, RejectedRow, SourceRef, Statement, StatementError, StatementTotals, Trade
from .parsing import parse_datetime, parse_number
from .ledger import Ledger, check_total, settle
from .perpetuals import Fill, extra_trade_rows, group_positions, newest_first, position_trade
from .safe_xlsx import xlsx_rows

FORMAT = "binance_usdm"
DESCRIPTION = 'Binance USDⓈ-M Futures "Export Trade History" (XLSX or CSV, one row per fill)'
BROKER = "Binance"
SECTION = "Trade History"

XLSX_COLUMNS = ("Date(UTC)", "Symbol", "Side", "Price", "Quantity", "Amount", "Fee", "Fee Coin",
                "Realized Profit", "Quote Asset")
CSV_REQUIRED = ("Time", "Symbol", "Side", "Price", "Quantity", "Amount", "Fee", "Realized Profit")
_CSV_MARKERS = ("Trade ID", "Order ID", "Buyer", "Maker")
EXPECTED = ('a Binance USDⓈ-M Futures "Export Trade History" (XLSX columns Date(UTC), Symbol, Side, Price, '
            "Quantity, Amount, Fee, Fee Coin, Realized Profit, Quote Asset; or CSV columns Uid, Time, Symbol, "
            "Side, Price, Quantity, Amount, Fee, Realized Profit, Buyer, Maker, Trade ID, Order ID)")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "TUSD")
_FEE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]{2,10})?\s*$")
_ZONE = re.compile(r"\(UTC\s*([+-]{0,2})\s*(\d{1,2})(?::?(\d{2}))?\)", re.IGNORECASE)
_SIDES = {"BUY": 1, "SELL": -1}


def sniff(path: Path, head: bytes) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return Path(path).suffix.lower() == ".xlsx" and _sniff_xlsx(Path(path))
    cols = set(head_columns(head))
    return all(c in cols for c in CSV_REQUIRED) and any(c in cols for c in _CSV_MARKERS)


def _sniff_xlsx(path: Path) -> bool:
    try:
        rows = xlsx_rows(path, EXPECTED)
    except StatementError:
        return False
    header = next((v for _, v in rows if v), [])
    return [str(c).strip() if c is not None else "" for c in header[:len(XLSX_COLUMNS)]] == list(XLSX_COLUMNS)


def zone_of(name: str) -> timedelta | None:
    """The UTC offset Binance writes into the CSV's file name, ``(UTC+3)`` / ``(UTC-5)`` /
    ``(UTC+5:30)``; None when the name has none."""
    m = _ZONE.search(name)
    if not m:
        return None
    sign = -1 if "-" in m[1] else 1
    return sign * timedelta(hours=int(m[2]), minutes=int(m[3] or 0))


def quote_of(symbol: str) -> str | None:
    return next((q for q in _QUOTES if symbol.endswith(q) and len(symbol) > len(q)), None)


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise StatementError(file, f"cannot open: {exc.strerror or exc}") from None
    xlsx = head.startswith(b"PK")
    ledger = Ledger(file)
    non_trades: list[NonTradeRow] = []
    if xlsx:
        rows = xlsx_rows(path, EXPECTED)
        while rows and not rows[0][1]:
            n, _ = rows.pop(0)
            ledger.see(SECTION, n)
            non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=n, section=SECTION)))
        if not rows:
            raise StatementError(file, f"the workbook has no header row; expected {EXPECTED}")
        header_row, header_cells = rows.pop(0)
        header = [_text(c) for c in header_cells]
        records = [(n, [_text(c) for c in cells], cells) for n, cells in rows]
    else:
        hdr, leading, recs = read_csv_records(path, expected=EXPECTED)
        for r in leading:
            ledger.see(SECTION, r.line)
            non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=r.line, section=SECTION)))
        header_row, header = hdr.line, hdr.fields
        records = [(r.line, r.fields, r) for r in recs]
    idx: dict[str, int] = {}
    for i, c in enumerate(header):
        idx.setdefault(c, i)
    time_col = "Date(UTC)" if "Date(UTC)" in idx else "Time"
    required = XLSX_COLUMNS if xlsx else CSV_REQUIRED
    missing = [c for c in required if c not in idx]
    if missing:
        raise StatementError(file, f"missing column(s) {', '.join(missing)}; expected {EXPECTED}. "
                                   f"The header (row {header_row}) has: {', '.join(header)}")
    zone = None if xlsx else zone_of(path.name)
    zone_flag = () if xlsx or zone is not None else (
        "the file name states no time zone (Binance writes one, e.g. '(UTC+3)'): times kept as in the file",)
    name = path.name
    rejected: list[RejectedRow] = []
    fills: list[Fill] = []
    times: list[datetime] = []
    accounts: set[str] = set()
    quote_count: dict[str, int] = {}
    stated_net = 0.0
    stated_realised = 0.0

    def reject(n: int, reason: str, raw: str) -> None:
        rejected.append(RejectedRow(source=SourceRef(file=file, row=n, section=SECTION),
                                    reason=f"{name} row {n}: {reason}", raw=raw))

    width = len(header)
    for n, texts, original in records:
        ledger.see(SECTION, n)
        raw = ",".join(texts)
        if not any(texts):
            non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=n, section=SECTION)))
            continue
        if xlsx:
            if len(texts) < width and not any(texts[len(texts):]):
                texts = texts + [""] * (width - len(texts))
            if len(texts) > width and any(texts[width:]):
                reject(n, f"the row has {len(texts)} cells but the header has {width}", raw)
                continue
        else:
            problem = field_count_problem(original, hdr)
            if problem:
                reject(n, problem, raw)
                continue
        f = {c: texts[i] if i < len(texts) else "" for c, i in idx.items()}
        cells = {c: (original[i] if xlsx and i < len(original) else f[c]) for c, i in idx.items()}
        errors: list[str] = []
        symbol = f["Symbol"].upper()
        if not symbol:
            errors.append("column 'Symbol' is empty")
        side = _SIDES.get(f["Side"].upper())
        if side is None:
            errors.append(f"column 'Side': {f['Side']!r} is neither BUY nor SELL")
        num: dict[str, float] = {}
        for col in ("Price", "Quantity", "Amount", "Realized Profit"):
            try:
                num[col] = parse_number(cells[col])
            except ValueError as exc:
                errors.append(f"column {col!r}: {exc}")
                continue
            if col in ("Price", "Quantity") and num[col] <= 0:
                errors.append(f"column {col!r}: {f[col]!r} must be positive")
        if "Price" in num and "Quantity" in num and "Amount" in num and num["Price"] > 0:
            expected_amount = num["Price"] * num["Quantity"]
            if abs(expected_amount - abs(num["Amount"])) > 0.005 * abs(expected_amount) + 0.01:
                errors.append(f"column 'Amount': {f['Amount']} is not Price × Quantity ({expected_amount:.8g})")
        quote = f.get("Quote Asset", "").upper() or quote_of(symbol) or ""
        fee_coin = f.get("Fee Coin", "").upper()
        fee = 0.0
        m = _FEE.match(f["Fee"]) if f["Fee"] else None
        if f["Fee"] and m is None:
            errors.append(f"column 'Fee': not a fee amount (with its coin): {f['Fee']!r}")
        elif m is not None:
            fee = float(m[1])
            fee_coin = (m[2] or fee_coin or quote).upper()
        try:
            when = parse_datetime(cells[time_col], _DATE_FORMATS)
        except ValueError as exc:
            errors.append(f"column {time_col!r}: {exc}")
            when = None
        if errors:
            reject(n, "; ".join(errors), raw)
            continue
        if zone is not None:
            when = when - zone
        if "Uid" in f and f["Uid"]:
            accounts.add(f["Uid"])
        quote_count[quote] = quote_count.get(quote, 0) + 1
        in_quote = not fee_coin or fee_coin == quote
        stated_net += num["Realized Profit"] - (fee if in_quote else 0.0)
        stated_realised += num["Realized Profit"]
        times.append(when)
        fills.append(Fill(
            row=n, time=when, symbol=symbol, side=side, quantity=num["Quantity"], price=num["Price"],
            fee=fee if in_quote else 0.0, realized=num["Realized Profit"],
            other_fee=None if in_quote else (fee_coin, fee),
            order_id=f.get("Order ID", ""), trade_id=f.get("Trade ID", ""),
        ))

    grouping = group_positions(fills, newest_first_file=newest_first(times))
    account = next(iter(accounts)) if len(accounts) == 1 else ""
    quote_of_symbol = {}
    for fl in fills:
        quote_of_symbol.setdefault(fl.symbol, quote_of(fl.symbol))
    main_quote = max(quote_count, key=quote_count.get) if quote_count else None
    # XLSX: the quote asset of each symbol is its Quote Asset cell.
    if xlsx:
        qa = idx["Quote Asset"]
        sym_i = idx["Symbol"]
        for n, texts, _ in records:
            if len(texts) > max(qa, sym_i) and texts[qa]:
                quote_of_symbol[texts[sym_i].upper()] = texts[qa].upper()

    trades: list[Trade] = []
    trade_rows: list[list[int]] = []
    kept_positions = []
    failed: list[tuple] = []
    used_ids: dict[str, int] = {}
    fill_at = {fl.row: fl for fl in fills}
    for p in grouping.positions:
        if p.open_time is not None:
            first = fill_at[p.rows[0]]
            base = f"{p.symbol}-{first.trade_id}" if first.trade_id else f"{p.symbol} {p.open_time:%Y-%m-%d %H:%M:%S}"
        else:
            base = f"{p.symbol} closed {p.close_time:%Y-%m-%d %H:%M:%S}"
        used_ids[base] = used_ids.get(base, 0) + 1
        trade_id = base if used_ids[base] == 1 else f"{base} #{used_ids[base]}"
        try:
            trade = position_trade(p, broker=BROKER, account=account, quote=quote_of_symbol.get(p.symbol),
                                   file=file, section=SECTION, trade_id=trade_id, flags=zone_flag)
        except ValidationError as exc:
            why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            failed.append((p, trade_id, why))
            continue
        trades.append(trade)
        trade_rows.append(p.rows)
        kept_positions.append(p)
    # A position that cannot be a Trade rejects its rows, except a flip fill that also belongs to a
    # position that could (each row ends as exactly one outcome).
    in_trades = {r for rows in trade_rows for r in rows}
    for p, trade_id, why in failed:
        for r in p.rows:
            if r not in in_trades and not any(x.source.row == r for x in rejected):
                fl = fill_at[r]
                reject(r, f"position {trade_id}: {why}", f"{fl.symbol},{'BUY' if fl.side == 1 else 'SELL'},"
                                                        f"{fl.price},{fl.quantity}")

    statement = Statement(
        file=file, format=FORMAT, broker=BROKER, account=account, account_currency=main_quote,
        trades=trades, non_trades=non_trades, rejected=rejected,
        totals=StatementTotals(closed_trades=sum(1 for t in trades if t.is_closed),
                               closed_pnl=round(stated_net, 8)),
    )
    # The export's realised profit against what the positions carry (closed: in Trade.profit;
    # still open: realised so far, named in the trade's flags).
    kept = sum(p.realized for p in kept_positions)
    quotes = "/".join(sorted({q for q in quote_of_symbol.values() if q}))
    return settle(statement, ledger, extra_trade_rows(statement, SECTION, trade_rows), checks=[
        check_total("realised profit", round(stated_realised, 2), round(kept, 2), 0.01, unit=quotes,
                    source="sum of the Realized Profit column over the fills read"),
    ])
