"""The accounts of one journal, each in its own currency, and their sum in the home currency.

A journal may hold trades of several broker accounts (each trade's Broker, Account and Account
currency columns say which). Money figures of a trade (Profit, Net P/L, its margin) are in its
account's currency, so two accounts' figures are never added 1:1: the Account sheet's "Accounts"
block (:func:`write_block`) lists every account once with its figures in its own currency, and in
the home currency (``HomeCurrency``, an input cell beside the block; by default the Settings'
AccountCurrency) through a rate to home per account:

* 1 for an account in the home currency;
* the rate the trader typed in the yellow cell (kept by every fill);
* else the latest rate the Trades table itself gives (:func:`rates_from_trades`): the price of a
  pair of the account's currency and the home currency (USDJPY 150.00 in a JPY account: JPY->home
  USD 1/150), or the FX to account of a trade in a home-currency account quoted in the account's
  currency (a GBPJPY trade in a USD account converts JPY->USD);
* else none: the row says "no rate to home", and the home-currency totals leave the account out
  and count it ("accounts without a rate to home").

Per account: closed trades, Net P/L (SUMPRODUCT over Trades by Broker and Account), unrealised
P/L and used margin of its open positions (the OpenPositions rows of its Account). Cost: a few
SUMPRODUCTs per account over the Trades table, none per trade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..risk import portfolio as rp
from . import columns as C
from .layout import (
    BOX,
    HEAD_FILL,
    HEAD_FONT,
    INPUT_FILL,
    LABEL_FONT,
    NOTE_FONT,
    SECTION_FONT,
    text_width,
)

HOME = C.schema.HOME_CURRENCY     # defined name: the home currency cell
RATES_WRITTEN = "AccountRatesWritten"  # hidden defined name: the rates the program wrote ("CUR=rate;...")
STARTS_WRITTEN = "AccountStartsWritten"  # hidden: the starting balances the program wrote ("KEY=start;...")
FROMS_WRITTEN = "AccountFromsWritten"    # hidden: the Counted from dates the program wrote ("KEY=serial;...")
NO_RATE = "no rate to home"
NO_START = C.NO_START
TOTAL = "All accounts, in home currency"
HEADERS = ("Broker", "Account", "Currency", "Starting balance", "Counted from", "Closed trades", "Net P/L",
           "Cash in/out", "Balance", "Max drawdown", "Unrealised P/L", "Used margin", "Rate to home",
           "Net P/L, home", "Balance, home", "Unrealised, home", "Rate from", "Key", "Leverage")
COL = {h: chr(ord("A") + j) for j, h in enumerate(HEADERS)}


@dataclass
class AccountRow:
    broker: str
    account: str
    currency: str
    closed: float = 0.0
    net: float = 0.0
    unrealised: float = 0.0
    margin: float = 0.0
    rate: float | None = None
    source: str = ""
    start: object = None        # its starting balance (a number, None: none stated, or typed words)
    cash_from: object = None    # the date (serial) its cash counts from
    formulas: tuple[bool, bool] = (False, False)  # start, from written as =StartingBalance / =CashFrom
    leverage: object = None     # its leverage (the first account's: =AccountLeverage unless typed)
    leverage_formula: bool = False
    typed: tuple[bool, bool] = (False, False)     # start, from typed by the trader

    @property
    def key(self) -> str:
        return C.account_key(self.broker, self.account)


def mixed_currencies(cols: dict[str, list], default_currency: str) -> str | None:
    """None when every account of the Trades columns is in one currency, else the words the Account
    sheet says beside its Balance: the open positions' figures add the currencies 1:1 (their
    margins and unrealised P/L), and where each account is on its own."""
    curs = sorted({a.currency for a in accounts_of(cols, default_currency)})
    if len(curs) < 2:
        return None
    return (f"Balance in the home currency (the Accounts block's total). NOT ONE CURRENCY below: the open "
            f"positions' figures add the accounts' {', '.join(curs)} 1:1; each account on its own in the Accounts block")


def home_note(cols: dict[str, list], default_currency: str, home: str | None, no_start: int = 0) -> str | None:
    """None for a journal of one currency (the home one) whose accounts all have a starting balance,
    else the words the sheets that sum money in the home currency say under their title: which
    currency, how, how many closed trades they leave out for want of a rate to home, and (``no_start``)
    how many accounts the Balance leaves out for want of a starting balance."""
    home = str(home or default_currency).strip().upper()
    curs = sorted({a.currency for a in accounts_of(cols, default_currency)})
    words = []
    if curs and curs != [home]:
        nets, homes = cols.get("Net P/L", []), cols.get("Net P/L home", [])
        missing = sum(1 for a, b in zip(nets, homes) if C.isnum(a) and not C.isnum(b))
        words.append(f"Money in the home currency {home}: accounts in {', '.join(curs)}, each trade's Net P/L at "
                     "its account's rate to home (Account sheet, Accounts block)")
        if missing:
            words.append(f"{missing} closed trades of accounts without a rate to home are left out")
    if no_start:
        words.append(f"Balance leaves out {no_start} account(s) without a starting balance: type it in the "
                     "Accounts block")
    return "; ".join(words) or None


def accounts_of(cols: dict[str, list], default_currency: str) -> list[AccountRow]:
    """The accounts of the Trades columns in order of first appearance: (Broker, Account) compared
    without case; the currency of the first of its rows that states one, else ``default_currency``;
    closed trades and Net P/L where the columns hold Net P/L."""
    out: dict[str, AccountRow] = {}
    n = len(cols.get("Trade ID", []))
    nets = cols.get("Net P/L")
    trades = [i for i in range(n) if cols["Entry"][i] not in (None, "")]
    keys = {i: C.account_key(cols["Broker"][i], cols["Account"][i]) for i in trades}
    # a row with neither Broker nor Account is the first account's (columns.ACCOUNTS_DOC)
    at = next((i for i in trades if keys[i] != "|"), None)
    first = keys[at] if at is not None else None
    for i in trades:  # in table order: each account's Net P/L summed as SUMPRODUCT sums it
        k = keys[i] if keys[i] != "|" or first is None else first
        row = out.get(k)
        cur = str(cols["Account currency"][i] or "").strip().upper()
        if row is None:
            j = at if k == first else i
            out[k] = row = AccountRow(C.text_of(cols["Broker"][j]), C.text_of(cols["Account"][j]), "")
            row.currency = str(cols["Account currency"][j] or "").strip().upper()
            cur = row.currency if not cur else cur
        elif not row.currency and cur:
            row.currency = cur
        if nets is not None and C.isnum(nets[i]):
            row.closed += 1
            row.net += nets[i]
    for row in out.values():
        row.currency = row.currency or default_currency.upper()
    return list(out.values())


def resolve(cols: dict[str, list], settings, inputs: dict, cash_from: float) -> tuple[list[AccountRow], str]:
    """The accounts of the Trades columns with their inputs as the block holds them, and the home
    currency. ``inputs``: "home" (typed), "rates" {currency: typed rate}, "starts_typed" {key: (start, from)}
    values the trader typed in the block (None: not typed), "starts_written" {key: (start, from)} the
    program wrote there before, "stated" {key: (start, from)} the statements of this fill (or the
    build) state for an account; "lev_typed" {key: leverage} in the block's Leverage cells (a number
    there is kept, written by a fill or typed), "lev_stated" {key: leverage} the statements state.

    The first account takes =StartingBalance and =CashFrom unless typed; every other one what was
    typed, else what a statement states or the program wrote before (the one whose Counted from is
    earlier: a statement of an earlier period carries the account's start), else nothing (the block
    and its trades say "no starting balance"). Rates to home: 1 for the home currency, typed, else
    the latest the Trades table gives, else none."""
    home = str(inputs.get("home") or settings.account_currency).strip().upper()
    # No account yet (the template, or trades typed with neither Broker nor Account): one account
    # without a name, on StartingBalance and CashFrom, as a journal of one account always was.
    rows = accounts_of(cols, settings.account_currency) or [AccountRow("", "", settings.account_currency.upper())]
    found = rates_from_trades(cols, [a.currency for a in rows], home, settings.account_currency)
    typed_rates = {k.upper(): v for k, v in (inputs.get("rates") or {}).items() if C.isnum(v) and v > 0}
    typed = inputs.get("starts_typed") or {}
    written = inputs.get("starts_written") or {}
    stated = inputs.get("stated") or {}
    for k, a in enumerate(rows):
        if a.currency == home:
            a.rate, a.source = 1.0, "the home currency"
        elif a.currency in typed_rates:
            a.rate, a.source = float(typed_rates[a.currency]), "typed"
        elif a.currency in found:
            a.rate, a.source = found[a.currency]
        t_start, t_from = typed.get(a.key, (None, None))
        a.typed = (t_start is not None, t_from is not None)
        t_lev = (inputs.get("lev_typed") or {}).get(a.key)
        if t_lev is not None:
            a.leverage = t_lev
        elif k == 0:
            a.leverage, a.leverage_formula = settings.account_leverage, True
        else:
            a.leverage = (inputs.get("lev_stated") or {}).get(a.key)
        if k == 0:
            a.start = settings.starting_balance if t_start is None else t_start
            a.cash_from = cash_from if t_from is None else t_from
            a.formulas = (t_start is None, t_from is None)
            continue
        options = [v for v in (stated.get(a.key), written.get(a.key)) if v is not None and C.isnum(v[1])]
        start, frm = min(options, key=lambda v: v[1]) if options else (None, None)
        a.start = start if t_start is None else t_start
        a.cash_from = frm if t_from is None else t_from
    return rows, home


def written_inputs(rows: Sequence[AccountRow]) -> tuple[dict[str, float], dict[str, float]]:
    """The starting balances and Counted from dates the program wrote in the block (not typed, not
    the first account's formulas), by key: recorded in hidden names so the next fill tells them from
    the trader's."""
    starts = {a.key: a.start for i, a in enumerate(rows) if i and not a.typed[0] and C.isnum(a.start)}
    froms = {a.key: a.cash_from for i, a in enumerate(rows) if i and not a.typed[1] and C.isnum(a.cash_from)}
    return starts, froms


def keyed_cash(events: Sequence, serial) -> list[tuple[str, float | None, float]]:
    """Cash rows (BalanceEvent, table order) as :func:`columns.cash_by_account` takes them."""
    return [(C.account_key(e.broker, e.account), serial(e.time) if e.time is not None else None, e.amount)
            for e in events]


def block_env(cols: dict[str, list], settings, inputs: dict, cash_from: float
              ) -> tuple[dict[str, C.AccountInputs], str]:
    """What the Trades formulas read from the block (by key) and the home currency, for the inputs
    :func:`resolve` takes: the same resolution the block is written with."""
    rows, home = resolve(cols, settings, inputs, cash_from)
    return env_accounts(rows), home


def totals(cols: dict[str, list], settings, inputs: dict, cash_from: float, cash: Sequence
           ) -> tuple[float, float]:
    """(Balance, home; Cash in/out, home) of the block's total row for the inputs :func:`resolve`
    takes and the Cash rows (:func:`keyed_cash`): each account with a rate and a starting balance,
    summed in block order as the sheet sums it."""
    rows, _ = resolve(cols, settings, inputs, cash_from)
    return _home_sums(rows, C.cash_by_account(cash, env_accounts(rows), cash_from))


def _home_sums(rows: Sequence[AccountRow], flows) -> tuple[float, float]:
    """(Balance, home; Cash in/out, home) over ``rows`` with each account's cash from ``flows``
    (:func:`columns.cash_by_account`; None: no cash), as the block's total row adds them."""
    balance = cash_home = 0.0
    for a in rows:
        flow = flows(a.key, float("inf")) if flows is not None else 0.0
        if a.rate is not None:
            cash_home += flow * a.rate
            if C.isnum(a.start):
                balance += (a.start + flow + a.net) * a.rate
    return balance, cash_home


def describe(rows: Sequence[AccountRow], home: str, start_assumed: bool = False) -> list[str]:
    """What a fill says of the journal's accounts after it: each account with its currency, its
    starting balance (and whose it is) and its rate to home (and where it came from), so what the
    figures rest on, and what is missing, is printed, not only written in the sheet. ``start_assumed``:
    StartingBalance still holds the template's default (nobody stated it)."""
    named = [a for a in rows if a.broker or a.account]
    if not named:
        return []
    if len(named) == 1 and C.isnum(named[0].start) and not start_assumed and named[0].currency == home:
        return []  # one account, its balance stated, in the home currency: the statement's lines say it all
    out = [f"accounts in the journal: {len(named)}, home currency {home} (the Account sheet's Accounts block)"]
    for k, a in enumerate(named):
        name = f"{a.broker} {a.account}".strip()
        if C.isnum(a.start):
            whose = ""
            if k == 0 and a.formulas[0]:
                whose = (" (ASSUMED: Settings' StartingBalance is still the template's default; type yours)"
                         if start_assumed else " (Settings' StartingBalance)")
            start = f"starting balance {a.start:,.2f} {a.currency}{whose}"
        else:
            start = "NO starting balance: its Balance and risk % say so until you type it in the Accounts block"
        if a.rate is None:
            rate = f"NO rate {a.currency}->{home}: left out of the home-currency totals until you type one"
        elif a.currency == home:
            rate = "in the home currency"
        else:
            rate = f"{a.currency}->{home} {a.rate:.6g} ({a.source})"
        out.append(f"  {name}: {a.currency}, {start}; {rate}")
    return out


def env_accounts(rows: Sequence[AccountRow]) -> dict[str, C.AccountInputs]:
    """The block as the Trades formulas read it (:class:`columns.AccountInputs` by key, block order)."""
    out: dict[str, C.AccountInputs] = {}
    for a in rows:
        out.setdefault(a.key, C.AccountInputs(start=a.start, cash_from=a.cash_from, rate=a.rate, leverage=a.leverage))
    return out


def rates_from_trades(cols: dict[str, list], currencies: Sequence[str], home: str,
                      account_currency: str) -> dict[str, tuple[float, str]]:
    """Currency -> (its rate to ``home``, where it came from) for each of ``currencies`` other than
    home that the Trades table gives a rate for: the latest (by close, else open time) of a pair
    of the currency and home (its exit, else entry price), or the FX to account of a trade in a
    home-currency account quoted in the currency (or of a trade in an account in the currency
    quoted in home: inverted)."""
    home = home.upper()
    want = {c.upper() for c in currencies if c and c.upper() != home}
    best: dict[str, tuple[float, float, str]] = {}
    n = len(cols.get("Trade ID", []))
    for i in range(n):
        when = cols["Close time"][i] if C.isnum(cols["Close time"][i]) else cols["Open time"][i]
        when = when if C.isnum(when) else -1.0
        found: list[tuple[str, float, str]] = []
        legs = rp.currency_legs(str(cols["Symbol"][i] or ""))
        price = cols["Exit"][i] if C.isnum(cols["Exit"][i]) else cols["Entry"][i]
        if legs is not None and C.isnum(price) and price > 0:
            base, quote = legs
            if base == home and quote in want:
                found.append((quote, 1 / price, f"{cols['Symbol'][i]} at {price:g}, trade {C.text_of(cols['Trade ID'][i])}"))
            elif quote == home and base in want:
                found.append((base, price, f"{cols['Symbol'][i]} at {price:g}, trade {C.text_of(cols['Trade ID'][i])}"))
        fx = cols["FX to account"][i]
        q = str(cols["Quote currency"][i] or "").strip().upper()
        money = str(cols["Account currency"][i] or account_currency).strip().upper()
        if C.isnum(fx) and fx > 0 and q:
            if money == home and q in want:
                found.append((q, fx, f"FX to account of trade {C.text_of(cols['Trade ID'][i])}"))
            elif q == home and money in want:
                found.append((money, 1 / fx, f"FX to account of trade {C.text_of(cols['Trade ID'][i])}, inverted"))
        for cur, rate, src in found:
            if cur not in best or when >= best[cur][0]:
                best[cur] = (when, rate, src)
    return {cur: (rate, src) for cur, (_, rate, src) in best.items()}


def write_block(s, ws, top: int, cols: dict[str, list], positions: Sequence, settings,
                inputs: dict) -> tuple[int, list[AccountRow], dict[str, float]]:
    """Write the Accounts block from row ``top`` of the Account sheet ``s``; returns (the next free
    row, the account rows, the rates the program wrote by currency). ``inputs``: as :func:`resolve`
    takes them, plus "accounts" (a layout of that many rows only), "cash_from" (CashFrom), "cash"
    (:func:`keyed_cash`) and "cash_accounts" (False: the Cash table has no Broker and Account
    columns, as in a journal written before them)."""
    from openpyxl.styles import Alignment
    from openpyxl.workbook.defined_name import DefinedName

    from .account import SHEET, TABLE, _num
    right = Alignment(horizontal="right")
    cash_from = inputs.get("cash_from") or 0.0
    shape = inputs.get("accounts")
    if shape is None:
        rows, home = resolve(cols, settings, inputs, cash_from)
    else:
        home = str(inputs.get("home") or settings.account_currency).strip().upper()
        rows = [AccountRow(f"x{k}", f"x{k}", settings.account_currency) for k in range(shape)]
    written = {a.currency: a.rate for a in rows
               if a.rate is not None and a.source not in ("typed", "the home currency")}
    for a in rows:
        for p in positions:
            if C.text_of(p.account).upper() == a.account.upper():
                a.unrealised += p.unrealised if _num(p.unrealised) else 0.0
                a.margin += p.margin if _num(p.margin) else 0.0
    # Each account's cash: its own Cash rows (a row with neither Broker nor Account: the first
    # account's) dated from its Counted from, as the Trades rows count them (columns.CASH_DOC).
    cash = inputs.get("cash") or []
    flows = C.cash_by_account(cash, env_accounts(rows), cash_from) if shape is None else None
    # Each account's largest drawdown (the Trades column is per account).
    dd: dict[str, float] = {}
    first_of = rows[0].key if rows else "|"
    for i, v in enumerate(cols.get("Drawdown", [])):
        if C.isnum(v):
            k = C.account_key(cols["Broker"][i], cols["Account"][i])
            k = first_of if k == "|" else k
            dd[k] = max(dd.get(k, v), v)

    r = top
    s.text(f"A{r}", "Accounts", font=SECTION_FONT)
    s.text(f"C{r}", "each account in its own currency, and in the home currency through its rate to home: never "
                    "two currencies added 1:1; yellow cells are yours to type", font=NOTE_FONT)
    r += 1
    s.text(f"A{r}", "Home currency", font=LABEL_FONT, border=BOX)
    ws.merge_cells(f"A{r}:C{r}")
    if inputs.get("home"):
        s.value(f"D{r}", home, fill=INPUT_FILL)
    else:  # follows the Settings' AccountCurrency until the trader types another
        s.formula(f"D{r}", "AccountCurrency", home, fill=INPUT_FILL)
    ws[f"D{r}"].border = BOX
    s.text(f"F{r}", "the currency the totals over all accounts are shown in (AccountCurrency unless typed)",
           font=NOTE_FONT)
    ws.parent.defined_names[HOME] = DefinedName(HOME, attr_text=f"{SHEET}!$D${r}")
    home_ref = f"$D${r}"
    r += 1
    for h in HEADERS:
        x = COL[h]
        s.text(f"{x}{r}", h, font=HEAD_FONT, fill=HEAD_FILL,
               align=Alignment(wrap_text=True, horizontal="center", vertical="center"))
        # a header wraps between its words, never inside one: the column at least its longest word
        dim = ws.column_dimensions[x]
        dim.width = max(dim.width or 8.43, *(text_width(word, bold=True) + 1.2 for word in h.split()))
    ws.row_dimensions[r].height = 30  # two lines: the headers wrap between words
    first = r + 1
    X = COL
    for a in rows or [AccountRow("", "", "")]:
        r += 1
        blank = not (a.broker or a.account or a.currency)
        s.text(f"{X['Broker']}{r}", a.broker)
        s.text(f"{X['Account']}{r}", a.account)
        s.text(f"{X['Currency']}{r}", a.currency)
        key = f"${X['Key']}{r}"
        s.formula(f"{X['Key']}{r}", f'$A{r}&"|"&$B{r}', "" if blank else f"{a.broker}|{a.account}",
                  font=NOTE_FONT)
        # Inputs: the first account's follow Settings and CashFrom; the others' are values.
        start_f, from_f = a.formulas if r == first else (False, False)
        if start_f:
            s.formula(f"D{r}", "StartingBalance", a.start, fmt=C.MONEY, fill=INPUT_FILL)
        else:
            s.value(f"D{r}", a.start if not blank else None, fmt=C.MONEY, fill=INPUT_FILL)
        since = '[=0]"every movement";' + C.DATE  # as the Cash sheet's Counted from shows 0
        if from_f:
            s.formula(f"E{r}", C.CASH_FROM, a.cash_from, fmt=since, fill=INPUT_FILL)
        else:
            s.value(f"E{r}", a.cash_from if not blank else None, fmt=since, fill=INPUT_FILL)
        live = f'$R{r}=""'
        first_key = f"$R${first}"
        match = (f'--(({C.TABLE}[Broker]&"|"&{C.TABLE}[Account]={key})+({C.TABLE}[Broker]&{C.TABLE}[Account]="")'
                 f'*({key}={first_key})>0)')
        pos = f'--({TABLE}[Account]&""=$B{r})'
        s.formula(f"F{r}", f'IF({live},"",SUMPRODUCT({match},--ISNUMBER({C.TABLE}[Net P/L])))',
                  "" if blank else a.closed, fmt="0", align=right)
        s.formula(f"G{r}", f'IF({live},"",SUMPRODUCT({match},{C.TABLE}[Net P/L]))', "" if blank else a.net,
                  fmt=C.MONEY, align=right)
        own = (f'(({C.CASH_TABLE}[Broker]&"|"&{C.CASH_TABLE}[Account]={key})+({C.CASH_TABLE}[Broker]&'
               f'{C.CASH_TABLE}[Account]="")*({key}=$R${first})>0)')
        if inputs.get("cash_accounts") is False:  # a Cash table written before its Broker and Account
            own = f"({key}=$R${first})"           # columns: every row is the first account's
        flow = flows(a.key, float("inf")) if flows is not None and not blank else 0.0
        s.formula(f"H{r}", f'IF({live},"",SUMPRODUCT(ISNUMBER({C.CASH_TABLE}[Time])*({C.CASH_TABLE}[Time]>=$E{r})'
                           f'*{own},{C.CASH_TABLE}[Amount]))', "" if blank else flow, fmt=C.MONEY, align=right)
        bal = (a.start + flow + a.net) if _num(a.start) else NO_START
        s.formula(f"I{r}", f'IF({live},"",IF(ISNUMBER($D{r}),$D{r}+$H{r}+$G{r},"{NO_START}"))',
                  "" if blank else bal, fmt=C.MONEY, align=right)
        # the account's largest Drawdown: a classic array formula (MAXIFS is Excel 2019+)
        from openpyxl.worksheet.formula import ArrayFormula
        coord = f"J{r}"
        # an account without a starting balance has no drawdown either: its Balance's words, not 0%
        ws[coord] = ArrayFormula(coord, f'=IF({live},"",IF(ISNUMBER($I{r}),MAX(IF({match[2:]}'
                                        f'*ISNUMBER({C.TABLE}[Drawdown]),{C.TABLE}[Drawdown])),$I{r}))')
        s.cache[coord] = "" if blank else (dd.get(a.key, 0.0) if _num(bal) else bal)
        ws[coord].number_format = C.PCT
        ws[coord].alignment = right
        s.formula(f"K{r}", f'IF({live},"",SUMPRODUCT({pos},{TABLE}[Unrealised P/L]))',
                  "" if blank else a.unrealised, fmt=C.MONEY, align=right)
        s.formula(f"L{r}", f'IF({live},"",SUMPRODUCT({pos},{TABLE}[Margin]))', "" if blank else a.margin,
                  fmt=C.MONEY, align=right)
        if a.currency == home and not blank:
            # the same style as a rate typed in (one look whatever the accounts: a fill adds no style)
            s.formula(f"M{r}", f'IF(UPPER($C{r})=UPPER({home_ref}),1,"")', 1.0, fmt=C.schema.FX, fill=INPUT_FILL)
        else:
            s.value(f"M{r}", a.rate, fmt=C.schema.FX, fill=INPUT_FILL)
        ok = a.rate is not None
        for x, src, v in (("N", "G", a.net), ("O", "I", bal), ("P", "K", a.unrealised)):
            s.formula(f"{x}{r}", f'IF({live},"",IF(ISNUMBER($M{r}),IF(ISNUMBER(${src}{r}),${src}{r}*$M{r},${src}{r}),'
                                 f'"{NO_RATE}"))',
                      "" if blank else ((v * a.rate if _num(v) else v) if ok else NO_RATE), fmt=C.MONEY, align=right)
        s.text(f"Q{r}", a.source or (None if blank else "type the rate: none in the Trades table"), font=NOTE_FONT)
        if a.leverage_formula and r == first:
            s.formula(f"S{r}", "AccountLeverage", a.leverage, fmt='"1:"General', fill=INPUT_FILL)
        else:
            s.value(f"S{r}", a.leverage if not blank else None, fmt='"1:"General', fill=INPUT_FILL)
    last = r
    names = ws.parent.defined_names
    for name, x in ((C.schema.ACCOUNT_KEYS, "R"), (C.schema.ACCOUNT_STARTS, "D"), (C.schema.ACCOUNT_FROMS, "E"),
                    (C.schema.ACCOUNT_RATES, "M"), (C.schema.ACCOUNT_CASH, "H"), (C.schema.ACCOUNT_LEVERAGES, "S")):
        names[name] = DefinedName(name, attr_text=f"{SHEET}!${x}${first}:${x}${last}")
    r += 1
    s.text(f"A{r}", TOTAL, font=LABEL_FONT, border=BOX)
    ws.merge_cells(f"A{r}:M{r}")
    for x, attr in (("N", "net"), ("O", None), ("P", "unrealised")):
        if attr is None:
            tot = _home_sums(rows, flows)[0]
        else:
            tot = float(sum(getattr(a, attr) * a.rate for a in rows if a.rate is not None))
        s.formula(f"{x}{r}", f"SUM(${x}${first}:${x}${last})", tot, fmt=C.MONEY, border=BOX, align=right)
    names[C.schema.BALANCE_HOME] = DefinedName(C.schema.BALANCE_HOME, attr_text=f"{SHEET}!$O${r}")
    r += 1
    s.text(f"A{r}", "Accounts without a rate to home", font=LABEL_FONT, border=BOX)
    ws.merge_cells(f"A{r}:M{r}")
    missing = float(sum(1 for a in rows if a.rate is None))
    s.formula(f"N{r}", f'SUMPRODUCT(--($R${first}:$R${last}<>""),'
                       f'--NOT(ISNUMBER($M${first}:$M${last})))', missing, fmt="0", border=BOX, align=right)
    s.text(f"Q{r}", "left out of the totals above: type their rate to home", font=NOTE_FONT)
    r += 1
    s.text(f"A{r}", "Accounts without a starting balance", font=LABEL_FONT, border=BOX)
    ws.merge_cells(f"A{r}:M{r}")
    no_start = float(sum(1 for a in rows if not _num(a.start)))
    s.formula(f"N{r}", f'SUMPRODUCT(--($R${first}:$R${last}<>""),'
                       f'--NOT(ISNUMBER($D${first}:$D${last})))', no_start, fmt="0", border=BOX, align=right)
    s.text(f"Q{r}", "their balance is left out of Balance, home: type their starting balance", font=NOTE_FONT)
    return r, rows, written
