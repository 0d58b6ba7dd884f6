"""Interactive Brokers Flex Query XML (``FlexQueryResponse > FlexStatements > FlexStatement > Trades``).

What becomes a trade
--------------------
IB reports *executions*, not round trips. Only rows at ``levelOfDetail="EXECUTION"`` become
:class:`Trade` (a row with no ``levelOfDetail`` attribute counts as an execution); the ORDER,
SYMBOL_SUMMARY, ASSET_SUMMARY, CLOSED_LOT, WASH_SALE... rows aggregate or break down the same
executions, so they become :class:`NonTradeRow` ("order summary", "symbol summary", "asset summary",
"closed lot", ...) and nothing is counted twice.

Each execution is first read as one draft Trade, then :func:`ibkr_positions.book` pairs the drafts
into positions, first in first out per account and instrument, as IB's realised P/L does:

* **Opening execution** (``openCloseIndicator`` O, or empty with no realised P/L, as IB writes for
  forex conversions): ``entry`` = ``tradePrice``, ``open_time`` = execution time, no exit, no profit.
  ``side`` is the execution's direction: BUY -> long, SELL -> short. Closed in the same file, it is
  no journal row but a NonTradeRow "opening execution closed in this statement" naming the closing
  rows that carry it; partly closed, an open row of the remaining quantity (Flags say what closed).
* **Closing execution** (``openCloseIndicator`` contains C, or a nonzero ``fifoPnlRealized``): a
  closed Trade of its quantity at its ``tradePrice`` and time, with the quantity-weighted entry
  price and the open time of the lots of the file it closes; ``side`` is the side of the *position
  being closed* (a SELL that closes is a long closed); ``comment`` says "SELL to close". A position
  opened before the file: entry = exit = ``tradePrice`` and open time = close time, flagged
  :data:`ibkr_positions.OPENED_BEFORE` (the fill's merge takes the entry from the journal's open rows).

Money is converted to the base (account) currency with ``fxRateToBase``. IB's ``fifoPnlRealized`` is
already net of the commissions of both the opening execution (inside the cost basis) and the closing
one. A closed row's ``commission`` is the closing execution's plus the closed lots' share of their
opening commission, and ``profit`` = realised * fx - commission - taxes, so its ``net_profit`` is
exactly IB's realised P/L in base currency and each commission is counted once (an open remainder
keeps the rest of its opening commission). Summing ``net_profit`` over closed trades reconciles
with the sum of ``fifoPnlRealized * fxRateToBase``.

``commission`` = ``ibCommission`` (sign kept, negative = cost) times ``fxRateToBase`` when
``ibCommissionCurrency`` is the trade currency (or empty); as is when it is the base currency.
``contract_size`` = ``multiplier``; ``quote_currency`` = ``currency``; ``fx_to_account`` =
``fxRateToBase``; ``asset_class`` from ``assetCategory`` (STK STOCK: shares bought outright, OPT/FOP OPTION, CASH FX, CFD,
FUT FUTURE, WAR WARRANT, others as written).

``trade_id`` is the execution ID ``ibExecID``, else ``transactionID``, else ``tradeID`` (whichever
is set and not "N/A"), else a deterministic id built from conid/symbol, time, side, quantity and
price, so that the same execution in two overlapping statements gets the same key and the journal's
merge keeps it once. Within a file (also across its FlexStatements), an execution whose id was
already read *with the same content* (symbol, side, quantity, price, time, account) is the same
execution printed twice (overlapping queries pasted together): a NonTradeRow "duplicate execution"
naming the row it repeats. An id reused for *different* content (IB reuses ``tradeID`` for a
re-execution after a cancel) falls back to the next id.

Rows that cannot be a Trade
---------------------------
* ``TradeCancel`` rows (``buySell`` "SELL (Ca.)", notes "Ca") and the execution they cancel (matched
  by ``origTransactionID``, else ``origTradeID``) are NonTradeRow "trade cancel" / "cancelled trade":
  together they net to nothing.
* An execution at price 0 that opens a position (or says nothing of closing) is rejected with the
  reason: the model allows price 0 only for a close.

Executions at price 0
---------------------
An option that expires worthless, or leaves the book by assignment or exercise, is written as an
execution (usually a BookTrade) at ``tradePrice`` 0. It is a real closing trade and is imported as
one: ``entry`` = ``exit`` = 0, ``profit`` from ``fifoPnlRealized`` as for any closing execution (the
whole premium kept when a short option expires; 0 on an assignment, where IB moves the premium into
the delivered stock's cost basis). It counts as closing when ``openCloseIndicator`` contains C, when
it realises P/L, or when ``notes`` carries IB's code Ep (expired), A (assignment) or Ex (exercise);
``comment`` says what happened ("expired worthless", "assigned", "exercised", from those codes).

``SourceRef.row`` is the 1-based index of the element among the ``Trades`` children (comments not
counted); ``section`` is "Trades" (with the account id appended when the file holds several
FlexStatements). ``account_currency`` comes from ``AccountInformation/@currency``; without it, it is
the one currency whose rows have ``fxRateToBase`` 1, else None. CashTransactions become
:class:`BalanceEvent` (amount * fxRateToBase; kind "deposit"/"withdrawal" for Deposits/Withdrawals,
else the IB type lower-cased). The last ``EquitySummaryByReportDateInBase`` gives totals.balance (cash)
and totals.equity (total).

Parsing uses ``defusedxml``: a document that declares a DTD or entities (a Flex export never
does) is refused whatever its encoding (UTF-8, UTF-16...), so nothing is expanded or fetched. A
document cut before its closing tags is not well-formed and is refused as truncated.

Row ledger: every child element of ``Trades`` and of ``CashTransactions`` is one row and ends as a
trade, a non-trade (summary levels, cancels, duplicates, cash movements, opening executions closed
in the same file) or rejected; a split flip is one row (a trade) for its two journal rows.
Totals checked: the executions' realised P/L against ``FIFOPerformanceSummaryUnderlying``
``totalRealizedPnl`` (when the query includes it and there are executions).

Partial closes, scale-ins and flips (:mod:`ibkr_positions`): a scale-in is several opening
executions, each closed by the closing executions in FIFO order; a partial close is a closed row of
its own quantity with the entry of the lots it closed. An execution that closes the position and
opens the opposite one (``openCloseIndicator`` ``C;O``) is split into a closed row of the lots it
closed and an open row of the rest (Trade ID ``<id>:open``), both flagged; when the file does not
hold the position it closed, it stays one closing row of the whole quantity, flagged
(:data:`ibkr_positions.FLIP_FLAGS`).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from .model import (
    BalanceEvent,
    NonTradeRow,
    RejectedRow,
    SourceRef,
    Statement,
    StatementError,
    StatementTotals,
    Trade,
)
from .ibkr_codes import events as event_texts
from .ibkr_positions import FLIP_FLAGS, book, with_flip_rests
from .ledger import Ledger, check_total, settle
from .parsing import parse_datetime, parse_number, parse_optional_number
from .safety import read_limited

FORMAT = "ibkr_flex"
DESCRIPTION = "Interactive Brokers Flex Query XML (FlexQueryResponse with a Trades section)"
BROKER = "Interactive Brokers"

ASSET_CLASSES = {
    "STK": "STOCK",
    "OPT": "OPTION",
    "FOP": "OPTION",
    "CASH": "FX",
    "CFD": "CFD",
    "FUT": "FUTURE",
    "WAR": "WARRANT",
    "BOND": "BOND",
}

NON_EXECUTION_KINDS = {
    "ORDER": "order summary",
    "SYMBOL_SUMMARY": "symbol summary",
    "ASSET_SUMMARY": "asset summary",
    "CLOSED_LOT": "closed lot",
    "WASH_SALE": "wash sale",
}

_DATES = ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d-%b-%y", "%d-%b-%Y")
_TIMES = ("%H%M%S", "%H:%M:%S", "%H%M", "%H:%M")
_SEPARATORS = (";", " ", ", ", ",", "T")
DATETIME_FORMATS = tuple(
    d + sep + t for d in _DATES for sep in _SEPARATORS for t in _TIMES
) + _DATES

_EMPTY = ("", "--", "N/A", "n/a")

def sniff(path: Path, head: bytes) -> bool:
    """A Flex Query response: the XML's first element is ``<FlexQueryResponse``."""
    try:
        head = _as_utf8("", head[:4096] if len(head) % 2 == 0 else head[:4095], "")
    except StatementError:
        return False
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return False
    # skip an XML declaration and comments before the root element
    m = re.search(rb"<(?![?!])([A-Za-z_][\w.-]*)", text)
    return bool(m and m.group(1) == b"FlexQueryResponse")


def _attr(el, name: str) -> str:
    value = el.get(name)
    return "" if value is None else value.strip()


def _has(el, name: str) -> bool:
    return _attr(el, name) not in _EMPTY


def _row_time(el) -> datetime:
    """Execution time from dateTime, else tradeDate [+ tradeTime]."""
    if _has(el, "dateTime"):
        return parse_datetime(_attr(el, "dateTime"), DATETIME_FORMATS)
    if _has(el, "tradeDate"):
        date = _attr(el, "tradeDate")
        if _has(el, "tradeTime"):
            return parse_datetime(f"{date};{_attr(el, 'tradeTime')}", DATETIME_FORMATS)
        return parse_datetime(date, DATETIME_FORMATS)
    raise ValueError("no dateTime and no tradeDate")


def _is_cancel(el) -> bool:
    notes = {n.strip() for n in _attr(el, "notes").split(";")}
    return (
        _attr(el, "transactionType") == "TradeCancel"
        or "(Ca.)" in _attr(el, "buySell")
        or "Ca" in notes
    )


def _codes(value: str) -> set[str]:
    return {c.strip().upper() for c in value.split(";") if c.strip()}


def _raw(el) -> str:
    keys = ("symbol", "assetCategory", "currency", "buySell", "quantity", "tradePrice",
            "dateTime", "tradeDate", "tradeTime", "openCloseIndicator", "fifoPnlRealized",
            "transactionType", "levelOfDetail", "tradeID", "transactionID")
    return " ".join(f'{k}="{el.get(k)}"' for k in keys if el.get(k) not in (None, ""))


def _same_size(cancel, other) -> bool:
    """A cancel and the execution it cancels: same instrument, same absolute quantity."""
    if _attr(cancel, "symbol") != _attr(other, "symbol"):
        return False
    try:
        return abs(parse_number(_attr(cancel, "quantity"))) == abs(parse_number(_attr(other, "quantity")))
    except ValueError:
        return False


def _content(el) -> tuple:
    """What identifies one execution besides its ids: account, instrument, side, size, price, time."""
    return tuple(_attr(el, k) for k in ("accountId", "conid", "symbol", "buySell", "quantity", "tradePrice",
                                         "dateTime", "tradeDate", "tradeTime"))


class _FlexStatementReader:
    def __init__(self, file: str, fs, section: str, base: str | None, ledger: Ledger,
                 used_ids: dict[str, tuple[tuple, SourceRef]], seen_rows: dict):
        self.file = file
        self.fs = fs
        self.section = section
        self.base = base
        self.account = _attr(fs, "accountId")
        self.trades: list[Trade] = []
        self.non_trades: list[NonTradeRow] = []
        self.rejected: list[RejectedRow] = []
        self.used_ids = used_ids  # id -> (content, where first read), shared by the file's FlexStatements
        self.seen_rows = seen_rows  # (ids, content, cancel?) -> where first read, shared likewise
        self.ledger = ledger
        self.basis_moved: set[tuple[str, int]] = set()  # assignments and exercises (notes A, Ex)
        self.row = 0  # rows of this statement's Trades sections, numbered on across several

    def ref(self, row: int) -> SourceRef:
        return SourceRef(file=self.file, row=row, section=self.section)

    def read_trades(self, trades_el) -> None:
        rows = list(trades_el)
        executions: dict[int, object] = {}
        for i, el in enumerate(rows, start=self.row + 1):
            self.ledger.see(self.section, i)
            level = _attr(el, "levelOfDetail").upper()
            if level and level != "EXECUTION":
                kind = NON_EXECUTION_KINDS.get(level, level.lower().replace("_", " "))
                self.non_trades.append(NonTradeRow(
                    kind=kind, source=self.ref(i),
                    text=f"{_attr(el, 'symbol')} {level} row (the executions are read instead)".strip(),
                ))
            elif el.tag != "Trade" and not level:
                self.non_trades.append(NonTradeRow(
                    kind=el.tag.lower(), source=self.ref(i), text=f"<{el.tag}> element in Trades"))
            else:
                first = self._repeats(el, i)
                if first is not None:
                    self.non_trades.append(NonTradeRow(
                        kind="duplicate execution", source=self.ref(i),
                        text=f"{_attr(el, 'buySell')} {_attr(el, 'quantity')} {_attr(el, 'symbol')} "
                             f"@ {_attr(el, 'tradePrice')}: the same execution as {first}, read once"))
                    continue
                executions[i] = el
        self.row += len(rows)

        # cancellations and the executions they cancel net to nothing
        cancelled: dict[int, int] = {}  # original row -> cancel row
        for i, el in executions.items():
            if not _is_cancel(el):
                continue
            target = None
            orig_tx = _attr(el, "origTransactionID")
            orig_trade = _attr(el, "origTradeID")
            for j, other in executions.items():
                if j == i or _is_cancel(other) or j in cancelled:
                    continue
                if (orig_tx not in _EMPTY + ("0",) and _attr(other, "transactionID") == orig_tx
                        and _same_size(el, other)):
                    target = j
                    break
            if target is None and orig_trade not in _EMPTY + ("0",):
                for j, other in executions.items():
                    if (j != i and not _is_cancel(other) and j not in cancelled
                            and _attr(other, "tradeID") == orig_trade and _same_size(el, other)):
                        target = j
                        break
            if target is not None:
                cancelled[target] = i

        cancel_rows = {c: o for o, c in cancelled.items()}
        for i, el in executions.items():
            if i in cancelled:
                self.non_trades.append(NonTradeRow(
                    kind="cancelled trade", source=self.ref(i),
                    text=f"{_attr(el, 'buySell')} {_attr(el, 'quantity')} {_attr(el, 'symbol')} "
                         f"@ {_attr(el, 'tradePrice')}, cancelled by row {cancelled[i]}"))
            elif _is_cancel(el):
                where = (f"cancels row {cancel_rows[i]}" if i in cancel_rows
                         else "the cancelled execution is not in this file")
                self.non_trades.append(NonTradeRow(
                    kind="trade cancel", source=self.ref(i),
                    text=f"{_attr(el, 'buySell')} {_attr(el, 'quantity')} {_attr(el, 'symbol')} "
                         f"@ {_attr(el, 'tradePrice')}: {where}"))
            else:
                try:
                    self.trades.append(self.execution(i, el))
                except (ValueError, TypeError) as exc:
                    reason = str(exc)
                    if hasattr(exc, "errors"):  # pydantic ValidationError: keep it short
                        reason = "; ".join(
                            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                    self.rejected.append(RejectedRow(source=self.ref(i), reason=reason, raw=_raw(el)))

    def _repeats(self, el, row: int) -> SourceRef | None:
        """Where this execution (or cancel) was already read in this file -- same ids, same content
        -- or None (and it is remembered). Rows without any id are never taken for repeats."""
        ids = tuple(_attr(el, k) for k in ("ibExecID", "transactionID", "tradeID"))
        if all(c in _EMPTY for c in ids):
            return None
        key = (ids, _content(el), _is_cancel(el))
        first = self.seen_rows.get(key)
        if first is None:
            self.seen_rows[key] = self.ref(row)
        return first

    def _trade_id(self, el, when: datetime, side: str, qty: float, price: float) -> str:
        candidates = [_attr(el, k) for k in ("ibExecID", "transactionID", "tradeID")]
        candidates = [c for c in candidates if c not in _EMPTY]
        for c in candidates:
            if c not in self.used_ids:
                return c
        base = (f"{_attr(el, 'conid') or _attr(el, 'symbol')}:{when:%Y%m%d%H%M%S}:"
                f"{side}:{qty:g}@{price:g}")
        tid, n = base, 1
        while tid in self.used_ids:
            n += 1
            tid = f"{base}#{n}"
        return tid

    def execution(self, row: int, el) -> Trade:
        symbol = _attr(el, "symbol")
        if not symbol:
            raise ValueError("no symbol")
        buy_sell = _attr(el, "buySell").upper()
        qty_signed = parse_number(_attr(el, "quantity") or "")
        if buy_sell.startswith("BUY"):
            direction = "BUY"
        elif buy_sell.startswith("SELL"):
            direction = "SELL"
        elif qty_signed:
            direction = "BUY" if qty_signed > 0 else "SELL"
        else:
            raise ValueError(f"neither BUY nor SELL: buySell={buy_sell!r}")
        quantity = abs(qty_signed)
        if quantity == 0:
            raise ValueError("quantity 0")
        price = parse_number(_attr(el, "tradePrice") or "")
        when = _row_time(el)
        currency = _attr(el, "currency") or None
        fx = parse_optional_number(_attr(el, "fxRateToBase"))
        if fx is None:
            if currency and self.base and currency == self.base:
                fx = 1.0
            else:
                raise ValueError("no fxRateToBase to convert to the base currency")
        if fx <= 0:
            raise ValueError(f"fxRateToBase {fx:g} is not positive")
        realised = parse_optional_number(_attr(el, "fifoPnlRealized")) or 0.0
        indicator = _codes(_attr(el, "openCloseIndicator"))
        notes = _codes(_attr(el, "notes"))
        events = event_texts(notes)
        if notes & {"A", "EX"}:
            self.basis_moved.add((self.section, row))
        closing = "C" in indicator or realised != 0.0 or (price == 0 and bool(events))

        if price < 0:
            raise ValueError(f"{direction} {quantity:g} {symbol} at negative price {price:g}")
        if price == 0 and not closing:
            raise ValueError(
                f"{direction} {quantity:g} {symbol} at price 0 opening a position: only a close "
                f"(expiry, assignment, exercise) can be at price 0")

        commission_raw = parse_optional_number(_attr(el, "ibCommission")) or 0.0
        comm_ccy = _attr(el, "ibCommissionCurrency")
        if not comm_ccy or comm_ccy == currency:
            commission = commission_raw * fx
        elif self.base and comm_ccy == self.base:
            commission = commission_raw
        elif commission_raw == 0:
            commission = 0.0
        else:
            raise ValueError(
                f"commission in {comm_ccy}, neither the trade currency {currency} nor the base "
                f"currency {self.base or '(unknown)'}: cannot convert it")
        taxes = (parse_optional_number(_attr(el, "taxes")) or 0.0) * fx
        multiplier = parse_optional_number(_attr(el, "multiplier"))
        category = _attr(el, "assetCategory")

        if closing:
            side = "long" if direction == "SELL" else "short"
            comment = f"{direction} to close"
            if "O" in indicator:
                comment += " and reopen"
        else:
            side = "long" if direction == "BUY" else "short"
            comment = f"{direction} to open" if "O" in indicator else direction
        if _attr(el, "transactionType") not in ("", "ExchTrade"):
            comment += f" ({_attr(el, 'transactionType')})"
        if price == 0:
            comment += ": " + (", ".join(events) if events else "closed at price 0 (expiry, assignment or exercise)")
        if _attr(el, "description") and _attr(el, "description") != symbol:
            comment += f"; {_attr(el, 'description')}"

        trade = Trade(
            broker=BROKER,
            account=_attr(el, "accountId") or self.account,
            trade_id=self._trade_id(el, when, direction, quantity, price),
            symbol=symbol,
            side=side,
            quantity=quantity,
            entry=price,
            open_time=when,
            close_time=when if closing else None,
            exit=price if closing else None,
            commission=commission,
            taxes=taxes,
            profit=(realised * fx - commission - taxes) if closing else None,
            account_currency=self.base,
            quote_currency=currency,
            fx_to_account=fx,
            contract_size=multiplier if multiplier and multiplier > 0 else None,
            asset_class=ASSET_CLASSES.get(category, category or None),
            comment=comment,
            flags=FLIP_FLAGS if closing and "O" in indicator else (),
            source=self.ref(row),
        )
        self.used_ids[trade.trade_id] = (_content(el), trade.source)
        return trade

    def balance_events(self) -> list[BalanceEvent]:
        """CashTransactions as BalanceEvents; each element also one ledger row (non-trade or rejected)."""
        events = []
        section = "CashTransactions" + self.section[len("Trades"):]
        i = 0
        for ct_section in self.fs.iter("CashTransactions"):
            for el in ct_section:
                i += 1
                self.ledger.see(section, i)
                src = SourceRef(file=self.file, row=i, section=section)
                level = _attr(el, "levelOfDetail").upper()
                ib_type = _attr(el, "type")
                if level and level not in ("DETAIL", "EXECUTION"):
                    self.non_trades.append(NonTradeRow(kind="cash summary", source=src,
                                                       text=f"{ib_type} {level} row (the detail rows are read)"))
                    continue
                try:
                    amount = parse_number(_attr(el, "amount"))
                    fx = parse_optional_number(_attr(el, "fxRateToBase"))
                    if fx is None:
                        fx = 1.0 if _attr(el, "currency") == self.base else None
                    if fx is None or fx <= 0:
                        raise ValueError(f"no fxRateToBase to convert {_attr(el, 'currency')} to the base currency")
                    when = None
                    for key in ("dateTime", "settleDate", "reportDate"):
                        if _has(el, key):
                            when = parse_datetime(_attr(el, key), DATETIME_FORMATS)
                            break
                except ValueError as exc:
                    self.rejected.append(RejectedRow(source=src, reason=f"cash transaction: {exc}",
                                                     raw=f'type="{ib_type}" amount="{_attr(el, "amount")}" '
                                                         f'currency="{_attr(el, "currency")}"'))
                    continue
                if ib_type.lower().startswith("deposit"):
                    kind = "deposit" if amount >= 0 else "withdrawal"
                else:
                    kind = ib_type.lower() or "cash transaction"
                events.append(BalanceEvent(time=when, amount=amount * fx, kind=kind, source=src))
                self.non_trades.append(NonTradeRow(kind=kind, source=src,
                                                   text=f"{_attr(el, 'description') or ib_type} {amount * fx:+.2f}"))
        return events


def _base_currency(fs) -> str | None:
    info = fs.find("AccountInformation")
    if info is not None and _attr(info, "currency"):
        return _attr(info, "currency")
    at_par = {
        _attr(el, "currency")
        for el in [*fs.iter("Trade"), *fs.iter("CashTransaction")]
        if _attr(el, "currency") and _attr(el, "fxRateToBase") in ("1", "1.0", "1.00")
    }
    return at_par.pop() if len(at_par) == 1 else None


def _totals(fs) -> StatementTotals:
    rows = [el for el in fs.iter("EquitySummaryByReportDateInBase") if _has(el, "total")]
    if not rows:
        return StatementTotals()
    last = max(rows, key=lambda el: _attr(el, "reportDate"))
    try:
        return StatementTotals(
            balance=parse_optional_number(_attr(last, "cash")),
            equity=parse_optional_number(_attr(last, "total")),
        )
    except ValueError:
        return StatementTotals()


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    expected = "expected an Interactive Brokers Flex Query XML (<FlexQueryResponse> with FlexStatement elements)"
    data = read_limited(path)
    if not data.strip():
        raise StatementError(file, f"the file is empty; {expected}")
    data = _as_utf8(file, data, expected)
    try:
        # defusedxml refuses a DTD, entities and external references in any encoding (the parser
        # sees the decoded document, so a UTF-16 file cannot hide "<!DOCTYPE" from a byte search)
        root = safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise StatementError(file, f"the XML declares a DTD or entities ({type(exc).__name__}), which a Flex "
                                   f"export never does; refused unread; {expected}") from None
    except (ParseError, ValueError) as exc:
        raise StatementError(
            file, f"not well-formed XML (truncated, or not a Flex export?): {exc}; {expected}") from None
    del data
    if root is None or root.tag != "FlexQueryResponse":
        tag = getattr(root, "tag", None)
        raise StatementError(file, f"the XML's root element is <{tag}>; {expected}")
    statements = root.findall("FlexStatements/FlexStatement")
    if not statements:
        if root.find("FlexStatements") is None:
            raise StatementError(file, f"no <FlexStatements> element; {expected}")

    several = len(statements) > 1
    trades, non_trades, rejected, events = [], [], [], []
    bases, accounts = [], []
    basis_moved: set[tuple[str, int]] = set()
    totals = StatementTotals()
    ledger = Ledger(file)
    used_ids: dict[str, tuple[tuple, SourceRef]] = {}
    seen_rows: dict = {}
    stated_realised: list[float] = []
    for n, fs in enumerate(statements, 1):
        base = _base_currency(fs)
        account = _attr(fs, "accountId")
        bases.append(base)
        accounts.append(account)
        section = (f"Trades {account}" if account not in accounts[:-1] else f"Trades {account} #{n}") \
            if several else "Trades"
        reader = _FlexStatementReader(file, fs, section, base, ledger, used_ids, seen_rows)
        for trades_el in fs.findall("Trades"):
            reader.read_trades(trades_el)
        events += reader.balance_events()
        trades += reader.trades
        basis_moved |= reader.basis_moved
        non_trades += reader.non_trades
        rejected += reader.rejected
        if not several:
            totals = _totals(fs)
        stated_realised += _stated_realised(fs)

    trades, consumed, flip_rests = book(trades, flip_flags=FLIP_FLAGS, basis_moved=basis_moved)
    non_trades += consumed
    distinct_bases = set(bases)
    distinct_accounts = [a for a, _ in Counter(accounts).items() if a]
    closed = [t for t in trades if t.is_closed]
    check = None
    if stated_realised and trades:
        check = check_total("realised P/L", round(sum(stated_realised), 2),
                            round(sum(t.net_profit for t in closed), 2), tolerance=0.01 * max(len(closed), 1),
                            unit=bases[0] if len(distinct_bases) == 1 and bases[0] else "",
                            source="FIFOPerformanceSummaryUnderlying totalRealizedPnl")
    statement = settle(Statement(
        file=file,
        format=FORMAT,
        broker=BROKER,
        account=distinct_accounts[0] if len(distinct_accounts) == 1 else "",
        account_currency=bases[0] if len(distinct_bases) == 1 and bases else None,
        trades=trades,
        balance_events=events,
        non_trades=non_trades,
        rejected=rejected,
        totals=totals,
    ), ledger, checks=[check])
    # a split flip's open part: its source row is the flip's, already counted once as a trade row
    statement.trades = with_flip_rests(statement.trades, flip_rests)
    return statement


_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"'][^\"']*[\"']")


def _as_utf8(file: str, data: bytes, expected: str) -> bytes:
    """A UTF-16/32 document (with or without BOM) as UTF-8 with its declaration saying so, so that
    the one parser sees every document in one encoding; UTF-8 and ASCII documents unchanged."""
    import codecs

    encoding = None
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            encoding = name
            break
    if encoding is None and b"\x00" in data[:4]:
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    if encoding is None:
        return data
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise StatementError(file, f"not valid {encoding} text (byte {exc.start}; cut short?); {expected}") from None
    out = text.lstrip("\ufeff").encode("utf-8")
    return _DECLARATION.sub(lambda m: re.sub(rb"encoding\s*=\s*[\"'][^\"']*[\"']", b'encoding="UTF-8"',
                                             m.group(0)), out, count=1)


def _stated_realised(fs) -> list[float]:
    """The realised P/L per instrument that the statement's FIFO performance summary states."""
    out = []
    for el in fs.iter("FIFOPerformanceSummaryUnderlying"):
        if not _attr(el, "symbol") and not _attr(el, "conid"):
            continue  # a total row
        try:
            value = parse_optional_number(_attr(el, "totalRealizedPnl"))
        except ValueError:
            continue
        if value is not None:
            out.append(value)
    return out
