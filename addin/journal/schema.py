"""The journal's layout as data, in one place: every sheet and table the program owns, their headers,
whose each column is, and its number format.

The builder (``journal/*.py``, one module per sheet: its layout and formulas), the fill's reader of
an existing journal (:mod:`addin.fill.journal_state`, :mod:`addin.fill.trades_part`) and the fill's
plan and writers take every name from here; none is typed anywhere else.

Whose a cell is (``owner``):

* :data:`STATEMENT` -- what a broker statement says: a fill writes it, on the rows the statement
  holds, when the statement says something else;
* :data:`TRADER` -- the trader's: a fill writes it only on a row it adds (the template's defaults
  included), never after;
* :data:`FORMULA` -- a calculated column: the formula is the program's (the Trades table's come
  with their Python twins from :data:`addin.journal.columns.CALCS`); a fill writes only the cached
  value beside it;
* :data:`PROGRAM` -- written by the program from its own data (the Caps table, the ledger).

Settings: one named cell each (:data:`SETTINGS_CELLS`); those a statement states (:data:`STATED`)
are set by the first fill that sees them while the cell still holds the template's default (see
:func:`default_mark`), every other one is the trader's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, WINDOWS_EPOCH, from_excel, to_excel

from ..risk.caps import NO_CAP_REGIME, NO_CAP_WHO
from ..risk.limits import REGIMES

STATEMENT, TRADER, FORMULA, PROGRAM = "statement", "trader", "formula", "program"

# Number formats ------------------------------------------------------------------------------------

# No format ends its decimals in optional digits only ("0.##", "#,##0.####"): Excel then shows a
# whole number with a bare trailing dot ("30.", "100,000."), LibreOffice without. Each figure kind has
# at least one fixed decimal, or "General" where the precision varies by instrument by orders of
# magnitude (quantities from 0.0001 BTC to 100,000 units, contract sizes, pip sizes, lot steps): a
# fixed count would round the small ones to 0 or pad the large ones, and General shows what the cell
# holds in both suites (up to 11 characters, then rounded or scientific).
PRICE = "#,##0.00###"      # 2 decimals at least (stocks, indices), 5 at most (FX quotes to the pipette)
QTY = "General"            # lots, shares, contracts, coins: 0.01, 100, 0.00012
SIZE_FIGURE = "#,##0.00##"  # a size computed, not typed nor rounded to a lot step (0.35492641...): 2 to 4 decimals
MONEY = "#,##0.00"
PCT = "0.00%"
LEV = '0.0"x"'
DATE = "yyyy-mm-dd hh:mm"
TEXT = "@"
SIZE = "General"           # contract sizes (100,000, 100, 1, 0.1), pip sizes (0.0001, 0.01, 1), lot steps
FX = "0.0000##"            # an exchange rate: 4 decimals at least, 6 at most (JPY->USD 0.006778)
LEVERAGE = "0.0#"          # a leverage as a number (30.0, 33.33): the Trades and Planner cells
LEVERAGE_X = '0.0#"x"'     # the same with its x (the Dashboard's and Planner's cap)
POINT = "#,##0.00##"       # a point value in account currency per unit of price (100,000.00; 0.0068)
# A boolean shows TRUE/FALSE in Excel whatever the format; LibreOffice stores it as 1/0 and needs this.
BOOL = '"TRUE";"TRUE";"FALSE"'

# Sheets, in the order the workbook shows them ------------------------------------------------------

DASHBOARD_SHEET = "Dashboard"
TRADES_SHEET = "Trades"
STATS_SHEET = "Stats"
ACCOUNT_SHEET = "Account"
CASH_SHEET = "Cash"
PLANNER_SHEET = "Planner"
PLANS_SHEET = "Plans"         # the trader's recorded plans, and each against the trade it became
INSTRUMENTS_SHEET = "Instruments"
CAPS_SHEET = "Caps"
SETTINGS_SHEET = "Settings"
REJECTED_SHEET = "Rejected"
CONF_SHEET = "xlwings.conf"   # hidden: tells xlwings which module holds the add-in's functions
LEDGER_SHEET = "Imported"     # hidden: the key of every trade a fill imported
SHEETS = (DASHBOARD_SHEET, TRADES_SHEET, STATS_SHEET, ACCOUNT_SHEET, CASH_SHEET, PLANNER_SHEET, PLANS_SHEET,
          INSTRUMENTS_SHEET, CAPS_SHEET, SETTINGS_SHEET, REJECTED_SHEET, CONF_SHEET, LEDGER_SHEET)
# Sheets of figures over the whole Trades table.
SUMMARY_SHEETS = (DASHBOARD_SHEET, STATS_SHEET, ACCOUNT_SHEET, PLANNER_SHEET)

# Tables (Excel table names) ------------------------------------------------------------------------

TRADES_TABLE = "Trades"
CASH_TABLE = "Cash"
INSTRUMENTS_TABLE = "Instruments"
REJECTED_TABLE = "RejectedRows"
OPEN_POSITIONS_TABLE = "OpenPositions"
CAPS_TABLE = "Caps"
MAJORS_TABLE = "FXMajors"
CURRENCY_TABLE = "FXCurrencies"
PLANS_TABLE = "Plans"

# Defined names --------------------------------------------------------------------------------------

CASH_FROM = "CashFrom"    # a date (value) on the Cash sheet: the first trade's open time, unless typed
TRADE_IDS = "TradeIDs"    # the Trades table's Trade ID column
# The Account sheet's Accounts block (addin/journal/accounts.py), one cell per account in each: the
# key "BROKER|ACCOUNT" the Trades rows look their account up by, and the account's inputs.
ACCOUNT_KEYS = "AccountKeys"
ACCOUNT_STARTS = "AccountStarts"    # starting balance (the first account's: =StartingBalance)
ACCOUNT_FROMS = "AccountFroms"      # the date its cash counts from (the first account's: =CashFrom)
ACCOUNT_RATES = "AccountRates"      # the rate from its currency to the home currency
HOME_CURRENCY = "HomeCurrency"      # the currency the totals over all accounts are in
ACCOUNT_CASH = "AccountCash"        # each account's cash in/out counted, in its currency
ACCOUNT_LEVERAGES = "AccountLeverages"  # each account's leverage (the first account's: =AccountLeverage)
BALANCE_HOME = "BalanceHome"        # the accounts' balances added in the home currency (the block's total)


# The Trades table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A column of the Trades table. Input columns name the :class:`~addin.statements.model.Trade`
    field they show (``field``); a calculated column (kind "calc") has its formula and Python twin,
    given in :mod:`addin.journal.columns`."""
    name: str
    kind: str            # "text", "number", "date", "calc"; "figure": a number, or a few words why there is none
    width: float
    number_format: str = "General"
    formula: str = ""    # calculated columns: the native formula without "=" (placeholders: see columns._place)
    field: str = ""      # input columns: the Trade field
    twin: Callable | None = dataclasses.field(default=None, compare=False, repr=False)  # calculated: the Python twin

    @property
    def owner(self) -> str:
        if self.kind == "calc":
            return FORMULA
        return TRADER if self.name in TRADER_COLUMNS + STOP_COLUMNS else STATEMENT


# Input columns, left of the calculated ones (addin.journal.columns.CALCS).
TRADES_INPUTS: tuple[Column, ...] = (
    Column("Trade ID", "text", 12, TEXT, field="trade_id"),
    Column("No.", "number", 6, "0"),
    Column("Broker", "text", 14, TEXT, field="broker"),
    Column("Account", "text", 11, TEXT, field="account"),
    Column("Open time", "date", 16, DATE, field="open_time"),
    Column("Close time", "date", 16, DATE, field="close_time"),
    Column("Symbol", "text", 10, TEXT, field="symbol"),
    Column("Instrument", "text", 12, TEXT),
    Column("Asset class", "text", 12, TEXT, field="asset_class"),
    Column("Side", "text", 6, TEXT, field="side"),
    Column("Quantity", "number", 10, QTY, field="quantity"),
    Column("Contract size", "number", 10, SIZE, field="contract_size"),
    Column("Entry", "number", 11, PRICE, field="entry"),
    Column("Stop", "number", 11, PRICE, field="stop"),
    Column("Target", "number", 11, PRICE, field="target"),
    Column("Exit", "number", 11, PRICE, field="exit"),
    Column("Commission", "number", 12, MONEY, field="commission"),
    Column("Swap", "number", 9, MONEY, field="swap"),
    Column("Taxes", "number", 9, MONEY, field="taxes"),
    Column("Profit", "number", 11, MONEY, field="profit"),
    Column("Quote currency", "text", 10, TEXT, field="quote_currency"),
    Column("Account currency", "text", 10, TEXT, field="account_currency"),
    Column("FX to account", "number", 10, FX, field="fx_to_account"),
    Column("Equity", "number", 11, MONEY, field="equity"),
    Column("Leverage", "number", 10, LEVERAGE, field="leverage"),
    # How close the trade came to the stop-out, over price bars a fill was given (addin.fill.excursions):
    # statement-owned, written only by a fill with bars that reach the trade, kept by a fill without.
    Column("MAE", "figure", 10, PRICE, field="mae"),
    Column("MFE", "figure", 10, PRICE, field="mfe"),
    Column("MAE R", "figure", 9, "0.00", field="mae_r"),
    Column("MFE R", "figure", 9, "0.00", field="mfe_r"),
    Column("Lowest margin level", "figure", 12, PCT, field="lowest_margin_level"),
)
EXCURSION_COLUMNS = ("MAE", "MFE", "MAE R", "MFE R", "Lowest margin level")

# Right of the calculated columns: the trader's own columns (Setup and Tags also feed the Stats
# sheet's breakdowns; Tags: comma-separated words), then where the row comes from and what the fill
# assumed.
TRADES_TRAILING: tuple[Column, ...] = (
    Column("Setup", "text", 14, TEXT),
    Column("Tags", "text", 18, TEXT),
    Column("Mistakes", "text", 16, TEXT),
    Column("Notes", "text", 24, TEXT, field="comment"),
    Column("Screenshot", "text", 18, TEXT),
    Column("Source", "text", 24, TEXT, field="source"),
    Column("Flags", "text", 30, TEXT, field="flags"),
)

# The key of a trade across fills: compared normalised (case, whitespace), kept as first written.
KEY_COLUMNS = ("Broker", "Account", "Trade ID")
# The trader's columns: a fill writes them only on a trade it adds (Notes starts as the statement's
# comment), never on a row already in the journal.
TRADER_COLUMNS = ("Setup", "Tags", "Mistakes", "Notes", "Screenshot")
# Stop and Target: a statement's value fills an empty cell; a typed one is the trader's.
STOP_COLUMNS = ("Stop", "Target")
# What a statement states about a trade; the other statement-owned cells (contract size, FX, equity,
# leverage, Source, Flags...) are completed by the fill from the statement's context.
FACTS = ("Open time", "Close time", "Symbol", "Side", "Quantity", "Entry", "Exit", "Commission", "Swap", "Taxes",
         "Profit")
# The statement's cells of a trade the journal already holds.
# The excursion columns are statement-owned too, but a fill without price bars leaves them as they are
# (addin.fill.excursions decides what a fill with bars writes).
STATEMENT_OWNED = tuple(c.name for c in TRADES_INPUTS
                        if c.name not in KEY_COLUMNS + STOP_COLUMNS + EXCURSION_COLUMNS) + ("Source", "Flags")
# The columns a fill cannot do without: the key, and what a statement states about a trade.
REQUIRED = KEY_COLUMNS + FACTS
# Headers of journals written by earlier versions, as today's.
RENAMED = {"Comment": "Notes"}


# The other tables ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A column of a table beside Trades: header, width, number format, the model field it shows."""
    header: str
    width: float
    number_format: str = "General"
    attr: str = ""
    owner: str = STATEMENT


@dataclass(frozen=True)
class TableSpec:
    sheet: str
    table: str
    columns: tuple[Field, ...]

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(f.header for f in self.columns)

    def field_of(self, header: str) -> Field:
        return next(f for f in self.columns if f.header == header)


# Deposits, withdrawals and other cash movements (BalanceEvent), one row each, by time.
CASH = TableSpec(CASH_SHEET, CASH_TABLE, (
    Field("Time", 17, DATE, "time"), Field("Amount", 13, MONEY, "amount"), Field("Kind", 24, TEXT, "kind"),  # "broker interest received"
    Field("Broker", 32, TEXT, "broker"), Field("Account", 13, TEXT, "account"),  # whose cash: see columns.CASH_DOC
    Field("Source", 60, TEXT, "source")))

# The statement rows a fill could not read (RejectedRow).
REJECTED = TableSpec(REJECTED_SHEET, REJECTED_TABLE, (
    Field("File", 28, TEXT, "file"), Field("Row", 6, "General", "row"), Field("Section", 14, TEXT, "section"),
    Field("Reason", 48, TEXT, "reason"), Field("Raw text", 80, TEXT, "raw")))

# The contract data the Trades formulas look up (Instrument): the template's rows, then the trader's.
INSTRUMENTS = TableSpec(INSTRUMENTS_SHEET, INSTRUMENTS_TABLE, tuple(Field(*f, owner=TRADER) for f in (
    ("Symbol", 10, TEXT, "symbol"), ("Asset class", 13, TEXT, "asset_class"),
    ("Contract size", 12, SIZE, "contract_size"), ("Pip size", 9, SIZE, "pip_size"),
    ("Quote currency", 9, TEXT, "quote_currency"), ("Margin rate", 9, "0.00%", "margin_rate"),
    ("Description", 36, TEXT, "description"))))

# The recorded plans (addin/journal/plans.py): one row per plan the trader recorded from the Planner.
# Every planned figure is a value written when the plan was recorded (a later change of a setting
# never rewrites it); the trader's, except Trade ID, which a fill writes when it is empty and a trade
# of the statement matches the plan (addin/fill/plans_match.py). The calculated columns compare the
# plan with that trade, natively.
PLANS_INPUTS = tuple(Field(*f, owner=TRADER) for f in (
    ("Recorded", 17, DATE), ("Symbol", 10, TEXT), ("Side", 7, TEXT), ("Entry", 11, PRICE), ("Stop", 11, PRICE),
    ("Target", 11, PRICE), ("Size", 9, QTY), ("Risk amount", 11, MONEY), ("Planned R:R", 9, "0.00"),
    ("Equity", 12, MONEY), ("Risk %", 8, PCT), ("Trade ID", 12, TEXT), ("Notes", 28, TEXT)))
PLANS_CALCS = tuple(Field(*f, owner=FORMULA) for f in (
    ("Row in Trades", 8, "0"), ("Status", 26, TEXT), ("Entry slippage", 10, PRICE), ("Slippage, R", 9, "0.00"),
    ("Stop moved", 10, PRICE), ("Size ratio", 8, "0.00"), ("Actual R", 9, "0.00"), ("R vs plan", 9, "0.00"),
    ("Exit R on plan", 9, "0.00"), ("R by managing", 9, "0.00")))
PLANS = TableSpec(PLANS_SHEET, PLANS_TABLE, PLANS_INPUTS + PLANS_CALCS)

# The hidden ledger: the key of every trade a fill imported, so a trade the trader deleted is not
# imported again.
LEDGER = TableSpec(LEDGER_SHEET, "", tuple(Field(h, 12, TEXT, owner=PROGRAM) for h in KEY_COLUMNS))
LEDGER_COLUMNS = LEDGER.headers


# Settings -------------------------------------------------------------------------------------------

# (field, defined name, label, number format, note) in sheet order, from row 3 of the Settings sheet.
SETTINGS_CELLS: tuple[tuple[str, str, str, str, str], ...] = (
    ("account_currency", "AccountCurrency", "Account currency", TEXT, "ISO code of the account's currency"),
    ("starting_balance", "StartingBalance", "Starting balance", "#,##0.00", "balance before the first trade of the first account (Account sheet, Accounts block), its currency"),
    ("account_leverage", "AccountLeverage", "Account leverage", '"1:"General', "used where a trade has no leverage of its own: type 30 for 1:30"),
    ("regulator", "Regulator", "Regulator", TEXT, "regime for leverage caps: " + ", ".join(REGIMES)
     + f" ({NO_CAP_REGIME}: {NO_CAP_WHO}, no retail leverage cap)"),
    ("risk_per_trade", "RiskPerTrade", "Risk per trade", "0.00%", "fraction of equity you accept to lose per trade"),
    ("stop_out_level", "StopOutLevel", "Stop-out level", "0%", "margin level at which the broker closes positions (ESMA: 50%)"),
    ("max_drawdown", "MaxDrawdown", "Largest accepted drawdown", "0%", "fall from the peak you accept before stopping"),
)
SETTINGS_FIRST_ROW = 3

# Settings a statement states (its account currency, its balance before its first trade, its account
# leverage). The template marks each of them, while it holds the template's default, with a hidden
# defined name (default_mark) whose value is that default: a fill sets such a setting from the first
# statement that states it and removes the mark, so the value is then the statement's (or, once the
# trader types another value, the trader's) and no later fill changes it. A journal without the mark
# (made before marks existed) keeps its settings as they are.
STATED = ("account_currency", "starting_balance", "account_leverage")
DEFAULT_MARK = "TemplateDefault_"


def default_mark(name: str) -> str:
    """The hidden defined name marking the Settings cell ``name`` as still holding the template's default."""
    return DEFAULT_MARK + name


# Excel's addressing and dates (openpyxl's, in one place) -------------------------------------------

EPOCH = WINDOWS_EPOCH.date()  # day 0 of the 1900 date system: 1899-12-30


def letter(i: int) -> str:
    """Column letters of the 0-based column index ``i``: 0 -> A, 26 -> AA."""
    return get_column_letter(i + 1)


def column_index(letters: str) -> int:
    """0-based index of column letters: A -> 0, AA -> 26."""
    return column_index_from_string(letters) - 1


def serial(d: datetime | date) -> float:
    """The Excel date serial (1900 date system, the 1899-12-30 epoch) of a date or datetime; an aware
    datetime is taken at its wall-clock time."""
    if isinstance(d, datetime) and d.tzinfo is not None:
        d = d.replace(tzinfo=None)
    return float(to_excel(d))


def from_serial(v: float) -> datetime:
    """The datetime of an Excel date serial (1900 date system), to the second (a serial's float noise
    below it is dropped)."""
    d = from_excel(v, CALENDAR_WINDOWS_1900)
    return d.replace(microsecond=0) + timedelta(seconds=round(d.microsecond / 1e6))
