"""Cash movements in the journal: the Cash sheet, the Balance that reconciles with the broker's,
and a drawdown that a withdrawal does not cause.

The engines' agreement with these cached values is checked in test_journal_formulas.py (pycel) and
test_journal_libreoffice.py (LibreOffice recalculating the balance columns).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import openpyxl
import pytest

from addin.fill import fill_journal, sample_statement
from journal_reader import read_journal
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal
from addin.statements import read_statement
from addin.statements.model import BalanceEvent, SourceRef, Trade

T0 = datetime(2024, 3, 4, 9)


def _trade(k: int, profit: float | None, hours_open: int = 2) -> Trade:
    opened = T0 + timedelta(days=k)
    closed = opened + timedelta(hours=hours_open) if profit is not None else None
    return Trade(broker="B", trade_id=f"t{k}", symbol="EURUSD", side="long", quantity=1, entry=1.1,
                 exit=1.1 if profit is not None else None, profit=profit, open_time=opened, close_time=closed,
                 source=SourceRef(file="s.csv", row=k + 2))


def _cash(k: int, when: datetime | None, amount: float, kind: str) -> BalanceEvent:
    return BalanceEvent(time=when, amount=amount, kind=kind, source=SourceRef(file="s.csv", row=100 + k))


def _rows(path) -> list[dict]:
    ws = openpyxl.load_workbook(path, data_only=True)["Trades"]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]


def _account(path) -> dict:
    ws = openpyxl.load_workbook(path, data_only=True)["Dashboard"]
    top = next(c.row for c in ws["A"] if c.value == "The account")
    return {ws[f"A{r}"].value: ws[f"B{r}"].value for r in range(top + 1, top + 12) if ws[f"A{r}"].value}


@pytest.fixture
def small(tmp_path):
    """Start 1,000. Win 100, deposit 500, lose 50, withdraw 700, lose 30 (the withdrawal is not a
    drawdown), a fee after the last close, a movement before the first trade (in StartingBalance)
    and one undated (listed, not counted), and a last trade still open."""
    trades = [_trade(0, 100.0), _trade(1, -50.0), _trade(2, -30.0), _trade(3, None)]
    cash = [
        _cash(0, T0 - timedelta(days=1), 1_000.0, "deposit"),
        _cash(1, T0 + timedelta(hours=12), 500.0, "deposit"),
        _cash(2, T0 + timedelta(days=1, hours=2), -700.0, "withdrawal"),  # the second trade's close, to the second
        _cash(3, T0 + timedelta(days=3, hours=1), -5.0, "fee"),  # after the open trade opened
        _cash(4, None, 42.0, "adjustment"),
    ]
    path = tmp_path / "small.xlsx"
    build_journal(path, trades, settings=Settings(starting_balance=1_000), cash=cash)
    return path, trades, cash


def test_balance_adds_cash_from_the_first_trade_up_to_each_close(small):
    path, _, _ = small
    rows = _rows(path)
    assert [r["Cumulative P/L"] for r in rows] == [100, 50, 20, 20]
    assert [r["Cash in/out"] for r in rows] == [0, 500 - 700, -200, -200]  # the open trade: up to its open
    assert [r["Balance"] for r in rows] == [1_100, 850, 820, 820]
    assert rows[1]["Equity used"] == 900  # the balance before its own P/L


def test_a_withdrawal_is_not_a_drawdown(small):
    path, _, _ = small
    dd = [r["Drawdown"] for r in _rows(path)]
    assert dd[0] == 0
    # 50 lost from the P/L peak of 100, out of the 900 that would stand without the loss
    assert dd[1] == pytest.approx(50 / 900)
    assert dd[2] == pytest.approx(80 / 900)
    # the balance fell 1,100 -> 850 but only 50 of that was trading
    assert dd[1] < 1 - 850 / 1_100


def test_dashboard_account_reconciles(small):
    path, _, _ = small
    acct = _account(path)
    assert acct["Cash in/out since 1st trade"] == 500 - 700 - 5
    assert acct["Net P/L"] == 20
    assert acct["Balance"] == 1_000 + 500 - 700 - 5 + 20
    assert acct["Max drawdown (trading P/L)"] == pytest.approx(80 / 900)


def test_cash_sheet_lists_every_movement_by_time_and_reads_back(small):
    path, _, cash = small
    wb = openpyxl.load_workbook(path)
    ws = wb["Cash"]
    assert [c.value for c in ws[1][:6]] == ["Time", "Amount", "Kind", "Broker", "Account", "Source"]
    assert ws.tables["Cash"].ref == "A1:F6"
    assert [ws[f"C{r}"].value for r in range(2, 7)] == ["deposit", "deposit", "withdrawal", "fee", "adjustment"]
    assert ws["F3"].value == "s.csv, row 101"
    assert wb.defined_names["CashFrom"].attr_text == "Cash!$I$1"
    assert not isinstance(ws["I1"].value, str)  # a value, not MIN(Trades[Open time]): a new trade changes no row
    assert read_journal(path).cash == cash


def test_empty_cash_table_in_the_template(tmp_path):
    path = tmp_path / "t.xlsx"
    build_journal(path, [])
    assert openpyxl.load_workbook(path)["Cash"].tables["Cash"].ref == "A1:F2"
    assert read_journal(path).cash == []
    assert _account(path)["Balance"] == Settings().starting_balance


def test_filled_sample_balance_equals_the_statements_balance(tmp_path):
    """What a trader checks first: the journal's balance is the broker's, to the cent."""
    statement = read_statement(sample_statement())
    assert statement.totals.balance == 15_624.70
    journal = tmp_path / "J.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    acct = _account(journal)
    assert round(acct["Balance"], 2) == statement.totals.balance
    assert acct["Cash in/out since 1st trade"] == 5_000
    rows = _rows(journal)
    closed = [r for r in rows if r["Close time"] is not None]
    last_close = max(closed, key=lambda r: r["Close time"])
    assert round(last_close["Balance"], 2) == statement.totals.balance
    # the mid-way deposit is not a drawdown in reverse either: drawdown stays a trading figure
    assert acct["Max drawdown (trading P/L)"] < 0.05

    # Filling the same statement again adds no cash movement twice.
    fill_journal([sample_statement()], journal, progress=False)
    back = read_journal(journal)
    assert len(back.cash) == len(statement.balance_events) == 2
    assert round(_account(journal)["Balance"], 2) == statement.totals.balance
