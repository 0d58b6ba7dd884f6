"""Interactive Brokers Activity Statement (CSV export).

Every line is ``Section,RowType,fields...``: ``Trades,Header,DataDiscriminator,Asset Category,...``
names the columns for the ``Trades,Data,...`` rows after it (the header repeats per asset category,
and the latest one applies), ``Trades,SubTotal``/``Trades,Total`` rows sum them. Every non-blank CSV
record ends up in exactly one of ``trades``, ``non_trades`` or ``rejected``.

Trades section
--------------
* ``DataDiscriminator`` **Trade** rows are executions and become :class:`Trade`. An **Order** row is
  the sum of the Trade rows printed right after it (same symbol and time): it is a NonTradeRow
  "order summary" when such rows follow, and a Trade itself when the statement was exported at order
  level (no Trade rows follow). A header without DataDiscriminator means every row is a trade.
* **ClosedLot** rows (the lots a closing execution closed) are NonTradeRow "closed lot";
  **SubTotal**/**Total** rows are NonTradeRow "subtotal"; header rows are NonTradeRow "header".

Each execution is first read as one draft Trade, as in :mod:`ibkr_flex`, then
:func:`ibkr_positions.book` pairs the drafts FIFO per account and instrument: an opening execution
(Code O, no realised P/L) is an open row at T. Price, or no row when the statement also closes it
(a NonTradeRow "opening execution closed in this statement"), or an open row of what is left when
partly closed; a closing execution (Code contains C, or a nonzero Realized P/L) is a closed row of
its quantity at its T. Price and time with the quantity-weighted price and first open time of the
lots it closes, ``side`` = the side of the position it closes (selling to close is a long closed).
Quantity negative = a sell. IB's Realized P/L is already net of the opening commission (in the
basis) and the closing one, so a closed row's ``commission`` = its Comm/Fee + the closed lots' share
of their opening Comm/Fee and ``profit`` = Realized P/L - that: ``net_profit`` equals IB's Realized
P/L, each commission counted once, and summing it reconciles with the Trades SubTotal/Total rows.
A position opened before the statement: entry = exit = T. Price, flagged
:data:`ibkr_positions.OPENED_BEFORE`. Proceeds only serve to derive ``contract_size``
(|Proceeds| / (|Quantity| x T. Price): 100 for US equity options, 1 for stocks).

Currencies: the CSV states Realized P/L and Comm/Fee in the instrument's currency and gives no
exchange rate. So ``Trade.account_currency`` is the currency the money fields are actually in (the
row's Currency; the currency named by a "Comm in USD" column is used for that commission), and
``fx_to_account`` is 1 only where that is the statement's base currency (``Account Information``
"Base Currency"), None otherwise. ``Statement.account_currency`` is the stated base currency, None
when the file does not state it.

Executions at T. Price 0: an option that expires worthless, or leaves the book by assignment or
exercise, is printed as an execution at price 0. It is a real closing trade and is imported as one
(``entry`` = ``exit`` = 0, ``profit`` = Realized P/L - Comm/Fee as for any close: the whole premium
kept when a short option expires, 0 on an assignment, where IB moves the premium into the stock's
basis). It counts as closing when its Code contains C, when it realises P/L, or when the Code holds
Ep (expired), A (assignment) or Ex (exercise); ``comment`` says "expired worthless", "assigned" or
"exercised" from those codes. As Proceeds are 0, ``contract_size`` comes from the symbol's other
executions or closed lots in the file. An execution at price 0 that opens a position is rejected.

Other sections
--------------
Rows of other sections (Statement, Account Information, Open Positions, Dividends, Fees, ...) are
NonTradeRow with kind = the section name lower-cased. Data rows of Deposits & Withdrawals,
Dividends, Withholding Tax, Fees and Interest also become :class:`BalanceEvent` when their currency
is the base currency (or the base currency is not stated).

``SourceRef.row`` is the 1-based line number where the record starts; ``section`` the section name.

Partial closes, scale-ins and flips: as in :mod:`ibkr_flex` (:mod:`ibkr_positions`). Checked on
real statements: 500 shares bought in one execution and sold in four (300, 68, 100, 32) are four
closed rows from the purchase's price and time, each with its realised P/L, adding up to the
order's; four option sales closed by one expiry are one closed row of 4 at the sales' mean price.
"""

from __future__ import annotations

import re
from pathlib import Path

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
from .ibkr_positions import FLIP_FLAGS
from .ibkr_codes import events as event_texts
from .ibkr_positions import book, with_flip_rests
from .csv_records import CsvRecord, split_records
from .ledger import Ledger, check_total, settle
from .parsing import parse_datetime, parse_number, parse_optional_number
from .safety import read_limited

FORMAT = "ibkr_activity"
DESCRIPTION = "Interactive Brokers Activity Statement CSV (Trades,Header,DataDiscriminator,...)"
BROKER = "Interactive Brokers"

ASSET_CLASSES = {
    "stocks": "STOCK",
    "equity and index options": "OPTION",
    "options on futures": "OPTION",
    "futures options": "OPTION",
    "forex": "FX",
    "cfds": "CFD",
    "futures": "FUTURE",
    "warrants": "WARRANT",
    "bonds": "BOND",
}

DATETIME_FORMATS = (
    "%Y-%m-%d, %H:%M:%S", "%Y-%m-%d,%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d;%H:%M:%S",
    "%Y-%m-%d, %H:%M", "%Y-%m-%d %H:%M", "%Y%m%d;%H%M%S", "%Y-%m-%d", "%Y%m%d",
    "%m/%d/%Y, %H:%M:%S", "%m/%d/%Y",
)
BALANCE_SECTIONS = {
    "deposits & withdrawals": None,  # deposit / withdrawal by sign
    "dividends": "dividend",
    "withholding tax": "withholding tax",
    "fees": "fee",
    "interest": "interest",
}
ROW_TYPES = ("Header", "Data", "SubTotal", "Total", "Notes")
EXPECTED = ("expected an Interactive Brokers Activity Statement CSV (lines such as "
            "'Trades,Header,DataDiscriminator,Asset Category,...' or 'Statement,Header,Field Name,Field Value')")

_LINE = re.compile(rb"^\s*(?:\xef\xbb\xbf)?\"?[A-Za-z][A-Za-z &/\-()]*\"?,(Header|Data|SubTotal|Total|Notes),")


def sniff(path: Path, head: bytes) -> bool:
    """An Activity Statement: section-prefixed lines, with a Trades header or the Activity title."""
    head = head.lstrip(b"\xef\xbb\xbf")
    first = next((line for line in head.splitlines() if line.strip()), b"")
    if not _LINE.match(first):
        return False
    return (b"Trades,Header,DataDiscriminator" in head
            or b"Statement,Data,Title,Activity Statement" in head)


_Record = CsvRecord
# a line of the statement inside a field: a quote opened earlier ran on over whole records
_RECORD_INSIDE = re.compile(r"[\r\n]\"?[A-Za-z][^,\r\n]*,(Header|Data|SubTotal|Total|Notes),")


def _records(file: str, text: str) -> list[_Record]:
    """Non-blank records; a quote that never closes, or runs on over whole statement lines, costs
    only the line it opened on (a problem record, rejected), and reading goes on after it."""
    records = split_records(text, ",", fits=lambda fields: not any(_RECORD_INSIDE.search(f) for f in fields))
    records = [r for r in records if r.problem or any(f.strip() for f in r.fields)]
    if records and records[-1].problem and "never closed" in records[-1].problem:
        records[-1].problem = "the file ends inside a quoted field of this line (cut short?)"
    return records


def _decode(file: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:
            raise StatementError(file, f"the file ends in the middle of a character (truncated?); {EXPECTED}") from None
        return data.decode("cp1252", errors="replace")


def _codes(value: str) -> set[str]:
    return {c.strip() for c in value.split(";") if c.strip()}


def _contract_size(quantity: float, price: float, proceeds: float | None) -> float | None:
    if not proceeds or not price or not quantity:
        return None
    m = abs(proceeds) / (abs(quantity) * price)
    nice = round(m) if m >= 0.5 else None
    if nice is None:
        for k in range(1, 7):
            if abs(m - 10 ** -k) / 10 ** -k < 0.01:
                return 10 ** -k
        return None
    return float(nice) if nice and abs(m - nice) / nice < 0.01 else None


class _Reader:
    def __init__(self, file: str, records: list[_Record]):
        self.file = file
        self.records = records
        self.trades: list[Trade] = []
        self.non_trades: list[NonTradeRow] = []
        self.rejected: list[RejectedRow] = []
        self.events: list[BalanceEvent] = []
        self.used_ids: set[str] = set()
        self.base: str | None = None
        self.account = ""
        self.accounts: list[str] = []
        self.totals: list[tuple[str, str, float]] = []  # (row type, currency, realised P/L)
        self.sizes: dict[tuple[str, str], float] = {}  # (symbol, currency) -> contract size seen
        self.ledger = Ledger(file)
        self.basis_moved: set[tuple[str, int]] = set()  # assignments and exercises (codes A, Ex)
        self.block: list[Trade] = []  # executions since the last SubTotal / header
        self.subtotals: list[tuple[str, str, float, float]] = []  # (currency, symbol, stated, computed)

    # -- helpers -------------------------------------------------------------------------------
    def ref(self, rec: _Record) -> SourceRef:
        return SourceRef(file=self.file, row=rec.line, section=_section(rec))

    def note(self, rec: _Record, kind: str, text: str = "") -> None:
        self.non_trades.append(NonTradeRow(kind=kind, source=self.ref(rec), text=text))

    def reject(self, rec: _Record, reason: str) -> None:
        raw = ",".join(rec.fields)
        self.rejected.append(RejectedRow(source=self.ref(rec), reason=reason, raw=raw[:500]))

    def truncated(self, rec: _Record, have: int, want: int) -> StatementError:
        return StatementError(
            self.file, f"line {rec.line}, the last line, has {have} of the {want} fields its header names: "
                       f"the file looks truncated; {EXPECTED}")

    # -- passes ------------------------------------------------------------------------------------
    def check_layout(self) -> None:
        if not self.records:
            raise StatementError(self.file, f"no rows; {EXPECTED}")
        first = self.records[0].fields
        if self.records[0].problem or len(first) < 3 or first[1].strip() not in ROW_TYPES:
            raise StatementError(self.file, f"line {self.records[0].line} is not 'Section,Header|Data,...'; {EXPECTED}")
        sections = {r.fields[0].strip() for r in self.records}
        title = any(
            len(r.fields) >= 4 and r.fields[0] == "Statement" and r.fields[2] == "Title"
            and "Activity" in r.fields[3] for r in self.records)
        if "Trades" not in sections and not title:
            raise StatementError(self.file, f"neither a Trades section nor an Activity Statement title; {EXPECTED}")

    def read_account_information(self) -> None:
        for rec in self.records:
            f = rec.fields
            if len(f) >= 4 and f[0] == "Account Information" and f[1] == "Data":
                if f[2].strip() == "Base Currency":
                    self.base = f[3].strip() or None
                elif f[2].strip() == "Account":
                    self.account = f[3].strip()

    def run(self) -> None:
        self.check_layout()
        self.read_account_information()
        headers: dict[str, list[str]] = {}
        # classify Order rows first: a summary when Trade rows of the same order follow it
        order_has_trades = self._orders_with_executions()
        for idx, rec in enumerate(self.records):
            self.ledger.see(_section(rec), rec.line)
            f = rec.fields
            section, row_type = f[0].strip(), (f[1].strip() if len(f) > 1 else "")
            if rec.problem:
                if idx == len(self.records) - 1:
                    raise StatementError(self.file, f"line {rec.line}, the last line: {rec.problem}: the file "
                                                    f"looks truncated; {EXPECTED}")
                self.reject(rec, rec.problem)
                continue
            if row_type not in ROW_TYPES:
                if not rec.complete:
                    raise self.truncated(rec, len(f), 3)
                self.reject(rec, f"not a 'Section,Header|Data|SubTotal|Total,...' row (second field {row_type!r})")
                continue
            if row_type == "Header":
                if section == "Trades":
                    self.block = []
                if not rec.complete:  # an export never ends on a header without a line end
                    raise StatementError(
                        self.file, f"line {rec.line}, the last line, is a header cut short: the file looks "
                                   f"truncated; {EXPECTED}")
                headers[section] = [h.strip() for h in f[2:]]
                self.note(rec, "header" if section == "Trades" else section.lower(), "column names")
                continue
            header = headers.get(section)
            if header is None:
                if not rec.complete:
                    raise self.truncated(rec, len(f), 3)
                self.reject(rec, f"a {row_type} row of section {section!r} before any header row")
                continue
            values = f[2:]
            if len(values) != len(header):
                if not rec.complete and len(values) < len(header):
                    raise self.truncated(rec, len(values), len(header))
                if len(values) > len(header) and not any(v.strip() for v in values[len(header):]):
                    values = values[: len(header)]
                elif len(values) < len(header) and section != "Trades":
                    values = values + [""] * (len(header) - len(values))
                else:
                    self.reject(rec, f"{len(values)} fields where the header names {len(header)}")
                    continue
            row = dict(zip(header, values))
            if section == "Trades":
                self.trades_row(rec, row_type, row, order_has_trades.get(idx, False))
            else:
                self.other_row(rec, section, row_type, row)

    def _orders_with_executions(self) -> dict[int, bool]:
        result: dict[int, bool] = {}
        current: int | None = None
        for idx, rec in enumerate(self.records):
            f = rec.fields
            if len(f) < 3 or f[0] != "Trades":
                current = None
                continue
            if f[1] != "Data":
                current = None
                continue
            disc = f[2].strip()
            if disc == "Order":
                current = idx
                result[idx] = False
            elif disc == "Trade" and current is not None:
                result[current] = True
            elif disc not in ("ClosedLot", "Trade"):
                current = None
        return result

    # -- Trades -----------------------------------------------------------------------------------
    def trades_row(self, rec: _Record, row_type: str, row: dict[str, str], order_summary: bool) -> None:
        symbol = row.get("Symbol", "").strip()
        if row_type in ("SubTotal", "Total"):
            currency = row.get("Currency", "").strip()
            text = f"{row_type} {row.get('Asset Category', '')} {currency} {symbol}".strip()
            pnl = parse_optional_number(row.get("Realized P/L")) if _is_number(row.get("Realized P/L")) else None
            if pnl is not None:
                self.totals.append((row_type, currency, pnl))
                text += f": Realized P/L {pnl:g}"
                if row_type == "SubTotal" and self.block:
                    computed = sum(t.net_profit or 0.0 for t in self.block if t is not None)
                    self.subtotals.append((currency, symbol or row.get("Account", "").strip(), pnl, computed))
            if row_type == "SubTotal":
                self.block = []
            self.note(rec, "subtotal", text)
            return
        if row_type == "Notes":
            self.note(rec, "note", ",".join(rec.fields[2:]))
            return
        disc = row.get("DataDiscriminator", "Trade").strip() or "Trade"
        if disc == "ClosedLot":
            self._remember_size(row, "Basis")
            self.note(rec, "closed lot", f"{symbol} lot opened {row.get('Date/Time', '')}, "
                                         f"quantity {row.get('Quantity', '')} @ {row.get('T. Price', '')}")
            return
        if disc == "Order" and order_summary:
            self.note(rec, "order summary",
                      f"{symbol} {row.get('Quantity', '')} @ {row.get('T. Price', '')} "
                      f"{row.get('Date/Time', '')} (its executions follow)")
            return
        if disc not in ("Order", "Trade"):
            self.note(rec, disc.lower() or "trades", f"{disc} row")
            return
        try:
            self.trades.append(self.execution(rec, row))
            self.block.append(self.trades[-1])
            self._remember_size(row, "Proceeds")
        except ValueError as exc:
            reason = str(exc)
            if hasattr(exc, "errors"):
                reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            self.reject(rec, reason)
            self.block.append(None)  # a rejected execution: its block's subtotal cannot match

    def execution(self, rec: _Record, row: dict[str, str]) -> Trade:
        symbol = row.get("Symbol", "").strip()
        if not symbol:
            raise ValueError("no symbol")
        currency = row.get("Currency", "").strip() or None
        qty_signed = parse_number(row.get("Quantity", ""))
        if qty_signed == 0:
            raise ValueError("quantity 0")
        direction = "BUY" if qty_signed > 0 else "SELL"
        quantity = abs(qty_signed)
        price = parse_number(row.get("T. Price", ""))
        when = parse_datetime(row.get("Date/Time", ""), DATETIME_FORMATS)
        realised = parse_optional_number(row.get("Realized P/L")) or 0.0
        codes = _codes(row.get("Code", ""))
        events = event_texts(codes)
        if {c.upper() for c in codes} & {"A", "EX"}:
            self.basis_moved.add((_section(rec), rec.line))
        closing = "C" in codes or realised != 0.0 or (price == 0 and bool(events))

        comm_col = next((k for k in row if k == "Comm/Fee" or k.startswith("Comm in ")
                         or k.startswith("Comm/Fee")), None)
        commission = parse_optional_number(row.get(comm_col)) if comm_col else None
        commission = commission or 0.0
        money_ccy = currency
        if comm_col and comm_col.startswith("Comm in "):
            money_ccy = comm_col[len("Comm in "):].strip() or currency
            if closing and money_ccy != currency and realised:
                raise ValueError(f"realised P/L in {currency} and commission in {money_ccy}: cannot add them")

        if price < 0:
            raise ValueError(f"{direction} {quantity:g} {symbol} at negative price {price:g}")
        if price == 0 and not closing:
            raise ValueError(
                f"{direction} {quantity:g} {symbol} at price 0 opening a position: only a close "
                f"(expiry, assignment, exercise) can be at price 0")

        proceeds = parse_optional_number(row.get("Proceeds")) if _is_number(row.get("Proceeds")) else None
        category = row.get("Asset Category", "").strip()
        account = row.get("Account", "").strip() or self.account
        if account and account not in self.accounts:
            self.accounts.append(account)

        if closing:
            side = "long" if direction == "SELL" else "short"
            comment = f"{direction} to close" + (" and reopen" if "O" in codes else "")
        else:
            side = "long" if direction == "BUY" else "short"
            comment = f"{direction} to open" if "O" in codes else direction
        if row.get("Code", "").strip():
            comment += f"; code {row['Code'].strip()}"
        if price == 0:
            comment += "; " + (", ".join(events) if events else "closed at price 0 (expiry, assignment or exercise)")
        if row.get("Exchange", "").strip() not in ("", "-", "--"):
            comment += f"; {row['Exchange'].strip()}"

        base_id = f"{account + ':' if account else ''}{symbol}:{when:%Y%m%d%H%M%S}:{qty_signed:+g}@{price:g}"
        if row.get("Exchange", "").strip() not in ("", "-", "--"):
            base_id += f":{row['Exchange'].strip()}"
        trade_id, n = base_id, 1
        while trade_id in self.used_ids:
            n += 1
            trade_id = f"{base_id}#{n}"
        self.used_ids.add(trade_id)

        return Trade(
            broker=BROKER,
            account=account,
            trade_id=trade_id,
            symbol=symbol,
            side=side,
            quantity=quantity,
            entry=price,
            open_time=when,
            close_time=when if closing else None,
            exit=price if closing else None,
            commission=commission,
            profit=(realised - commission) if closing else None,
            account_currency=money_ccy,
            quote_currency=currency,
            fx_to_account=1.0 if (self.base and currency == self.base == money_ccy) else None,
            contract_size=_contract_size(quantity, price, proceeds) if price else None,
            asset_class=ASSET_CLASSES.get(category.lower(), category or None),
            comment=comment,
            flags=FLIP_FLAGS if closing and "O" in codes else (),
            source=self.ref(rec),
        )

    # -- other sections ---------------------------------------------------------------------------
    def other_row(self, rec: _Record, section: str, row_type: str, row: dict[str, str]) -> None:
        kind = section.lower()
        text = ", ".join(f"{k}={v}" for k, v in row.items() if k and v.strip())[:200]
        self.non_trades.append(NonTradeRow(kind=kind, source=self.ref(rec), text=text))
        if row_type != "Data" or kind not in BALANCE_SECTIONS:
            return
        currency = row.get("Currency", "").strip()
        if not currency or currency.lower().startswith("total"):
            return
        if self.base and currency != self.base:
            return  # no rate in the file to convert it
        try:
            amount = parse_number(row.get("Amount", ""))
            date = row.get("Settle Date") or row.get("Date") or ""
            when = parse_datetime(date, DATETIME_FORMATS) if date.strip() else None
        except ValueError:
            return
        event_kind = BALANCE_SECTIONS[kind] or ("deposit" if amount >= 0 else "withdrawal")
        self.events.append(BalanceEvent(time=when, amount=amount, kind=event_kind, source=self.ref(rec)))

    def _remember_size(self, row: dict[str, str], money: str) -> None:
        """Note the contract size a row with a price shows (Proceeds or a closed lot's Basis)."""
        try:
            price = parse_optional_number(row.get("T. Price"))
            qty = parse_optional_number(row.get("Quantity"))
            amount = parse_optional_number(row.get(money)) if _is_number(row.get(money)) else None
        except ValueError:
            return
        size = _contract_size(qty or 0, price or 0, amount)
        if size is not None:
            self.sizes.setdefault((row.get("Symbol", "").strip(), row.get("Currency", "").strip()), size)

    def fill_zero_price_sizes(self) -> None:
        """A close at price 0 has Proceeds 0: take its contract size from the symbol's other rows."""
        for n, t in enumerate(self.trades):
            if t.contract_size is None and t.entry == 0:
                size = self.sizes.get((t.symbol, t.quote_currency or ""))
                if size is not None:
                    self.trades[n] = t.model_copy(update={"contract_size": size})

    def checks(self) -> list:
        """Per currency: the Trades SubTotal rows' Realized P/L against the executions above them."""
        out = []
        for currency in sorted({c for c, _, _, _ in self.subtotals}):
            rows = [r for r in self.subtotals if r[0] == currency]
            out.append(check_total(
                f"realised P/L ({currency})", round(sum(r[2] for r in rows), 2), round(sum(r[3] for r in rows), 2),
                tolerance=0.01 * len(rows), unit=currency,
                source=f"Trades SubTotal rows ({len(rows)} instruments)"))
        return out

    def statement_totals(self) -> StatementTotals:
        # only the Total rows: SubTotal rows need not cover every symbol (an excerpt may lack some)
        rows = [t for t in self.totals if t[0] == "Total" and re.fullmatch(r"[A-Z]{3}", t[1])]
        currencies = {c for _, c, _ in rows}
        if not rows or len(currencies) != 1:
            return StatementTotals()
        return StatementTotals(closed_pnl=sum(p for _, _, p in rows))


def _is_number(text: str | None) -> bool:
    try:
        return parse_optional_number(text) is not None
    except ValueError:
        return False


def read(path: Path) -> Statement:
    path = Path(path)
    file = str(path)
    data = read_limited(path)
    if not data.strip():
        raise StatementError(file, f"the file is empty; {EXPECTED}")
    if b"\x00" in data[:4096]:
        raise StatementError(file, f"binary data, not a CSV; {EXPECTED}")
    reader = _Reader(file, _records(file, _decode(file, data)))
    reader.run()
    reader.fill_zero_price_sizes()
    trades, consumed, flip_rests = book(reader.trades, flip_flags=FLIP_FLAGS, basis_moved=reader.basis_moved)
    accounts = reader.accounts or ([reader.account] if reader.account else [])
    statement = settle(Statement(
        file=file,
        format=FORMAT,
        broker=BROKER,
        account=accounts[0] if len(accounts) == 1 else "",
        account_currency=reader.base,
        trades=trades,
        balance_events=reader.events,
        non_trades=reader.non_trades + consumed,
        rejected=reader.rejected,
        totals=reader.statement_totals(),
    ), reader.ledger, checks=reader.checks())
    # a split flip's open part: its source row is the flip's, already counted once as a trade row
    statement.trades = with_flip_rests(statement.trades, flip_rests)
    return statement


def _section(rec: _Record) -> str:
    return rec.fields[0].strip() if rec.fields and not rec.problem else "(unreadable line)"
