"""Several accounts in one journal: each in its own currency, the home-currency total through a rate
per account and never a currency added 1:1 (the Account sheet's Accounts block)."""

from __future__ import annotations

import re
from datetime import datetime

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from addin.journal import accounts as AC
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal
from addin.statements.model import SourceRef, Trade
from conftest import shared_statement
from test_journal_stats import formula_cells, needs_lo, same, strip_cached
from tools.render_docs import convert

SRC = SourceRef(file="hand.csv")


def _t(tid, acct, cur, sym, side, q, e, x, profit, fx=None, day=3):
    return Trade(broker="B", account=acct, trade_id=tid, symbol=sym, side=side, quantity=q, entry=e, exit=x,
                 profit=profit, open_time=datetime(2024, 6, day, 9),
                 close_time=datetime(2024, 6, day, 10) if x else None, leverage=100, account_currency=cur,
                 fx_to_account=fx, source=SRC)


def hand_trades() -> list[Trade]:
    """A USD account (one EURUSD trade, +1,000 USD), a JPY account (one closed USDJPY trade,
    +10,000 JPY, one open USDJPY short at 151.00) and a CHF account with nothing giving CHF->USD."""
    return [_t("U1", "100", "USD", "EURUSD", "long", 1, 1.1, 1.11, 1000.0, day=3),
            _t("J1", "200", "JPY", "USDJPY", "long", 0.1, 150.0, 151.0, 10_000.0, fx=1.0, day=4),
            _t("J2", "200", "JPY", "USDJPY", "short", 0.1, 151.0, None, None, fx=1.0, day=5),
            _t("C1", "300", "CHF", "US30", "long", 1, 40_000, 40_100, 100.0, fx=1.0, day=6)]


def block(ws) -> dict[str, dict]:
    """Account -> its row of the Accounts block (by header), and the totals by label."""
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "Broker")
    names = rows[head][:len(AC.HEADERS)]
    out = {}
    for r in rows[head + 1:]:
        if r[0] == AC.TOTAL:
            out["total"] = {h: r[AC.HEADERS.index(h)] for h in ("Net P/L, home", "Balance, home", "Unrealised, home")}
        elif r[0] == "Accounts without a rate to home":
            out["missing"] = r[AC.HEADERS.index("Net P/L, home")]
        elif r[0] == "Accounts without a starting balance":
            out["no start"] = r[AC.HEADERS.index("Net P/L, home")]
            break
        elif r[1]:
            out[r[1]] = dict(zip(names, r))
    out["home"] = rows[head - 1][3]
    return out


def test_three_accounts_by_hand(tmp_path):
    """USD: 1,000 at rate 1. JPY: 10,000 JPY, rate to USD 1/151 from the latest USDJPY price (the open
    short's entry, 2024-06-05): 66.23 USD; its open short's margin 0.1 x 100,000 x 151 / 100 = 15,100
    JPY. CHF: 100 CHF and no rate (US30 is no pair, its FX to account converts USD->CHF... 1, typed as
    1 by the statement's side, so not a CHF->USD rate): left out, counted. Total 1,066.23 USD,
    never 1,000 + 10,000 + 100."""
    path = tmp_path / "three.xlsx"
    build_journal(path, hand_trades(), settings=Settings(starting_balance=10_000))
    got = block(openpyxl.load_workbook(path, data_only=True)["Account"])
    approx = pytest.approx
    assert got["home"] == "USD"
    assert (got["100"]["Currency"], got["100"]["Net P/L"], got["100"]["Rate to home"]) == ("USD", 1000.0, 1.0)
    assert got["200"]["Currency"] == "JPY" and got["200"]["Net P/L"] == 10_000.0
    assert got["200"]["Rate to home"] == approx(1 / 151) and got["200"]["Used margin"] == approx(15_100.0)
    assert got["200"]["Net P/L, home"] == approx(10_000 / 151)
    assert got["300"]["Rate to home"] is None and got["300"]["Net P/L, home"] == AC.NO_RATE
    assert got["total"]["Net P/L, home"] == approx(1000 + 10_000 / 151) and got["missing"] == 1
    note = openpyxl.load_workbook(path)["Account"]
    assert any("NOT ONE CURRENCY" in str(c.value) for row in note.iter_rows() for c in row)
    # only the first account has a starting balance (Settings' 10,000): the others' Balance says so
    assert got["100"]["Balance"] == 11_000 and got["200"]["Balance"] == AC.NO_START and got["no start"] == 2
    assert got["total"]["Balance, home"] == 11_000


def test_every_sheet_that_adds_the_accounts_money_says_it_is_not_one_currency(tmp_path):
    """Stats and the Dashboard add money in the home currency (Net P/L home): with accounts in USD,
    JPY and CHF each says so under its title, naming the currencies and the closed trades left out
    for want of a rate (the CHF one), and the Dashboard the accounts its Balance leaves out for want
    of a starting balance; a journal of one currency and one account says nothing there."""
    path = tmp_path / "three.xlsx"
    build_journal(path, hand_trades(), settings=Settings(starting_balance=10_000))
    wb = openpyxl.load_workbook(path)
    for title in ("Stats", "Dashboard"):
        note = wb[title]["A2"].value
        assert note.startswith("Money in the home currency USD") and "CHF, JPY, USD" in note
        assert "1 closed trades of accounts without a rate to home are left out" in note
    assert "Balance leaves out 2 account(s) without a starting balance" in wb["Dashboard"]["A2"].value
    one = tmp_path / "one.xlsx"
    build_journal(one, [t for t in hand_trades() if t.account_currency == "USD"], settings=Settings())
    wb = openpyxl.load_workbook(one)
    assert "Money in" not in str(wb["Stats"]["A2"].value) and wb["Dashboard"]["A2"].value is None


@needs_lo
@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_accounts_block(tmp_path):
    path = tmp_path / "three.xlsx"
    build_journal(path, hand_trades(), settings=Settings(starting_balance=10_000))
    bare = tmp_path / "bare.xlsx"
    strip_cached(path, bare, {"Account": re.compile(r".*")})
    out = convert(bare, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    ours, theirs = openpyxl.load_workbook(path, data_only=True), openpyxl.load_workbook(out, data_only=True)
    bad = [f"{c}: {ours['Account'][c].value!r} vs LibreOffice {theirs['Account'][c].value!r}"
           for c in formula_cells(path, "Account") if not same(ours["Account"][c].value, theirs["Account"][c].value)]
    assert not bad, "\n".join(bad[:10])


MT5 = "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"
MT4 = "mt4_statement_html/jsacap_Tradeslide_Statement.htm"


def test_real_statements_of_two_currencies_in_either_order(tmp_path):
    """PopovMP's EUR MT5 account and jsacap's USD MT4 account into one journal, in both orders: each
    account's figures are the same in its own currency, and the home currency (the first
    statement's) converts the other through the latest EURUSD price the journal holds."""
    from addin.fill import fill_journal

    got = {}
    for order in ((MT5, MT4), (MT4, MT5)):
        path = tmp_path / f"{order[0][:3]}.xlsx"
        for src in order:
            fill_journal([shared_statement(src)], path, leverage=100, progress=False)
        got[order[0]] = block(openpyxl.load_workbook(path, data_only=True)["Account"])
    a, b = got[MT5], got[MT4]
    assert a["home"] == "EUR" and b["home"] == "USD"
    accounts = {k for k in a if k not in ("home", "total", "missing", "no start")}
    assert accounts == {"70358000", "78412103"} or len(accounts) == 2
    for k in accounts:
        for col in ("Currency", "Closed trades", "Net P/L", "Unrealised P/L", "Used margin"):
            assert a[k][col] == pytest.approx(b[k][col]), (k, col)
    eur = next(k for k in accounts if a[k]["Currency"] == "EUR")
    usd = next(k for k in accounts if a[k]["Currency"] == "USD")
    assert a[eur]["Net P/L"] == pytest.approx(-50.84, abs=0.005)  # the MT5 statement's Total Net Profit
    rate = b[eur]["Rate to home"]  # EUR -> USD: an EURUSD price
    assert 1.0 < rate < 1.2 and a[usd]["Rate to home"] == pytest.approx(1 / rate)
    assert b["total"]["Net P/L, home"] == pytest.approx(b[usd]["Net P/L"] + a[eur]["Net P/L"] * rate)
    assert a["total"]["Net P/L, home"] == pytest.approx(a[eur]["Net P/L"] + b[usd]["Net P/L"] / rate)
    assert a["missing"] == b["missing"] == 0


def test_a_typed_rate_and_home_currency_survive_the_next_fill(tmp_path):
    from addin.fill import fill_journal

    path = tmp_path / "j.xlsx"
    fill_journal([shared_statement(MT4)], path, progress=False)
    fill_journal([shared_statement(MT5)], path, leverage=100, progress=False)
    wb = openpyxl.load_workbook(path)
    ws = wb["Account"]
    rows = list(ws.iter_rows())
    head = next(i for i, r in enumerate(rows) if r[0].value == "Broker")
    eur_row = next(r for r in rows[head + 1:] if r[2].value == "EUR")
    eur_row[AC.HEADERS.index("Rate to home")].value = 1.25
    wb.save(path)
    fill_journal([shared_statement(MT5)], path, leverage=100, progress=False)
    got = block(openpyxl.load_workbook(path, data_only=True)["Account"])
    eur = next(k for k, v in got.items() if isinstance(v, dict) and v.get("Currency") == "EUR")
    assert got[eur]["Rate to home"] == 1.25


# The property: a home-currency figure never adds a currency without a rate ------------------------

CURS = ["USD", "EUR", "JPY", "GBP", "CHF"]
SYMS = ["EURUSD", "USDJPY", "GBPUSD", "EURJPY", "US30", "USDCHF"]


@st.composite
def journals(draw):
    n = draw(st.integers(1, 12))
    cols = {k: [] for k in ("Trade ID", "Broker", "Account", "Account currency", "Symbol", "Entry", "Exit",
                            "Net P/L", "Close time", "Open time", "FX to account", "Quote currency")}
    accts = draw(st.lists(st.sampled_from(CURS), min_size=1, max_size=4))
    for i in range(n):
        k = draw(st.integers(0, len(accts) - 1))
        cols["Trade ID"].append(f"T{i}")
        cols["Broker"].append("B")
        cols["Account"].append(f"A{k}")
        cols["Account currency"].append(accts[k])
        sym = draw(st.sampled_from(SYMS))
        cols["Symbol"].append(sym)
        cols["Entry"].append(draw(st.floats(0.5, 200)))
        cols["Exit"].append(draw(st.one_of(st.none(), st.floats(0.5, 200))))
        cols["Net P/L"].append(draw(st.floats(-1e4, 1e4)) if cols["Exit"][-1] is not None else "")
        cols["Close time"].append(float(i) if cols["Exit"][-1] is not None else None)
        cols["Open time"].append(float(i))
        cols["FX to account"].append(draw(st.one_of(st.none(), st.floats(0.001, 200))))
        cols["Quote currency"].append(sym[3:] if sym != "US30" else "USD")
    return cols, draw(st.sampled_from(CURS))


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journals(), st.floats(2, 1000))
def test_no_home_figure_adds_a_currency_without_a_rate(journal, scale):
    """The home total is Σ net × rate over the accounts with a rate; scaling the money of every
    account without one never moves it; an account in another currency than home has a rate only
    from a trade that states one (a pair of the two currencies or an FX to account), never 1
    assumed."""
    cols, home = journal
    rows = AC.accounts_of(cols, "USD")
    found = AC.rates_from_trades(cols, [a.currency for a in rows], home, "USD")
    for a in rows:
        if a.currency == home:
            a.rate = 1.0
        elif a.currency in found:
            a.rate, a.source = found[a.currency]
            assert "trade" in a.source
    total = sum(a.net * a.rate for a in rows if a.rate is not None)
    for a in rows:
        if a.rate is None:
            a.net *= scale
    assert sum(a.net * a.rate for a in rows if a.rate is not None) == total
    pairs = {(s[:3], s[3:]) for s in cols["Symbol"] if s != "US30"}
    for a in rows:
        if a.currency != home and a.rate is not None:
            quoted = any(q == a.currency and m == home or q == home and m == a.currency
                         for q, m, fx in zip(cols["Quote currency"], cols["Account currency"], cols["FX to account"])
                         if fx is not None)
            assert (a.currency, home) in pairs or (home, a.currency) in pairs or quoted
