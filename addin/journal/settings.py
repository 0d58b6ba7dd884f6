"""The journal's account settings: one pydantic model, one named cell per field on the Settings sheet.

Every formula that needs an account-wide figure reads it through its defined name
(``AccountCurrency``, ``StartingBalance``, ``AccountLeverage``, ``Regulator``, ``RiskPerTrade``,
``StopOutLevel``, ``MaxDrawdown``), so a user edits the figure once on the Settings sheet.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..risk.limits import REGIMES


class Settings(BaseModel):
    """Account-wide settings of a journal. Rates are fractions: 1% risk per trade is 0.01."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_currency: str = "USD"
    starting_balance: float = Field(default=10_000.0, gt=0)
    account_leverage: float = Field(default=30.0, gt=0)
    regulator: str = "ESMA"
    risk_per_trade: float = Field(default=0.01, gt=0, lt=1)
    stop_out_level: float = Field(default=0.5, ge=0, lt=1)
    max_drawdown: float = Field(default=0.2, gt=0, lt=1)


# (field, defined name, label, number format, note) in sheet order.
SETTINGS_CELLS: tuple[tuple[str, str, str, str, str], ...] = (
    ("account_currency", "AccountCurrency", "Account currency", "@", "ISO code of the account's currency"),
    ("starting_balance", "StartingBalance", "Starting balance", "#,##0.00", "balance before the first trade, account currency"),
    ("account_leverage", "AccountLeverage", "Account leverage", "0.##", "used where a trade has no leverage of its own, e.g. 30 for 1:30"),
    ("regulator", "Regulator", "Regulator", "@", "regime for leverage caps: " + ", ".join(REGIMES)),
    ("risk_per_trade", "RiskPerTrade", "Risk per trade", "0.00%", "fraction of equity you accept to lose per trade"),
    ("stop_out_level", "StopOutLevel", "Stop-out level", "0%", "margin level at which the broker closes positions (ESMA: 50%)"),
    ("max_drawdown", "MaxDrawdown", "Largest accepted drawdown", "0%", "fall from the peak you accept before stopping"),
)


# The Settings sheet -------------------------------------------------------------------------------

TITLE = "Settings"


def build(book) -> None:
    """One named input cell per setting, with its label and a note."""
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    from .layout import INPUT_FILL, LABEL_FONT, NOTE_FONT, TITLE_FONT, VALUE_FONT

    s = book.sheet(TITLE)
    ws = s.ws
    s.text("A1", "Settings", font=TITLE_FONT)
    for i, (field, name, label, fmt, note) in enumerate(SETTINGS_CELLS):
        row = i + 3
        s.text(f"A{row}", label, font=LABEL_FONT)
        v = getattr(book.settings, field)
        if isinstance(v, str):
            s.text(f"B{row}", v, fill=INPUT_FILL, font=VALUE_FONT)
        else:
            s.value(f"B{row}", v, fmt=fmt, fill=INPUT_FILL, font=VALUE_FONT)
        s.text(f"C{row}", note, font=NOTE_FONT)
        book.wb.defined_names[name] = DefinedName(name, attr_text=f"Settings!$B${row}")
        if field == "regulator":
            dv = DataValidation(type="list", formula1='"' + ",".join(REGIMES) + '"', allow_blank=False)
            ws.add_data_validation(dv)
            dv.add(f"B{row}")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 64
