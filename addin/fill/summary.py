"""The summary sheets (Dashboard, Stats, Account, Planner) as a fill rewrites them.

Every program-owned cell of these sheets is laid out again on every fill, by the same sheet modules
that :func:`addin.journal.workbook.build_journal` runs, with its cached value computed by their
Python twins; what the trader typed there is kept:

* Dashboard: the trade in B3 when the trader picked it (B3 differs from the trade the program put
  there, which the hidden defined name ``DashboardAutoPick`` records); otherwise the program picks
  the latest closed trade again.
* Stats: the key rows of every breakdown section and the years of the monthly grid found on the
  sheet (typed by the trader, or of trades since deleted) stay beside those of the trades.
* Account: the ``OpenPositions`` rows follow the open trades of the Trades table; a mark price the
  trader typed stays with its Trade ID; one the program wrote from a statement (the hidden name
  ``AccountStatementMarks`` records them) gives way to the mark of the statement being filled.
* Planner: the ten input cells (B4:B13) are kept as they are, and the plan's figures computed from
  them; an input still holding the program's default (the template's plan, equity and leverage from
  the settings as they were) follows the settings instead.
* Any other cell on these sheets that the previous layout did not write (the trader's notes) is
  kept; when the layout now needs its place, it moves down with the rows below the layout (or to the
  first free cell below it).

How: the four sheets are built with openpyxl into a scratch workbook from the merged Trades columns
(:class:`addin.journal.layout.Book`), serialised, and their cells (styles mapped into the journal's
``xl/styles.xml`` by what they look like) replace the sheets' ``sheetData``; merged ranges, the
``OpenPositions`` table range, the charts' series and the defined names that point into the layout
(the Account figures, print areas) follow. The layout the sheet had before -- which cells are the
program's -- is the same modules' layout for the shape found on the sheet (its key rows, years,
positions and currencies), built with no trades. Conditional formats, data validations, column
widths, drawings and everything else in the sheet XML are copied as they were.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from lxml import etree
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from ..journal import account, dashboard, planner, stats
from ..journal import accounts as accounts_mod
from ..journal.schema import (ACCOUNT_CASH, ACCOUNT_FROMS, ACCOUNT_KEYS, ACCOUNT_LEVERAGES, ACCOUNT_RATES,
                              ACCOUNT_STARTS, BALANCE_HOME)

ACCOUNT_NAMES = (ACCOUNT_KEYS, ACCOUNT_STARTS, ACCOUNT_FROMS, ACCOUNT_RATES, ACCOUNT_CASH, BALANCE_HOME,
                 ACCOUNT_LEVERAGES)
from ..journal import columns as C
from ..journal.instruments import DEFAULT_INSTRUMENTS
from ..journal.layout import Book, widen_cols_xml
from ..journal.settings import Settings
from ..journal.workbook import _splice_cached, sheet_widths
from .journal_state import SettingsError, read_instruments, read_settings
from .xlsx_edit import (NS_MAIN, Cell, Package, _rels, cell_xml, col_letter, parse_cells, range_bounds,
                        read_sheet_rows, resolve, row_number, row_parts, split_ref)

SHEETS = (dashboard.TITLE, stats.TITLE, account.TITLE, planner.TITLE)
PLAN_ROWS = 4  # the Planner's inputs: B4 .. B13, labels in column A
PLAN_LABELS = ("Equity", "Risk per trade", "Symbol", "Side", "Entry", "Stop", "Target", "Leverage", "FX to account",
               "Lot step")
SECTION_TITLES = ("By symbol", "By side", "By account", "By weekday opened", "By setup", "By tag")
NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"


@dataclass
class Refresh:
    """What the fill writes for the summary sheets: parts replaced, the workbook's defined names
    that move with the layout, and whether a formula the program does not compute stays on them."""
    parts: dict[str, bytes] = field(default_factory=dict)
    names: dict[str, tuple[str, bool]] = field(default_factory=dict)  # global name -> (formula, hidden)
    print_areas: dict[int, str] = field(default_factory=dict)        # localSheetId -> area
    foreign_formulas: bool = False
    done: set[str] = field(default_factory=set)                      # sheet parts rewritten

    def workbook(self, xml: str) -> str:
        """``xl/workbook.xml`` with the defined names of the new layout."""
        def one(xml: str, match: Callable[[str], bool], text: str, add: str | None) -> str:
            for m in re.finditer(r'<((?:\w+:)?)definedName\b([^>]*)>(.*?)</\1definedName>', xml, re.S):
                if match(m.group(2)):
                    return xml[:m.start(3)] + escape(text) + xml[m.end(3):]
            if add is None:
                return xml
            if re.search(r'</(?:\w+:)?definedNames>', xml):
                return re.sub(r'(</(?:\w+:)?definedNames>)', lambda m: add + m.group(1), xml, count=1)
            m = re.search(r'<(?:\w+:)?calcPr\b', xml) or re.search(r'</(?:\w+:)?workbook>', xml)
            return xml[:m.start()] + "<definedNames>" + add + "</definedNames>" + xml[m.start():]
        for name, (text, hidden) in self.names.items():
            flag = ' hidden="1"' if hidden else ""
            xml = one(xml, lambda a, name=name: re.search(r'\bname="%s"' % re.escape(name), a) is not None
                      and "localSheetId" not in a, text,
                      f'<definedName name="{name}"{flag}>{escape(text)}</definedName>')
        for sid, text in self.print_areas.items():
            xml = one(xml, lambda a, sid=sid: 'name="_xlnm.Print_Area"' in a and f'localSheetId="{sid}"' in a,
                      text, None)
        return xml


# The sheets as they are ----------------------------------------------------------------------------

@dataclass
class _Sheet:
    part: str
    head: str
    tail: str
    prefix: str
    rows: dict[int, tuple[str, dict[int, Cell]]]  # row -> (start tag, {col: cell})

    def cell(self, ref: str) -> Cell | None:
        col, row = split_ref(ref)
        return self.rows.get(row, ("", {}))[1].get(col)

    def column(self, col: int) -> list[tuple[int, Cell]]:
        return [(r, cells[col]) for r, (_, cells) in sorted(self.rows.items()) if col in cells]


def _read(pkg: Package, part: str) -> _Sheet:
    head, rows, tail = read_sheet_rows(pkg.zf, part)
    out: dict[int, tuple[str, dict[int, Cell]]] = {}
    prefix = ""
    n = 0
    for piece in rows:
        n = row_number(piece, n + 1)
        start, prefix = row_parts(piece)
        out[n] = (start, {c.col: c for c in parse_cells(piece)})
    m = re.search(r'<((?:\w+:)?)sheetData\b', head)
    return _Sheet(part, head, tail, m.group(1) if m else prefix, out)


def _value(c: Cell | None, sst: list[str]) -> object:
    return None if c is None else c.value(sst)


def _key_text(v: object) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _stats_shape(sh: _Sheet, sst: list[str]) -> tuple[dict[str, list[str]], list[int]]:
    """{section title: key rows} and the monthly grid's years, as found in column A."""
    col_a = [(r, _value(c, sst)) for r, c in sh.column(0)]
    by_row = dict(col_a)
    keys: dict[str, list[str]] = {}
    years: list[int] = []
    for r, v in col_a:
        if v in SECTION_TITLES and v not in keys:
            got = []
            k = r + 1
            while True:
                x = by_row.get(k)
                if x in (None, "") or x == stats.NOT_LISTED or (isinstance(x, str) and x.startswith("(none yet")):
                    break
                got.append(_key_text(x))
                k += 1
            keys[v] = got
        elif v == "Net P/L by month closed":
            k = r + 2
            while isinstance(by_row.get(k), (int, float)) and not isinstance(by_row.get(k), bool):
                years.append(int(by_row[k]))
                k += 1
    return keys, years


def _account_shape(pkg: Package, sh: _Sheet) -> tuple[int, int, dict[str, Cell]]:
    """(positions rows, currency rows, {Trade ID upper: its Mark price cell}) of the Account sheet."""
    sst = pkg.sst
    t = pkg.tables.get(account.TABLE)
    marks: dict[str, Cell] = {}
    rows = 1
    if t is not None:
        c0, r0, c1, r1 = range_bounds(t.ref)
        rows = max(r1 - r0, 1)
        if "Trade ID" in t.columns and "Mark price" in t.columns:
            ci, cm = c0 + t.columns.index("Trade ID"), c0 + t.columns.index("Mark price")
            for r in range(r0 + 1, r1 + 1):
                cells = sh.rows.get(r, ("", {}))[1]
                tid = _key_text(_value(cells.get(ci), sst))
                mark = cells.get(cm)
                if tid and mark is not None and (mark.has_formula or _value(mark, sst) not in (None, "")):
                    marks.setdefault(tid.upper(), mark)
    col_a = sh.column(0)
    head = next((r for r, c in col_a if _value(c, sst) == "Currency"), None)
    end = next((r for r, c in col_a if _value(c, sst) == "Largest single-currency bet"), None)
    currencies = max(end - head - 1, 1) if head is not None and end is not None and end > head else 1
    return rows, currencies, marks


def _accounts_shape(pkg: Package, sh: _Sheet) -> tuple[int | None, dict[str, tuple[object, bool]], object, dict,
                                                      dict]:
    """(account rows, {currency: (its Rate to home cell value, written as a formula)}, the Home
    currency cell value, {account key: (start, from) as typed: None where a formula or empty},
    {account key: the number in its Leverage cell, not a formula}) of the
    Account sheet's Accounts block; (None, {}, None, {}) without one (a journal written before it).
    A block written before the starting balances (its fourth header "Closed trades") has its rate in
    the eighth column and no inputs per account."""
    sst = pkg.sst
    col_a = sh.column(0)
    head = next((r for r, c in col_a if _value(c, sst) == "Broker"), None)
    end = next((r for r, c in col_a if _value(c, sst) == accounts_mod.TOTAL), None)
    if head is None or end is None or end <= head:
        return None, {}, None, {}, {}
    heads = sh.rows.get(head, ("", {}))[1]
    new_layout = _value(heads.get(3), sst) == "Starting balance"
    rate_col = accounts_mod.HEADERS.index("Rate to home") if new_layout else 7
    rates, typed = {}, {}
    levs: dict[str, object] = {}
    lev_col = accounts_mod.HEADERS.index("Leverage") if _value(heads.get(len(accounts_mod.HEADERS) - 1), sst) == "Leverage" else None
    for r in range(head + 1, end):
        cells = sh.rows.get(r, ("", {}))[1]
        cur, rate = _value(cells.get(2), sst), cells.get(rate_col)
        if isinstance(cur, str) and cur and rate is not None:
            rates[cur.strip().upper()] = (rate.value(sst), rate.has_formula)
        if new_layout:
            key = C.account_key(_value(cells.get(0), sst), _value(cells.get(1), sst))
            got = []
            for col in (3, 4):
                c = cells.get(col)
                v = None if c is None or c.has_formula else c.value(sst)
                got.append(None if v in (None, "") else v)
            if key != "|" and any(v is not None for v in got):
                typed[key] = tuple(got)
            c = cells.get(lev_col) if lev_col is not None else None
            if c is not None and not c.has_formula and type(c.value(sst)) in (int, float) and c.value(sst) > 0:
                levs[key] = c.value(sst)
    cell = sh.cell(f"D{head - 1}")
    home = None if cell is None or cell.has_formula else _value(cell, sst)  # a formula: AccountCurrency's
    return max(end - head - 1, 1), rates, home, typed, levs


def read_account_inputs(pkg: Package) -> dict:
    """The Accounts block's inputs as :func:`addin.journal.accounts.resolve` takes them: "home" and
    "rates" typed, "starts_typed" {key: (start, from)} the trader typed, "starts_written" {key: (start, from)} the
    program wrote (recorded in the hidden AccountStartsWritten/AccountFromsWritten names and still
    those numbers). Empty for a journal without the block."""
    part = pkg.sheet_part(account.TITLE)
    if part is None or account.TABLE not in pkg.tables:
        return {}
    count, rates, home, cells, levs = _accounts_shape(pkg, _read(pkg, part))
    if count is None:
        return {}
    out: dict = {}
    recorded = account.parse_marks_text(pkg.defined.get(accounts_mod.RATES_WRITTEN))
    out["rates"] = {k: v for k, (v, formula) in rates.items()
                    if not formula and type(v) in (int, float) and v > 0
                    and not (k in recorded and float(v) == recorded[k])}
    if isinstance(home, str) and home.strip():
        out["home"] = home.strip().upper()
    starts = account.parse_marks_text(pkg.defined.get(accounts_mod.STARTS_WRITTEN))
    froms = account.parse_marks_text(pkg.defined.get(accounts_mod.FROMS_WRITTEN))
    typed, written = {}, {}
    out["lev_typed"] = levs
    for key, (start, frm) in cells.items():
        w_start = start if type(start) in (int, float) and starts.get(key) == float(start) else None
        w_from = frm if type(frm) in (int, float) and froms.get(key) == float(frm) else None
        if w_start is not None or w_from is not None:
            written[key] = (w_start, w_from)
        t = (None if w_start is not None else start, None if w_from is not None else frm)
        if t != (None, None):
            typed[key] = t
    out["starts_typed"], out["starts_written"] = typed, written
    return out


# The scratch build ---------------------------------------------------------------------------------

@dataclass
class _Built:
    cells: dict[str, dict[tuple[int, int], str]]   # title -> (row, col) -> cell XML (scratch styles)
    styles: dict[str, dict[tuple[int, int], str]]  # title -> (row, col) -> scratch style id
    row_tags: dict[str, dict[int, str]]
    owned: dict[str, set[tuple[int, int]]]         # title -> every cell the layout wrote, blank ones too
    merges: dict[str, list[str]]
    tables: dict[str, str]                         # table name -> ref
    charts: dict[str, list[bytes]]                 # title -> chart XML in drawing order
    names: dict[str, tuple[str, bool]]
    print_areas: dict[str, str]
    zf: zipfile.ZipFile
    failed: set[str] = field(default_factory=set)
    table_columns: dict[str, str] = field(default_factory=dict)  # table name -> its <tableColumns> element
    widths: dict[str, dict[int, float]] = field(default_factory=dict)  # title -> column -> width its values need


def _charts_of(zf: zipfile.ZipFile, part: str) -> list[str]:
    """The chart parts of a sheet's drawing, in the drawing's anchor order."""
    out = []
    for rid, (target, kind) in _rels(zf, part).items():
        if not kind.endswith("/drawing"):
            continue
        dpart = resolve(posixpath_dir(part), target)
        try:
            dxml = zf.read(dpart).decode("utf-8")
        except KeyError:
            continue
        drels = _rels(zf, dpart)
        for m in re.finditer(r'<(?:\w+:)?chart\b[^>]*?\br(?:\w*):id="([^"]+)"', dxml):
            t = drels.get(m.group(1))
            if t and t[1].endswith("/chart"):
                out.append(resolve(posixpath_dir(dpart), t[0]))
    return out


def posixpath_dir(part: str) -> str:
    return part.rsplit("/", 1)[0] if "/" in part else ""


def _build(cols: dict[str, list], n: int, settings: Settings, instruments: list, cash: list, cash_from: float,
           inputs: dict, titles: dict[str, str]) -> _Built:
    """The four sheets built by the journal's sheet modules into a scratch workbook, serialised."""
    wb = Workbook()
    order = (dashboard.TITLE, C.TABLE, stats.TITLE, account.TITLE, planner.TITLE)
    wb.active.title = order[0]
    for t in order[1:]:
        wb.create_sheet(t)
    book = Book(wb=wb, settings=settings, instruments=instruments, cols=cols, n=n, cash=cash, cash_from=cash_from,
                rejected=[], inputs=inputs)
    failed = set()
    dashboard.build(book)
    stats.build(book)
    account.build(book)
    try:
        planner.build(book)
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):
        # a typed input the twins cannot compute (a blank entry, text for a price): Excel computes it
        failed.add(planner.TITLE)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        ExcelWriter(wb, zf).save()
    zf = zipfile.ZipFile(buf)
    sst: list[str] = []
    if "xl/sharedStrings.xml" in zf.namelist():
        root = etree.fromstring(zf.read("xl/sharedStrings.xml"))
        sst = ["".join(t.text or "" for t in si.iter(f"{{{NS_MAIN}}}t")) for si in root.iterfind(f"{{{NS_MAIN}}}si")]
    built = _Built({}, {}, {}, {}, {}, {}, {}, {}, {}, zf, failed)
    for k, ws in enumerate(wb.worksheets):
        title = ws.title
        if title == C.TABLE:
            continue
        part = f"xl/worksheets/sheet{k + 1}.xml"
        xml = zf.read(part).decode("utf-8")
        xml = _splice_cached(xml, book.cache.get(title, {}))
        cells: dict[tuple[int, int], str] = {}
        styles: dict[tuple[int, int], str] = {}
        tags: dict[int, str] = {}
        m = re.search(r"<sheetData>(.*)</sheetData>", xml, re.S)
        body = m.group(1) if m else ""
        for rm in re.finditer(r"<row\b[^>]*?(?:/>|>.*?</row>)", body, re.S):
            piece = rm.group(0)
            r = row_number(piece, 0)
            tags[r] = row_parts(piece)[0]
            for c in parse_cells(piece):
                x = c.text
                if c.kind == "s":
                    x = cell_xml(c.ref, sst[int(_value_raw(c))], c.style)
                cells[(r, c.col)] = x
                styles[(r, c.col)] = c.style or "0"
        built.cells[title], built.styles[title], built.row_tags[title] = cells, styles, tags
        built.owned[title] = {(r, c - 1) for r, c in ws._cells} | set(cells)
        built.merges[title] = [str(r) for r in ws.merged_cells.ranges]
        for t in ws.tables.values():
            built.tables[t.displayName] = t.ref
        for name in zf.namelist():
            if name.startswith("xl/tables/"):
                txml = zf.read(name).decode("utf-8")
                dm = re.search(r'\bdisplayName="([^"]+)"', txml)
                cm = re.search(r"<tableColumns\b.*?</tableColumns>", txml, re.S)
                if dm and cm:
                    built.table_columns[dm.group(1)] = cm.group(0)
        built.charts[title] = [_retitle(zf.read(c), titles) for c in _charts_of(zf, part)]
        built.widths[title] = sheet_widths(ws, book.cache.get(title, {}))
        if ws.print_area:
            built.print_areas[title] = _retitle(ws.print_area.encode("utf-8"), titles).decode("utf-8")
    for name in (*account.NAMES.values(), "SelectedTrade", dashboard.AUTO_PICK, account.STATEMENT_MARKS,
                 account.HEDGED_PAIRS, account.HEDGED_OTHER, accounts_mod.HOME, accounts_mod.RATES_WRITTEN,
                 accounts_mod.STARTS_WRITTEN, accounts_mod.FROMS_WRITTEN, *ACCOUNT_NAMES):
        dn = wb.defined_names.get(name)
        if dn is not None:
            built.names[name] = (dn.attr_text, bool(dn.hidden))
    return built


def _value_raw(c: Cell) -> str:
    m = re.search(r"<v>(.*?)</v>", c.inner or "", re.S)
    return m.group(1) if m else "0"


def _retitle(data: bytes, titles: dict[str, str]) -> bytes:
    """Sheet names of the scratch workbook as the journal has them (a renamed Trades sheet)."""
    text = data.decode("utf-8")
    for ours, theirs in titles.items():
        if ours != theirs:
            q = "'" + theirs.replace("'", "''") + "'"
            text = text.replace(f"'{ours}'!", f"{q}!").replace(f"{ours}!", f"{q}!")
    return text.encode("utf-8")


# Styles --------------------------------------------------------------------------------------------

def _canon(el) -> tuple:
    """An element as a comparable value: tag, attributes, children (in any order)."""
    return (etree.QName(el).localname, tuple(sorted((etree.QName(k).localname, v) for k, v in el.attrib.items())),
            tuple(sorted(_canon(ch) for ch in el if isinstance(ch.tag, str))))


class _Styles:
    """The journal's ``xl/styles.xml``, with the scratch workbook's cell formats found or added."""
    _XF_IDS = ("numFmtId", "fontId", "fillId", "borderId")

    def __init__(self, target: bytes, scratch: bytes):
        self.root = etree.fromstring(target)
        self.src = etree.fromstring(scratch)
        self.changed = False
        self.map: dict[str, str] = {}
        self.keys: dict[str, tuple] = {}       # scratch xf id -> look
        q = lambda name: f"{{{NS_MAIN}}}{name}"  # noqa: E731
        self.q = q

        def lists(root):
            return {k: root.find(q(k)) for k in ("numFmts", "fonts", "fills", "borders", "cellXfs")}
        self.t, self.s = lists(self.root), lists(self.src)
        self.t_xf_keys = {}
        for i, xf in enumerate(self._items(self.t, "cellXfs")):
            self.t_xf_keys.setdefault(self._look(self.t, xf), i)

    def _items(self, lists, name):
        el = lists[name]
        return [] if el is None else [c for c in el if isinstance(c.tag, str)]

    def _fmt(self, lists, fid: str) -> tuple:
        fid = int(fid or 0)
        for nf in self._items(lists, "numFmts"):
            if int(nf.get("numFmtId")) == fid:
                return ("code", nf.get("formatCode"))
        return ("id", fid)

    def _look(self, lists, xf) -> tuple:
        def part(name, idx):
            items = self._items(lists, name)
            i = int(idx or 0)
            return _canon(items[i]) if i < len(items) else None
        return (self._fmt(lists, xf.get("numFmtId")), part("fonts", xf.get("fontId")), part("fills", xf.get("fillId")),
                part("borders", xf.get("borderId")),
                tuple(sorted(_canon(ch) for ch in xf if isinstance(ch.tag, str))))

    def look(self, sid: str) -> tuple:
        if sid not in self.keys:
            self.keys[sid] = self._look(self.s, self._items(self.s, "cellXfs")[int(sid)])
        return self.keys[sid]

    def target_look(self, sid: str | None) -> tuple | None:
        items = self._items(self.t, "cellXfs")
        i = int(sid or 0)
        return self._look(self.t, items[i]) if i < len(items) else None

    def _ensure(self, name: str, el) -> int:
        lst = self.t[name]
        if lst is None:
            lst = etree.SubElement(self.root, self.q(name))
            self.t[name] = lst
        items = self._items(self.t, name)
        want = _canon(el)
        for i, it in enumerate(items):
            if _canon(it) == want:
                return i
        lst.append(_copy(el))
        lst.set("count", str(len(items) + 1))
        self.changed = True
        return len(items)

    def id_for(self, sid: str) -> str:
        """The journal's cell format that looks like the scratch format ``sid`` (added when missing)."""
        if sid in self.map:
            return self.map[sid]
        look = self.look(sid)
        if look in self.t_xf_keys:
            self.map[sid] = str(self.t_xf_keys[look])
            return self.map[sid]
        xf = _copy(self._items(self.s, "cellXfs")[int(sid)])
        for attr, name in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
            src = self._items(self.s, name)[int(xf.get(attr) or 0)]
            xf.set(attr, str(self._ensure(name, src)))
        kind, fmt = self._fmt(self.s, xf.get("numFmtId"))
        if kind == "code":
            xf.set("numFmtId", str(self._numfmt(fmt)))
        xf.set("xfId", "0")
        cell_xfs = self.t["cellXfs"]
        n = len(self._items(self.t, "cellXfs"))
        cell_xfs.append(xf)
        cell_xfs.set("count", str(n + 1))
        self.changed = True
        self.t_xf_keys[look] = n
        self.map[sid] = str(n)
        return self.map[sid]

    def _numfmt(self, code: str) -> int:
        lst = self.t["numFmts"]
        if lst is None:
            lst = etree.Element(self.q("numFmts"))
            self.root.insert(0, lst)
            self.t["numFmts"] = lst
        used = [int(nf.get("numFmtId")) for nf in self._items(self.t, "numFmts")]
        for nf in self._items(self.t, "numFmts"):
            if nf.get("formatCode") == code:
                return int(nf.get("numFmtId"))
        fid = max([163, *used]) + 1
        el = etree.SubElement(lst, self.q("numFmt"))
        el.set("numFmtId", str(fid))
        el.set("formatCode", code)
        lst.set("count", str(len(used) + 1))
        self.changed = True
        return fid

    def xml(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _copy(el):
    return etree.fromstring(etree.tostring(el))


# Writing a sheet -----------------------------------------------------------------------------------

_S_ATTR = re.compile(r'\ss="[^"]*"')


def _with_style(xml: str, sid: str | None) -> str:
    xml = _S_ATTR.sub("", xml, count=1)
    if not sid or sid == "0":
        return xml
    return re.sub(r'^(<(?:\w+:)?c\b[^>]*?\br="[^"]*")', lambda m: m.group(1) + f' s="{sid}"', xml, count=1)


def _moved(xml: str, row: int, col: int) -> str:
    return re.sub(r'^(<(?:\w+:)?c\b[^>]*?\br=")[^"]*(")', lambda m: f"{m.group(1)}{col_letter(col)}{row}{m.group(2)}",
                  xml, count=1)


def _prefixed(xml: str, prefix: str) -> str:
    if not prefix:
        return xml
    return re.sub(r"<(/?)(c|f|v|is|t|r|rPr)\b", lambda m: f"<{m.group(1)}{prefix}{m.group(2)}", xml)


def _merges_xml(prefix: str, refs: list[str]) -> str:
    if not refs:
        return ""
    return (f'<{prefix}mergeCells count="{len(refs)}">' + "".join(f'<{prefix}mergeCell ref="{r}"/>' for r in refs)
            + f"</{prefix}mergeCells>")


_BEFORE_MERGES = ("sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
                  "dataConsolidate", "customSheetViews")


def _set_merges(tail: str, prefix: str, refs: list[str]) -> str:
    tail = re.sub(r'<(?:\w+:)?mergeCells\b[^>]*?(?:/>|>.*?</(?:\w+:)?mergeCells>)', "", tail, count=1, flags=re.S)
    new = _merges_xml(prefix, refs)
    if not new:
        return tail
    at = tail.find(">") + 1  # after </sheetData>
    for name in _BEFORE_MERGES:
        m = None
        for m in re.finditer(r'<(?:\w+:)?%s\b[^>]*?(?:/>|>.*?</(?:\w+:)?%s>)' % (name, name), tail, re.S):
            pass
        if m is not None:
            at = max(at, m.end())
    return tail[:at] + new + tail[at:]


def _cells_of(ref: str) -> set[tuple[int, int]]:
    c0, r0, c1, r1 = range_bounds(ref)
    return {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}


def _compose(old: _Sheet, new_cells: dict[tuple[int, int], str], new_tags: dict[int, str],
             old_owned: set[tuple[int, int]], kept: dict[tuple[int, int], str], sst: list[str]
             ) -> tuple[dict[tuple[int, int], str], bool, dict[tuple[int, int], tuple[int, int]]]:
    """The sheet's cells: the new layout, the trader's inputs ``kept`` (in place), and the other
    cells of the sheet the old layout did not own (the trader's notes), moved down where the new
    layout takes their place. Also whether a kept cell holds a formula, and where each note went."""
    out = dict(new_cells)
    out.update(kept)
    formulas = any("<f" in x or ":f>" in x for x in kept.values())
    old_end = max((r for r, _ in old_owned), default=0)
    new_end = max((r for r, _ in new_cells), default=0)
    shift = max(new_end - old_end, 0)
    moved = {}
    for r, (_, cells) in sorted(old.rows.items()):
        for col, c in sorted(cells.items()):
            if (r, col) in old_owned or (r, col) in kept:
                continue
            empty = not c.has_formula and c.value(sst) in (None, "")
            to = r + shift if r > old_end else r
            while (to, col) in out:
                if empty:
                    break
                to += 1
            if (to, col) in out:
                continue  # only a format, on a cell the layout now takes
            out[(to, col)] = _moved(c.text, to, col) if to != r else c.text
            if not empty:
                moved[(r, col)] = (to, col)
                formulas = formulas or c.has_formula
    return out, formulas, moved


def _sheet_xml(old: _Sheet, cells: dict[tuple[int, int], str], tags: dict[int, str], merges: list[str]) -> str:
    prefix = old.prefix
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (r, c), x in cells.items():
        by_row.setdefault(r, []).append((c, x))
    rows = []
    for r in sorted(set(by_row) | {r for r, (tag, _) in old.rows.items() if _row_has_format(tag)}):
        tag = old.rows[r][0] if r in old.rows else tags.get(r, f'<{prefix}row r="{r}">')
        tag = re.sub(r'\sspans="[^"]*"', "", tag)
        if r not in old.rows and prefix:
            tag = tag.replace("<row", f"<{prefix}row", 1)
        if tag.endswith("/>"):
            tag = tag[:-2] + ">"
        items = sorted(by_row.get(r, []))
        rows.append(tag + "".join(_prefixed(x, prefix) for _, x in items) + f"</{prefix}row>")
    head = old.head
    if cells:
        last = max(r for r, _ in cells)
        right = max(c for _, c in cells)
        head = re.sub(r'(<(?:\w+:)?dimension\b[^>]*?\bref=")[^"]*(")',
                      lambda m: f"{m.group(1)}A1:{col_letter(right)}{last}{m.group(2)}", head, count=1)
    return head + "".join(rows) + _set_merges(old.tail, prefix, merges)


def _row_has_format(tag: str) -> bool:
    return any(a in tag for a in (' ht="', " hidden=", ' customFormat="1"', " outlineLevel="))


def _replace_series(target: str, built: str) -> str:
    """``target`` (a chart of the journal) with the series and tick-label spacing of ``built`` (the
    scratch build's chart at the same place): everything else the trader set on the chart stays."""
    ser = re.compile(r"<((?:\w+:)?)ser>.*?</\1ser>", re.S)
    t_sers, b_sers = list(ser.finditer(target)), list(ser.finditer(built))
    if not t_sers or not b_sers:
        return target
    p = t_sers[0].group(1)
    new = "".join(_chart_prefixed(m.group(0), p) for m in b_sers)
    out = target[:t_sers[0].start()] + new + target[t_sers[-1].end():]
    for tag in ("tickLblSkip", "tickMarkSkip"):
        bv = re.search(r'<(?:\w+:)?%s val="(\d+)"' % tag, built)
        if bv:
            out = re.sub(r'(<(?:\w+:)?%s val=")\d+(")' % tag, lambda m: m.group(1) + bv.group(1) + m.group(2), out)
    return out


def _chart_prefixed(xml: str, prefix: str) -> str:
    """A series written with the chart namespace as default, for a chart that uses ``prefix``."""
    if not prefix:
        return xml
    return re.sub(r"<(/?)([A-Za-z]+)\b", lambda m: f"<{m.group(1)}{prefix}{m.group(2)}", xml) \
        .replace(f"<{prefix}a:", "<a:").replace(f"</{prefix}a:", "</a:")


# The entry point -----------------------------------------------------------------------------------

def refresh(pkg: Package, settings: Settings, cols: dict[str, list], cash: list, cash_from: float,
            trades_sheet: str, marks: dict[str, float] | None = None, data_start: int = 2,
            account_inputs: dict | None = None) -> Refresh:
    """The summary sheets of ``pkg`` laid out again for the merged Trades columns ``cols`` (dates as
    serials), the settings, the Cash rows ``cash`` and CashFrom; ``account_inputs`` the Accounts
    block's inputs the Trades columns were computed with (:func:`read_account_inputs` and the
    statements' starting balances; default: the block's own); ``marks`` are the mark prices the
    statements printed for open trades (Trade ID upper case -> price). ``data_start``: the first
    row of the Trades table's data (the charts over its rows are rewritten only where it is row 2,
    as the builder lays it out; elsewhere the fill's extension of their ranges stands)."""
    out = Refresh()
    sst = pkg.sst
    parts = {t: pkg.sheet_part(t) for t in SHEETS}
    parts = {t: p for t, p in parts.items() if p}
    if account.TABLE not in pkg.tables or pkg.tables[account.TABLE].sheet_part != parts.get(account.TITLE):
        parts.pop(account.TITLE, None)  # its OpenPositions table deleted or moved: the sheet is the trader's now
        out.foreign_formulas = True
    if not parts:
        return out
    old = {t: _read(pkg, p) for t, p in parts.items()}
    n = len(cols.get("Trade ID", []))
    instruments = read_instruments(pkg)
    instruments = list(DEFAULT_INSTRUMENTS if instruments is None else instruments)

    # What the trader typed, and the shape of the sheets as they are.
    new_in: dict = {}
    old_in: dict = {}
    kept: dict[str, dict[tuple[int, int], str]] = {t: {} for t in parts}
    if dashboard.TITLE in old:
        b3 = old[dashboard.TITLE].cell("B3")
        v = _value(b3, sst)
        auto = _auto_pick(pkg.defined.get(dashboard.AUTO_PICK))
        if b3 is not None and (b3.has_formula or (v not in (None, "") and (auto is None or _key_text(v) != auto))):
            new_in["pick"] = v if v is not None else ""
            new_in["auto_pick"] = auto
            kept[dashboard.TITLE][(3, 1)] = b3.text
        old_in["pick"] = v
    if stats.TITLE in old:
        keys, years = _stats_shape(old[stats.TITLE], sst)
        new_in["keys"], new_in["years"] = keys, years
        old_in["keys"], old_in["years"] = keys, years
    mark_cells: dict[str, Cell] = {}
    if account.TITLE in old:
        rows, currencies, mark_cells = _account_shape(pkg, old[account.TITLE])
        old_in["positions"], old_in["currencies"] = rows, currencies
        if not any(_value(c, sst) == "Margin without hedging relief" for _, c in old[account.TITLE].column(0)):
            old_in["legacy_account"] = True  # written before the hedged margin and the Accounts block
        # A mark the program wrote from a statement (recorded in the hidden AccountStatementMarks name,
        # and still that number) gives way to this fill's statement; any other is the trader's.
        recorded = account.parse_marks_text(pkg.defined.get(account.STATEMENT_MARKS))
        written, typed = {}, {}
        for k, c in mark_cells.items():
            v = c.value(sst)
            if type(v) not in (int, float):
                continue
            if not c.has_formula and k in recorded and float(v) == recorded[k]:
                written[k] = float(v)
            else:
                typed[k] = v
        written.update({k: v for k, v in (marks or {}).items() if k not in typed})
        new_in["marks"] = {**written, **typed}
        new_in["written"] = written
        # The hedged margin rates the trader typed (the defaults otherwise).
        hedged = {}
        for name in (account.HEDGED_PAIRS, account.HEDGED_OTHER):
            target = pkg.defined.get(name, "")
            if "!" in target:
                sheet, ref = target.rsplit("!", 1)
                v, found = pkg.cell_value(sheet.strip("'").replace("''", "'"), ref.replace("$", ""))
                if found and type(v) in (int, float):
                    hedged[name] = v
        new_in["hedged"] = hedged
        # The Accounts block: its shape, the home currency and the rates to home the trader typed (a
        # rate the program wrote, recorded in the hidden AccountRatesWritten name, is written again).
        count, _, home, _, _ = _accounts_shape(pkg, old[account.TITLE])
        if count is not None:
            old_in["accounts"] = count
            if isinstance(home, str) and home.strip():
                old_in["home"] = home.strip().upper()
        new_in.update(account_inputs if account_inputs is not None else read_account_inputs(pkg))
        cash_table = pkg.tables.get(C.schema.CASH_TABLE)
        new_in["cash_accounts"] = cash_table is not None and {"Broker", "Account"} <= set(cash_table.columns)
        for k in written:  # the program writes these cells again
            mark_cells.pop(k, None)
    if planner.TITLE in old:
        sh = old[planner.TITLE]
        plan = {}
        default = _default_plan(pkg)
        for k, label in enumerate(PLAN_LABELS):
            r = PLAN_ROWS + k
            c = sh.cell(f"B{r}")
            if _value(sh.cell(f"A{r}"), sst) != label or c is None:
                continue
            v = c.value(sst)
            if not c.has_formula and label in default and _same_input(v, default[label]):
                continue  # the program's default for the settings as they were: it follows the settings
            plan[label] = v
            kept[planner.TITLE][(r, 1)] = c.text
        new_in["plan"] = plan  # the layout is the same whatever the plan: the old one is built with the defaults

    titles = {C.TABLE: trades_sheet}
    new = _build(cols, n, settings, instruments, cash, cash_from, new_in, titles)
    empty = {k: [] for k in cols}
    was = _build(empty, 0, settings, instruments, [], 0.0, old_in, titles)

    styles = _Styles(pkg.zf.read("xl/styles.xml"), new.zf.read("xl/styles.xml"))
    old_styles = _Styles(pkg.zf.read("xl/styles.xml"), was.zf.read("xl/styles.xml"))
    for title, part in parts.items():
        if title in new.failed:
            out.foreign_formulas = True
            continue
        sh = old[title]
        owned = set(was.owned.get(title, ()))
        for ref in was.merges.get(title, []):
            owned |= _cells_of(ref)
        cells: dict[tuple[int, int], str] = {}
        for pos, x in new.cells[title].items():
            sid = new.styles[title][pos]
            look = styles.look(sid)
            cur = sh.rows.get(pos[0], ("", {}))[1].get(pos[1])
            if cur is not None and pos in was.styles.get(title, {}) \
                    and old_styles.look(was.styles[title][pos]) == look:
                target = cur.style  # the same role as before: the cell's format, as the trader may have set it
            else:
                target = styles.id_for(sid)
            cells[pos] = _with_style(x, target)
        if title == account.TITLE:
            _typed_marks(cells, mark_cells, new)
        cells, formulas, _ = _compose(sh, cells, new.row_tags[title], owned, kept[title], sst)
        out.foreign_formulas = out.foreign_formulas or formulas
        merges = list(new.merges.get(title, []))
        taken = set(new.cells[title])
        for ref in re.findall(r'<(?:\w+:)?mergeCell ref="([^"]+)"', sh.tail):
            if ref not in was.merges.get(title, []) and not (_cells_of(ref) & (owned | taken)):
                merges.append(ref)
        out.parts[part] = widen_cols_xml(_sheet_xml(sh, cells, new.row_tags[title], merges),
                                         new.widths.get(title, {})).encode("utf-8")
        out.done.add(part)
        # the charts on the sheet, in drawing order
        trades_ref = ("'" + trades_sheet.replace("'", "''") + "'!").encode("utf-8")
        for target, built in zip(_charts_of(pkg.zf, part), new.charts.get(title, [])):
            if data_start != 2 and trades_ref in built:
                continue
            xml = pkg.zf.read(target).decode("utf-8")
            got = _replace_series(xml, built.decode("utf-8"))
            if got != xml:
                out.parts[target] = got.encode("utf-8")
        if title in new.print_areas:
            sid = next((k for k, (name, _, _) in enumerate(pkg.sheets) if name == title), None)
            if sid is not None:
                out.print_areas[sid] = new.print_areas[title]
    t = pkg.tables.get(account.TABLE)
    if t is not None and parts.get(account.TITLE) in out.done and account.TABLE in new.tables:
        ref = new.tables[account.TABLE]
        xml = t.xml.decode("utf-8")
        xml = re.sub(r'(<(?:\w+:)?table\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref + m.group(2), xml, count=1)
        xml = re.sub(r'(<(?:\w+:)?autoFilter\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref + m.group(2), xml,
                     count=1)
        # The columns as laid out now (a journal written before a column was added gets it).
        new_cols = new.table_columns.get(account.TABLE)
        old_cols = re.search(r"<(\w+:)?tableColumns\b.*?</(?:\w+:)?tableColumns>", xml, re.S)
        if new_cols and old_cols:
            prefix = old_cols.group(1) or ""
            if prefix:
                new_cols = re.sub(r"<(/?)(?=[A-Za-z])", lambda m: f"<{m.group(1)}{prefix}", new_cols)
            xml = xml[:old_cols.start()] + new_cols + xml[old_cols.end():]
        out.parts[t.part] = xml.encode("utf-8")
    out.names = {k: v for k, v in new.names.items()
                 if (k != dashboard.AUTO_PICK or parts.get(dashboard.TITLE) in out.done)
                 and (k not in (*account.NAMES.values(), account.STATEMENT_MARKS, account.HEDGED_PAIRS,
                                account.HEDGED_OTHER, accounts_mod.HOME, accounts_mod.RATES_WRITTEN,
                                accounts_mod.STARTS_WRITTEN, accounts_mod.FROMS_WRITTEN, *ACCOUNT_NAMES)
                      or parts.get(account.TITLE) in out.done)}
    if styles.changed:
        out.parts["xl/styles.xml"] = styles.xml()
    return out


def _default_plan(pkg: Package) -> dict[str, object]:
    """The Planner's inputs as the builder writes them for the journal's settings before this fill
    (an input still equal to it was not typed by the trader)."""
    try:
        before, _ = read_settings(pkg)
    except SettingsError:
        return {}
    return {"Equity": before.starting_balance, "Risk per trade": before.risk_per_trade,
            "Leverage": before.account_leverage, **planner.DEFAULT_PLAN}


def _same_input(v: object, default: object) -> bool:
    if isinstance(default, str) or isinstance(v, str):
        return v == default
    return type(v) in (int, float) and type(default) in (int, float) and float(v) == float(default)


def _auto_pick(text: str | None) -> str | None:
    """The Trade ID the ``DashboardAutoPick`` name holds (None when the journal has no such name)."""
    if text is None:
        return None
    t = text.strip()
    if t.startswith("="):
        t = t[1:]
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        return t[1:-1].replace('""', '"')
    return None


def _typed_marks(cells: dict[tuple[int, int], str], mark_cells: dict[str, Cell], new: _Built) -> None:
    """A mark price the trader wrote as a formula moves with its Trade ID, formula and all."""
    if not any(c.has_formula for c in mark_cells.values()):
        return
    ref = new.tables.get(account.TABLE)
    if ref is None:
        return
    c0, r0, c1, r1 = range_bounds(ref)
    ci = c0 + [name for name, *_ in account.POSITION_COLUMNS].index("Trade ID")
    cm = c0 + [name for name, *_ in account.POSITION_COLUMNS].index("Mark price")
    for r in range(r0 + 1, r1 + 1):
        x = cells.get((r, ci), "")
        m = re.search(r"<t[^>]*>(.*?)</t>", x, re.S)
        if not m:
            continue
        from html import unescape
        c = mark_cells.get(unescape(m.group(1)).upper())
        if c is not None and c.has_formula:
            style = re.search(r'\ss="([^"]*)"', cells.get((r, cm), ""))
            cells[(r, cm)] = _with_style(_moved(c.text, r, cm), style.group(1) if style else None)
