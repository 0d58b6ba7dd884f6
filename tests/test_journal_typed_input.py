"""Settings and Trade IDs typed the way a trader types them.

Python writes numbers; a trader types text that the spreadsheet parses: ``1:30`` typed into the
leverage cell becomes the time 0:30 (0.0625) in Excel and LibreOffice, a trade id typed into the
Dashboard's picker becomes the number 12345 while the Trades table holds the text "12345". These
tests type into a journal through LibreOffice (UNO's setFormula parses input as typing does, see
tests/lo_uno.py) and check what the sheets then show. setFormula does not run data validation, so
the validation of each Settings cell is read from the xlsx and its rule evaluated by LibreOffice on
typed entries.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from addin.journal import schema
from addin.journal.settings import LEVERAGE_MAX, Settings
from addin.journal.trades import TEXT_ID_COLUMNS
from addin.journal.workbook import build_journal
from addin.risk.limits import REGIMES
from test_journal_locales import _uno_available, run_lo
from tools.sample_trades import edge_trades, sample_trades

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not _uno_available(),
                       reason="LibreOffice with python3-uno is not installed: apt-get install libreoffice-calc"),
]

CELL = {fld: f"B{schema.SETTINGS_FIRST_ROW + i}" for i, (fld, *_) in enumerate(schema.SETTINGS_CELLS)}
NUMERIC_ID = "12345"

# (field, typed text, accepted?): what the validation of each Settings cell must let through.
ENTRIES = (
    ("account_leverage", "30", True), ("account_leverage", "500", True), ("account_leverage", "1", True),
    ("account_leverage", "33.5", True), ("account_leverage", "1:30", False), ("account_leverage", "1:10", False),
    ("account_leverage", "1:500", False), ("account_leverage", "30:1", False), ("account_leverage", "thirty", False),
    ("account_leverage", "0", False), ("account_leverage", "0.5", False), ("account_leverage", str(LEVERAGE_MAX + 1), False),
    ("starting_balance", "25000", True), ("starting_balance", "25000.5", True), ("starting_balance", "25 000", False),
    ("starting_balance", "0", False), ("starting_balance", "-5", False), ("starting_balance", "USD 100", False),
    ("risk_per_trade", "1%", True), ("risk_per_trade", "0.02", True), ("risk_per_trade", "0", False),
    ("risk_per_trade", "1", False), ("risk_per_trade", "2", False), ("risk_per_trade", "two", False),
    ("stop_out_level", "50%", True), ("stop_out_level", "0", True), ("stop_out_level", "100%", False),
    ("stop_out_level", "1.5", False), ("stop_out_level", "half", False),
    ("max_drawdown", "20%", True), ("max_drawdown", "0", False), ("max_drawdown", "1", False),
    ("max_drawdown", "-10%", False),
    ("account_currency", "USD", True), ("account_currency", "usdt", True), ("account_currency", "US", False),
    ("account_currency", "US D", False), ("account_currency", "840", False), ("account_currency", "DOLLAR", False),
)


def _journal(path: Path, settings: Settings) -> Path:
    trades = sample_trades(40, seed=11) + edge_trades()
    # An id that is all digits, the way MetaTrader numbers its tickets.
    trades[0] = trades[0].model_copy(update={"trade_id": NUMERIC_ID})
    build_journal(path, trades, settings=settings)
    return path


@pytest.fixture(scope="module")
def journals(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("typed")
    return (_journal(tmp / "default.xlsx", Settings()),
            _journal(tmp / "lev50.xlsx", Settings(account_leverage=50)))


def _rule(dv, ref: str) -> str:
    """The validation ``dv`` of one cell as a formula over the cell ``ref``: true when accepted."""
    own = str(dv.sqref)
    if dv.type == "custom":
        return re.sub(rf"\b{own}\b", ref, dv.formula1)
    if dv.type in ("decimal", "whole"):
        base = f"ISNUMBER({ref})" + (f",INT({ref})={ref}" if dv.type == "whole" else "")
        op = dv.operator or "between"
        cmp = {"between": f"{ref}>={dv.formula1},{ref}<={dv.formula2}", "greaterThan": f"{ref}>{dv.formula1}",
               "greaterThanOrEqual": f"{ref}>={dv.formula1}", "lessThan": f"{ref}<{dv.formula1}",
               "lessThanOrEqual": f"{ref}<={dv.formula1}"}[op]
        return f"AND({base},{cmp})"
    raise AssertionError(f"no formula for a {dv.type} validation")


def _typed(formula: str) -> str:
    """A formula as typed through UNO's setFormula, whose grammar separates arguments with ";"."""
    parts = formula.split('"')
    return "=" + '"'.join(p.replace(",", ";") if i % 2 == 0 else p for i, p in enumerate(parts))


def _validations(path: Path) -> dict[str, object]:
    ws = openpyxl.load_workbook(path)[schema.SETTINGS_SHEET]
    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    return {fld: by_cell[ref] for fld, ref in CELL.items()}


def test_every_setting_has_a_validation_with_messages(journals):
    dvs = _validations(journals[0])
    for fld, dv in dvs.items():
        assert dv.showErrorMessage and dv.showInputMessage and dv.errorStyle in (None, "stop"), fld
        assert dv.prompt and dv.error and not dv.allow_blank, fld
        assert len(dv.prompt) <= 255 and len(dv.error) <= 255 and len(dv.errorTitle) <= 32, fld
    assert "type 30 for 1:30" in dvs["account_leverage"].error.lower()
    assert dvs["regulator"].type == "list"
    assert dvs["regulator"].formula1.strip('"').split(",") == list(REGIMES)
    ws = openpyxl.load_workbook(journals[0])[schema.SETTINGS_SHEET]
    assert ws[CELL["account_leverage"]].number_format == '"1:"General'
    for fld in ("risk_per_trade", "stop_out_level", "max_drawdown"):
        assert ws[CELL[fld]].number_format.endswith("%"), fld


def test_validation_refuses_a_typed_time_and_lets_through_what_settings_reads(journals, tmp_path):
    """Each entry is typed into a scratch cell, the cell's rule evaluated beside it; then the real
    leverage cell gets "1:30" and its own rule, verbatim, is evaluated on it."""
    dvs = _validations(journals[0])
    steps = []
    for k, (fld, typed, _) in enumerate(ENTRIES):
        row = 40 + k
        steps.append(["type", "Settings", f"E{row}", typed])
        steps.append(["type", "Settings", f"F{row}", _typed(_rule(dvs[fld], f"E{row}"))])
    lev = CELL["account_leverage"]
    steps += [["type", "Settings", lev, "1:30"],
              ["type", "Settings", "F5", _typed(dvs["account_leverage"].formula1)],
              ["calculate_all"]]
    cells = run_lo({"input": str(journals[0]), "steps": steps}, tmp_path)["Settings"]["cells"]
    wrong = []
    for k, (fld, typed, accepted) in enumerate(ENTRIES):
        row = 40 + k
        got = cells[f"F{row}"]
        ok = got[0] == "n" and bool(got[1]) == accepted
        if not ok:
            wrong.append(f"{fld} typed {typed!r} (read as {cells[f'E{row}'][1]!r}): rule gave {got[2]!r}")
        if accepted:  # what the validation lets through, the fill's reading of Settings accepts
            Settings(**{fld: cells[f"E{row}"][1]})
    assert not wrong, "\n".join(wrong)
    # The typed time itself: LibreOffice made it 0:30 (as Excel does) and the cell's own rule refuses it.
    assert math.isclose(cells[lev][1], 1.5 / 24)
    assert cells["F5"][0] == "n" and cells["F5"][1] == 0


def test_leverage_typed_as_30_gives_the_python_written_figures(journals, tmp_path):
    """Typing 50 into AccountLeverage of a journal built with 30 shows every figure of the journal
    Python built with 50, and the cell shows 1:50. The Planner is the plan's own: its yellow Leverage
    input was seeded from Settings when the journal was made and keeps its value (30) until the
    trader types another, so its figures stay those of a 1:30 plan."""
    default, lev50 = journals
    lev = CELL["account_leverage"]
    built = run_lo({"input": str(lev50), "steps": [["calculate_all"]], "dump": str(tmp_path / "a.json")}, tmp_path)
    typed = run_lo({"input": str(default), "steps": [["type", "Settings", lev, "50"], ["calculate_all"]],
                    "dump": str(tmp_path / "b.json")}, tmp_path)
    untouched = run_lo({"input": str(default), "steps": [["calculate_all"]], "dump": str(tmp_path / "c.json")},
                       tmp_path)
    assert typed["Settings"]["cells"][lev][:3] == ["n", 50, "1:50"]
    assert built["Settings"]["cells"][lev][:3] == ["n", 50, "1:50"]
    differ, depends = [], 0
    planner = schema.PLANNER_SHEET
    assert typed[planner]["cells"]["B11"][:2] == ["n", 30] and built[planner]["cells"]["B11"][:2] == ["n", 50]
    for sheet, data in built.items():
        if sheet == planner:
            continue
        for ref, cell in data["cells"].items():
            if cell[3] is None:
                continue
            theirs = typed[sheet]["cells"].get(ref)
            if theirs is None or theirs[:3] != cell[:3]:
                if not (theirs and cell[0] == theirs[0] == "n" and math.isclose(cell[1], theirs[1], rel_tol=1e-12)):
                    differ.append(f"{sheet}!{ref} {cell[3]}: built {cell[2]!r}, typed {theirs and theirs[2]!r}")
            if untouched[sheet]["cells"].get(ref, [None] * 3)[:3] != cell[:3]:
                depends += 1
    assert not differ, f"{len(differ)} cells differ:\n" + "\n".join(differ[:20])
    assert depends > 0  # some figures do depend on AccountLeverage (the trade on a symbol not in Instruments)


def _card(cells: dict, label: str):
    row = next(int(ref[1:]) for ref, c in cells.items() if ref[0] == "A" and ref[1:].isdigit() and c[1] == label)
    return cells[f"B{row}"]


def test_trade_id_typed_as_a_number_finds_its_trade(journals, tmp_path):
    default = journals[0]
    wb = openpyxl.load_workbook(default)
    head = [c.value for c in wb["Trades"][1]]
    rows = [dict(zip(head, r)) for r in wb["Trades"].iter_rows(min_row=2, values_only=True)]
    i = next(k for k, r in enumerate(rows) if r["Trade ID"] == NUMERIC_ID)
    # The Account sheet's positions: the first Trade ID cell below its header.
    acc = wb["Account"]
    hdr = next(c for row in acc.iter_rows() for c in row if c.value == "Trade ID")
    pos = acc.cell(row=hdr.row + 1, column=hdr.column).coordinate
    steps = [["type", "Dashboard", "B3", NUMERIC_ID], ["type", "Account", pos, NUMERIC_ID], ["calculate_all"]]
    out = run_lo({"input": str(default), "steps": steps}, tmp_path)
    dash = out["Dashboard"]["cells"]
    assert dash["B3"][0] == "n" and dash["B3"][1] == int(NUMERIC_ID)  # typed as a number, not as text
    assert dash["B4"][:2] == ["n", i + 1]
    assert _card(dash, "Symbol")[2] == rows[i]["Symbol"]
    assert _card(dash, "Side")[2] == rows[i]["Side"]
    a = out["Account"]["cells"]
    row = int(re.sub(r"\D", "", pos))
    assert a[pos][0] == "n"
    symbol_col = next(ref for ref, c in a.items() if c[1] == "Symbol" and int(re.sub(r"\D", "", ref)) == hdr.row)
    got = a[re.sub(r"\d", "", symbol_col) + str(row)]
    assert got[0] == "s" and got[2] == rows[i]["Symbol"], got
    # A text id that is not all digits still finds its trade; an unknown one says so.
    other = next(k for k, r in enumerate(rows) if re.fullmatch(r"[A-Za-z][\w-]*", str(r["Trade ID"] or "")))
    out = run_lo({"input": str(default), "steps": [["type", "Dashboard", "B3", rows[other]["Trade ID"]],
                                                   ["type", "Account", pos, "no-such-id"], ["calculate_all"]]},
                 tmp_path)
    assert out["Dashboard"]["cells"]["B4"][:2] == ["n", other + 1]
    assert out["Account"]["cells"][re.sub(r"\d", "", symbol_col) + str(row)][2] == "#N/A"


def test_trades_sheet_ignores_number_stored_as_text_on_its_id_columns(journals):
    wb = openpyxl.load_workbook(journals[0])
    with zipfile.ZipFile(journals[0]) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        book = z.read("xl/workbook.xml").decode()
        rid = re.search(r'<sheet [^>]*name="Trades"[^>]*r:id="([^"]+)"', book).group(1)
        target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels) or \
            re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
        xml = z.read("xl/" + target.group(1).removeprefix("/xl/")).decode()
    m = re.search(r'<ignoredErrors><ignoredError sqref="([^"]+)" numberStoredAsText="1"/></ignoredErrors>', xml)
    assert m, "no ignoredErrors in the Trades sheet"
    head = [c.value for c in wb["Trades"][1]]
    want = {f"{openpyxl.utils.get_column_letter(head.index(h) + 1)}2:"
            f"{openpyxl.utils.get_column_letter(head.index(h) + 1)}1048576" for h in TEXT_ID_COLUMNS}
    assert set(m.group(1).split()) == want
    # In the schema's place: after the sheet data and formats, before the table parts.
    assert xml.index("</sheetData>") < m.start() < xml.index("<tableParts")


def _trades_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        book = z.read("xl/workbook.xml").decode()
        rid = re.search(r'<sheet [^>]*name="Trades"[^>]*r:id="([^"]+)"', book).group(1)
        rel = next(r for r in re.findall(r"<Relationship [^>]*>", rels) if f'Id="{rid}"' in r)
        return z.read("xl/" + re.search(r'Target="([^"]+)"', rel).group(1).removeprefix("/xl/")).decode()


@pytest.mark.statements
def test_a_fill_that_grows_the_table_keeps_the_ignored_errors_and_reads_the_settings(tmp_path):
    from addin.fill import fill_journal
    from addin.fill.journal_state import read_settings
    from addin.fill.xlsx_edit import Package
    from conftest import shared_statement

    statement = shared_statement("mt4_statement_html/jsacap_Tradeslide_Statement.htm")
    path = _journal(tmp_path / "J.xlsx", Settings())
    before = _trades_xml(path)
    fill_journal([statement], path, progress=False)
    after = _trades_xml(path)
    rows = lambda xml: len(re.findall(r"<row ", xml))  # noqa: E731
    assert rows(after) > rows(before)
    element = re.search(r"<ignoredErrors>.*?</ignoredErrors>", before).group(0)
    assert after.count("<ignoredErrors>") == 1 and element in after
    ws = openpyxl.load_workbook(path)[schema.SETTINGS_SHEET]
    assert ws[CELL["account_leverage"]].number_format == '"1:"General'


def _settings_of(path: Path) -> Settings:
    from addin.fill.journal_state import read_settings
    from addin.fill.xlsx_edit import Package

    pkg = Package.open(path)
    try:
        return read_settings(pkg)[0]
    finally:
        pkg.close()


@pytest.mark.parametrize("written, leverage", [(50, 50), ("1:50", 50), ("50:1", 50), ("50x", 50), (" 1:500 ", 500)])
def test_the_fill_reads_leverage_written_as_a_number_or_the_old_ways(journals, tmp_path, written, leverage):
    """A journal whose leverage cell holds the number (the validated cell) or text written the
    way older journals and traders wrote it (a cell formatted as text): the fill reads the same."""
    wb = openpyxl.load_workbook(journals[0])
    wb[schema.SETTINGS_SHEET][CELL["account_leverage"]].value = written
    wb.save(tmp_path / "old.xlsx")
    assert _settings_of(tmp_path / "old.xlsx").account_leverage == leverage


def test_an_old_journal_holding_a_typed_time_as_leverage_is_refused_naming_the_cell(journals, tmp_path):
    """Before the validation, "1:30" typed into the leverage cell became 0.0625 and every margin was
    480 times too large; the fill now refuses that value and says what to type."""
    from addin.fill.journal_state import SettingsError

    wb = openpyxl.load_workbook(journals[0])
    wb[schema.SETTINGS_SHEET][CELL["account_leverage"]].value = 1.5 / 24
    wb.save(tmp_path / "old.xlsx")
    with pytest.raises(SettingsError) as exc:
        _settings_of(tmp_path / "old.xlsx")
    msg = str(exc.value)
    assert f"Settings!{CELL['account_leverage']}" in msg and "AccountLeverage" in msg and "type 30 for 1:30" in msg
