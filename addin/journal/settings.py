"""The journal's account settings: one pydantic model, one named cell per field on the Settings sheet.

Every formula that needs an account-wide figure reads it through its defined name
(``AccountCurrency``, ``StartingBalance``, ``AccountLeverage``, ``Regulator``, ``RiskPerTrade``,
``StopOutLevel``, ``MaxDrawdown``), so a user edits the figure once on the Settings sheet.

Values are read the way traders type them, with the parsers the functions and statement readers
use: a leverage of ``30``, ``"1:30"``, ``"30:1"`` or ``"30x"`` (:func:`addin.risk.parse_leverage`);
money as ``25000``, ``"25 000"``, ``"25,000.50"`` (:func:`addin.statements.parsing.parse_number`);
a rate as a fraction ``0.02`` or as text ``"2%"``. NaN, infinity, negative or out-of-range
figures and an unknown regulator are errors that list what is allowed. A leverage below 1 is one:
it is what Excel makes of ``1:30`` typed into a number cell (the time 1:30 a.m., 0.0625 of a day).

The Settings sheet holds the leverage as the number 30 shown as ``1:30`` (number format
``"1:"General``), and every input cell has a data validation (:data:`VALIDATIONS`): a list where
there is a list, bounds where there are bounds, an input message, and an error message that says
what to type. The bounds lie inside the model's, so whatever the sheet lets a trader type, the
formulas reading the names and the fill's reading of Settings accept.

>>> Settings(account_leverage="1:30").account_leverage
30.0
>>> try:
...     Settings(account_leverage=0.0625)
... except ValueError as exc:
...     print(setting_error(exc))
leverage must be at least 1 (got 0.0625, which is the time 1:30: Excel reads 1:30 typed into a cell as a time; type 30 for 1:30)
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..risk import RiskInputError, parse_leverage
from ..risk.caps import NO_CAP_REGIME, NO_CAP_WHO
from ..risk.limits import REGIMES
from ..statements.parsing import parse_number
from . import schema


def _money(v: object) -> object:
    if isinstance(v, str):
        v = parse_number(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isfinite(v):
        raise ValueError(f"must be a finite number (got {v})")
    return v


def _rate(v: object) -> object:
    """A fraction from 0.02, "0.02" or "2%" (Excel stores a typed 2% as 0.02)."""
    if isinstance(v, str):
        text = v.strip()
        percent = text.endswith("%")
        v = parse_number(text)
        if percent:
            return v / 100
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if not math.isfinite(v):
            raise ValueError(f"must be a finite number (got {v})")
    return v


class Settings(BaseModel):
    """Account-wide settings of a journal. Rates are fractions: 1% risk per trade is 0.01."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_assignment=True)

    account_currency: str = "USD"
    starting_balance: float = Field(default=10_000.0, gt=0)
    account_leverage: float = Field(default=30.0, gt=0)
    regulator: str = "ESMA"
    risk_per_trade: float = Field(default=0.01, gt=0, lt=1)
    stop_out_level: float = Field(default=0.5, ge=0, lt=1)
    max_drawdown: float = Field(default=0.2, gt=0, lt=1)

    @field_validator("account_currency", mode="before")
    @classmethod
    def _currency(cls, v: object) -> object:
        if isinstance(v, str):
            v = v.strip().upper()
            if not v:
                raise ValueError("must be a currency code such as USD, EUR or USDT")
        return v

    @field_validator("starting_balance", mode="before")
    @classmethod
    def _balance(cls, v: object) -> object:
        return _money(v)

    @field_validator("account_leverage", mode="before")
    @classmethod
    def _leverage(cls, v: object) -> object:
        if isinstance(v, bool):
            return v
        try:
            lev = parse_leverage(v, "leverage")
        except RiskInputError as exc:
            raise ValueError(str(exc)) from None
        if lev < 1:
            # Excel and LibreOffice store "1:30" typed into a number cell as the time 1:30 a.m. (0.0625 of a day).
            minutes = round(lev * 24 * 60)
            raise ValueError(f"leverage must be at least 1 (got {lev:g}, which is the time "
                             f"{minutes // 60}:{minutes % 60:02d}: Excel reads 1:30 typed into a cell as a time; "
                             f"type 30 for 1:30)")
        return lev

    @field_validator("regulator", mode="before")
    @classmethod
    def _regulator(cls, v: object) -> object:
        if isinstance(v, str):
            v = v.strip().upper()
            if v not in REGIMES:
                raise ValueError(f"unknown regulator {v!r}: one of {', '.join(REGIMES)}")
        return v

    @field_validator("risk_per_trade", "stop_out_level", "max_drawdown", mode="before")
    @classmethod
    def _rates(cls, v: object) -> object:
        return _rate(v)


# The named cells (field, defined name, label, number format, note) and the statement-stated ones
# with their template-default marks: the schema's.
SETTINGS_CELLS = schema.SETTINGS_CELLS
STATED, DEFAULT_MARK, default_mark = schema.STATED, schema.DEFAULT_MARK, schema.default_mark


def setting_error(exc: Exception) -> str:
    """The first reason pydantic gives, without its URL boilerplate."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        e = errors()[0]
        msg = str(e.get("msg", exc))
        return msg.removeprefix("Value error, ")
    return str(exc)


# The Settings sheet -------------------------------------------------------------------------------

TITLE = schema.SETTINGS_SHEET


# Data validation of each Settings input, so that what Excel lets a trader type is what the model
# (and the formulas reading the names) accept. (kind, operator, formula1, formula2, input message,
# error message); kind is Excel's validation type, "custom" a formula true for an accepted entry,
# written against the cell itself ({c}) and false, never an error, for text. Excel turns "1:30"
# typed anywhere into the time 1:30 a.m. (0.0625 of a day) and "30:1" into 30 hours (1.2507): the
# leverage rule takes a number from 1 to LEVERAGE_MAX with at most two decimals, which refuses both.
LEVERAGE_MAX = 5000
VALIDATIONS: dict[str, tuple[str, str | None, str, str | None, str, str]] = {
    "account_currency": (
        "custom", None, 'AND(ISTEXT({c}),LEN({c})>=3,LEN({c})<=4,ISERROR(FIND(" ",{c})))', None,
        "The account's currency code: USD, EUR, GBP, JPY, ... (or a 4-letter coin such as USDT).",
        "Type a currency code of 3 or 4 letters without spaces, such as USD, EUR or USDT."),
    "starting_balance": (
        "decimal", "greaterThan", "0", None,
        "The balance before the first trade, a number in the account currency: 25000 or 25000.50.",
        "Type the starting balance as a number above 0, such as 25000 (no text, no currency sign)."),
    "account_leverage": (
        "custom", None, f"IF(ISNUMBER({{c}}),AND({{c}}>=1,{{c}}<={LEVERAGE_MAX},ROUND({{c}},2)={{c}}),FALSE)", None,
        "Type the leverage as one number: 30 for 1:30, 500 for 1:500. It is shown as 1:30.",
        f"Type 30 for 1:30 (a number from 1 to {LEVERAGE_MAX}). Excel reads 1:30 as a time of day."),
    "regulator": (
        "list", None, '"' + ",".join(REGIMES) + '"', None,
        "The regime whose retail leverage caps apply: " + ", ".join(REGIMES) + f". {NO_CAP_REGIME}: {NO_CAP_WHO}, "
        "no retail leverage cap.",
        "Pick the regulator from the list: " + ", ".join(REGIMES) + "."),
    "risk_per_trade": (
        "decimal", "between", "0.0001", "0.99",
        "The share of equity you accept to lose per trade: type 1% (or 0.01).",
        "Type the risk per trade as a percentage from 0.01% to 99%, such as 1% or 0.5%."),
    "stop_out_level": (
        "decimal", "between", "0", "0.99",
        "The margin level at which the broker closes positions: type 50% (or 0.5).",
        "Type the stop-out level as a percentage from 0% to 99%, such as 50%."),
    "max_drawdown": (
        "decimal", "between", "0.01", "0.99",
        "The fall from the peak you accept before stopping: type 20% (or 0.2).",
        "Type the largest accepted drawdown as a percentage from 1% to 99%, such as 20%."),
}


def validation(field: str, cell: str):
    """The openpyxl DataValidation of the Settings input ``field`` at ``cell`` (e.g. "B5")."""
    from openpyxl.worksheet.datavalidation import DataValidation

    kind, op, f1, f2, prompt, error = VALIDATIONS[field]
    label = next(lab for fld, _, lab, *_ in SETTINGS_CELLS if fld == field)
    dv = DataValidation(type=kind, operator=op, formula1=f1.replace("{c}", cell),
                        formula2=None if f2 is None else f2.replace("{c}", cell), allow_blank=False,
                        showInputMessage=True, showErrorMessage=True, errorStyle="stop",
                        promptTitle=label[:32], prompt=prompt, errorTitle=label[:32], error=error)
    dv.add(cell)
    return dv


def build(book) -> None:
    """One named input cell per setting, with its label, a note and a data validation."""
    from openpyxl.workbook.defined_name import DefinedName

    from .layout import INPUT_FILL, LABEL_FONT, NOTE_FONT, TITLE_FONT, VALUE_FONT

    s = book.sheet(TITLE)
    ws = s.ws
    s.text("A1", TITLE, font=TITLE_FONT)
    for i, (field, name, label, fmt, note) in enumerate(SETTINGS_CELLS):
        row = i + schema.SETTINGS_FIRST_ROW
        s.text(f"A{row}", label, font=LABEL_FONT)
        v = getattr(book.settings, field)
        if isinstance(v, str):
            s.text(f"B{row}", v, fill=INPUT_FILL, font=VALUE_FONT)
        else:
            s.value(f"B{row}", v, fmt=fmt, fill=INPUT_FILL, font=VALUE_FONT)
        s.text(f"C{row}", note, font=NOTE_FONT)
        book.wb.defined_names[name] = DefinedName(name, attr_text=f"Settings!$B${row}")
        if field in STATED and v == Settings.model_fields[field].default:
            mark = f'"{v}"' if isinstance(v, str) else repr(float(v))
            book.wb.defined_names[default_mark(name)] = DefinedName(default_mark(name), attr_text=mark, hidden=True)
        ws.add_data_validation(validation(field, f"B{row}"))
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 64
