"""Several accounts in one journal: each account's running figures in its own currency, its own
starting balance and cash, and the home currency reached only through a rate.

Hand-checked examples a trader can redo: two accounts of one broker, traded on alternate days, a
deposit in one of them; real MetaTrader statements of a EUR and a USD account filled in both orders;
a property test that no figure in the home currency ever adds a currency without a rate; and
LibreOffice recalculating the per-account figures to the cached values.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from addin.fill import fill_journal
from addin.journal import accounts as AC
from addin.journal import columns as C
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal, trade_columns
from addin.journal.instruments import DEFAULT_INSTRUMENTS
from addin.journal.layout import NO_ADDIN
from addin.statements import read_statement
from addin.statements.model import BalanceEvent, SourceRef, Trade
from conftest import shared_statement
from lo_uno import available as lo_available, convert

T0 = datetime(2024, 3, 4, 9)


def _trade(k: int, account: str, profit: float | None, currency: str = "USD", symbol: str = "EURUSD") -> Trade:
    opened = T0 + timedelta(days=k)
    return Trade(broker="B", account=account, trade_id=f"t{k}", symbol=symbol, side="long", quantity=1, entry=1.1,
                 exit=1.1 if profit is not None else None, profit=profit, open_time=opened,
                 close_time=opened + timedelta(hours=2) if profit is not None else None,
                 account_currency=currency, source=SourceRef(file="s.csv", row=k + 2))


def _rows(path, sheet="Trades") -> list[dict]:
    ws = openpyxl.load_workbook(path, data_only=True)[sheet]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0] is not None]


def _block(path) -> dict[str, dict]:
    """The Account sheet's Accounts block, by Account."""
    ws = openpyxl.load_workbook(path, data_only=True)["Account"]
    head = next(c.row for c in ws["A"] if c.value == "Broker" and ws.cell(c.row, 4).value == "Starting balance")
    heads = [c.value for c in ws[head]][:len(AC.HEADERS)]
    out = {}
    for r in range(head + 1, head + 50):
        if ws.cell(r, 1).value == AC.TOTAL:
            out[AC.TOTAL] = {h: ws.cell(r, j + 1).value for j, h in enumerate(heads)}
            out["missing"] = ws.cell(r + 1, 14).value
            out["no start"] = ws.cell(r + 2, 14).value
            break
        out[ws.cell(r, 2).value] = {h: ws.cell(r, j + 1).value for j, h in enumerate(heads)}
    return out


@pytest.fixture
def two_accounts(tmp_path):
    """Account A (first: Settings' 1,000) and account Z (stated 5,000 before 2024-03-05), trading on
    alternate days: A +100, Z -40, A -30, Z +25, A open; 200 deposited into Z on day 2."""
    trades = [_trade(0, "A", 100.0), _trade(1, "Z", -40.0), _trade(2, "A", -30.0), _trade(3, "Z", 25.0),
              _trade(4, "A", None)]
    cash = [BalanceEvent(time=T0 + timedelta(days=2), amount=200.0, kind="deposit", account="Z", broker="B",
                         source=SourceRef(file="s.csv", row=99))]
    path = tmp_path / "two.xlsx"
    build_journal(path, trades, settings=Settings(starting_balance=1_000), cash=cash,
                  account_starts={C.account_key("B", "Z"): (5_000.0, C.serial(T0 + timedelta(days=1)))})
    return path


def test_each_account_runs_its_own_balance_and_drawdown(two_accounts):
    rows = {r["Trade ID"]: r for r in _rows(two_accounts)}
    # account A: 1,000 + 100 = 1,100, then -30: 1,070 (drawdown 30 / 1,100)
    assert [rows[t]["Balance"] for t in ("t0", "t2")] == [1_100, 1_070]
    assert rows["t2"]["Drawdown"] == pytest.approx(30 / 1_100)
    assert rows["t2"]["Peak P/L"] == 100 and rows["t2"]["Cumulative P/L"] == 70
    # account Z: 5,000 - 40 = 4,960; the 200 deposit (day 2) before its day-3 trade: 4,960 + 200 + 25
    assert rows["t1"]["Balance"] == 4_960 and rows["t1"]["Drawdown"] == pytest.approx(40 / 5_000)
    assert rows["t3"]["Cash in/out"] == 200 and rows["t3"]["Balance"] == 5_185
    assert rows["t3"]["Peak P/L"] == 0 and rows["t3"]["Cumulative P/L"] == -15
    # A's cash never sees Z's deposit; the open trade in A is sized on A's equity
    assert rows["t2"]["Cash in/out"] == 0 and rows["t4"]["Equity used"] == 1_070
    block = _block(two_accounts)
    assert block["A"]["Balance"] == 1_070 and block["Z"]["Balance"] == 5_185
    assert block["Z"]["Starting balance"] == 5_000 and block["Z"]["Cash in/out"] == 200
    assert block["A"]["Max drawdown"] == pytest.approx(30 / 1_100)
    assert block[AC.TOTAL]["Balance, home"] == 1_070 + 5_185  # both USD


def test_an_account_without_a_starting_balance_says_so(tmp_path):
    trades = [_trade(0, "A", 100.0), _trade(1, "Z", -40.0)]
    path = tmp_path / "j.xlsx"
    build_journal(path, trades, settings=Settings(starting_balance=1_000))
    rows = {r["Trade ID"]: r for r in _rows(path)}
    assert rows["t1"]["Balance"] == C.NO_START and rows["t1"]["Equity used"] == C.NO_START
    assert rows["t1"]["Cumulative P/L"] == -40 and rows["t0"]["Balance"] == 1_100
    block = _block(path)
    assert block["Z"]["Balance"] == block["Z"]["Max drawdown"] == C.NO_START  # never 0% on no balance
    assert block[AC.TOTAL]["Balance, home"] == 1_100 and block["no start"] == 1


def test_another_currency_counts_in_home_only_through_a_rate(tmp_path):
    """A JPY account in a USD journal: its trades' Net P/L, home is "no rate to home" until the
    journal gives a rate (a USDJPY trade at 150 gives JPY->USD 1/150)."""
    jpy = [_trade(0, "A", 10.0), _trade(1, "J", 3_000.0, currency="JPY", symbol="GBPJPY")]
    path = tmp_path / "no_rate.xlsx"
    build_journal(path, jpy, settings=Settings(starting_balance=1_000))
    rows = {r["Trade ID"]: r for r in _rows(path)}
    assert rows["t1"]["Net P/L home"] == C.NO_RATE_HOME and rows["t0"]["Net P/L home"] == 10
    stats = openpyxl.load_workbook(path, data_only=True)["Stats"]
    assert "1 closed trades of accounts without a rate to home are left out" in stats["A2"].value
    usdjpy = _trade(2, "J", 1_500.0, currency="JPY", symbol="USDJPY")
    usdjpy = usdjpy.model_copy(update={"entry": 150.0, "exit": 150.0})
    path = tmp_path / "rate.xlsx"
    build_journal(path, jpy + [usdjpy], settings=Settings(starting_balance=1_000))
    rows = {r["Trade ID"]: r for r in _rows(path)}
    assert rows["t1"]["Rate to home"] == pytest.approx(1 / 150)
    assert rows["t1"]["Net P/L home"] == pytest.approx(20.0)
    assert _block(path)["J"]["Net P/L, home"] == pytest.approx(4_500 / 150)


CURRENCIES = ("USD", "EUR", "JPY", "GBP")


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(CURRENCIES),
                          st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 2))), min_size=1, max_size=12),
       st.dictionaries(st.sampled_from(CURRENCIES), st.floats(0.001, 200, allow_nan=False), max_size=4),
       st.sampled_from(CURRENCIES))
def test_no_home_figure_adds_a_currency_without_a_rate(trades, rates, home):
    """Whatever the accounts, currencies and typed rates: a trade's Net P/L, home is its Net P/L x its
    account's rate (1 in the home currency) or the words "no rate to home", and the block's total
    adds exactly the accounts that have a rate, never one 1:1."""
    currency_of = {}
    made = []
    for k, (acct, cur, profit) in enumerate(trades):
        cur = currency_of.setdefault(acct, cur)  # an account has one currency
        made.append(_trade(k, f"a{acct}", profit, currency=cur, symbol="EURCHF"))
    settings = Settings(account_currency="USD")
    cols, cash_from = trade_columns(made, settings, DEFAULT_INSTRUMENTS, [])
    inputs = {"home": home, "rates": rates}
    rows, got_home = AC.resolve(cols, settings, inputs, cash_from)
    env, _ = AC.block_env(cols, settings, inputs, cash_from)
    work = dict(cols)
    work.update({k: [C.serial(v) if isinstance(v, datetime) else v for v in cols[k]] for k in ("Open time", "Close time")})
    C.compute(work, C.Env(settings=settings, instruments={}, cash_upto=lambda k, t: 0.0, accounts=env, home=home))
    total = 0.0
    for i, t in enumerate(made):
        cur = t.account_currency
        rate = 1.0 if cur == home else (rates.get(cur) if cur in rates else None)
        got = work["Net P/L home"][i]
        if rate is None:
            assert got == C.NO_RATE_HOME, (cur, home, got)
        else:
            assert got == t.net_profit * rate
            total += got
    block_total = sum(a.net * a.rate for a in rows if a.rate is not None)
    assert block_total == pytest.approx(total, abs=1e-6)
    for a in rows:
        assert (a.rate is None) == (a.currency != home and a.currency not in rates)


def _per_account(path) -> dict[tuple, tuple]:
    """The running figures of every trade by (Account, Trade ID), as the journal shows them."""
    keep = ("Cumulative P/L", "Peak P/L", "Cash in/out", "Balance", "Drawdown", "Equity used", "Net P/L")
    out = {}
    for r in _rows(path):
        out[(r["Account"], r["Trade ID"])] = tuple(round(r[c], 6) if isinstance(r[c], float) else r[c] for c in keep)
    return out


MT5 = "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"   # EUR
MT4 = "mt4_statement_html/jsacap_Tradeslide_Statement.htm"             # USD


def test_real_accounts_in_either_order_give_each_account_the_same_figures(tmp_path):
    """Two real MetaTrader statements (a EUR and a USD account) into one journal, in both orders:
    every trade's running figures are its own account's, the same whichever statement came first;
    each account's Balance is its statement's own."""
    a, b = shared_statement(MT5), shared_statement(MT4)
    one, two = tmp_path / "ab.xlsx", tmp_path / "ba.xlsx"
    fill_journal([a, b], one, progress=False)
    fill_journal([b], two, progress=False)
    fill_journal([a], two, progress=False)
    assert _per_account(one) == _per_account(two)
    for path in (one, two):
        block = _block(path)
        s = read_statement(a)  # MetaTrader 5: the Summary's Balance
        assert block[s.trades[0].account]["Balance"] == pytest.approx(s.totals.balance, abs=0.011)
        # MetaTrader 4: Deposit/Withdrawal 100,000.00 + Closed Trade P/L 8,205.65 (its Summary's
        # "Balance: 94,174.94" is not their sum: the journal shows what the rows add up to)
        assert block["2100104808"]["Balance"] == pytest.approx(108_205.65, abs=0.005)


@pytest.mark.skipif(not lo_available(), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_recalculates_the_accounts_to_the_cached_values(two_accounts, tmp_path):
    theirs = convert(two_accounts, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo", recalc=True)
    for title in ("Trades", "Account", "Stats", "Dashboard"):
        ours_f = openpyxl.load_workbook(two_accounts)[title]
        ours = openpyxl.load_workbook(two_accounts, data_only=True)[title]
        lo = openpyxl.load_workbook(theirs, data_only=True)[title]
        bad = []
        for row in ours_f.iter_rows():
            for c in row:
                if c.data_type != "f" and not type(c.value).__name__ == "ArrayFormula":
                    continue
                x, y = ours[c.coordinate].value, lo[c.coordinate].value
                if y == NO_ADDIN:  # an add-in function: LibreOffice has no add-in
                    continue
                if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
                    if abs(x - y) > 1e-9 * max(1, abs(x)):
                        bad.append((title, c.coordinate, x, y))
                elif (x or "") != (y or "") and not (isinstance(x, bool) or isinstance(y, bool)):
                    bad.append((title, c.coordinate, x, y))
        assert not bad, bad[:10]


def test_the_fill_says_which_accounts_it_saw_and_what_they_rest_on(tmp_path):
    """The fill's report names every account with its currency, its starting balance and its rate
    to home, and says which have none (a Tradovate export states no balance)."""
    a, b = shared_statement(MT5), shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    report = fill_journal([a, b], tmp_path / "j.xlsx", progress=False)
    notes = "\n".join(report.notes)
    assert "accounts in the journal: 2, home currency EUR" in notes
    assert "MetaQuotes Software Corp. 70358000: EUR, starting balance" in notes and "in the home currency" in notes
    assert "Tradovate: USD, NO starting balance" in notes


def test_each_account_has_its_own_leverage(tmp_path):
    """Account A on Settings' 1:30, account Z stating 1:200, no regulator's cap: each trade without
    a leverage of its own is margined at its account's; an account that states none takes
    AccountLeverage and says it is assumed."""
    trades = [_trade(0, "A", 10.0), _trade(1, "Z", 10.0), _trade(2, "Q", 10.0)]
    path = tmp_path / "lev.xlsx"
    build_journal(path, trades, settings=Settings(account_leverage=30, regulator="NONE"),
                  account_leverages={C.account_key("B", "Z"): 200.0}, assumed=set())
    rows = {r["Trade ID"]: r for r in _rows(path)}
    assert (rows["t0"]["Leverage used"], rows["t0"]["Leverage source"]) == (30, C.SRC_ACCOUNT)
    assert (rows["t1"]["Leverage used"], rows["t1"]["Leverage source"]) == (200, C.SRC_ACCOUNT)
    assert rows["t1"]["Margin"] == pytest.approx(rows["t0"]["Margin"] * 30 / 200)
    assert rows["t2"]["Leverage used"] == 30 and rows["t2"]["Leverage source"] == C.ASSUMED + C.SRC_ACCOUNT
    assert rows["t2"]["Over cap"] == C.UNKNOWN and rows["t1"]["Over cap"] is False
    assert _block(path)["Z"]["Leverage"] == 200 and _block(path)["A"]["Leverage"] == 30


def test_a_statement_s_leverage_goes_to_its_account(tmp_path):
    """Two real MT4 statements: jsacap's account first (Settings' AccountLeverage), reuniware's 1:200
    in its own row of the Accounts block, and its trades margined at it (capped by ESMA's rules)."""
    a, b = shared_statement(MT4), shared_statement("mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm")
    path = tmp_path / "two.xlsx"
    fill_journal([a, b], path, progress=False)
    sb = read_statement(b)
    assert sb.leverage == 200
    block = _block(path)
    assert block[sb.trades[0].account]["Leverage"] == 200
    rows = [r for r in _rows(path) if r["Account"] == sb.trades[0].account and r["Leverage"] is None]
    assert rows and all(r["Leverage used"] in (200, r["Leverage cap"]) for r in rows)
    assert not any(str(r["Leverage source"]).startswith(C.ASSUMED) for r in rows)


def test_an_account_s_stated_balance_makes_its_equity_known(tmp_path):
    """The first account on the template's StartingBalance (assumed), account Z stating 1,000 and
    1:30: Z's 1-lot EURUSD (110,000 on 1,000 of equity, 110x) is over ESMA's 30:1 -- its equity is
    known -- while the first account's trade says its leverage is unknown."""
    trades = [_trade(0, "A", 10.0), _trade(1, "Z", 10.0)]
    path = tmp_path / "eq.xlsx"
    build_journal(path, trades, account_starts={C.account_key("B", "Z"): (1_000.0, C.serial(T0))},
                  account_leverages={C.account_key("B", "Z"): 30.0})
    rows = {r["Trade ID"]: r for r in _rows(path)}
    assert rows["t1"]["Effective leverage"] == pytest.approx(110.0) and rows["t1"]["Over cap"] is True
    assert rows["t0"]["Over cap"] == C.UNKNOWN
