"""MetaTrader 5 Trade History Report reader (HTML and XLSX), checked against real terminal exports.

A trader reconciles the report with itself: the closed positions must add up to the report's "Total
Net Profit" and "Total Trades", deposits plus that profit must give the balance, Orders and Deals
must not be counted as extra trades, and a report saved by a German or Russian terminal (UTF-16,
translated headings) must read exactly like the English one.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

import lxml.html
import openpyxl
import pytest

from addin.statements import mt4_html, mt5_report
from addin.statements.model import StatementError
from conftest import shared_statement

pytestmark = [pytest.mark.statements,
              pytest.mark.filterwarnings("ignore:Workbook contains no default style")]

EUR_HTML = "mt5_report/PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"
USD_XLSX = "mt5_report/Wizard-hash2_ReportHistory.xlsx"


def closed(st):
    return [t for t in st.trades if t.is_closed]


def net(trades) -> float:
    return round(sum(t.net_profit for t in trades), 2)


def trade(st, ticket):
    return next(t for t in st.trades if t.trade_id == ticket)


# --------------------------------------------------------------------------- HTML, English


def test_metaquotes_demo_report_has_658_positions_worth_minus_50_84_eur():
    st = mt5_report.read(shared_statement(EUR_HTML))

    assert (st.format, st.broker, st.account, st.account_currency, st.leverage) == (
        "mt5_report", "MetaQuotes Software Corp.", "70358000", "EUR", None)
    assert len(closed(st)) == st.totals.closed_trades == 658  # "Total Trades: 658"
    assert net(closed(st)) == st.totals.closed_pnl == -50.84  # "Total Net Profit: -50.84"
    assert (st.totals.balance, st.totals.equity) == (9949.16, 9927.92)
    # one deposit of 10 000; deposit + closed P/L = balance
    assert [(e.amount, e.kind) for e in st.balance_events] == [(10000.0, "deposit")]
    assert round(10000.0 + net(closed(st)), 2) == st.totals.balance
    assert st.rejected == []


def test_orders_and_deals_are_not_counted_as_trades():
    st = mt5_report.read(shared_statement(EUR_HTML))
    kinds = Counter(r.kind for r in st.non_trades)
    assert kinds["order"] == 1401 and kinds["deal"] == 1401 and kinds["deposit"] == 1
    # 658 closed + 85 open positions, nothing from Orders/Deals
    assert len(st.trades) == 743
    assert {t.source.section for t in st.trades} == {"Positions", "Open Positions"}
    assert len({t.trade_id for t in st.trades}) == 743


def test_a_position_reads_as_printed():
    st = mt5_report.read(shared_statement(EUR_HTML))
    t = trade(st, "1771882106")  # GBPUSD buy 0.02, closed +1.50
    assert (t.symbol, t.side, t.quantity, t.entry, t.exit, t.profit) == (
        "GBPUSD", "long", 0.02, 1.27043, 1.27125, 1.50)
    assert str(t.open_time) == "2023-06-23 07:53:00" and str(t.close_time) == "2023-06-26 15:10:00"
    assert t.stop is None and t.target is None  # empty S / L, T / P cells
    assert t.comment == "200011"  # the hidden comment cell
    assert t.source.row == 9 and t.source.section == "Positions"

    o = trade(st, "1771882094")  # still open: sell 0.02 GBPUSD
    assert (o.side, o.quantity, o.entry, o.swap) == ("short", 0.02, 1.27039, -0.04)
    assert o.exit is None and o.close_time is None and o.profit is None


def test_take_profit_and_stop_loss_deal_comments_reach_their_positions():
    st = mt5_report.read(shared_statement(EUR_HTML))
    noted = {t.trade_id: t.comment for t in st.trades if "[" in t.comment}
    assert noted == {"1774086957": "[tp 0.89607]", "1774087581": "[tp 143.493]",
                     "1774089215": "gppp [sl 1.09086]"}


# --------------------------------------------------------------------------- XLSX


def test_hfm_xlsx_report_has_9_positions_worth_minus_49_67_usd():
    st = mt5_report.read(shared_statement(USD_XLSX))

    assert (st.broker, st.account, st.account_currency) == ("HFM Investments Ltd", "57174315", "USD")
    assert len(closed(st)) == st.totals.closed_trades == 9
    assert net(closed(st)) == st.totals.closed_pnl == -49.67
    assert (st.totals.balance, st.totals.equity) == (50.94, 48.57)
    assert [(e.amount, e.kind) for e in st.balance_events] == [(50.0, "deposit")]
    assert any(r.kind == "deposit" and "Client Demo Deposit" in r.text for r in st.non_trades)
    assert st.rejected == []

    t = trade(st, "35324758")  # volume stored as the text "0.1"
    assert (t.symbol, t.quantity, t.entry, t.stop, t.target, t.exit, t.profit) == (
        "EURUSD.Z", 0.1, 1.12819, 1.13322, 1.14665, 1.14665, 184.6)
    assert trade(st, "36757232").stop is None  # empty S / L cell
    (o,) = [t for t in st.trades if not t.is_closed]
    assert (o.trade_id, o.stop, o.target, o.comment) == (
        "38262913", 0.58417, 0.60115, "I ignore liquidity for just pra")


def test_the_stop_out_goes_to_the_position_it_closed():
    st = mt5_report.read(shared_statement(USD_XLSX))
    t = trade(st, "36888042")  # USDCHF sell, closed by the broker at a margin level of 18.80 %
    assert t.comment == "[so 18.80%/0.94/5.00]"
    assert t.exit == 0.83266 and t.profit == -17.56
    assert not any(r.kind == "stop out" for r in st.non_trades)


def test_an_unmatched_stop_out_stays_visible_as_its_own_row(tmp_path):
    wb = openpyxl.load_workbook(shared_statement(USD_XLSX))
    ws = wb.worksheets[0]
    assert ws["N60"].value == "[so 18.80%/0.94/5.00]"
    ws["G60"] = 0.83333  # the deal's price no longer matches any position
    path = tmp_path / "report.xlsx"
    wb.save(path)
    st = mt5_report.read(path)
    (so,) = [r for r in st.non_trades if r.kind == "stop out"]
    assert so.source.row == 60 and so.source.section == "Deals" and "[so 18.80%" in so.text
    assert trade(st, "36888042").comment == ""


# --------------------------------------------------------------------------- every row accounted for


def test_every_html_row_of_the_trade_tables_is_accounted_for():
    path = shared_statement(EUR_HTML)
    rows = lxml.html.fromstring(path.read_bytes()).xpath("//tr")
    first_cells = [" ".join(r.xpath("string(./*[1])").split()) for r in rows]
    start = first_cells.index("Positions")
    end = first_cells.index("Balance:")  # the account summary follows the tables
    expected = list(range(start + 1, end + 1))

    st = mt5_report.read(path)
    seen = sorted(r.source.row for r in [*st.trades, *st.non_trades, *st.rejected])
    assert len(seen) == len(expected) == 3559
    assert seen == expected


def test_every_xlsx_row_of_the_trade_tables_is_accounted_for():
    path = shared_statement(USD_XLSX)
    ws = openpyxl.load_workbook(path).worksheets[0]
    column_a = [c.value for c in ws["A"]]
    start, end = column_a.index("Positions") + 1, column_a.index("Balance:") + 1
    expected = [n for n in range(start, end) if any(c.value is not None for c in ws[n])]

    st = mt5_report.read(path)
    seen = sorted(r.source.row for r in [*st.trades, *st.non_trades, *st.rejected])
    assert seen == expected == list(range(6, 68))


# --------------------------------------------------------------------------- localised UTF-16 report

GERMAN_AND_RUSSIAN = {
    # section titles
    "Positions": "Позиции", "Orders": "Ордера", "Deals": "Сделки", "Open Positions": "Открытые позиции",
    # column headings
    "Time": "Время", "Position": "Позиция", "Symbol": "Символ", "Type": "Тип", "Volume": "Объем",
    "Price": "Цена", "S / L": "S / L", "T / P": "T / P", "Commission": "Комиссия", "Swap": "Своп",
    "Profit": "Прибыль", "Open Time": "Время открытия", "Order": "Ордер", "State": "Состояние",
    "Comment": "Комментарий", "Deal": "Сделка", "Direction": "Направление", "Cost": "Издержки",
    "Fee": "Оплата", "Balance": "Баланс", "Market Price": "Рыночная цена",
    # header and summary labels (German, to mix scripts)
    "Trade History Report": "Bericht zur Handelshistorie", "Name:": "Name:", "Account:": "Konto:",
    "Company:": "Firma:", "Date:": "Datum:", "Balance:": "Kontostand:", "Credit Facility:": "Kredit:",
    "Floating P/L:": "Schwebender G/V:", "Equity:": "Eigenkapital:", "Free Margin:": "Freie Marge:",
    "Margin:": "Marge:", "Margin Level:": "Marge-Niveau:", "Results": "Ergebnisse",
    "Total Net Profit:": "Gesamtnettogewinn:", "Gross Profit:": "Bruttogewinn:",
    "Gross Loss:": "Bruttoverlust:", "Profit Factor:": "Profitfaktor:",
    "Expected Payoff:": "Erwartete Auszahlung:", "Total Trades:": "Trades gesamt:",
    "Short Trades (won %):": "Short-Trades (gewonnen %):",
    "Long Trades (won %):": "Long-Trades (gewonnen %):",
}


def _localise(html: str) -> str:
    """Translate every title, heading and label (text between tags) as the terminal would."""
    out = html
    for english in sorted(GERMAN_AND_RUSSIAN, key=len, reverse=True):
        out = re.sub(rf">\s*{re.escape(english)}\s*<", f">{GERMAN_AND_RUSSIAN[english]}<", out)
    return out


def test_a_russian_german_utf16_report_reads_like_the_english_one(tmp_path):
    original = shared_statement(EUR_HTML)
    english = original.read_text("ascii")
    translated = _localise(english)
    for word in (">Positions<", ">Deals<", ">Orders<", ">Balance:<", ">Total Net Profit:<",
                 ">Total Trades:<", ">Profit<", ">Volume<"):
        assert word not in translated  # nothing English left to lean on
    path = tmp_path / "ReportHistory-70358000.html"
    path.write_bytes(codecs.BOM_UTF16_LE + translated.encode("utf-16-le"))

    head = path.read_bytes()[:65536]
    assert mt5_report.sniff(path, head) and not mt4_html.sniff(path, head)
    a, b = mt5_report.read(original), mt5_report.read(path)
    assert [t.model_dump(exclude={"source"}) for t in b.trades] == [
        t.model_dump(exclude={"source"}) for t in a.trades]
    assert [t.source.row for t in b.trades] == [t.source.row for t in a.trades]
    assert b.totals == a.totals
    assert (b.account, b.account_currency, b.broker) == (a.account, a.account_currency, a.broker)
    assert [(e.amount, e.kind) for e in b.balance_events] == [(e.amount, e.kind) for e in a.balance_events]
    assert Counter(r.kind for r in b.non_trades) == Counter(r.kind for r in a.non_trades)
    assert b.rejected == []


# --------------------------------------------------------------------------- refusing what is not a report


def test_sniff_claims_mt5_reports_and_nothing_else(statements_dir):
    for path in sorted(p for p in statements_dir.rglob("*") if p.is_file() and p.name != "README.md"):
        claimed = mt5_report.sniff(path, path.read_bytes()[:65536])
        assert claimed == (path.parent.name == "mt5_report"), path


@pytest.mark.parametrize("name", [EUR_HTML, USD_XLSX])
def test_a_truncated_report_is_refused_naming_the_file(tmp_path, name):
    data = shared_statement(name).read_bytes()
    path = tmp_path / ("cut" + shared_statement(name).suffix)
    path.write_bytes(data[: int(len(data) * 0.3)])
    with pytest.raises(StatementError) as err:
        mt5_report.read(path)
    assert str(err.value).startswith(str(path)) and "MetaTrader 5" in str(err.value)


def test_a_truncated_utf16_report_is_refused(tmp_path):
    text = shared_statement(EUR_HTML).read_text("ascii")
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    path = tmp_path / "cut.html"
    path.write_bytes(data[: int(len(data) * 0.3) + 1])  # odd length, cut mid-character
    with pytest.raises(StatementError, match="truncated"):
        mt5_report.read(path)


def test_a_csv_file_is_refused_naming_the_file():
    path = shared_statement("tradovate_performance_csv/arielSofer_Performance.csv")
    with pytest.raises(StatementError) as err:
        mt5_report.read(path)
    assert str(err.value).startswith(str(path)) and "MetaTrader 5" in str(err.value)


def test_an_mt4_statement_is_refused():
    path = shared_statement("mt4_statement_html/jsacap_Tradeslide_Statement.htm")
    with pytest.raises(StatementError, match="MetaTrader 5"):
        mt5_report.read(path)


def test_a_position_that_cannot_be_read_is_rejected_with_its_place(tmp_path):
    wb = openpyxl.load_workbook(shared_statement(USD_XLSX))
    ws = wb.worksheets[0]
    ws["E9"] = "0,1 lots"  # the volume of position 35324758
    path = tmp_path / "report.xlsx"
    wb.save(path)
    st = mt5_report.read(path)
    (rej,) = st.rejected
    assert (rej.source.file, rej.source.row, rej.source.section) == (str(path), 9, "Positions")
    assert "0,1 lots" in rej.reason and "35324758" in rej.raw
    assert len(closed(st)) == 8 and st.totals.closed_trades == 9  # the report still says 9


def test_totals_written_as_formulas_without_cached_values_are_computed(tmp_path):
    wb = openpyxl.load_workbook(shared_statement(USD_XLSX))
    ws = wb.worksheets[0]
    ws["D93"] = "=H93+L93"  # Total Net Profit = Gross Profit + Gross Loss, no cached value
    ws["D98"] = "=9"  # Total Trades
    path = tmp_path / "report.xlsx"
    wb.save(path)
    st = mt5_report.read(path)
    assert st.totals.closed_pnl == -49.67 and st.totals.closed_trades == 9
