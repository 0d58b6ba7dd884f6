"""MetaTrader 4 "Statement" / "Detailed Statement" (HTML written by the MT4 terminal).

One ``<table>``: a header row (Account, Name, Currency, ``Leverage: 1:N``, date), then titled
sections "Closed Transactions:", "Open Trades:", "Working Orders:", "Summary:" and, in the detailed
statement, "Details:". Every ``<tr>`` from the "Closed Transactions:" title up to the "Summary:" title
ends up in exactly one of ``trades`` / ``non_trades`` / ``rejected``; the Summary and Details rows
give :class:`StatementTotals` and are not rows of the trade tables.

``SourceRef.row`` is the 1-based index of the ``<tr>`` in the whole document.

Parsing uses lxml's (libxml2's) forgiving HTML parser, the one behind ``lxml.html``, with plain
elements: the terminal's unclosed tags and bare attributes are fine. Files may be UTF-8, cp1252 or
UTF-16 with or without a BOM (:func:`decode_html`). The small helpers here (:func:`decode_html`,
:func:`parse_html_rows`, :func:`fast_datetime`, :func:`short_reason`,
:func:`collector_paused`) are shared with :mod:`addin.statements.mt5_report`.

Partial closes: MT4 books a partial close of ticket #100 as two tickets, #100 the closed part (its
own size, close and profit; comment ``to #101``) and #101 the remainder (comment ``from #100``, the
original's open time and price). Each ticket stays its own journal row, as MT4 books it, so sizes
and profits add up to the Summary with nothing counted twice; :func:`link_partial_closes` names the
parent and the remainder in each row's flags and makes sure a remainder carries the original's
open time. MT4 has no scale-in (each order is its own ticket) and no flip.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import re
from datetime import datetime
from pathlib import Path

import lxml.etree
from pydantic import ValidationError

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
from .ledger import Ledger, check_total, settle
from .parsing import parse_datetime, parse_number

FORMAT = "mt4_html"
DESCRIPTION = "MetaTrader 4 Statement / Detailed Statement, HTML saved from the MT4 terminal"

DATE_FORMATS = ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M")

CLOSED, OPEN, WORKING, SUMMARY, DETAILS = (
    "Closed Transactions", "Open Trades", "Working Orders", "Summary", "Details")
_TITLES = {t.lower(): t for t in (CLOSED, OPEN, WORKING, SUMMARY, DETAILS)}
_TRADE_SECTIONS = (CLOSED, OPEN, WORKING)
_SIDES = {"buy": "long", "sell": "short"}
_PENDING = re.compile(r"^(buy|sell)[ _-]?(limit|stop|stop[ _-]?limit)$")
_BALANCE_TYPES = {"balance", "credit"}
_TICKET = re.compile(r"^\d+$")
_LEVERAGE = re.compile(r"1\s*:\s*(\d+(?:\.\d+)?)")
_TR = re.compile("<tr", re.IGNORECASE)


# --------------------------------------------------------------------------- shared HTML helpers


def decode_html(data: bytes) -> str:
    """Bytes of a terminal-written HTML file to text: BOM first (UTF-8, UTF-16 LE/BE), then UTF-16
    without BOM (recognised by its NUL bytes), then UTF-8, then cp1252 (never fails)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace")
    sample = data[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        even_nuls = sample[0::2].count(b"\x00")
        odd_nuls = sample[1::2].count(b"\x00")
        return data.decode("utf-16-le" if odd_nuls >= even_nuls else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class HtmlRow:
    """One ``<tr>``: the cleaned texts of its ``<td>``/``<th>`` cells, the first cell's ``title``
    and ``colspan``, and (when asked for) the indexes of cells of class "hidden". The elements
    themselves are not kept: 1.5 million lxml proxies cost more than the parse."""

    __slots__ = ("texts", "title", "span", "hidden")

    def __init__(self, texts: list[str], title: str, span: int, hidden: tuple[int, ...] = ()):
        self.texts = texts
        self.title = title
        self.span = span
        self.hidden = hidden

    def raw(self) -> str:
        return " | ".join(self.texts)


def parse_html_rows(path: Path, what: str, classes: bool = False) -> tuple[list[HtmlRow], str]:
    """All ``<tr>`` rows of the file, in document order, and the text of the first ``div/b`` (the
    MT4 broker title); StatementError when it is not HTML or ends before its table is closed (a
    truncated download or copy). ``classes``: record the cells of class "hidden"."""
    from .safety import read_limited

    data = read_limited(path)
    text = decode_html(data)
    if "<" not in text:
        raise StatementError(str(path), f"not HTML; expected {what}")
    if _TR.search(text) and "</table>" not in text[-4096:].lower():
        raise StatementError(str(path), f"the file ends before its table is closed (truncated?); expected {what}")
    del data
    # A pull parser fed in chunks: each <tr> is read into an HtmlRow as soon as it is complete and
    # then freed, so a 100,000-trade statement never becomes one huge element tree in memory.
    parser = lxml.etree.HTMLPullParser(events=("end",), tag=("tr", "b"))
    rows: list[HtmlRow] = []
    title = ""
    chunk = 1 << 20
    try:
        for start in range(0, len(text), chunk):
            parser.feed(text[start:start + chunk])
            title = _take_rows(parser, rows, title, classes)
        parser.close()
        title = _take_rows(parser, rows, title, classes)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError) as exc:
        raise StatementError(str(path), f"cannot parse as HTML ({exc}); expected {what}") from None
    if not rows and not title and "<tr" not in text[:65536].lower():
        raise StatementError(str(path), f"not HTML; expected {what}")
    return rows, title


def _take_rows(parser, rows: list[HtmlRow], title: str, classes: bool) -> str:
    """Move the rows the pull parser has completed into ``rows`` (freeing their elements); return
    the MT4 broker title (the first non-empty ``div/b`` in the body) once seen."""
    for _, el in parser.read_events():
        if el.tag == "b":
            parent = el.getparent()
            if not title and parent is not None and parent.tag == "div":
                title = cell_text(el)
            continue
        cells = [c for c in el if c.tag == "td" or c.tag == "th"]
        texts = [clean_text(c.text or "") if len(c) == 0 else cell_text(c) for c in cells]
        if cells:
            first = cells[0]
            head, span = first.get("title") or "", colspan(first)
        else:
            head, span = "", 1
        hidden = tuple(k for k, c in enumerate(cells)
                       if "hidden" in (c.get("class") or "").split()) if classes else ()
        rows.append(HtmlRow(texts, head, span, hidden))
        el.clear()
        while el.getprevious() is not None:
            del el.getparent()[0]
    return title


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while reading: a big statement allocates millions
    of objects without cycles, and the collector's repeated full passes over them would double
    the reading time. Restores the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def clean_text(text: str) -> str:
    """No-break spaces as spaces, whitespace collapsed."""
    return " ".join(text.replace("\u00a0", " ").split())


def cell_text(cell) -> str:
    """Visible text of a cell (comments skipped), whitespace collapsed."""
    return clean_text("".join(cell.itertext()))


def colspan(cell) -> int:
    try:
        return max(1, int(cell.get("colspan", "1")))
    except ValueError:
        return 1


def fast_datetime(text: str, formats: tuple[str, ...]) -> datetime:
    """:func:`parse_datetime` with a fast path for ``yyyy.MM.dd HH:mm:ss``."""
    if len(text) == 19 and text[4] == "." and text[7] == "." and text[10] == " " \
            and text[13] == ":" and text[16] == ":":
        try:
            return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]),
                            int(text[11:13]), int(text[14:16]), int(text[17:19]))
        except ValueError:
            pass
    return parse_datetime(text, formats)


def short_reason(exc: Exception) -> str:
    """A one-line reason from a ValueError / pydantic ValidationError."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())
    return str(exc)


#: The 14 cells of a Closed Transactions / Open Trades row, by position.
COLUMNS = ("Ticket", "Open Time", "Type", "Size", "Item", "Price", "S / L", "T / P", "Close Time", "Price",
           "Commission", "Taxes", "Swap", "Profit")


def _column_reason(exc: Exception, texts: list[str]) -> str:
    """``short_reason(exc)`` with the column named: a parse error quotes the bad text, which is looked
    up among the row's cells (the first cell holding exactly that text)."""
    reason = short_reason(exc)
    m = re.search(r": '(.*)'$", str(exc)) if not isinstance(exc, ValidationError) else None
    if m is not None and len(texts) == len(COLUMNS):
        bad = m.group(1)
        k = next((k for k, t in enumerate(texts) if t == bad), None)
        if k is not None:
            return f"column {k + 1} ({COLUMNS[k]}): {reason}"
    return reason


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- sniff


def sniff(path: Path, head: bytes) -> bool:
    text = decode_html(head).lower()
    return (("<html" in text or "<table" in text)
            and "closed transactions:" in text
            and "account:" in text)


# --------------------------------------------------------------------------- read


def read(path: Path) -> Statement:
    with collector_paused():
        return _read(Path(path))


def _read(path: Path) -> Statement:
    file = str(path)
    expected = "a MetaTrader 4 Statement (HTML with 'Closed Transactions:' and 'Summary:' sections)"
    rows, broker_title = parse_html_rows(path, expected)

    # ---- sections: title rows are single cells spanning the table, "<b>Title:</b>"
    titles: dict[int, str] = {}
    for i, row in enumerate(rows):
        if len(row.texts) == 1 and row.span >= 10:
            t = row.texts[0].rstrip(":").strip().lower()
            if t in _TITLES:
                titles[i] = _TITLES[t]
    found = set(titles.values())
    if CLOSED not in found:
        raise StatementError(file, f"no 'Closed Transactions:' table found; expected {expected}")
    if SUMMARY not in found:
        raise StatementError(
            file, "the file ends before the 'Summary:' section (truncated?); "
                  f"expected {expected}")

    # ---- header: Account / Currency / Leverage, broker from the big title above the table
    account, currency, leverage = "", None, None
    first_title = min(i for i, s in titles.items() if s == CLOSED)
    for row in rows[:first_title]:
        for t in row.texts:
            if m := re.match(r"Account:\s*(\S+)", t, re.I):
                account = m.group(1)
            elif m := re.match(r"Currency:\s*([A-Za-z]{3})", t, re.I):
                currency = m.group(1).upper()
            elif t.lower().startswith("leverage:"):
                if m := _LEVERAGE.search(t):
                    value = float(m.group(1))
                    leverage = value if value > 0 else None
    broker = broker_title or "MetaTrader 4"

    st = _Builder(file, broker, account, currency, leverage)
    ledger = Ledger(file)
    section = None
    closed_listed = 0
    summary_cells: list[list[str]] = []
    for i, row in enumerate(rows):
        if i in titles:
            section = titles[i]
            if section in _TRADE_SECTIONS:
                ledger.see(section, i + 1)
                st.non_trade("header", i, section, f"{section}:")
            continue
        if section is None:
            continue  # the account header above the first table
        if section in (SUMMARY, DETAILS):
            summary_cells.append(row.texts)
            continue
        ledger.see(section, i + 1)
        closed_listed += st.trade_table_row(i, section, row)

    # ---- Summary: "Label:" cells followed by their value
    labels: dict[str, str] = {}
    for texts in summary_cells:
        for k, t in enumerate(texts):
            if t.endswith(":"):
                value = next((v for v in texts[k + 1:] if v), "")
                labels.setdefault(t.rstrip(":").strip().lower(), value)

    def figure(label: str) -> float | None:
        text = labels.get(label, "")
        m = re.match(r"^-?[\d\s.,]+", text)
        try:
            return parse_number(m.group(0)) if m else None
        except ValueError:
            return None

    missing = [k for k in ("closed trade p/l", "balance", "equity") if figure(k) is None]
    if missing:
        raise StatementError(file, f"the Summary section lacks {', '.join(missing)} (truncated?); "
                                   f"expected {expected}")
    total_trades = figure("total trades")
    totals = StatementTotals(
        closed_trades=int(total_trades) if total_trades is not None else closed_listed,
        closed_pnl=figure("closed trade p/l"),
        balance=figure("balance"),
        equity=figure("equity"),
    )
    statement = Statement(
        file=file, format=FORMAT, broker=broker, account=account, account_currency=currency,
        leverage=leverage, trades=link_partial_closes(st.trades), balance_events=st.balance_events,
        non_trades=st.non_trades, rejected=st.rejected, totals=totals)
    if total_trades is not None and closed_listed < total_trades:
        raise StatementError(
            file, f"the Summary says Total Trades {int(total_trades)}, but the Closed Transactions table "
                  f"lists only {closed_listed} trade rows (read or rejected): rows are missing, so the file "
                  f"is damaged or cut; nothing imported")
    closed = [t for t in st.trades if t.source.section == CLOSED]
    cash = [e.amount for e in st.balance_events if e.kind != "credit"]
    return settle(statement, ledger, checks=[
        check_total("closed trades", total_trades, closed_listed, unit="trades",
                    source="Summary: Total Trades"),
        check_total("closed trade P/L", totals.closed_pnl, round(sum(t.net_profit for t in closed), 2),
                    tolerance=0.011, unit=currency or "", source="Summary: Closed Trade P/L",
                    rejected=st.rejected_pnl),
        check_total("deposits and withdrawals", figure("deposit/withdrawal"), round(sum(cash), 2),
                    tolerance=0.011, unit=currency or "", source="Summary: Deposit/Withdrawal",
                    rejected=st.rejected_cash),
    ])


class _Builder:
    def __init__(self, file: str, broker: str, account: str, currency: str | None,
                 leverage: float | None):
        self.file, self.broker, self.account = file, broker, account
        self.currency, self.leverage = currency, leverage
        self.trades: list[Trade] = []
        self.balance_events: list[BalanceEvent] = []
        self.non_trades: list[NonTradeRow] = []
        self.rejected: list[RejectedRow] = []
        # rejected rows that the Summary's totals count: (row, amount or None when unreadable)
        self.rejected_pnl: list[tuple[int, float | None]] = []
        self.rejected_cash: list[tuple[int, float | None]] = []

    def ref(self, i: int, section: str) -> SourceRef:
        return SourceRef(file=self.file, row=i + 1, section=section)

    def non_trade(self, kind: str, i: int, section: str, text: str = "") -> None:
        self.non_trades.append(NonTradeRow(kind=kind, source=self.ref(i, section), text=text))

    def reject(self, i: int, section: str, reason: str, raw: str) -> None:
        self.rejected.append(RejectedRow(source=self.ref(i, section), reason=reason, raw=raw))

    def trade_table_row(self, i: int, section: str, row: HtmlRow) -> int:
        """Classify one row of Closed Transactions / Open Trades / Working Orders; returns 1 when
        it is a closed trade the statement lists (parsed or rejected), else 0."""
        texts = row.texts
        nonempty = [t for t in texts if t]
        if not nonempty:
            self.non_trade("blank", i, section)
            return 0
        if not _TICKET.match(texts[0]):
            if len(nonempty) == 1 and not _is_number(nonempty[0]) and not nonempty[0].endswith(":"):
                self.non_trade("blank", i, section, nonempty[0])  # "No transactions"
            elif not any(_is_number(t) for t in nonempty):
                self.non_trade("header", i, section, " ".join(nonempty))  # column headings
            elif len(texts) < 10 and ((texts[0] == "" and row.span >= 2) or nonempty[0].endswith(":")):
                # totals under the table (a first cell spanning the ticket columns) or "Closed P/L:";
                # they have a few cells, a trade row 14: one of those is damaged, never a total
                self.non_trade("subtotal", i, section, " ".join(nonempty))
            else:
                # shaped like a trade row, but the ticket is not a number: never a subtotal
                self.reject(i, section, f"column 'Ticket': {texts[0]!r} is not a ticket number", row.raw())
                if section == CLOSED and len(texts) >= 10:
                    self._rejected_closed(i, texts)
                    return 1
                return 0
            return 0

        raw = row.raw()
        kind = texts[2].lower() if len(texts) > 2 else ""
        note = clean_text(row.title)
        if section == WORKING:
            self.non_trade("working order", i, section, raw)
            return 0
        if kind in _BALANCE_TYPES and section == CLOSED:
            if len(texts) >= 10:  # a balance row has 5 cells (its comment spans the trade columns)
                self.reject(i, section, f"column 3 (Type): {texts[2]!r} in a row of {len(texts)} cells shaped like a "
                                        "trade (a balance row has 5)", raw)
                self._rejected_closed(i, texts)
                return 1
            self._balance(i, section, texts, note, raw)
            return 0
        if _PENDING.match(kind) and section == CLOSED:
            self.non_trade("cancelled order", i, section, raw)
            return 0
        if kind not in _SIDES:
            self.reject(i, section, f"column 'Type': unknown transaction type {texts[2] if len(texts) > 2 else ''!r}"
                        " (expected buy, sell, balance, credit or a pending order type)", raw)
            if section == CLOSED:
                self._rejected_closed(i, texts)
            return 1 if section == CLOSED else 0
        if len(texts) != 14:
            self.reject(i, section, f"expected 14 cells (Ticket ... Profit), found {len(texts)}", raw)
            if section == CLOSED:
                self._rejected_closed(i, texts)
            return 1 if section == CLOSED else 0
        try:
            closed = section == CLOSED
            stop = parse_number(texts[6]) if texts[6] else None
            target = parse_number(texts[7]) if texts[7] else None
            trade = Trade(
                broker=self.broker, account=self.account, trade_id=texts[0], symbol=texts[4],
                side=_SIDES[kind], quantity=parse_number(texts[3]), entry=parse_number(texts[5]),
                open_time=fast_datetime(texts[1], DATE_FORMATS),
                close_time=fast_datetime(texts[8], DATE_FORMATS) if closed else None,
                exit=parse_number(texts[9]) if closed else None,
                stop=stop or None, target=target or None,
                commission=parse_number(texts[10]), taxes=parse_number(texts[11]),
                swap=parse_number(texts[12]),
                profit=parse_number(texts[13]) if closed else None,
                mark_price=(parse_number(texts[9]) or None) if not closed else None,
                account_currency=self.currency, comment=note,
                source=self.ref(i, section))
        except ValueError as exc:  # includes pydantic's ValidationError
            self.reject(i, section, _column_reason(exc, texts), raw)
            if section == CLOSED:
                self._rejected_closed(i, texts)
        else:
            self.trades.append(trade)
        return 1 if section == CLOSED else 0

    def _rejected_closed(self, i: int, texts: list[str]) -> None:
        """Note a rejected closed-trade row for the Summary's Closed Trade P/L check: its net amount
        (Commission + Taxes + Swap + Profit, the last four cells) when those cells can be read."""
        amount = None
        if len(texts) == 14:
            try:
                amount = round(sum(parse_number(t) for t in texts[10:14] if t), 2)
            except ValueError:
                amount = None
        self.rejected_pnl.append((i + 1, amount))

    def _balance(self, i: int, section: str, texts: list[str], note: str, raw: str) -> None:
        try:
            amount = parse_number(texts[-1])
            when = parse_datetime(texts[1], DATE_FORMATS)
        except (ValueError, IndexError) as exc:
            self.reject(i, section, f"balance row: {exc}", raw)
            try:
                self.rejected_cash.append((i + 1, parse_number(texts[-1])))
            except (ValueError, IndexError):
                self.rejected_cash.append((i + 1, None))
            return
        kind = "credit" if texts[2].lower() == "credit" else (
            "deposit" if amount >= 0 else "withdrawal")
        comment = texts[3] if len(texts) > 3 and texts[3] else note
        self.balance_events.append(
            BalanceEvent(time=when, amount=amount, kind=kind, source=self.ref(i, section)))
        self.non_trade(kind, i, section, f"{comment} {amount:+.2f}".strip())


# --------------------------------------------------------------------------- partial closes

_TO_TICKET = re.compile(r"\bto\s*#\s*(\d+)", re.IGNORECASE)
_FROM_TICKET = re.compile(r"\bfrom\s*#\s*(\d+)", re.IGNORECASE)


def link_partial_closes(trades: list[Trade]) -> list[Trade]:
    """Link the tickets of partly closed MT4 orders; every ticket stays its own journal row.

    MT4 books a partial close of ticket #100 (1.00 lot, 0.40 closed) as two tickets: #100 becomes
    the closed part (Size 0.40, its close time, price and profit; comment ``to #101``) and a new
    ticket #101 holds the remainder (Size 0.60, comment ``from #100``) with #100's open time and
    open price, closed later (Closed Transactions) or still open (Open Trades). Each ticket's size
    and profit are only its own part, so the Summary's "Closed Trade P/L" is the sum of the rows and
    nothing is counted twice; this function changes no quantity, price or money.

    A link is read from either side (a ticket closed in parts twice, #100 → #101 → #102, keeps only
    ``to #102`` in #101's comment, so #100's ``to #101`` is what names #101's parent). For each linked
    pair it adds to ``flags``:

    * the parent: ``partly closed: the remaining 0.60 lots continue as ticket #101``;
    * the remainder: ``remainder of ticket #100 after a partial close (0.40 lots closed there);
      position opened as ticket #100`` (the chain's first ticket, when the chain is longer).

    The remainder's open time is the original's: if the statement prints another one for it, the
    original's (the parent's, chain order) is used and the flag names the printed one. An opening
    price that differs is kept (the ticket's profit was computed from it) and flagged. A comment
    naming a ticket of another symbol or direction is not a link (flagged); a ticket named but not
    in this statement (closed in an earlier period) is flagged on the ticket that names it.

    >>> from datetime import datetime
    >>> from addin.statements.model import SourceRef
    >>> t0 = datetime(2024, 1, 2, 9)
    >>> src = SourceRef(file="s.htm", row=1)
    >>> a = Trade(broker="B", trade_id="100", symbol="eurusd", side="long", quantity=0.4, entry=1.1,
    ...           open_time=t0, close_time=datetime(2024, 1, 2, 10), exit=1.105, profit=200.0,
    ...           comment="to #101", source=src)
    >>> b = Trade(broker="B", trade_id="101", symbol="eurusd", side="long", quantity=0.6, entry=1.1,
    ...           open_time=t0, close_time=datetime(2024, 1, 2, 11), exit=1.11, profit=600.0,
    ...           comment="from #100", source=src)
    >>> [t.flags for t in link_partial_closes([a, b])]  # doctest: +NORMALIZE_WHITESPACE
    [('partly closed: the remaining 0.60 lots continue as ticket #101',),
     ('remainder of ticket #100 after a partial close (0.40 lots closed there)',)]
    """
    index = {t.trade_id: k for k, t in enumerate(trades)}
    flags: dict[int, list[str]] = {}
    parent_of: dict[int, int] = {}  # child index -> parent index

    def note(k: int, text: str) -> None:
        flags.setdefault(k, [])
        if text not in flags[k]:
            flags[k].append(text)

    def link(parent: int, child: int, named_by: int) -> None:
        p, c = trades[parent], trades[child]
        if parent == child:
            return
        if (p.symbol.lower(), p.side) != (c.symbol.lower(), c.side):
            other = c if named_by == parent else p
            note(named_by, f"comment names ticket #{other.trade_id}, a {other.side} {other.symbol}: not "
                           "linked as a partial close")
            return
        if child in parent_of and parent_of[child] != parent:
            first = trades[parent_of[child]].trade_id
            note(child, f"named as the remainder of both #{first} and #{p.trade_id}: linked to #{first}")
            note(parent, f"comment names ticket #{c.trade_id} as its remainder, which is linked to #{first}: "
                         "not linked")
            return
        parent_of[child] = parent

    for k, t in enumerate(trades):
        if m := _TO_TICKET.search(t.comment):
            j = index.get(m.group(1))
            if j is None:
                note(k, f"partly closed: the rest continues as ticket #{m.group(1)} (not in this statement)")
            else:
                link(k, j, k)
        if m := _FROM_TICKET.search(t.comment):
            j = index.get(m.group(1))
            if j is None:
                note(k, f"remainder of ticket #{m.group(1)} after a partial close (#{m.group(1)} is not in "
                        "this statement)")
            else:
                link(j, k, k)

    # a loop (damaged comments) is not a chain: none of its links is kept
    for start in list(parent_of):
        path, k = [start], start
        while k in parent_of:
            k = parent_of[k]
            if k in path:
                loop = path[path.index(k):]
                order = loop[::-1]  # parent before child, as the "to #" comments read
                names = " → ".join(f"#{trades[j].trade_id}" for j in [*order, order[0]])
                for j in loop:
                    note(j, f"partial-close comments form a loop ({names}): not linked")
                    parent_of.pop(j, None)
                break
            path.append(k)

    def root(k: int) -> int:
        while k in parent_of:
            k = parent_of[k]
        return k

    def depth(k: int) -> int:
        n = 0
        while k in parent_of:
            k, n = parent_of[k], n + 1
        return n

    updates: dict[int, dict] = {}
    for child in sorted(parent_of, key=depth):  # parents first: an open time moves down the chain
        parent = parent_of[child]
        p = trades[parent].model_copy(update=updates.get(parent, {}))
        c = trades[child]
        note(parent, f"partly closed: the remaining {c.quantity:.2f} lots continue as ticket #{c.trade_id}")
        text = f"remainder of ticket #{p.trade_id} after a partial close ({p.quantity:.2f} lots closed there)"
        first = root(child)
        if first != parent:
            text += f"; position opened as ticket #{trades[first].trade_id}"
        note(child, text)
        if p.open_time is not None and c.open_time != p.open_time:
            updates.setdefault(child, {})["open_time"] = p.open_time
            printed = f"{c.open_time:%Y.%m.%d %H:%M:%S}" if c.open_time else "none"
            note(child, f"open time {p.open_time:%Y.%m.%d %H:%M:%S} of ticket #{p.trade_id} (the statement "
                        f"prints {printed} for this remainder)")
        if abs(c.entry - p.entry) > 1e-9 * max(1.0, abs(p.entry)):
            note(child, f"opening price {c.entry:g} differs from ticket #{p.trade_id}'s {p.entry:g}: kept (the "
                        "statement's profit of this ticket is computed from it)")

    out = list(trades)
    for k, extra in flags.items():
        update = dict(updates.get(k, {}))
        update["flags"] = tuple(dict.fromkeys((*trades[k].flags, *extra)))
        out[k] = trades[k].model_copy(update=update)
    return out


__all__ = ["FORMAT", "DESCRIPTION", "sniff", "read", "decode_html", "link_partial_closes"]
