"""Bybit derivatives "Closed P&L" CSV (USDT perpetual), one row per closing order.

Two header generations are read:

* classic account (checked against a real export): ``Contracts, Closing Direction, Qty, Entry
  Price, Exit Price, Closed P&L, Exit Type, Trade Time(UTC+0)``; "Close Long" means the position
  closed was long; times ``YYYY-MM-DD HH:MM:SS``.
* unified trading account (2025; layout from public parsers, no real file checked): ``[Uid,]
  Contracts, Trade Type, Qty, Entry Price, Realized P&L, Filled Price, Exit Type,
  Filled/Settlement Time(UTC+0), Create Time``; ``Trade Type`` is the closing ORDER's side (SELL
  closes a long, BUY a short); times ``HH:MM YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]``. ``Create
  Time`` is kept in the comment, not taken as the open time (what it stamps is not documented).

Each row is one closed :class:`Trade` (a partial close is its own row, as Bybit prints it):
``quantity`` = Qty (coins), ``entry`` = the average entry price, ``exit`` = the average exit price.
Bybit's Closed P&L is NET: gross P/L minus the opening and closing fees minus the funding paid while
open, and the export does not split it (its entry price is rounded, so the gross cannot be rebuilt
to the cent). So ``profit`` = the Closed P&L, ``commission`` = ``swap`` = 0, and each trade's flags
say so; read the "Trade History" export of the same period for fees and funding separately (do not
import both for one period: they describe the same positions under different ids). ``Exit Type``
other than "Trade" (StopLoss, TakeProfit, Liquidation, ...) goes into the comment. The export has no
open time and no leverage. Asset class CRYPTO, contract size 1, money in USDT. ``trade_id`` is
``"<symbol> <long|short> closed <time>"`` (``#2``... for several closes in one second).
Totals: ``closed_trades`` = data rows, ``closed_pnl`` = the sum of the P&L column.

Partial closes: Bybit prints one row per closing order, so a position closed in two orders is two
rows (each with the closed quantity, the position's average entry, that order's exit and its net
P&L as Bybit allocates fees and funding to it); each row is one journal row, and the rows add up to
the P&L column. The real export holds none (each of its 52 rows closes one whole position).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .generic_csv import field_count_problem, head_columns, read_csv_records
from .model import NonTradeRow, RejectedRow, SourceRef, Statement, StatementError, StatementTotals, Trade
from .parsing import parse_datetime, parse_number
from .ledger import Ledger, check_total, settle

FORMAT = "bybit_closed_pnl"
DESCRIPTION = 'Bybit derivatives "Closed P&L" CSV (USDT perpetual, classic or unified account)'
BROKER = "Bybit"
SECTION = "Closed P&L"

CLASSIC = ("Contracts", "Closing Direction", "Qty", "Entry Price", "Exit Price", "Closed P&L", "Exit Type",
           "Trade Time(UTC+0)")
UNIFIED = ("Contracts", "Trade Type", "Qty", "Entry Price", "Realized P&L", "Filled Price", "Exit Type",
           "Filled/Settlement Time(UTC+0)")
EXPECTED = ('a Bybit "Closed P&L" CSV (columns Contracts, Closing Direction, Qty, Entry Price, Exit Price, '
            "Closed P&L, Exit Type, Trade Time(UTC+0); or the unified account's Contracts, Trade Type, Qty, "
            "Entry Price, Realized P&L, Filled Price, Exit Type, Filled/Settlement Time(UTC+0), Create Time)")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%H:%M %Y-%m-%d", "%Y-%m-%d %H:%M", "%H:%M:%S %Y-%m-%d")
NET_FLAG = "Closed P&L is net of trading fees and funding (the export does not split them)"


def sniff(path: Path, head: bytes) -> bool:  # noqa: ARG001
    cols = set(head_columns(head))
    return all(c in cols for c in CLASSIC) or all(c in cols for c in UNIFIED)


def _side(layout: str, text: str) -> str | None:
    word = " ".join(text.lower().split())
    if layout == "classic":
        return {"close long": "long", "close short": "short"}.get(word)
    return {"sell": "long", "buy": "short"}.get(word)  # the closing order's side


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    header, leading, records = read_csv_records(path, expected=EXPECTED)
    idx: dict[str, int] = {}
    for i, c in enumerate(header.fields):
        idx.setdefault(c, i)
    if all(c in idx for c in CLASSIC):
        layout, cols = "classic", dict(zip(("symbol", "side", "qty", "entry", "exit", "pnl", "type", "time"), CLASSIC))
    elif all(c in idx for c in UNIFIED):
        layout, cols = "unified", dict(zip(("symbol", "side", "qty", "entry", "pnl", "exit", "type", "time"), UNIFIED))
    else:
        near = CLASSIC if "Closing Direction" in idx or "Closed P&L" in idx else UNIFIED
        missing = [c for c in near if c not in idx]
        raise StatementError(file, f"missing column(s) {', '.join(missing)}; expected {EXPECTED}. "
                                   f"The header has: {', '.join(header.fields)}")
    name = path.name
    ledger = Ledger(file)
    non_trades: list[NonTradeRow] = []
    for r in leading:
        ledger.see(SECTION, r.line)
        non_trades.append(NonTradeRow(kind="blank", source=SourceRef(file=file, row=r.line, section=SECTION)))
    rejected: list[RejectedRow] = []
    trades: list[Trade] = []
    data_rows = 0
    pnl_sum = 0.0
    ids: dict[str, int] = {}
    accounts: set[str] = set()

    for rec in records:
        ledger.see(SECTION, rec.line)
        src = SourceRef(file=file, row=rec.line, section=SECTION)
        if rec.is_blank:
            non_trades.append(NonTradeRow(kind="blank", source=src))
            continue
        data_rows += 1

        def reject(reason: str) -> None:
            rejected.append(RejectedRow(source=src, reason=f"{name} line {rec.line}: {reason}", raw=rec.raw()))

        problem = field_count_problem(rec, header)
        if problem:
            reject(problem)
            continue
        f = {key: rec.fields[idx[col]].strip() for key, col in cols.items()}
        errors: list[str] = []
        symbol = f["symbol"].upper()
        if not symbol:
            errors.append(f"column {cols['symbol']!r} is empty")
        side = _side(layout, f["side"])
        if side is None:
            allowed = "Close Long or Close Short" if layout == "classic" else "BUY or SELL"
            errors.append(f"column {cols['side']!r}: {f['side']!r} is not {allowed}")
        num: dict[str, float] = {}
        for key in ("qty", "entry", "exit", "pnl"):
            try:
                num[key] = parse_number(f[key])
            except ValueError as exc:
                errors.append(f"column {cols[key]!r}: {exc}")
                continue
            if key != "pnl" and num[key] <= 0:
                errors.append(f"column {cols[key]!r}: {f[key]!r} must be positive")
        if "pnl" in num:
            pnl_sum += num["pnl"]
        try:
            when = parse_datetime(f["time"], _DATE_FORMATS)
        except ValueError as exc:
            errors.append(f"column {cols['time']!r}: {exc}")
        if errors:
            reject("; ".join(errors))
            continue
        comment = [] if f["type"].lower() in ("", "trade") else [f["type"]]
        if layout == "unified" and "Create Time" in idx and rec.fields[idx["Create Time"]].strip():
            comment.append(f"created {rec.fields[idx['Create Time']].strip()}")
        if "Uid" in idx and rec.fields[idx["Uid"]].strip():
            accounts.add(rec.fields[idx["Uid"]].strip())
        base = f"{symbol} {side} closed {when:%Y-%m-%d %H:%M:%S}"
        ids[base] = ids.get(base, 0) + 1
        trade_id = base if ids[base] == 1 else f"{base} #{ids[base]}"
        try:
            trade = Trade(
                broker=BROKER, account="", trade_id=trade_id, symbol=symbol, side=side, quantity=num["qty"],
                entry=num["entry"], exit=num["exit"], close_time=when, profit=num["pnl"],
                account_currency="USDT" if symbol.endswith("USDT") else None,
                quote_currency="USDT" if symbol.endswith("USDT") else None,
                contract_size=1.0, asset_class="CRYPTO", comment="; ".join(comment), flags=(NET_FLAG,),
                source=src,
            )
        except ValidationError as exc:
            reject("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
            continue
        trades.append(trade)
    if len(accounts) == 1:
        account = accounts.pop()
        trades = [t.model_copy(update={"account": account}) for t in trades]
    else:
        account = ""
    statement = Statement(
        file=file, format=FORMAT, broker=BROKER, account=account, account_currency="USDT",
        trades=trades, non_trades=non_trades, rejected=rejected,
        totals=StatementTotals(closed_trades=data_rows, closed_pnl=round(pnl_sum, 8)),
    )
    return settle(statement, ledger, checks=[
        check_total("closed P&L", round(pnl_sum, 2), round(sum(t.profit for t in trades), 2), 0.01, unit="USDT",
                    source=f"sum of the {cols['pnl']} column"),
    ])
