"""The Caps sheet: the regulators' retail leverage caps, generated from :mod:`addin.risk.caps` (one
source of truth), as tables the Trades formulas look up natively.

``Caps``: one row per rule (Regime, Class, Max leverage -- "barred" where the product is barred for
retail clients --, In force from, Source, Key = Regime|Class), sorted by regime, class and date, so
the rule in force on a day is the k-th row of its key, k = the number of its rules in force by then.
``FXMajors``: the currencies each regime counts as major (a pair is FX_MAJOR when both legs are),
derived from :func:`addin.risk.limits.classify` itself. ``FXCurrencies``: the ISO codes an FX pair is
made of. The Regulator NONE (offshore broker or professional client) has no rows in either: no retail
cap applies under it. Editing these tables changes the journal's caps; ``python -m addin template`` regenerates them.
"""

from __future__ import annotations

from datetime import date

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..risk.caps import CAPS, CURRENCIES, NO_CAP_REGIME, NO_CAP_WHO
from ..risk.limits import REGIMES, classify
from . import columns as C
from .layout import HEAD_FILL, HEAD_FONT, NOTE_FONT, TITLE_FONT, Book, excel_serial, fit_width

TITLE = C.schema.CAPS_SHEET
BARRED = "barred"
CAP_COLUMNS = (("Regime", 9), ("Class", 13), ("Max leverage", 10), ("In force from", 12), ("Source", 70),
               ("Key", 20))


def cap_rows() -> list[tuple[str, str, float | str, float, str, str]]:
    """(regime, class, cap or "barred", in force from as a date serial, source, key), table order."""
    rows = sorted(CAPS, key=lambda r: (r[0], r[1], r[3]))
    return [(reg, cls, BARRED if cap is None else float(cap), excel_serial(date.fromisoformat(since)), src,
             f"{reg}|{cls}") for reg, cls, cap, since, src in rows]


def major_rows() -> list[tuple[str, str]]:
    """(regime, currency) for every currency the regime's :func:`classify` counts as major."""
    out = []
    for reg in REGIMES:
        for c in sorted(CURRENCIES):
            other = "EUR" if c == "USD" else "USD"
            if classify(reg, c + other) == "FX_MAJOR" and classify(reg, other + c) == "FX_MAJOR":
                out.append((reg, c))
    return out


def _table(s, name: str, col0: int, heads, rows, top: int = 3) -> None:
    ws = s.ws
    for j, (head, width) in enumerate(heads):
        x = get_column_letter(col0 + j)
        s.text(f"{x}{top}", head, font=HEAD_FONT, fill=HEAD_FILL)
        ws.column_dimensions[x].width = width
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            coord = f"{get_column_letter(col0 + j)}{top + 1 + i}"
            if isinstance(v, str):
                s.text(coord, v)
            else:
                s.value(coord, v, fmt="yyyy-mm-dd" if heads[j][0] == "In force from" else "General")
    ref = f"{get_column_letter(col0)}{top}:{get_column_letter(col0 + len(heads) - 1)}{top + max(len(rows), 1)}"
    ws.add_table(Table(displayName=name, ref=ref,
                       tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True)))


def build(book: Book) -> None:
    s = book.sheet(TITLE)
    s.text("A1", "Retail leverage caps by regulator", font=TITLE_FONT)
    s.text("A2", "Generated from addin/risk/caps.py; Trades looks up the Regulator setting's row in force on each "
           f"trade's open day. {NO_CAP_REGIME} ({NO_CAP_WHO}) has no rows: no retail leverage cap applies.",
           font=NOTE_FONT)
    caps = cap_rows()
    _table(s, C.CAPS_TABLE, 1, CAP_COLUMNS, caps)
    majors = major_rows()
    s.ws.column_dimensions["G"].width = 3
    _table(s, C.MAJORS_TABLE, 8, (("Regime", 9), ("Currency", 9)), majors)
    s.ws.column_dimensions["J"].width = 3
    _table(s, C.CURRENCY_TABLE, 11, (("Currency", 9),), [(c,) for c in sorted(CURRENCIES)])
    last = 3 + max(len(caps), len(majors), len(CURRENCIES))
    fit_width(s.ws, "landscape", f"A1:K{last}")
    s.ws.freeze_panes = "A4"
