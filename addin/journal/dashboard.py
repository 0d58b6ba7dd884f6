"""The Dashboard sheet: one trade's risk card, the account, the charts.

The trade is picked by its Trade ID (a dropdown); the card reads every figure the Trades row already
has (INDEX into the table at the row MATCH found) and calls the add-in only for what the row does
not hold (margin level, wipe-out move, liquidation price, the size the risk budget allowed, losses
to MaxDrawdown, recovery gain): a constant number of calls, guarded so that without the add-in they
say "needs the add-in". It opens on the latest closed trade (an open trade has no exit, R multiple or
return yet); a fill picks it again unless the trader picked another (the hidden name
:data:`AUTO_PICK` holds the program's pick). Cached values come from the Trades columns and :mod:`addin.risk`.
"""

from __future__ import annotations

from datetime import date, datetime

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from .. import risk
from ..risk.errors import NoPrice, RiskInputError
from ..risk.inputs import _SHORT
from . import columns as C
from .columns import _is, blank, isnum
from . import accounts as AC
from .accounts import home_note
from .layout import (AMBER, BOX, GREEN, INPUT_FILL, LABEL_FONT, NOTE_FONT, RED, SECTION_FONT, THIN, TITLE_FONT,
                     VALUE_FONT, Book, excel_serial, fit_width, guarded, span)
from .planner import result
from .settings import SETTINGS_CELLS
from .trades import id_key, id_match

TITLE = C.schema.DASHBOARD_SHEET
DASH_WIDTHS = (27, 17, 3, 32, 24, 38)  # E fits "no price bars for this trade"
CHART_ROWS = 17  # rows of 20 px each chart takes, gap included


NO_BARS = "no price bars for this trade"  # an excursion cell of the picked trade left empty by the fills
AUTO_PICK = "DashboardAutoPick"  # hidden defined name: the Trade ID the program put in B3


def auto_pick_text(trade_id) -> str:
    """The :data:`AUTO_PICK` name's formula: the Trade ID as a text constant ("" for none)."""
    return '"' + str(trade_id if trade_id is not None else "").replace('"', '""') + '"'


def selected_index(cols: dict[str, list], n: int) -> int | None:
    """The row the Dashboard opens on: the latest closed trade (the last row among equal close
    times), else the last trade."""
    if not n:
        return None
    closes = cols["Close time"]
    best = None
    for i, t in enumerate(closes):
        if isinstance(t, str):  # typed as text the spreadsheet could not read as a date: no close time
            continue
        if t is not None and (best is None or _serial(t) >= _serial(closes[best])):
            best = i
    return n - 1 if best is None else best


def _serial(v) -> float:
    return excel_serial(v) if isinstance(v, (datetime, date)) else float(v)


def _traffic(ws, coord: str, rules: list[tuple[str, tuple]]):
    for formula, (fill, font) in rules:
        ws.conditional_formatting.add(coord, FormulaRule(formula=[formula], fill=fill, font=font, stopIfTrue=True))


def build(book: Book) -> None:
    cols, n, settings = book.cols, book.n, book.settings
    s = book.sheet(TITLE)
    ws = s.ws
    s.text("A1", "Trade risk card", font=TITLE_FONT)
    # Always written (empty for one currency), so that a later fill knows the cell as the layout's.
    rows, _ = AC.resolve(book.cols, book.settings, book.inputs, book.cash_from)
    no_start = sum(1 for a in rows if not isnum(a.start))
    s.text("A2", home_note(book.cols, book.settings.account_currency, book.inputs.get("home"), no_start) or "",
           font=RED[1])
    ws.row_dimensions[1].height = 26
    s.text("A3", "Trade ID", font=SECTION_FONT)
    ids = cols["Trade ID"]
    picked = book.inputs.get("pick")  # the trade the trader picked (a fill keeps it)
    if picked is None:
        idx = selected_index(cols, n)
        selected = ids[idx] if idx is not None else None
    else:
        selected = picked
    s.text("B3", selected, fill=INPUT_FILL, font=Font(bold=True, size=12),
           border=Border(top=THIN, bottom=THIN, left=THIN, right=THIN))
    s.text("C3", "pick a trade from the list", font=NOTE_FONT)
    book.wb.defined_names["SelectedTrade"] = DefinedName("SelectedTrade", attr_text="Dashboard!$B$3")
    # The trade the program picked (hidden): a fill picks again while B3 still shows it.
    book.wb.defined_names[AUTO_PICK] = DefinedName(AUTO_PICK, attr_text=auto_pick_text(
        selected if picked is None else book.inputs.get("auto_pick")), hidden=True)
    dv = DataValidation(type="list", formula1="TradeIDs", allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("B3")
    idx = None
    if selected not in (None, ""):  # MATCH finds the first row with that ID (any case, text or number)
        key = id_key(selected)
        idx = next((i for i, v in enumerate(ids) if v is not None and id_key(v) == key), None)
    s.text("A4", "Row in Trades", font=NOTE_FONT)
    s.formula("B4", f'IF(B3="","",IFERROR({id_match("B3", f"{C.TABLE}[Trade ID]")},"no such trade"))',
              "" if selected in (None, "") else "no such trade" if idx is None else float(idx + 1), font=NOTE_FONT,
              align=Alignment(horizontal="left"))

    def cell_of(col: str):
        v = cols[col][idx] if idx is not None else ""
        if isinstance(v, (datetime, date)):
            v = excel_serial(v)
        return "" if blank(v) else v

    def from_row(col: str) -> str:
        src = f"INDEX({C.TABLE}[{col}],$B$4)"
        return f'IF(ISNUMBER($B$4),IF({src}="","",{src}),"")'

    # The trade, as the Trades table has it.
    s.text("A6", "The trade", font=SECTION_FONT)
    facts = (("Symbol", "Symbol", "@"), ("Side", "Side", "@"), ("Open time", "Open time", C.DATE),
             ("Close time", "Close time", C.DATE), ("Quantity", "Quantity", C.QTY), ("Entry", "Entry", C.PRICE),
             ("Stop", "Stop", C.PRICE), ("Target", "Target", C.PRICE), ("Exit", "Exit", C.PRICE),
             ("Net P/L", "Net P/L", C.MONEY), ("Equity used", "Equity used", C.MONEY),
             ("Leverage used", "Leverage used", C.schema.LEVERAGE), ("Leverage from", "Leverage source", "@"),
             ("Point value", "Point value", C.schema.POINT), ("Pip size", "Pip size", C.schema.SIZE),
             ("Class", "Cap class", "@"))
    F: dict[str, str] = {}
    V: dict[str, object] = {}
    for k, (label, col, fmt) in enumerate(facts):
        row = 7 + k
        s.text(f"A{row}", label, font=LABEL_FONT)
        s.formula(f"B{row}", from_row(col), cell_of(col), fmt=fmt, align=Alignment(horizontal="right"))
        F[col], V[col] = f"$B${row}", cell_of(col)

    q, e, stop = V["Quantity"], V["Entry"], V["Stop"]
    pv, lev, eq, pip = V["Point value"], V["Leverage used"], V["Equity used"], V["Pip size"]
    Q, E, S, SD = F["Quantity"], F["Entry"], F["Stop"], F["Side"]
    PV, LV, EQ, PIP = F["Point value"], F["Leverage used"], F["Equity used"], F["Pip size"]

    s.text("D6", "Risk card", font=SECTION_FONT)
    card: dict[str, str] = {}
    cv: dict[str, object] = {}
    row = [7]

    def item(key, label, formula, value, fmt, note="", addin=False):
        r = row[0]
        s.text(f"D{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"E{r}", guarded(formula) if addin else formula, value, fmt=fmt, font=VALUE_FONT, border=BOX,
                  align=Alignment(horizontal="right"))
        if note:
            s.text(f"F{r}", note, font=NOTE_FONT)
        card[key], cv[key] = f"$E${r}", value
        row[0] += 1

    def row_item(key, label, col, fmt, note=""):
        item(key, label, from_row(col), cell_of(col), fmt, note)

    def both(*refs: str) -> str:
        return "AND(" + ",".join(f"ISNUMBER({r})" for r in refs) + ")"

    row_item("notional", "Notional", "Notional", C.MONEY, "position value, account currency (Trades)")
    row_item("eff", "Effective leverage", "Effective leverage", C.LEV, "notional / equity used")
    row_item("cap", "Regulator's cap", "Leverage cap", C.schema.LEVERAGE_X, "for the Regulator setting, on the open day")
    cap = cv["cap"]
    used = lev / cap if isnum(lev) and isnum(cap) else ""
    item("capused", "Leverage used / cap", f'IF({both(LV, card["cap"])},{LV}/{card["cap"]},"")', used, "0%",
         "above 100%: over the retail cap")
    row_item("margin", "Margin", "Margin", C.MONEY, "notional / leverage used")
    margin = cv["margin"]
    mlevel = result(risk.margin_level, eq, margin) if isnum(margin) and isnum(eq) else ""
    item("mlevel", "Margin level", f'IF({both(card["margin"], EQ)},MARGIN_LEVEL({EQ},{card["margin"]}),"")',
         mlevel, "0%", "equity / margin", addin=True)
    row_item("wpips", "Wipe-out distance, pips", "Wipe-out pips", "#,##0.0", "adverse move that loses the margin")
    wmove = result(risk.wipeout_move, lev) if isnum(lev) else ""
    item("wmove", "Wipe-out distance, % of price", f'IF(ISNUMBER({LV}),WIPEOUT_MOVE({LV}),"")', wmove, "0.00%",
         "1 / leverage used", addin=True)
    row_item("so", "Stop-out price", "Stop-out price", C.PRICE, "margin level falls to the stop-out level")
    direction = cols["Direction"][idx] if idx is not None else ""
    liq = result(risk.liquidation_price, direction, e, lev) if isnum(direction) and isnum(e) and isnum(lev) else ""
    item("liq", "Liquidation price (isolated)", f'IF(AND(ISNUMBER({E}),ISNUMBER({LV}),{SD}<>""),'
         f'LIQUIDATION_PRICE({SD},{E},{LV}),"")', liq, C.PRICE, "crypto-exchange style, 0.5% maintenance", addin=True)
    so = cv["so"]
    if isnum(stop) and isnum(so) and isnum(pip) and isnum(direction):
        gap = ((so - stop) if direction == -1 else (stop - so)) / pip
    else:
        gap = ""
    item("gap", "Stop to stop-out, pips", f'IF({both(S, card["so"], PIP)},IF({_is(SD, _SHORT)},'
         f'{card["so"]}-{S},{S}-{card["so"]})/{PIP},"")', gap, "#,##0.0", "> 0: the stop is hit first")
    # How close the trade came (the excursion columns a fill given price bars writes): an empty
    # cell means no bars covered the trade.
    def excursion_item(key, label, col, fmt, note):
        src = f"INDEX({C.TABLE}[{col}],$B$4)"
        v = cell_of(col) if idx is not None else ""
        item(key, label, f'IF(ISNUMBER($B$4),IF({src}="","{NO_BARS}",{src}),"")',
             NO_BARS if idx is not None and v == "" else v, fmt, note)

    excursion_item("mae", "MAE, price", "MAE", C.PRICE, "furthest price went against the trade")
    excursion_item("mfe", "MFE, price", "MFE", C.PRICE, "furthest price went for the trade")
    excursion_item("maer", "MAE in R", "MAE R", "0.00", "MAE / (entry to stop): 1 = reached the stop")
    excursion_item("lml", "Lowest margin level", "Lowest margin level", "0.0%",
                   "at the worst price; StopOutLevel: closed by the broker")
    row_item("risk", "Risk at the stop", "Risk at stop", C.MONEY, "money lost if the stop is hit")
    row_item("riskpct", "Risk, % of equity", "Risk %", "0.00%", "against RiskPerTrade on Settings")
    if isnum(e) and isnum(stop) and isnum(eq) and isnum(pv):
        amount = result(risk.risk_amount, eq, settings.risk_per_trade)
        allowed = result(risk.position_size, amount, e, stop, pv) if isnum(amount) else amount
    else:
        allowed = ""
    item("allowed", "Size the risk budget allowed", f'IF({both(E, S, EQ, PV)},'
         f'POSITION_SIZE(RISK_AMOUNT({EQ},RiskPerTrade),{E},{S},{PV}),"")', allowed, C.schema.SIZE_FIGURE, "POSITION_SIZE",
         addin=True)
    item("taken", "Size taken", f'IF({Q}="","",{Q})', "" if blank(q) else q, C.QTY)
    ratio = (q / allowed if allowed > 0 else "") if isnum(q) and isnum(allowed) else ""
    item("ratio", "Size taken / allowed", f'IF({both(card["taken"], card["allowed"])},'
         f'IF({card["allowed"]}>0,{card["taken"]}/{card["allowed"]},""),"")', ratio, "0%", "above 100%: over budget")
    row_item("r", "R multiple", "R multiple", "0.00", "result in units of the initial risk")
    row_item("rom", "Return on margin", "Return on margin", "0.0%", "net P/L / margin")
    rpct = cv["riskpct"]
    ltd = result(risk.losses_to_drawdown, rpct, settings.max_drawdown) if isnum(rpct) else ""
    item("ltd", "Losses in a row to MaxDrawdown", f'IF(ISNUMBER({card["riskpct"]}),'
         f'LOSSES_TO_DRAWDOWN({card["riskpct"]},MaxDrawdown),"")', ltd, "0", "at this trade's risk %", addin=True)
    item("rg", "Gain needed to recover MaxDrawdown", "RECOVERY_GAIN(MaxDrawdown)",
         result(risk.recovery_gain, settings.max_drawdown), "0.0%", "drawdown / (1 - drawdown)", addin=True)

    c = card
    _traffic(ws, c["eff"].replace("$", ""), [
        (f'AND(ISNUMBER({c["eff"]}),ISNUMBER({c["cap"]}),{c["eff"]}>{c["cap"]})', RED),
        (f'AND(ISNUMBER({c["eff"]}),ISNUMBER({c["cap"]}),{c["eff"]}>{c["cap"]}/2)', AMBER),
        (f'ISNUMBER({c["eff"]})', GREEN)])
    _traffic(ws, c["capused"].replace("$", ""), [
        (f'AND(ISNUMBER({c["capused"]}),{c["capused"]}>1)', RED),
        (f'AND(ISNUMBER({c["capused"]}),{c["capused"]}>0.5)', AMBER), (f'ISNUMBER({c["capused"]})', GREEN)])
    _traffic(ws, c["mlevel"].replace("$", ""), [
        (f'AND(ISNUMBER({c["mlevel"]}),{c["mlevel"]}<=1)', RED),
        (f'AND(ISNUMBER({c["mlevel"]}),{c["mlevel"]}<=2)', AMBER), (f'ISNUMBER({c["mlevel"]})', GREEN)])
    for k in ("so", "gap"):
        _traffic(ws, c[k].replace("$", ""), [
            (f'AND(ISNUMBER({c["gap"]}),{c["gap"]}<=0)', RED), (f'ISNUMBER({c["gap"]})', GREEN)])
    _traffic(ws, c["lml"].replace("$", ""), [
        (f'AND(ISNUMBER({c["lml"]}),{c["lml"]}<=StopOutLevel)', RED),
        (f'AND(ISNUMBER({c["lml"]}),{c["lml"]}<=1.5*StopOutLevel)', AMBER), (f'ISNUMBER({c["lml"]})', GREEN)])
    _traffic(ws, c["riskpct"].replace("$", ""), [
        (f'AND(ISNUMBER({c["riskpct"]}),{c["riskpct"]}>2*RiskPerTrade)', RED),
        (f'AND(ISNUMBER({c["riskpct"]}),{c["riskpct"]}>RiskPerTrade)', AMBER), (f'ISNUMBER({c["riskpct"]})', GREEN)])
    _traffic(ws, c["ratio"].replace("$", ""), [
        (f'AND(ISNUMBER({c["ratio"]}),{c["ratio"]}>1.5)', RED),
        (f'AND(ISNUMBER({c["ratio"]}),{c["ratio"]}>1)', AMBER), (f'ISNUMBER({c["ratio"]})', GREEN)])
    _traffic(ws, c["ltd"].replace("$", ""), [
        (f'AND(ISNUMBER({c["ltd"]}),{c["ltd"]}<10)', RED),
        (f'AND(ISNUMBER({c["ltd"]}),{c["ltd"]}<20)', AMBER), (f'ISNUMBER({c["ltd"]})', GREEN)])
    _traffic(ws, c["r"].replace("$", ""), [
        (f'AND(ISNUMBER({c["r"]}),{c["r"]}<0)', RED), (f'ISNUMBER({c["r"]})', GREEN)])

    top = _account(book, s, row[0] + 2)
    for x, width in zip("ABCDEF", DASH_WIDTHS):
        ws.column_dimensions[x].width = width
    _charts(book, ws, n, top)
    fit_width(ws, "portrait", f"A1:F{top + 2 * CHART_ROWS}", fit_height=1)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.sheet_view.showGridLines = False


HOME_NET = "Net P/L home"


def _account(book: Book, s, top: int) -> int:
    """The account summary and the settings in use, from row ``top``; the first row after them."""
    cols, settings = book.cols, book.settings
    s.text(f"A{top}", "The account", font=SECTION_FONT)
    # Money in the home currency: each trade's Net P/L home, and the accounts' balances and cash
    # as the Account sheet's Accounts block adds them (BalanceHome, AccountCash x AccountRates).
    net_all = [v for v in cols[HOME_NET] if isnum(v)]
    entries = [v for v in cols["Entry"] if isnum(v)]
    exits = [v for v in cols["Exit"] if isnum(v)]
    total = sum(net_all)
    balance, flow = AC.totals(cols, settings, book.inputs, book.cash_from, AC.keyed_cash(book.cash, excel_serial))
    dd = [v for v in cols["Drawdown"] if isnum(v)]
    effs = [v for v in cols["Effective leverage"] if isnum(v)]
    over = sum(1 for v in cols["Over cap"] if v is True)
    T = C.TABLE
    summary = (
        ("Trades", f"COUNT({T}[Entry])", float(len(entries)), "0"),
        ("Closed trades", f"COUNT({T}[Exit])", float(len(exits)), "0"),
        ("Net P/L", f"SUM({T}[{HOME_NET}])", total, C.MONEY),
        ("Cash in/out since 1st trade", f"SUMPRODUCT({C.schema.ACCOUNT_CASH},{C.schema.ACCOUNT_RATES})", flow, C.MONEY),
        ("Balance", C.schema.BALANCE_HOME, balance, C.MONEY),
        # wins / (wins + losses): a trade closed at exactly 0 is neither (WIN_RATE and the Stats sheet alike)
        ("Win rate", f'IF(COUNTIF({T}[{HOME_NET}],">"&0)+COUNTIF({T}[{HOME_NET}],"<"&0)=0,"",'
                     f'COUNTIF({T}[{HOME_NET}],">"&0)/(COUNTIF({T}[{HOME_NET}],">"&0)+COUNTIF({T}[{HOME_NET}],"<"&0)))',
         _win_rate(net_all), "0.0%"),
        ("Max drawdown (trading P/L)", f"MAX({T}[Drawdown])", max(dd) if dd else 0.0, "0.00%"),
        ("Largest effective leverage", f"MAX({T}[Effective leverage])", max(effs) if effs else 0.0, C.LEV),
        ("Trades over the retail cap", f"COUNTIF({T}[Over cap],TRUE)", float(over), "0"),
        ("Losses in a row to MaxDrawdown", guarded("LOSSES_TO_DRAWDOWN(RiskPerTrade,MaxDrawdown)"),
         result(risk.losses_to_drawdown, settings.risk_per_trade, settings.max_drawdown), "0"),
    )
    at = {label: f"B{top + 1 + k}" for k, (label, *_) in enumerate(summary)}
    for k, (label, f, v, fmt) in enumerate(summary):
        r = top + 1 + k
        s.text(f"A{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"B{r}", f, v, fmt=fmt, font=VALUE_FONT, border=BOX, align=Alignment(horizontal="right"))
    s.text(f"D{top}", "Settings in use", font=SECTION_FONT)
    for k, (field, name, label, fmt, _) in enumerate(SETTINGS_CELLS):
        r = top + 1 + k
        s.text(f"D{r}", label, font=LABEL_FONT, border=BOX)
        s.formula(f"E{r}", name, getattr(settings, field), fmt=fmt if fmt != "@" else None, border=BOX,
                  align=Alignment(horizontal="right"))
    return top + len(summary) + 2


def _charts(book: Book, ws, n: int, top: int):
    """Balance, drawdown, risk % and effective leverage per trade: a 2 x 2 grid as wide as the card."""
    trades = book.wb[C.TABLE]
    last = max(n, 1) + 1

    def ref(name: str) -> Reference:
        j = C.INDEX[name] + 1
        return Reference(trades, min_col=j, min_row=1, max_row=last)

    mid = int((sum(DASH_WIDTHS) / 2 - sum(DASH_WIDTHS[:3])) * 7)
    specs = (("Balance, incl. cash in/out", "Balance", LineChart, "#,##0"),
             ("Drawdown of trading P/L only", "Drawdown", LineChart, "0.0%"),  # 0.2%, 0.4%: not 0%, 0%
             ("Risk % of equity per trade", "Risk %", BarChart, "0.0%"),
             ("Effective leverage per trade", "Effective leverage", BarChart, '0.0"x"'))
    for k, (title, col, kind, fmt) in enumerate(specs):
        ch = kind()
        ch.title = title
        ch.add_data(ref(col), titles_from_data=True)
        ch.legend = None
        ch.y_axis.number_format = fmt
        ch.x_axis.title = "trade"
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        if kind is LineChart:
            for series in ch.series:
                series.smooth = False
                series.graphicalProperties.line.width = 19050
        else:
            ch.gapWidth = 40
        row = top - 1 + (k // 2) * CHART_ROWS
        if k % 2 == 0:
            anchor = span(0, 0, row, 3, mid - 6, row + CHART_ROWS - 1)
        else:
            anchor = span(3, mid + 6, row, 6, 0, row + CHART_ROWS - 1)
        ws.add_chart(ch, anchor)


def _win_rate(pnls: list[float]) -> object:
    """The Dashboard's win rate: :func:`addin.risk.stats.win_rate`, "" when no trade won or lost."""
    try:
        return risk.win_rate(pnls)
    except (RiskInputError, NoPrice):
        return ""
