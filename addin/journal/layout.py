"""What every sheet module shares: the build context (:class:`Book`), cell helpers that record cached
values (:class:`Sheet`), the journal's fonts and fills, and date serials."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.styles import Font, PatternFill, Side
from openpyxl.styles.borders import Border

from . import schema

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

TITLE_FONT = Font(bold=True, size=16, color="1F3864")
HEAD_FONT = Font(bold=True, color="FFFFFF")
HEAD_FILL = PatternFill("solid", fgColor="1F3864")
CALC_HEAD_FILL = PatternFill("solid", fgColor="2E75B6")
SECTION_FONT = Font(bold=True, size=12, color="1F3864")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
LABEL_FONT = Font(color="404040")
NOTE_FONT = Font(italic=True, color="808080", size=9)
VALUE_FONT = Font(bold=True)
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(bottom=THIN)
RED = (PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE"), Font(color="9C0006", bold=True))
AMBER = (PatternFill("solid", fgColor="FFEB9C", bgColor="FFEB9C"), Font(color="9C5700", bold=True))
GREEN = (PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE"), Font(color="006100", bold=True))
NO_ADDIN = "needs the add-in"  # what an add-in cell shows where the add-in is not loaded
_EMU_PX = 9525


def clean_text(s: str) -> str:
    """A string as it can be stored in XML (control characters dropped)."""
    return _ILLEGAL.sub("", s)


excel_serial = schema.serial  # the Excel date serial of a date or datetime


def format_source(src) -> str:
    """``SourceRef`` as the Source column shows it (``str(SourceRef)``: file, section, row)."""
    return str(src)


def guarded(call: str) -> str:
    """An add-in call that shows :data:`NO_ADDIN` instead of #NAME? where the add-in is not loaded
    (LibreOffice, Excel on the web without Lite, a colleague's Excel). The add-in's functions
    return their messages as text, so the only errors left are those of a missing add-in."""
    return f'IFERROR({call},"{NO_ADDIN}")'


@dataclass
class Book:
    """Everything a sheet module needs to build its sheet: the workbook, the data, and the cached
    values of formula cells by sheet title (spliced into the package after openpyxl saves)."""
    wb: object
    settings: object
    instruments: list
    cols: dict            # the Trades table column by column, calculated columns included
    n: int                # number of trades
    cash: list            # BalanceEvent rows in Cash table order
    cash_from: float      # CashFrom: the first trade's open time (serial), 0 without trades
    rejected: list
    cache: dict = field(default_factory=dict)
    trades: list = field(default_factory=list)  # the Trade objects, in row order (the Account sheet's marks)
    account: object = None  # the Account sheet's figures, once built (the Planner shows a plan among them)
    # What the trader typed on the summary sheets, which a rebuild keeps (see addin/fill/summary.py):
    # "pick" the Dashboard's trade, "keys" {Stats section title: key rows}, "years" monthly grid rows,
    # "marks" {Trade ID upper: mark price}, "plan" {Planner input label: value}; and for a layout of
    # a given shape only, "positions" (count) and "currencies" (count of exposure rows).
    inputs: dict = field(default_factory=dict)

    def sheet(self, title: str) -> "Sheet":
        return Sheet(self.wb[title], self.cache)


class Sheet:
    """A worksheet plus the cached values of its formula cells."""

    def __init__(self, ws, cache: dict):
        self.ws = ws
        self.cache = cache.setdefault(ws.title, {})

    def text(self, coord: str, value: str | None, **style):
        cell = self.ws[coord]
        if value is not None and value != "":
            cell.value = clean_text(str(value))
            cell.data_type = "s"  # never a formula, whatever it starts with
        style_cell(cell, **style)
        return cell

    def value(self, coord: str, value, **style):
        cell = self.ws[coord]
        cell.value = value
        style_cell(cell, **style)
        return cell

    def formula(self, coord: str, formula: str, cached, **style):
        cell = self.ws[coord]
        cell.value = "=" + formula
        self.cache[coord] = cached
        style_cell(cell, **style)
        return cell


def style_cell(cell, fmt=None, font=None, fill=None, align=None, border=None):
    if fmt:
        cell.number_format = fmt
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    if align:
        cell.alignment = align
    if border:
        cell.border = border


def span(col0: int, off0_px: int, row0: int, col1: int, off1_px: int, row1: int) -> TwoCellAnchor:
    """A drawing anchored to cells at both corners, so it keeps to its columns whatever their pixel
    width in the application that draws it (Excel and LibreOffice measure characters differently)."""
    return TwoCellAnchor(_from=AnchorMarker(col=col0, colOff=off0_px * _EMU_PX, row=row0, rowOff=0),
                         to=AnchorMarker(col=col1, colOff=off1_px * _EMU_PX, row=row1, rowOff=0))


def fit_width(ws, orientation: str, print_area: str | None = None, fit_height: int = 0) -> None:
    """Print setup: one page wide (``fit_height`` pages tall, 0 = as many as needed)."""
    if print_area:
        ws.print_area = print_area
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = fit_height
    ws.sheet_properties.pageSetUpPr.fitToPage = True
