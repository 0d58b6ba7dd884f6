"""Damaged MetaTrader statements lose no row: every damaged row is rejected on its own (row, column,
the bad text), reading goes on, a position that depends on a rejected deal is rejected with the
reason, the row ledger balances, and a totals mismatch names the rejected rows that explain it.

Each case damages a temporary copy of a real terminal export (``../shared/statements/``): one cell
of one row, as a broken download, an editor or a hand "fix" would. Cells are addressed by the
``<tr>`` number the readers report (``SourceRef.row``) and the visible cell's position.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import MergedCell
import pytest
from conftest import shared_statement
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_fill import cli

from addin.statements import mt4_html, mt5_report, read_statement
from addin.statements.ledger import LedgerError
from addin.statements.model import StatementError

pytestmark = [pytest.mark.statements,
              pytest.mark.filterwarnings("ignore:Workbook contains no default style")]

MT5_HTML = "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"
MT5_XLSX = "mt5_report/Wizard-hash2_ReportHistory.xlsx"
MT4 = ("mt4_statement_html/jsacap_Tradeslide_Statement.htm",
       "mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm")
POSITION_SECTIONS = ("Positions", "Open Positions")

_TR = re.compile(r"<tr\b", re.I)
_TD = re.compile(r"(<t[dh]\b([^>]*)>)(.*?)(</t[dh]>)", re.I | re.S)


def damage_html(text: str, tr: int, cell: int, new: str) -> tuple[str, str]:
    """``text`` with the ``cell``-th visible cell (0-based; cells of class "hidden" skipped) of the
    ``tr``-th ``<tr>`` (1-based) replaced by ``new``; and the old text."""
    starts = [m.start() for m in _TR.finditer(text)]
    s = starts[tr - 1]
    e = starts[tr] if tr < len(starts) else len(text)
    seg = text[s:e]
    visible = [m for m in _TD.finditer(seg) if "hidden" not in m.group(2)]
    m = visible[cell % len(visible)]  # a short row (a deposit's 5 cells): counted round
    return text[:s] + seg[:m.start(3)] + new + seg[m.end(3):] + text[e:], m.group(3)


def html_copy(tmp_path: Path, relative: str, *edits: tuple[int, int, str]) -> Path:
    src = shared_statement(relative)
    text = mt4_html.decode_html(src.read_bytes())
    for tr, cell, new in edits:
        text, _ = damage_html(text, tr, cell, new)
    out = tmp_path / Path(relative).name
    out.write_text(text, encoding="utf-8")
    return out


def positions(st) -> Counter:
    """Positions accounted for, by section: read as trades or rejected."""
    c = Counter(t.source.section for t in st.trades)
    c.update(r.source.section for r in st.rejected if r.source.section in POSITION_SECTIONS)
    return c


def rejected_at(st, row: int):
    return next(r for r in st.rejected if r.source.row == row)


@pytest.fixture(scope="module")
def mt5():
    return mt5_report.read(shared_statement(MT5_HTML))


def closed_pnl_mismatch(st):
    """The statement's closed trade P/L check, which must not match; any other check that does not
    match (an MT5 report's closing deals against its positions) is explained by the same rejected rows."""
    (m,) = [c for c in st.mismatches if c.name in ("closed trade P/L", "closed trades' P/L")] or st.mismatches[:1]
    for other in st.mismatches:
        assert other is m or "the rejected row" in other.describe(), other.describe()
    return m


def deal_row_of(st, ticket: str) -> int:
    """The Deals <tr> whose Order is ``ticket`` (the position's opening deal)."""
    return next(n.source.row for n in st.non_trades if n.source.section == "Deals" and n.kind == "deal"
                and _deal_order(n) == ticket)


def _deal_order(n) -> str:
    return _DEAL_ORDERS.get(n.source.row, "")


_DEAL_ORDERS: dict[int, str] = {}


@pytest.fixture(scope="module", autouse=True)
def deal_orders():
    rows = mt5_report._html_rows(shared_statement(MT5_HTML))
    for r in rows:
        if len(r.texts) >= 14 and r.texts[4] in ("in", "out"):
            _DEAL_ORDERS[r.number] = r.texts[7]


# ----------------------------------------------------------------------------- MT5 HTML


def test_a_garbled_time_in_deals_and_in_open_positions_rejects_those_rows_and_the_dependent_position(tmp_path, mt5):
    open_pos = next(t for t in mt5.trades if t.source.section == "Open Positions")
    other_open = [t for t in mt5.trades if t.source.section == "Open Positions"][5]
    deal = deal_row_of(mt5, open_pos.trade_id)
    bad = html_copy(tmp_path, MT5_HTML, (deal, 0, "2023.06.2x 08:00:00"), (other_open.source.row, 0, "2023.0?.26 10:00"))

    st = mt5_report.read(bad)

    assert st.ledger.balanced and st.ledger.seen == mt5.ledger.seen
    assert positions(st) == positions(mt5) == Counter({"Positions": 658, "Open Positions": 85})
    assert len(st.trades) == 743 - 2 and len(st.rejected) == 3
    r = rejected_at(st, deal)
    assert r.source.section == "Deals" and "column 1 (Time)" in r.reason and "'2023.06.2x 08:00:00'" in r.reason
    r = rejected_at(st, other_open.source.row)
    assert "column 1 (Time)" in r.reason and "'2023.0?.26 10:00'" in r.reason
    r = rejected_at(st, open_pos.source.row)
    assert f"position {open_pos.trade_id}" in r.reason and f"Deals row {deal}" in r.reason
    assert not st.mismatches  # open positions are not in the closed totals


@pytest.mark.parametrize("blank", ["", " "])
def test_an_empty_time_cell_is_a_damaged_row_not_a_total(tmp_path, mt5, blank):
    victim = [t for t in mt5.trades if t.source.section == "Open Positions"][3]
    st = mt5_report.read(html_copy(tmp_path, MT5_HTML, (victim.source.row, 0, blank)))
    assert positions(st) == positions(mt5)
    r = rejected_at(st, victim.source.row)
    assert "column 1 (Time) is empty" in r.reason
    assert Counter(n.kind for n in st.non_trades)["subtotal"] == Counter(n.kind for n in mt5.non_trades)["subtotal"]


def test_a_non_numeric_volume_in_deals_is_rejected_and_the_mismatch_names_the_rows(tmp_path, mt5):
    closed = next(t for t in mt5.trades if t.trade_id == "1771882106")  # GBPUSD buy 0.02, +1.50
    deal = deal_row_of(mt5, closed.trade_id)
    st = mt5_report.read(html_copy(tmp_path, MT5_HTML, (deal, 5, "0.O2")))

    assert st.ledger.balanced and positions(st) == positions(mt5)
    r = rejected_at(st, deal)
    assert r.source.section == "Deals" and "column 6 (Volume)" in r.reason and "'0.O2'" in r.reason
    p = rejected_at(st, closed.source.row)
    assert f"Deals row {deal}" in p.reason and "column 6 (Volume)" in p.reason
    m = closed_pnl_mismatch(st)
    assert m.name == "closed trade P/L" and round(m.difference, 2) == -1.50
    assert f"the rejected row {closed.source.row} holds +1.50 EUR, which explains the whole difference" in m.describe()


@pytest.mark.parametrize("cell, bad, column", [(7, "17718821O6", "column 8 (Order)"),
                                               (6, "1.27O43", "column 7 (Price)"),
                                               (11, "n/a", "column 12 (Profit)")])
def test_every_figure_of_a_deal_is_read(tmp_path, mt5, cell, bad, column):
    deal = deal_row_of(mt5, "1771882106")
    st = mt5_report.read(html_copy(tmp_path, MT5_HTML, (deal, cell, bad)))
    r = rejected_at(st, deal)
    assert column in r.reason and repr(bad) in r.reason and st.ledger.balanced


def test_a_damaged_closed_position_is_named_in_the_net_profit_mismatch(tmp_path, mt5):
    a, b = [t for t in mt5.trades if t.source.section == "Positions" and abs(t.net_profit) > 0.5][:2]
    st = mt5_report.read(html_copy(tmp_path, MT5_HTML, (a.source.row, 4, "lots"), (b.source.row, 0, "yesterday")))
    assert "column 5 (Volume)" in rejected_at(st, a.source.row).reason
    m = closed_pnl_mismatch(st)
    held = round(a.net_profit + b.net_profit, 2)
    assert f"the rejected rows {min(a.source.row, b.source.row)} and {max(a.source.row, b.source.row)} hold " \
           f"{held:+,.2f} EUR, which explains the whole difference" in m.describe()


# ----------------------------------------------------------------------------- MT5 XLSX


def xlsx_copy(tmp_path: Path, *edits: tuple[int, int, object]) -> Path | None:
    wb = openpyxl.load_workbook(shared_statement(MT5_XLSX))
    ws = wb.worksheets[0]
    for row, col, value in edits:
        cell = ws.cell(row, col)
        if isinstance(cell, MergedCell):  # a merged cell's value lives in its first cell
            return None
        cell.value = value
    out = tmp_path / "damaged.xlsx"
    wb.save(out)
    return out


def test_mt5_xlsx_damaged_deal_and_position_rows(tmp_path):
    base = mt5_report.read(shared_statement(MT5_XLSX))
    # row 45: the EURAUD buy deal opening position 35539894 (closed, -264.07); row 12: NZDUSD position
    st = mt5_report.read(xlsx_copy(tmp_path, (45, 6, "0,1x"), (12, 1, "2025.04.2? 15:45:31")))
    assert st.ledger.balanced and positions(st) == positions(base)
    assert "column 6 (Volume)" in rejected_at(st, 45).reason and "'0,1x'" in rejected_at(st, 45).reason
    assert "column 1 (Time)" in rejected_at(st, 12).reason
    dep = next(r for r in st.rejected if "35539894" in r.reason)
    assert "Deals row 45" in dep.reason
    m = closed_pnl_mismatch(st)
    assert "rejected rows 10 and 12 hold" in m.describe() and "explains the whole difference" in m.describe()


# ----------------------------------------------------------------------------- MT4


@pytest.mark.parametrize("relative", MT4)
@pytest.mark.parametrize("ticket", ["12a45", "#{}", "{}#"])
def test_mt4_a_ticket_with_a_letter_or_hash_is_rejected_and_named_in_the_mismatch(tmp_path, relative, ticket):
    base = mt4_html.read(shared_statement(relative))
    t = [t for t in base.trades if t.is_closed and abs(t.net_profit) > 0.1][3]
    bad = ticket.format(t.trade_id)
    st = mt4_html.read(html_copy(tmp_path, relative, (t.source.row, 0, bad)))
    assert st.ledger.balanced and len(st.trades) == len(base.trades) - 1
    r = rejected_at(st, t.source.row)
    assert "'Ticket'" in r.reason and repr(bad) in r.reason
    m = closed_pnl_mismatch(st)
    assert m.name == "closed trade P/L"
    assert f"the rejected row {t.source.row} holds {round(t.net_profit, 2):+,.2f}" in m.describe()
    assert "explains the whole difference" in m.describe()


def test_mt4_a_damaged_ticket_through_the_fill_is_exit_1_naming_the_row(tmp_path):
    relative = MT4[1]
    base = mt4_html.read(shared_statement(relative))
    t = [t for t in base.trades if t.is_closed and abs(t.net_profit) > 0.1][3]
    bad = html_copy(tmp_path, relative, (t.source.row, 0, t.trade_id + "#"))
    run = cli(bad, "--journal", tmp_path / "J.xlsx", "--no-progress")
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert f"the rejected row {t.source.row} holds" in last and "Traceback" not in run.stderr
    assert f"row {t.source.row}: column 'Ticket'" in run.stdout


@pytest.mark.parametrize("cell, bad, expect", [(0, "Closed P/L:", "'Ticket'"), (2, "balance", "column 3 (Type)")])
def test_mt4_a_trade_row_damaged_into_a_total_or_a_deposit_is_rejected_not_taken_for_one(tmp_path, cell, bad, expect):
    """A total row and a balance row have 5 cells or fewer, a trade row 14: the shape decides."""
    relative = MT4[0]  # this statement has no Total Trades, so only the row itself can tell
    base = mt4_html.read(shared_statement(relative))
    t = [t for t in base.trades if t.is_closed and abs(t.net_profit) > 0.1][10]
    st = mt4_html.read(html_copy(tmp_path, relative, (t.source.row, cell, bad)))
    r = rejected_at(st, t.source.row)
    assert expect in r.reason and repr(bad) in r.reason
    assert len(st.balance_events) == len(base.balance_events)
    assert Counter(n.kind for n in st.non_trades) == Counter(n.kind for n in base.non_trades)
    m = closed_pnl_mismatch(st)
    assert f"the rejected row {t.source.row} holds" in m.describe() and "the whole difference" in m.describe()


@pytest.mark.parametrize("cell, bad, column", [(3, "0.1O", "column 4 (Size)"), (13, "12,3,4", "column 14 (Profit)"),
                                               (8, "2019.13.45 10:00", "column 9 (Close Time)")])
def test_mt4_a_damaged_figure_names_its_column(tmp_path, cell, bad, column):
    relative = MT4[0]
    base = mt4_html.read(shared_statement(relative))
    t = [t for t in base.trades if t.is_closed][7]
    st = mt4_html.read(html_copy(tmp_path, relative, (t.source.row, cell, bad)))
    r = rejected_at(st, t.source.row)
    assert column in r.reason and repr(bad) in r.reason and st.ledger.balanced


# ----------------------------------------------------------------------------- hostile: one cell changed

_JUNK = st.one_of(st.sampled_from(["", " ", "#", "x", "-", "1e400", "nan", "0", "2023.13.45 25:61:00", "buy",
                                   "1 000.00", "1,5", "<b>", "&amp;", "\u00a0", "9" * 30]),
                  st.text(max_size=12))


class Base:
    """What the intact file reads as, kept small (a failing example prints its arguments)."""

    def __init__(self, st, text: str = ""):
        self.text = text  # the decoded file, for the HTML cases
        self.seen = st.ledger.seen
        self.positions = sum(positions(st).values())
        self.trade_rows = sorted(t.source.row for t in st.trades)
        self.other_rows = sorted(n.source.row for n in st.non_trades if n.kind in ("deal", "order", "deposit"))
        # the last table's last row (its total), just above the account summary: damaged into the
        # summary's shape it may be read as the summary's first row (no trade is in it)
        self.boundary = max(x.source.row for x in list(st.non_trades) + list(st.trades) if x.source.row)

    def __repr__(self) -> str:
        return f"Base(seen={self.seen}, positions={self.positions})"


def _check_one_cell(path: Path, reader, base: Base, row: int = 0) -> None:
    try:
        got = reader.read(path)
    except LedgerError as exc:  # a lost or double-counted row is a reader bug, never acceptable
        raise AssertionError(f"row ledger failed: {exc}") from None
    except StatementError:
        return  # refusing the whole file is allowed (e.g. a damaged Summary)
    assert got.ledger.balanced
    assert got.ledger.seen == base.seen or (row == base.boundary and got.ledger.seen == base.seen - 1)
    if reader is mt5_report:
        assert sum(positions(got).values()) == base.positions


@pytest.fixture(scope="module")
def mt4_base():
    path = shared_statement(MT4[1])
    return Base(mt4_html.read(path), mt4_html.decode_html(path.read_bytes()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), junk=_JUNK)
def test_mt4_one_cell_changed_never_loses_a_row(tmp_path, mt4_base, data, junk):
    base = mt4_base
    text = base.text
    row = data.draw(st.sampled_from(base.trade_rows + base.other_rows))
    cell = data.draw(st.integers(0, 13))
    changed, _ = damage_html(text, row, cell, junk.replace("<", "&lt;") if "<b>" != junk else junk)
    out = tmp_path / "one_cell.htm"
    out.write_text(changed, encoding="utf-8")
    _check_one_cell(out, mt4_html, base, row)


@pytest.fixture(scope="module")
def mt5_base():
    path = shared_statement(MT5_HTML)
    return Base(mt5_report.read(path), mt4_html.decode_html(path.read_bytes()))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), junk=_JUNK)
def test_mt5_one_cell_changed_never_loses_a_row(tmp_path, mt5_base, data, junk):
    base = mt5_base
    text = base.text
    row = data.draw(st.sampled_from(base.trade_rows + base.other_rows))
    cell = data.draw(st.integers(0, 10))
    changed, _ = damage_html(text, row, cell, junk.replace("<", "&lt;"))
    out = tmp_path / "one_cell.html"
    out.write_text(changed, encoding="utf-8")
    _check_one_cell(out, mt5_report, base, row)


@pytest.fixture(scope="module")
def xlsx_base():
    return Base(mt5_report.read(shared_statement(MT5_XLSX)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(8, 67), col=st.integers(1, 13), junk=st.one_of(_JUNK, st.floats(allow_nan=True),
                                                                      st.integers(-10**6, 10**6)))
def test_mt5_xlsx_one_cell_changed_never_loses_a_row(tmp_path, xlsx_base, row, col, junk):
    if isinstance(junk, str) and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in junk):
        junk = junk.encode("unicode_escape").decode()  # openpyxl refuses control characters in a cell
    path = xlsx_copy(tmp_path, (row, col, junk))
    assume(path is not None)
    _check_one_cell(path, mt5_report, xlsx_base, row)
