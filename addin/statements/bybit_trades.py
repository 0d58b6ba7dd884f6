"""Bybit derivatives "Trade History" CSV (USDT perpetual), one row per fill and per funding.

Header: ``Contracts, Order No., Transaction Time(UTC+0), Leverage, Direction, Order Type, Filled
Type, Filled Qty, Filled Price, Order Price, Trading Fee Rate, Fees Paid, Transaction ID``, newest
row first. ``Direction`` says what each fill does ("Open Long", "Close Short", ...), so positions
are grouped per (symbol, side) without guessing, which also reads hedge-mode accounts (a long and
a short of one symbol at once). ``Filled Type`` is "Trade", "Liquidation" (a forced close: the
trade's comment says "liquidated") or "Funding": a funding row is a :class:`NonTradeRow` "funding"
whose amount (``Fees Paid``: positive paid, negative received) is charged to the position of that
symbol and side open at that moment. Quantities are in coins; ``Order Price`` may be "Market".

Each position is one :class:`Trade`: ``profit`` = the gross P/L of its fills on the average-cost
basis (the export has no realised P/L column), ``commission`` = minus the trading fees (a negative
fee is a maker rebate), ``swap`` = minus the funding paid, so ``net_profit`` is what Bybit's
"Closed P&L" export shows for the same position (checked to the cent on a real pair of exports).
``leverage`` is the export's Leverage (the highest while the position was open), so the journal's
margin and LIQUIDATION_PRICE use it. Asset class CRYPTO, contract size 1, money in USDT.

A close whose position opened before the export's first row has no entry price in the file: each
such fill is rejected with that reason (the "Closed P&L" export of the same period has the trade).
Funding of such a position stays a funding row, charged to no trade. ``trade_id`` is
``"<symbol>-<Transaction ID of the first opening fill>"``.

Partial closes and scale-ins: a journal row is a position (see :mod:`perpetuals`): opening fills
scale in, closing fills close part of it, one row with quantity-weighted entry and exit; its net
P/L equals the sum of the Closed P&L rows of its closing orders.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .generic_csv import field_count_problem, head_columns, read_csv_records
from .model import NonTradeRow, RejectedRow, SourceRef, Statement, StatementError, StatementTotals, Trade
from .parsing import parse_datetime, parse_number
from .ledger import Ledger, check_total, settle
from .perpetuals import Fill, Funding, extra_trade_rows, group_positions, newest_first, position_trade

FORMAT = "bybit_trades"
DESCRIPTION = 'Bybit derivatives "Trade History" CSV (USDT perpetual fills and funding)'
BROKER = "Bybit"
SECTION = "Trade History"

TIME = "Transaction Time(UTC+0)"
REQUIRED = ("Contracts", "Order No.", TIME, "Leverage", "Direction", "Filled Type", "Filled Qty",
            "Filled Price", "Fees Paid", "Transaction ID")
EXPECTED = ('a Bybit "Trade History" CSV (columns Contracts, Order No., Transaction Time(UTC+0), Leverage, '
            "Direction, Order Type, Filled Type, Filled Qty, Filled Price, Order Price, Trading Fee Rate, "
            "Fees Paid, Transaction ID)")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_DIRECTIONS = {"open long": ("open", 1, 1), "open short": ("open", -1, -1),
               "close long": ("close", -1, 1), "close short": ("close", 1, -1)}  # (effect, order side, position side)


def sniff(path: Path, head: bytes) -> bool:  # noqa: ARG001
    cols = set(head_columns(head))
    return all(c in cols for c in REQUIRED)


def quote_of(symbol: str) -> str | None:
    return next((q for q in ("USDT", "USDC") if symbol.endswith(q) and len(symbol) > len(q)), None)


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    header, leading, records = read_csv_records(path, expected=EXPECTED)
    idx: dict[str, int] = {}
    for i, c in enumerate(header.fields):
        idx.setdefault(c, i)
    missing = [c for c in REQUIRED if c not in idx]
    if missing:
        raise StatementError(file, f"missing column(s) {', '.join(missing)}; expected {EXPECTED}. "
                                   f"The header has: {', '.join(header.fields)}")
    name = path.name
    ledger = Ledger(file)
    non_trades: list[NonTradeRow] = []
    for r in leading:
        ledger.see(SECTION, r.line)
        non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=r.line, section=SECTION)))
    rejected: list[RejectedRow] = []
    fills: list[Fill] = []
    funding: list[Funding] = []
    times = []
    raw_of: dict[int, str] = {}

    def reject(line: int, reason: str) -> None:
        rejected.append(RejectedRow(source=SourceRef(file=file, row=line, section=SECTION),
                                    reason=f"{name} line {line}: {reason}", raw=raw_of.get(line, "")))

    for rec in records:
        ledger.see(SECTION, rec.line)
        raw_of[rec.line] = rec.raw()
        if rec.is_blank:
            non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=rec.line, section=SECTION)))
            continue
        problem = field_count_problem(rec, header)
        if problem:
            reject(rec.line, problem)
            continue
        f = {c: rec.fields[i].strip() for c, i in idx.items()}
        errors: list[str] = []
        symbol = f["Contracts"].upper()
        if not symbol:
            errors.append("column 'Contracts' is empty")
        direction = _DIRECTIONS.get(" ".join(f["Direction"].lower().split()))
        if direction is None:
            errors.append(f"column 'Direction': {f['Direction']!r} is not Open/Close Long/Short")
        kind = f["Filled Type"].strip().lower()
        if not kind:
            errors.append("column 'Filled Type' is empty")
        num: dict[str, float] = {}
        for col in ("Filled Qty", "Filled Price", "Fees Paid", "Leverage"):
            try:
                num[col] = parse_number(f[col])
            except ValueError as exc:
                errors.append(f"column {col!r}: {exc}")
                continue
            if col != "Fees Paid" and num[col] <= 0:
                errors.append(f"column {col!r}: {f[col]!r} must be positive")
        try:
            when = parse_datetime(f[TIME], _DATE_FORMATS)
        except ValueError as exc:
            errors.append(f"column {TIME!r}: {exc}")
            when = None
        if not f["Transaction ID"]:
            errors.append("column 'Transaction ID' is empty")
        if errors:
            reject(rec.line, "; ".join(errors))
            continue
        times.append(when)
        effect, order_side, position_side = direction
        if kind == "funding":
            funding.append(Funding(row=rec.line, time=when, symbol=symbol, position_side=position_side,
                                   paid=num["Fees Paid"]))
            continue
        fills.append(Fill(
            row=rec.line, time=when, symbol=symbol, side=order_side, quantity=num["Filled Qty"],
            price=num["Filled Price"], fee=num["Fees Paid"], effect=effect, leverage=num["Leverage"],
            order_id=f["Order No."], trade_id=f["Transaction ID"],
            note="" if kind == "trade" else ("liquidation" if kind.startswith("liq") else kind),
        ))

    grouping = group_positions(fills, funding, newest_first_file=newest_first(times))
    for fl, why in grouping.orphan_fills:
        reject(fl.row, why)

    trades: list[Trade] = []
    trade_rows: list[list[int]] = []
    charged: dict[int, str] = {}
    fees_stated = sum(fl.fee for fl in fills)  # every fill read, whatever became of it
    fees_rejected = sum(fl.fee for fl, _ in grouping.orphan_fills)
    seen_ids: dict[str, int] = {}
    for p in grouping.positions:
        base = f"{p.symbol}-{p.trade_id}"
        seen_ids[base] = seen_ids.get(base, 0) + 1
        trade_id = base if seen_ids[base] == 1 else f"{base} #{seen_ids[base]}"
        try:
            trade = position_trade(p, broker=BROKER, account="", quote=quote_of(p.symbol), file=file,
                                   section=SECTION, trade_id=trade_id)
        except ValidationError as exc:
            why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            for r in p.rows:
                reject(r, f"position {trade_id}: {why}")
            fees_rejected += p.fees
            continue
        trades.append(trade)
        trade_rows.append(p.rows)
        for r in p.funding_rows:
            charged[r] = trade_id
    for fu in funding:
        to = charged.get(fu.row)
        what = f"funding {'paid' if fu.paid >= 0 else 'received'} {abs(fu.paid):.8g} on {fu.symbol}"
        text = f"{what}, in the swap of trade {to}" if to else \
            f"{what}: no position of this export open then (opened before its first row); charged to no trade"
        non_trades.append(NonTradeRow(kind="funding", source=SourceRef(file=file, row=fu.row, section=SECTION),
                                      text=text))
    statement = Statement(
        file=file, format=FORMAT, broker=BROKER, account="", account_currency="USDT",
        trades=trades, non_trades=non_trades, rejected=rejected,
        totals=StatementTotals(closed_trades=sum(1 for t in trades if t.is_closed)),
    )
    return settle(statement, ledger, extra_trade_rows(statement, SECTION, trade_rows), checks=[
        check_total("trading fees", round(fees_stated, 2),
                    round(-sum(t.commission for t in trades) + fees_rejected, 2), 0.01, unit="USDT",
                    source="sum of Fees Paid over the fill rows (funding rows excluded)"),
    ])
