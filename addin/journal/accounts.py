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

HOME = "HomeCurrency"             # defined name: the home currency cell
RATES_WRITTEN = "AccountRatesWritten"  # hidden defined name: the rates the program wrote ("CUR=rate;...")
NO_RATE = "no rate to home"
TOTAL = "All accounts, in home currency"
HEADERS = ("Broker", "Account", "Currency", "Closed trades", "Net P/L", "Unrealised P/L", "Used margin",
           "Rate to home", "Net P/L, home", "Unrealised, home", "Rate from")


def _key(v: object) -> str:
    """A Broker or Account cell as ``cell&""`` compares: text, a whole number without ".0", no case."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).upper()


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


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


def mixed_currencies(cols: dict[str, list], default_currency: str) -> str | None:
    """None when every account of the Trades columns is in one currency, else the words every sheet
    that adds their money says beside it: the currencies it adds 1:1, and where each is on its own."""
    curs = sorted({a.currency for a in accounts_of(cols, default_currency)})
    if len(curs) < 2:
        return None
    return (f"NOT ONE CURRENCY: money figures here add the accounts' {', '.join(curs)} 1:1; each account in its "
            "own currency and the total in the home currency: the Account sheet's Accounts block")


def accounts_of(cols: dict[str, list], default_currency: str) -> list[AccountRow]:
    """The accounts of the Trades columns in order of first appearance: (Broker, Account) compared
    without case; the currency of the first of its rows that states one, else ``default_currency``."""
    out: dict[tuple[str, str], AccountRow] = {}
    n = len(cols.get("Trade ID", []))
    for i in range(n):
        if cols["Entry"][i] in (None, ""):
            continue
        k = (_key(cols["Broker"][i]), _key(cols["Account"][i]))
        row = out.get(k)
        cur = str(cols["Account currency"][i] or "").strip().upper()
        if row is None:
            out[k] = row = AccountRow(_text(cols["Broker"][i]), _text(cols["Account"][i]), cur)
        elif not row.currency and cur:
            row.currency = cur
        net = cols["Net P/L"][i]
        if C.isnum(net):
            row.closed += 1
            row.net += net
    for row in out.values():
        row.currency = row.currency or default_currency.upper()
    return list(out.values())


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
                found.append((quote, 1 / price, f"{cols['Symbol'][i]} at {price:g}, trade {_text(cols['Trade ID'][i])}"))
            elif quote == home and base in want:
                found.append((base, price, f"{cols['Symbol'][i]} at {price:g}, trade {_text(cols['Trade ID'][i])}"))
        fx = cols["FX to account"][i]
        q = str(cols["Quote currency"][i] or "").strip().upper()
        money = str(cols["Account currency"][i] or account_currency).strip().upper()
        if C.isnum(fx) and fx > 0 and q:
            if money == home and q in want:
                found.append((q, fx, f"FX to account of trade {_text(cols['Trade ID'][i])}"))
            elif q == home and money in want:
                found.append((money, 1 / fx, f"FX to account of trade {_text(cols['Trade ID'][i])}, inverted"))
        for cur, rate, src in found:
            if cur not in best or when >= best[cur][0]:
                best[cur] = (when, rate, src)
    return {cur: (rate, src) for cur, (_, rate, src) in best.items()}


def write_block(s, ws, top: int, cols: dict[str, list], positions: Sequence, settings,
                inputs: dict) -> tuple[int, list[AccountRow], dict[str, float]]:
    """Write the Accounts block from row ``top`` of the Account sheet ``s``; returns (the next free
    row, the account rows, the rates the program wrote by currency). ``inputs``: "home" (a typed
    home currency), "rates" {currency: a typed rate}, "accounts" (a layout of that many rows only)."""
    from openpyxl.styles import Alignment
    from openpyxl.workbook.defined_name import DefinedName

    from .account import SHEET, TABLE, _num
    right = Alignment(horizontal="right")
    home = str(inputs.get("home") or settings.account_currency).strip().upper()
    shape = inputs.get("accounts")
    rows = accounts_of(cols, settings.account_currency) if shape is None else [
        AccountRow(f"x{k}", f"x{k}", settings.account_currency) for k in range(shape)]
    found = rates_from_trades(cols, [a.currency for a in rows], home, settings.account_currency)
    typed = {k.upper(): v for k, v in (inputs.get("rates") or {}).items() if _num(v) and v > 0}
    written: dict[str, float] = {}
    for a in rows:
        if a.currency == home:
            a.rate, a.source = 1.0, "the home currency"
        elif a.currency in typed:
            a.rate, a.source = float(typed[a.currency]), "typed"
        elif a.currency in found:
            a.rate, a.source = found[a.currency]
            written[a.currency] = a.rate
        for p in positions:
            if _key(p.account) == a.account.upper():
                a.unrealised += p.unrealised if _num(p.unrealised) else 0.0
                a.margin += p.margin if _num(p.margin) else 0.0

    r = top
    s.text(f"A{r}", "Accounts", font=SECTION_FONT)
    s.text(f"C{r}", "each account in its own currency, and in the home currency through its rate to home: never "
                    "two currencies added 1:1", font=NOTE_FONT)
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
    home_ref = f"{SHEET}!$D${r}".split("!")[1]
    r += 1
    for j, h in enumerate(HEADERS):
        x = chr(ord("A") + j)
        s.text(f"{x}{r}", h, font=HEAD_FONT, fill=HEAD_FILL,
               align=Alignment(wrap_text=True, horizontal="center", vertical="center"))
        # a header wraps between its words, never inside one: the column at least its longest word
        dim = ws.column_dimensions[x]
        dim.width = max(dim.width or 8.43, *(text_width(word, bold=True) + 1.2 for word in h.split()))
    ws.row_dimensions[r].height = 30  # two lines: the headers wrap between words
    first = r + 1
    for a in rows or [AccountRow("", "", "")]:
        r += 1
        s.text(f"A{r}", a.broker)
        s.text(f"B{r}", a.account)
        s.text(f"C{r}", a.currency)
        live = f'$B{r}&$A{r}=""'
        match = f'--({C.TABLE}[Broker]&""=$A{r}),--({C.TABLE}[Account]&""=$B{r})'
        pos = f'--({TABLE}[Account]&""=$B{r})'
        blank = not (a.broker or a.account or a.currency)
        s.formula(f"D{r}", f'IF({live},"",SUMPRODUCT({match},--ISNUMBER({C.TABLE}[Net P/L])))',
                  "" if blank else a.closed, fmt="0", align=right)
        s.formula(f"E{r}", f'IF({live},"",SUMPRODUCT({match},{C.TABLE}[Net P/L]))', "" if blank else a.net,
                  fmt=C.MONEY, align=right)
        s.formula(f"F{r}", f'IF({live},"",SUMPRODUCT({pos},{TABLE}[Unrealised P/L]))',
                  "" if blank else a.unrealised, fmt=C.MONEY, align=right)
        s.formula(f"G{r}", f'IF({live},"",SUMPRODUCT({pos},{TABLE}[Margin]))', "" if blank else a.margin,
                  fmt=C.MONEY, align=right)
        if a.currency == home and not blank:
            # the same style as a rate typed in (one look whatever the accounts: a fill adds no style)
            s.formula(f"H{r}", f'IF(UPPER($C{r})=UPPER({home_ref}),1,"")', 1.0, fmt=C.schema.FX, fill=INPUT_FILL)
        else:
            s.value(f"H{r}", a.rate, fmt=C.schema.FX, fill=INPUT_FILL)
        ok = a.rate is not None
        s.formula(f"I{r}", f'IF({live},"",IF(ISNUMBER($H{r}),$E{r}*$H{r},"{NO_RATE}"))',
                  "" if blank else (a.net * a.rate if ok else NO_RATE), fmt=C.MONEY, align=right)
        s.formula(f"J{r}", f'IF({live},"",IF(ISNUMBER($H{r}),$F{r}*$H{r},"{NO_RATE}"))',
                  "" if blank else (a.unrealised * a.rate if ok else NO_RATE), fmt=C.MONEY, align=right)
        s.text(f"K{r}", a.source or (None if blank else "type the rate: none in the Trades table"), font=NOTE_FONT)
    last = r
    r += 1
    s.text(f"A{r}", TOTAL, font=LABEL_FONT, border=BOX)
    ws.merge_cells(f"A{r}:H{r}")
    tot_net = float(sum(a.net * a.rate for a in rows if a.rate is not None))
    tot_unr = float(sum(a.unrealised * a.rate for a in rows if a.rate is not None))
    s.formula(f"I{r}", f"SUM($I${first}:$I${last})", tot_net, fmt=C.MONEY, border=BOX, align=right)
    s.formula(f"J{r}", f"SUM($J${first}:$J${last})", tot_unr, fmt=C.MONEY, border=BOX, align=right)
    r += 1
    s.text(f"A{r}", "Accounts without a rate to home", font=LABEL_FONT, border=BOX)
    ws.merge_cells(f"A{r}:H{r}")
    missing = float(sum(1 for a in rows if a.rate is None))
    s.formula(f"I{r}", f'SUMPRODUCT(--($B${first}:$B${last}&$A${first}:$A${last}<>""),'
                       f'--NOT(ISNUMBER($H${first}:$H${last})))', missing, fmt="0", border=BOX, align=right)
    s.text(f"K{r}", "left out of the totals above: type their rate to home", font=NOTE_FONT)
    return r, rows, written
