"""What every sheet module shares: the build context (:class:`Book`), cell helpers that record cached
values (:class:`Sheet`), the journal's fonts and fills, and date serials."""

from __future__ import annotations

import heapq
import math
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
        if isinstance(cached, bool) and style.get("fmt") in (None, "General"):
            # Excel shows a boolean as TRUE/FALSE whatever the format; LibreOffice shows a formula's
            # boolean result under "General" as 1/0 (it keeps no boolean type in a cell), so the cell
            # carries the format that spells it in both.
            style["fmt"] = schema.BOOL
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


# Column widths from what the cells show --------------------------------------------------------------

# Advance widths of DejaVu Sans (units per em 2048), the font LibreOffice falls back to when
# Calibri (and its metric twin Carlito) is not installed, and wider than both: a column wide enough
# for it is wide enough for Calibri in Excel. Column widths count the width of the digit "0" (1303).
_ADVANCE = {**dict.fromkeys("0123456789$", 1303), " ": 651, ".": 651, ",": 651, ":": 690, ";": 690, "-": 739,
            "(": 799, ")": 799, "/": 690, "%": 1946, "'": 563, '"': 942, "_": 1024, "+": 1716, "=": 1716,
            "!": 821, "?": 1087, "&": 1595, "#": 1716, "@": 2048, "[": 799, "]": 799, "|": 690, "x": 1212,
            "a": 1255, "b": 1300, "c": 1126, "d": 1300, "e": 1260, "f": 721, "g": 1300, "h": 1298, "i": 569,
            "j": 569, "k": 1186, "l": 569, "m": 1995, "n": 1298, "o": 1253, "p": 1300, "q": 1300, "r": 842,
            "s": 1067, "t": 803, "u": 1298, "v": 1212, "w": 1675, "y": 1212, "z": 1075,
            "A": 1401, "B": 1405, "C": 1430, "D": 1577, "E": 1294, "F": 1178, "G": 1587, "H": 1540, "I": 604,
            "J": 604, "K": 1343, "L": 1141, "M": 1767, "N": 1532, "O": 1612, "P": 1235, "Q": 1612, "R": 1423,
            "S": 1300, "T": 1251, "U": 1499, "V": 1401, "W": 2025, "X": 1403, "Y": 1251, "Z": 1403}
_DIGIT = 1303
_BOLD = 1.1  # DejaVu Sans Bold is about a tenth wider


def text_width(text: str, bold: bool = False, size: float = 11) -> float:
    """The width of ``text`` in column-width units (widths of the digit 0 in the 11-point default font)."""
    w = sum(_ADVANCE.get(ch, 1400) for ch in text) / _DIGIT
    return w * (size / 11) * (_BOLD if bold else 1)


def _decimals(section: str) -> tuple[int, int]:
    """(fixed, optional) decimals of one number-format section."""
    if "." not in section:
        return 0, 0
    dec = re.match(r"[0#]*", section.split(".", 1)[1]).group(0)
    return dec.count("0"), dec.count("#")


def rendered(value, fmt: str | None) -> str:
    """The text a number shows under the journal's number formats (thousands separators, fixed and
    optional decimals, %, a quoted prefix or suffix; General as up to 11 characters): for widths."""
    if isinstance(value, bool):
        return "FALSE" if not value else "TRUE"
    if not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    fmt = fmt or "General"
    if fmt == "General" or fmt == "@":
        text = f"{value:.10g}"
        return text if len(text) <= 11 else f"{value:.6g}"
    section = fmt.split(";")[0]
    if re.search(r"[ymdh]", re.sub(r'"[^"]*"', "", section)):
        return "2025-12-31 23:59" if "h" in section else "2025-12-31"
    lit = re.findall(r'"([^"]*)"', section)
    core = re.sub(r'"[^"]*"', "", section)
    v = value * 100 if "%" in core else value
    fixed, optional = _decimals(core)
    text = f"{abs(v):,.{fixed + optional}f}" if "," in core else f"{abs(v):.{fixed + optional}f}"
    if optional and "." in text:
        head, tail = text.split(".")
        tail = tail[:fixed] + tail[fixed:].rstrip("0")
        text = head + ("." + tail if tail else "")
    return ("-" if v < 0 else "") + "".join(lit[:1] if section.startswith('"') else []) + text + \
        ("%" if "%" in core else "") + ("".join(lit) if not section.startswith('"') else "".join(lit[1:]))


# The widest value a column of each number format is expected to show, beside those it holds: a fill
# adds trades to a journal without laying its columns out again, so a column is wide enough for the
# figures of an account of up to about 2 million in its currency (balances, notionals), prices up to
# 99,999 with 5 decimals, leverage up to 1000, and the journal's own messages where they fit.
PLAUSIBLE = {
    schema.MONEY: -1999999.99, schema.PRICE: 99999.12345, schema.POINT: 100000.1234, schema.PCT: -1.0,
    schema.LEVERAGE: 1000.25, schema.LEVERAGE_X: 1000.25, schema.FX: 150.123456, "General": 1234567,
    '0.0"x"': -1000.5, "0.0%": -1.0, "0.00": -999.99, "#,##0.0": 999999.9, "#,##0": -1999999, "0": 99999,
    schema.BOOL: False, schema.DATE: 45000.5, "yyyy-mm-dd": 45000, "0%": 1.0,
}


def plausible_width(fmt: str | None, bold: bool = False, size: float = 11) -> float:
    """The width the widest expected value of the number format ``fmt`` needs (:data:`PLAUSIBLE`)."""
    v = PLAUSIBLE.get(fmt or "General")
    return 0.0 if v is None else needed_width(v, fmt, bold, size)


def needed_width(value, fmt: str | None, bold: bool = False, size: float = 11) -> float:
    """The column width a cell needs to show ``value`` whole: its text plus a character of padding."""
    return text_width(rendered(value, fmt), bold, size) + 1.2


def column_widths(ws, cache: dict) -> dict[int, float]:
    """{column (1-based): the width its widest cell needs} over the cells of ``ws`` that would show
    ### or be cut: every number (and every formula cell of a number format, at its
    :data:`PLAUSIBLE` value too), and text with a non-empty cell to its right (text with an empty
    cell to its right runs on over it). ``cache``: the cached values of formula cells by coordinate.
    Merged and wrapping cells are left out."""
    merged = {c for rng in ws.merged_cells.ranges for c in rng.cells}
    need: dict[int, float] = {}
    for row in ws.iter_rows():
        for cell in row:
            ref = cell.coordinate
            v = cache.get(ref, cell.value)
            if v is None or (cell.row, cell.column) in merged:
                continue
            if isinstance(v, str) and v.startswith("=") and ref not in cache:
                continue
            if cell.alignment is not None and cell.alignment.wrap_text:
                continue
            font = cell.font
            bold, size = bool(font and font.b), float(font.sz or 11) if font else 11
            numeric = ref in cache and cell.number_format not in ("@", "General")
            w = plausible_width(cell.number_format, bold, size) if numeric else 0.0
            if isinstance(v, str) and v:
                right = ws._cells.get((cell.row, cell.column + 1))  # not ws.cell(): that would add a cell
                if right is not None and (right.value not in (None, "") or right.coordinate in cache):
                    w = max(w, needed_width(v, "@", bold, size))
            elif not isinstance(v, str):
                w = max(w, needed_width(v, cell.number_format, bold, size))
            if w:
                need[cell.column] = max(need.get(cell.column, 0), w)
    return need


def values_width(values, fmt: str | None) -> float:
    """The width the widest of ``values`` (a column's cells) needs under ``fmt``, in one pass over
    the numbers (the widest number is the largest in size with the most decimals the format shows)
    and the longest texts: fast enough for 100,000 rows."""
    nums, texts = [], []
    num, txt = nums.append, texts.append
    for v in values:
        t = type(v)
        if t is float or t is int:
            num(v)
        elif t is str:
            txt(v)
    w = 0.0
    if nums:
        lo, hi = min(nums), max(nums)
        big = max(abs(lo), abs(hi))
        probe = math.floor(big) + (0.123456789 if big < 1 or any(v != int(v) for v in nums[:1000]) else 0)
        w = needed_width(-probe if lo < 0 else probe, fmt)
    if fmt == schema.BOOL:
        w = max(w, needed_width(False, fmt))
    for t in heapq.nlargest(5, texts, key=len):
        w = max(w, needed_width(t, "@"))
    return w


_COL = re.compile(r'<((?:\w+:)?)col\b([^>]*?)/?>(?:</(?:\w+:)?col>)?')


def widen_cols_xml(xml: str, widths: dict[int, float], cap: float = 60) -> str:
    """The sheet XML ``xml`` with each column of ``widths`` {1-based column: width} at least that
    wide (never narrower; at most ``cap``): its ``<col>`` range split where needed, or a ``<cols>``
    added before ``<sheetData>``."""
    widths = {c: round(min(w, cap), 1) for c, w in widths.items() if w > 0}
    if not widths:
        return xml
    m = re.search(r'<((?:\w+:)?)cols>(.*?)</(?:\w+:)?cols>', xml, re.S)
    prefix = m.group(1) if m else (re.search(r'<((?:\w+:)?)sheetData\b', xml).group(1))
    spans = []
    for c in _COL.finditer(m.group(2) if m else ""):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', c.group(2)))
        spans.append(attrs)
    out = []
    for attrs in spans:
        lo, hi = int(attrs["min"]), int(attrs["max"])
        width = float(attrs.get("width", 8.43))
        cut = [c for c in range(lo, hi + 1) if widths.get(c, 0) > width]
        if not cut:
            out.append(attrs)
            continue
        for c in range(lo, hi + 1):
            a = dict(attrs, min=str(c), max=str(c))
            if c in cut:
                a.update(width=repr(widths[c]), customWidth="1")
            out.append(a)
        for c in cut:
            widths.pop(c)
    for c, w in widths.items():
        if not any(int(a["min"]) <= c <= int(a["max"]) for a in out):
            out.append({"min": str(c), "max": str(c), "width": repr(w), "customWidth": "1"})
    out.sort(key=lambda a: int(a["min"]))
    # merge back runs of single columns with the same attributes would change nothing Excel reads
    body = "".join(f'<{prefix}col ' + " ".join(f'{k}="{v}"' for k, v in a.items()) + "/>" for a in out)
    block = f"<{prefix}cols>{body}</{prefix}cols>"
    if m:
        return xml[:m.start()] + block + xml[m.end():]
    at = re.search(r'<(?:\w+:)?sheetData\b', xml).start()
    return xml[:at] + block + xml[at:]
