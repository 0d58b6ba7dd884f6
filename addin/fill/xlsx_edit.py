"""Reading and editing an .xlsx package at the zip/XML level, leaving every other part byte-for-byte.

A journal is a zip of XML parts. The fill changes only what a statement owns (the Trades sheet's
rows and its table definition, the Cash and Rejected rows, the hidden ledger, cached values); every
other part -- charts, images, pivot tables, VBA, slicers, comments, defined names, the trader's
sheets, column widths, freeze panes -- is copied unchanged, so nothing the trader built is lost.

Cells are read with regular expressions over the sheet XML, row by row (a row is a ``<row>``
element; a cell ``<c r="B7" s="3" t="s"><v>12</v></c>``). A sheet is streamed in chunks, so a
Trades sheet of 100,000 rows (about 800 MB of XML) is never held in memory whole. Cells written by
the fill are inline strings or numbers with the style of the cell they replace (or of the last data
row, for appended rows), so the shared-string table and the styles part stay as they were.
"""

from __future__ import annotations

import codecs
import html
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from xml.sax.saxutils import escape

from lxml import etree

from ..journal import schema
from ..journal.layout import clean_text

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_SHEET = NS_R + "/worksheet"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


class NotAJournal(Exception):
    """The file is not an .xlsx, or not a journal (no Trades table), or cannot be edited safely."""


# Cells ---------------------------------------------------------------------------------------------

_CELL = re.compile(r'<((?:\w+:)?)c\b([^>]*?)(?:/>|>(.*?)</\1c>)', re.S)
_V = re.compile(r'<(?:\w+:)?v>(.*?)</(?:\w+:)?v>', re.S)
_F = re.compile(r'<((?:\w+:)?)f\b[^>]*?(?:/>|>.*?</\1f>)', re.S)
_T = re.compile(r'<(?:\w+:)?t\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?t>)', re.S)
_RPH = re.compile(r'<((?:\w+:)?)rPh\b.*?</\1rPh>', re.S)
_REF = re.compile(r'^\$?([A-Z]{1,3})\$?(\d+)$')


col_index = schema.column_index   # "AA" -> 26 (0-based)
col_letter = schema.letter        # 26 -> "AA"


def split_ref(ref: str) -> tuple[int, int]:
    """(0-based column, 1-based row) of "B7"."""
    m = _REF.match(ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return col_index(m.group(1)), int(m.group(2))


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """(min col, min row, max col, max row) of "A1:AW42", columns 0-based."""
    a, _, b = ref.partition(":")
    c0, r0 = split_ref(a)
    c1, r1 = split_ref(b or a)
    return c0, r0, c1, r1


_LETTERS: dict[str, int] = {}
_ATTR_S = re.compile(r'\bs="(\d+)"')
_ATTR_R = re.compile(r'\br="([A-Z]+)\d+"')


class Cell:
    """One ``<c>`` element of a row: its column, its XML as found, and its value on demand."""

    __slots__ = ("col", "text", "attr_text", "inner")

    def __init__(self, col: int, text: str, attr_text: str, inner: str | None):
        self.col, self.text, self.attr_text, self.inner = col, text, attr_text, inner

    @property
    def ref(self) -> str | None:
        m = re.search(r'\br="([^"]*)"', self.attr_text)
        return m.group(1) if m else None

    @property
    def style(self) -> str | None:
        m = _ATTR_S.search(self.attr_text)
        return m.group(1) if m else None

    @property
    def kind(self) -> str:
        a = self.attr_text
        i = a.find(' t="')
        if i < 0:
            return "n"
        return a[i + 4:a.find('"', i + 4)]

    @property
    def has_formula(self) -> bool:
        inner = self.inner
        return bool(inner) and ("<f" in inner or ":f" in inner) and _F.search(inner) is not None

    def value(self, sst: list[str]) -> object:
        """The cell's value: str, float, bool or None (an error cell reads as its text, "#N/A")."""
        inner = self.inner
        if not inner:
            return None
        t = self.kind
        if t == "inlineStr":
            inner = _RPH.sub("", inner)
            return "".join(html.unescape(m.group(1) or "") for m in _T.finditer(inner))
        i = inner.find("<v>")
        if i >= 0:
            v = inner[i + 3:inner.find("</v>", i)]
        else:
            m = _V.search(inner)
            if m is None:
                return None
            v = m.group(1)
        if t == "n":
            try:
                return float(v)
            except ValueError:
                return html.unescape(v)
        if t == "s":
            return sst[int(v)]
        if t in ("str", "e"):
            return html.unescape(v) if "&" in v else v
        if t == "b":
            return v.strip() == "1"
        try:
            return float(v)
        except ValueError:
            return html.unescape(v)


def _col_of(letters: str) -> int:
    k = _LETTERS.get(letters)
    if k is None:
        k = _LETTERS[letters] = col_index(letters)
    return k


def parse_cells(row_xml: str) -> list[Cell]:
    """The cells of a row element. Rows without a namespace prefix (what Excel, LibreOffice and
    openpyxl write) are split with string operations; any other row with the general pattern."""
    if "<c>" in row_xml or "row" not in row_xml[:5] or ":c " in row_xml:
        return _parse_cells_re(row_xml)
    cells = []
    nxt = 0
    for ch in row_xml.split("<c ")[1:]:
        gt = ch.find(">")
        if ch[gt - 1] == "/":
            attr_text, inner, text = ch[:gt - 1], None, "<c " + ch[:gt + 1]
        else:
            end = ch.find("</c>", gt)
            attr_text, inner, text = ch[:gt], ch[gt + 1:end], "<c " + ch[:end + 4]
        if attr_text.startswith('r="'):
            j = 3
            while attr_text[j].isalpha():
                j += 1
            col = _col_of(attr_text[3:j])
        else:
            r = _ATTR_R.search(attr_text)
            col = _col_of(r.group(1)) if r else nxt
        nxt = col + 1
        cells.append(Cell(col, text, " " + attr_text, inner))
    return cells


def _parse_cells_re(row_xml: str) -> list[Cell]:
    cells = []
    nxt = 0
    for m in _CELL.finditer(row_xml):
        attr_text = m.group(2)
        r = _ATTR_R.search(attr_text)
        col = _col_of(r.group(1)) if r else nxt
        nxt = col + 1
        cells.append(Cell(col, m.group(0), attr_text, m.group(3)))
    return cells


clean = clean_text     # a string as XML can hold it (control characters dropped)
serial = schema.serial  # the Excel date serial of a date or datetime


def cell_xml(ref: str, value: object, style: str | None, prefix: str = "") -> str:
    """A value cell: text always as an inline string (never a formula), numbers as numbers."""
    s = f' s="{style}"' if style else ""
    c = prefix + "c"
    if value is None or value == "":
        return f'<{c} r="{ref}"{s}/>'
    if isinstance(value, str):
        return (f'<{c} r="{ref}"{s} t="inlineStr"><{prefix}is><{prefix}t xml:space="preserve">'
                f'{escape(clean(value))}</{prefix}t></{prefix}is></{c}>')
    if isinstance(value, bool):
        return f'<{c} r="{ref}"{s} t="b"><{prefix}v>{int(value)}</{prefix}v></{c}>'
    if isinstance(value, (datetime, date)):
        value = serial(value)
    return f'<{c} r="{ref}"{s}><{prefix}v>{float(value)!r}</{prefix}v></{c}>'


def formula_xml(ref: str, formula: str | None, value: object, style: str | None, prefix: str = "",
                keep_f: str | None = None) -> str:
    """A formula cell with its cached value; ``keep_f`` is the existing ``<f>`` element, kept as is."""
    s = f' s="{style}"' if style else ""
    c, v = prefix + "c", prefix + "v"
    f = keep_f if keep_f is not None else (f"<{prefix}f>{escape(formula)}</{prefix}f>" if formula else "")
    if value is None or value == "" and not f:
        return f'<{c} r="{ref}"{s}>{f}</{c}>'
    if isinstance(value, bool):
        return f'<{c} r="{ref}"{s} t="b">{f}<{v}>{int(value)}</{v}></{c}>'
    if isinstance(value, str):
        return f'<{c} r="{ref}"{s} t="str">{f}<{v}>{escape(clean(value))}</{v}></{c}>'
    if isinstance(value, (datetime, date)):
        value = serial(value)
    return f'<{c} r="{ref}"{s}>{f}<{v}>{float(value)!r}</{v}></{c}>'


def with_cached(cell: Cell, value: object, prefix: str = "") -> str:
    """``cell`` (a formula cell) with its cached value replaced; its formula and style kept."""
    m = _F.search(cell.inner or "")
    return formula_xml(cell.ref or "", None, value, cell.style, prefix, keep_f=m.group(0) if m else "")


def cached_equal(cell: Cell, value: object, sst: list[str]) -> bool:
    old = cell.value(sst)
    if value is None or value == "":
        return old in (None, "")
    if isinstance(value, bool) or isinstance(old, bool):
        return type(old) is type(value) and old == value
    if isinstance(value, (int, float)):
        return isinstance(old, float) and old == float(value)
    return old == value


# Rows ----------------------------------------------------------------------------------------------

_ROW_START = re.compile(r'<((?:\w+:)?)row\b([^>]*?)(/?)>')


def row_number(row_xml: str, default: int) -> int:
    m = re.search(r'<(?:\w+:)?row\b[^>]*?\br="(\d+)"', row_xml[:300])
    return int(m.group(1)) if m else default


def build_row(start_tag: str, cells: list[tuple[int, str]], prefix: str) -> str:
    """A row element from its start tag (attributes kept) and (column, cell XML) pairs."""
    cells.sort(key=lambda c: c[0])
    tag = start_tag[:-2] + ">" if start_tag.endswith("/>") else start_tag
    return tag + "".join(x for _, x in cells) + f"</{prefix}row>"


def row_parts(row_xml: str) -> tuple[str, str]:
    """(start tag, prefix) of a row element."""
    m = _ROW_START.match(row_xml)
    if m is None:
        raise NotAJournal("a worksheet row could not be read")
    return m.group(0), m.group(1)


def stream_sheet(zf: zipfile.ZipFile, part: str, chunk: int = 1 << 20) -> Iterator[tuple[str, str]]:
    """The sheet XML in pieces: ("head", text up to and including ``<sheetData>``), ("row", one
    ``<row>`` element) for each row, ("raw", text between rows), ("tail", from ``</sheetData>``)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    st = {"buf": "", "pos": 0, "eof": False}

    with zf.open(part) as fh:
        def more() -> bool:
            if st["eof"]:
                return False
            data = fh.read(chunk)
            st["buf"] = st["buf"][st["pos"]:] + decoder.decode(data, final=not data)
            st["pos"] = 0
            st["eof"] = not data
            return True

        while True:
            m = _SHEETDATA.search(st["buf"], st["pos"])
            if m:
                break
            if not more():
                raise NotAJournal(f"{part}: a worksheet without sheetData")
        prefix = m.group(1)
        end_row, end_data = f"</{prefix}row>", f"</{prefix}sheetData"
        if m.group(2):  # <sheetData/>: no rows
            yield "head", st["buf"][:m.start()] + f"<{prefix}sheetData>"
            rest = f"</{prefix}sheetData>" + st["buf"][m.end():]
            st["pos"] = len(st["buf"])
            while more():
                rest += st["buf"]
                st["pos"] = len(st["buf"])
            yield "tail", rest
            return
        yield "head", st["buf"][:m.end()]
        st["pos"] = m.end()
        while True:
            buf, pos = st["buf"], st["pos"]
            i = buf.find("<", pos)
            j = buf.find(">", i) if i >= 0 else -1
            if j < 0:
                if not more():
                    raise NotAJournal(f"{part}: the sheet XML ends early")
                continue
            if i > pos:
                yield "raw", buf[pos:i]
                st["pos"] = pos = i
            if buf.startswith(end_data, pos):
                break
            m = _ROW_START.match(buf, pos)
            if m is None:
                raise NotAJournal(f"{part}: unexpected XML in sheetData near {buf[pos:pos + 40]!r}")
            if m.group(3):
                yield "row", m.group(0)
                st["pos"] = m.end()
                continue
            k = buf.find(end_row, m.end())
            if k < 0:
                if not more():
                    raise NotAJournal(f"{part}: the sheet XML ends early")
                continue
            yield "row", buf[pos:k + len(end_row)]
            st["pos"] = k + len(end_row)
        rest = st["buf"][st["pos"]:]
        st["pos"] = len(st["buf"])
        while more():
            rest += st["buf"]
            st["pos"] = len(st["buf"])
        yield "tail", rest


_SHEETDATA = re.compile(r'<((?:\w+:)?)sheetData\b[^>]*?(/?)>')


def read_sheet_rows(zf: zipfile.ZipFile, part: str) -> tuple[str, list[str], str]:
    """(head, row elements, tail) of a small sheet, whole."""
    head, rows, tail = "", [], ""
    for kind, text in stream_sheet(zf, part):
        if kind == "head":
            head = text
        elif kind == "row":
            rows.append(text)
        elif kind == "tail":
            tail += text
    return head, rows, tail


# The package ---------------------------------------------------------------------------------------

@dataclass
class TableDef:
    name: str
    part: str
    sheet: str
    sheet_part: str
    ref: str
    columns: list[str]
    formulas: dict[str, str]          # column name -> calculatedColumnFormula
    totals_row: bool = False
    xml: bytes = b""
    ids: list[str] = field(default_factory=list)  # each column's id, which a header's renaming keeps


@dataclass
class Package:
    """What the fill needs to know about a workbook: sheets, tables, defined names, shared strings."""

    path: object
    zf: zipfile.ZipFile
    names: set[str]
    sheets: list[tuple[str, str, str]]          # (name, part, state)
    defined: dict[str, str]                     # defined name -> formula text (workbook scope)
    tables: dict[str, TableDef] = field(default_factory=dict)
    _sst: list[str] | None = None

    @classmethod
    def open(cls, path) -> "Package":
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise NotAJournal(f"{path} is not an Excel workbook (.xlsx): {exc}") from None
        try:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                raise NotAJournal(f"{path} is a zip file but not an Excel workbook (no xl/workbook.xml)")
            wb = etree.fromstring(zf.read("xl/workbook.xml"))
            if wb.tag != f"{{{NS_MAIN}}}workbook":
                raise NotAJournal(f"{path}: workbook in an XML dialect the fill does not edit ({wb.tag})")
            rels = _rels(zf, "xl/workbook.xml")
            sheets = []
            for s in wb.iterfind(f"{{{NS_MAIN}}}sheets/{{{NS_MAIN}}}sheet"):
                target = rels.get(s.get(f"{{{NS_R}}}id"), ("", ""))
                if target[1] != REL_SHEET:
                    continue
                sheets.append((s.get("name"), resolve("xl", target[0]), s.get("state", "visible")))
            defined = {}
            for d in wb.iterfind(f"{{{NS_MAIN}}}definedNames/{{{NS_MAIN}}}definedName"):
                if d.get("localSheetId") is None:
                    defined[d.get("name")] = d.text or ""
            pkg = cls(path, zf, names, sheets, defined)
            for name, part, _ in sheets:
                for target, kind in _rels(zf, part).values():
                    if kind.endswith("/table"):
                        tpart = resolve(posixpath.dirname(part), target)
                        if tpart in names:
                            pkg._add_table(tpart, name, part)
            return pkg
        except NotAJournal:
            zf.close()
            raise
        except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, ValueError) as exc:
            zf.close()
            raise NotAJournal(f"{path}: the workbook's XML could not be read ({exc})") from None

    def _add_table(self, tpart: str, sheet: str, sheet_part: str) -> None:
        data = self.zf.read(tpart)
        t = etree.fromstring(data)
        cols, formulas, ids = [], {}, []
        for c in t.iterfind(f"{{{NS_MAIN}}}tableColumns/{{{NS_MAIN}}}tableColumn"):
            cols.append(c.get("name"))
            ids.append(c.get("id", ""))
            f = c.find(f"{{{NS_MAIN}}}calculatedColumnFormula")
            if f is not None and f.text:
                formulas[c.get("name")] = f.text
        name = t.get("displayName") or t.get("name")
        self.tables[name] = TableDef(name, tpart, sheet, sheet_part, t.get("ref"), cols, formulas,
                                     totals_row=(t.get("totalsRowCount") or "0") not in ("0", "")
                                     and t.get("totalsRowShown", "1") != "0", xml=data, ids=ids)

    def close(self) -> None:
        self.zf.close()

    def sheet_part(self, name: str) -> str | None:
        return next((p for n, p, _ in self.sheets if n == name), None)

    @property
    def sst(self) -> list[str]:
        if self._sst is None:
            self._sst = []
            part = next((resolve("xl", t) for t, k in _rels(self.zf, "xl/workbook.xml").values()
                         if k.endswith("/sharedStrings")), None)
            if part and part in self.names:
                for _, si in etree.iterparse(self.zf.open(part), tag=f"{{{NS_MAIN}}}si"):
                    self._sst.append("".join(t.text or "" for t in si.iter(f"{{{NS_MAIN}}}t")
                                             if t.getparent().tag != f"{{{NS_MAIN}}}rPh"))
                    si.clear()
        return self._sst

    def cell_value(self, sheet: str, ref: str) -> tuple[object, bool]:
        """(value, found) of one cell of a (small) sheet."""
        part = self.sheet_part(sheet)
        if part is None:
            return None, False
        col, row = split_ref(ref.replace("$", ""))
        for r in self.rows_of(part):
            if r[0] == row:
                for c in r[1]:
                    if c.col == col:
                        return c.value(self.sst), True
        return None, False

    def rows_of(self, part: str) -> Iterator[tuple[int, list[Cell]]]:
        n = 0
        for kind, text in stream_sheet(self.zf, part):
            if kind == "row":
                n = row_number(text, n + 1)
                yield n, parse_cells(text)

    def table_records(self, name: str) -> list[tuple[int, dict[str, object]]]:
        """(sheet row, {column: value}) for each data row of a (small) table."""
        t = self.tables[name]
        c0, r0, c1, r1 = range_bounds(t.ref)
        part = t.sheet_part
        out = []
        for row, cells in self.rows_of(part):
            if r0 < row <= r1 - (1 if t.totals_row else 0):
                rec = {}
                for c in cells:
                    if c0 <= c.col <= c1 and c.col - c0 < len(t.columns):
                        rec[t.columns[c.col - c0]] = c.value(self.sst)
                out.append((row, rec))
        return out


def resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))


def rels_part(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (target, type) of a part (empty when it has none)."""
    rp = rels_part(part)
    try:
        data = zf.read(rp)
    except KeyError:
        return {}
    root = etree.fromstring(data)
    return {r.get("Id"): (r.get("Target", ""), r.get("Type", ""))
            for r in root.iterfind(f"{{{NS_PKG}}}Relationship") if r.get("TargetMode") != "External"}
