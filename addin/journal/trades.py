"""The Trades sheet: an Excel table, one row per trade, the columns of :mod:`.columns`.

openpyxl writes the header, one prototype row of styled cells (whose style ids the rows reuse), the
table, print setup and conditional formats; :func:`write_part` then streams every data row into the
sheet's XML after openpyxl has serialised the package (its normal mode would hold every cell in
memory, slow for 100,000 trades), each cell with its style, formula and cached value.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from xml.sax.saxutils import escape

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo

from ..statements.model import Trade
from . import columns as C
from .columns import COLUMNS, letter
from .instruments import Instrument, lookup
from .layout import AMBER, CALC_HEAD_FILL, HEAD_FILL, HEAD_FONT, RED, Book, clean_text, excel_serial, fit_width, format_source

TITLE = C.schema.TRADES_SHEET
_PROTO = re.compile(r'<c r="([A-Z]+)2"( s="\d+")?')
# Excel marks a text cell holding digits ("number stored as text"); the Trades sheet's id columns
# hold such text on purpose, so the sheet tells Excel to ignore that check there, on every row the
# table can ever reach (a fill that grows the table keeps the element as it is).
TEXT_ID_COLUMNS = ("Trade ID", "Account")
HEADER_CHARS_PER_LINE_SLACK = 2  # a bold header needs about this many characters more than its word


def trade_cells(t: Trade, instruments: Sequence[Instrument] | None, _found: dict | None = None) -> dict[str, object]:
    """A trade's cells by column name, as the journal writes them: the one conversion of a
    :class:`Trade` into cell values, used by the fill and by :func:`input_columns` (``_found``:
    symbol -> Instrument key, a cache the caller keeps). Dates are Excel serials, text has no
    control characters (as the cell is written: every later reader sees the same), Source is
    ``str(SourceRef)``, Flags joined with "; ", an empty text is None."""
    out: dict[str, object] = {}
    for col in C.INPUTS + C.TRAILING:
        if not col.field:
            continue
        v = getattr(t, col.field)
        if col.field == "source":
            v = format_source(v)
        elif col.field == "flags":
            v = "; ".join(v)
        if col.kind == "date" and v is not None:
            v = excel_serial(v)
        elif isinstance(v, str):
            v = clean_text(v)
        out[col.name] = None if v == "" else v
    found = {} if _found is None else _found
    if t.symbol not in found:
        inst = lookup(t.symbol, instruments)
        found[t.symbol] = inst.symbol if inst else None
    out["Instrument"] = found[t.symbol]
    return out


def input_columns(trades: Sequence[Trade], instruments: Sequence[Instrument]) -> dict[str, list]:
    """The input columns as lists of cell values (None for empty): each trade's :func:`trade_cells`
    (what the fill writes for it), ``No.`` 1..n in the given order, the trader's own columns
    (Setup, Tags...) empty."""
    cols: dict[str, list] = {c.name: [] for c in C.INPUTS + C.TRAILING}
    found: dict[str, str | None] = {}
    for k, t in enumerate(trades):
        cells = trade_cells(t, instruments, found)
        for name, values in cols.items():
            values.append(k + 1 if name == "No." else cells.get(name))
    return cols


def header_width(col: C.Column) -> float:
    """The column's width, widened so its header wraps between words, never inside one."""
    longest = max(len(w) for w in col.name.split())
    return max(col.width, longest + HEADER_CHARS_PER_LINE_SLACK)


def header_lines(col: C.Column) -> int:
    """Lines the header takes when wrapped at word boundaries in :func:`header_width`."""
    width = header_width(col) - HEADER_CHARS_PER_LINE_SLACK
    lines, used = 1, 0
    for w in col.name.split():
        if used and used + 1 + len(w) > width:
            lines, used = lines + 1, len(w)
        else:
            used += (1 if used else 0) + len(w)
    return lines


def build(book: Book) -> None:
    ws = book.wb[TITLE]
    n = book.n
    last = letter(len(COLUMNS) - 1)
    nrows = max(n, 1) + 1
    for j, col in enumerate(COLUMNS):
        cell = ws.cell(row=1, column=j + 1, value=col.name)
        cell.data_type = "s"
        cell.font = HEAD_FONT
        cell.fill = HEAD_FILL if col.kind != "calc" else CALC_HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        proto = ws.cell(row=2, column=j + 1)
        proto.number_format = col.number_format
        if col.kind == "calc":
            proto.fill = PatternFill("solid", fgColor="F2F2F2")
            if col.number_format in ("@", C.BOOL):
                proto.alignment = Alignment(horizontal="center")
        ws.column_dimensions[letter(j)].width = header_width(col)
    ws.row_dimensions[1].height = 15 * max(header_lines(c) for c in COLUMNS) + 3
    ws.freeze_panes = "C2"
    ref = f"A1:{last}{nrows}"
    table = Table(displayName=C.TABLE, ref=ref,
                  tableStyleInfo=TableStyleInfo(name="TableStyleLight9", showRowStripes=True))
    table.tableColumns = [
        TableColumn(id=j + 1, name=col.name,
                    calculatedColumnFormula=TableFormula(attr_text=C.formula(col)) if col.kind == "calc" else None)
        for j, col in enumerate(COLUMNS)]
    table.autoFilter = AutoFilter(ref=ref)
    ws.add_table(table)

    def rng(name: str) -> tuple[str, str]:
        x = letter(C.INDEX[name])
        return f"{x}2:{x}{nrows}", f"${x}2"
    # The boolean columns carry the number format '"TRUE";"TRUE";"FALSE"' (columns.BOOL): with
    # "General", LibreOffice 7.4 shows FALSE as 0 and aborts (signal 6) printing a sheet whose
    # conditional format refers to such cells. The rule tests the value as a boolean explicitly.
    for name in ("Stop beyond stop-out", "Over cap"):
        r, a = rng(name)
        ws.conditional_formatting.add(r, FormulaRule(formula=[f"AND(ISLOGICAL({a}),N({a})=1)"], fill=RED[0], font=RED[1]))
    r, a = rng("Risk %")
    ws.conditional_formatting.add(r, FormulaRule(formula=[f"AND(ISNUMBER({a}),{a}>2*RiskPerTrade)"], fill=RED[0], font=RED[1]))
    ws.conditional_formatting.add(r, FormulaRule(formula=[f"AND(ISNUMBER({a}),{a}>RiskPerTrade)"], fill=AMBER[0], font=AMBER[1]))
    r, a = rng("Leverage source")
    # Amber: a leverage nobody stated ("assumed: ...") or a symbol missing from Instruments.
    ws.conditional_formatting.add(r, FormulaRule(formula=[f'OR(LEFT({a},{len(C.ASSUMED)})="{C.ASSUMED}",'
                                                          f'ISNUMBER(SEARCH("not in Instruments",{a})))'],
                                                 fill=AMBER[0], font=AMBER[1]))
    fit_width(ws, "landscape")
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.3
    ws.page_margins.top = ws.page_margins.bottom = 0.4


# The rows, streamed ------------------------------------------------------------------------------

def _cell_xml(ref: str, style: str, v) -> str:
    if v is None:
        return f'<c r="{ref}"{style}/>'
    if isinstance(v, str):
        return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{escape(clean_text(v))}</t></is></c>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (datetime, date)):
        return f'<c r="{ref}"{style}><v>{excel_serial(v)!r}</v></c>'
    return f'<c r="{ref}"{style}><v>{float(v)!r}</v></c>'


def _formula_xml(ref: str, style: str, f: str, v) -> str:
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><f>{f}</f><v>{int(v)}</v></c>'
    if isinstance(v, str):
        return f'<c r="{ref}"{style} t="str"><f>{f}</f><v>{escape(clean_text(v))}</v></c>'
    return f'<c r="{ref}"{style}><f>{f}</f><v>{float(v)!r}</v></c>'


def rows_xml(cols: dict[str, list], n: int, styles: list[str]) -> Iterable[str]:
    """The Trades sheet's data rows as XML, row 2 onwards; at least one (blank) row."""
    letters = [letter(i) for i in range(len(COLUMNS))]
    fixed = {c.name: escape(C.formula(c)) for c in C.CALCS}
    running = C.RUNNING
    data = [cols[c.name] for c in COLUMNS]
    kinds = [c.kind for c in COLUMNS]
    names = [c.name for c in COLUMNS]
    for r in range(max(n, 1)):
        row = r + 2
        parts = [f'<row r="{row}">']
        for j, kind in enumerate(kinds):
            ref = f"{letters[j]}{row}"
            if kind == "calc":
                f = escape(C.row_formula(COLUMNS[j], row)) if names[j] in running else fixed[names[j]]
                v = data[j][r] if n else ""
                parts.append(_formula_xml(ref, styles[j], f, v))
            else:
                parts.append(_cell_xml(ref, styles[j], data[j][r] if n else None))
        parts.append("</row>")
        yield "".join(parts)


def id_match(key: str, ids: str) -> str:
    """A MATCH of the Trade ID ``key`` (a cell) in the id column ``ids`` that finds the row whether
    the id was typed as text or as a number: an exact match first, then the key converted, a number
    to its digits (TEXT(key,"0"), the same in every locale; ids are integers or text) and a text to
    its number (--key). #N/A when no row has it.

    >>> id_match("B3", "Trades[Trade ID]")
    'IFERROR(MATCH(B3,Trades[Trade ID],0),IFERROR(MATCH(IF(ISNUMBER(B3),TEXT(B3,"0"),--B3),Trades[Trade ID],0),NA()))'
    """
    return (f'IFERROR(MATCH({key},{ids},0),IFERROR(MATCH(IF(ISNUMBER({key}),TEXT({key},"0"),--{key}),{ids},0),'
            f'NA()))')


def id_text(v: object) -> str:
    """The text of a Trade ID: a number typed as 12345 (read back as 12345.0) is "12345".

    >>> id_text(12345.0), id_text("ab-1")
    ('12345', 'ab-1')
    """
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def id_key(v: object) -> str:
    """A Trade ID as :func:`id_match` compares it: its :func:`id_text`, any case.

    >>> id_key(12345.0), id_key("ab-1")
    ('12345', 'AB-1')
    """
    return id_text(v).upper()


def ignored_errors_xml() -> str:
    """The ``<ignoredErrors>`` element: no "number stored as text" mark on the id columns, rows 2 to
    Excel's last row."""
    sqref = " ".join(f"{letter(C.INDEX[h])}2:{letter(C.INDEX[h])}1048576" for h in TEXT_ID_COLUMNS)
    return f'<ignoredErrors><ignoredError sqref="{sqref}" numberStoredAsText="1"/></ignoredErrors>'


# The elements of a worksheet that come after <ignoredErrors> (ECMA-376 CT_Worksheet order).
_AFTER_IGNORED = re.compile(r"<(?:smartTags|drawing|legacyDrawing|legacyDrawingHF|drawingHF|picture|oleObjects|"
                            r"controls|webPublishItems|tableParts|extLst)\b|</worksheet>")


def with_ignored_errors(tail: str) -> str:
    """The sheet XML after ``</sheetData>`` with :func:`ignored_errors_xml` in its place (replacing
    one already there)."""
    tail = re.sub(r"<ignoredErrors>.*?</ignoredErrors>|<ignoredErrors/>", "", tail, flags=re.S)
    m = _AFTER_IGNORED.search(tail)
    return tail[:m.start()] + ignored_errors_xml() + tail[m.start():]


def write_part(out: zipfile.ZipFile, zi: zipfile.ZipInfo, xml: str, cols: dict[str, list], n: int) -> None:
    """Write the Trades sheet part: openpyxl's XML with its ``<sheetData>`` replaced by the rows."""
    start = xml.index("<sheetData>")
    end = xml.index("</sheetData>") + len("</sheetData>")
    body = xml[start:end]
    styles = [""] * len(COLUMNS)
    for m in _PROTO.finditer(body):
        styles[_col_index(m.group(1))] = m.group(2) or ""
    header = body[body.index('<row r="1"'):body.index("</row>") + len("</row>")]
    head = xml[:start]
    last = letter(len(COLUMNS) - 1)
    head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}{max(n, 1) + 1}"/>', head)
    with out.open(zi, "w") as fh:
        fh.write(head.encode("utf-8"))
        fh.write(b"<sheetData>")
        fh.write(header.encode("utf-8"))
        chunk: list[str] = []
        for row in rows_xml(cols, n, styles):
            chunk.append(row)
            if len(chunk) >= 500:
                fh.write("".join(chunk).encode("utf-8"))
                chunk = []
        if chunk:
            fh.write("".join(chunk).encode("utf-8"))
        fh.write(b"</sheetData>")
        fh.write(with_ignored_errors(xml[end:]).encode("utf-8"))


def _col_index(letters: str) -> int:
    k = 0
    for ch in letters:
        k = k * 26 + ord(ch) - 64
    return k - 1
