"""Leverage with its source, checked on real statements and by hand; the one symbol classifier;
base-currency pairs in the per-row formulas; TradingView's --symbol.

Hand-checked figures and their sources:

* ESMA Decision (EU) 2018/796 (addin/risk/caps.py): 30:1 major FX pairs, 20:1 minor pairs, gold and
  major indices, 2:1 crypto-assets. Its cap is an initial margin protection per position (Art. 2(a)
  and Annex I: "the initial margin ... 3.33% of the notional value of the CFD when the underlying
  currency pair is composed of any two of ..."), so a 1:30 account holds US30 or XAUUSD at 20:1.
* MetaTrader's Forex margin (MetaTrader 5 help, "Margin Calculation: Retail Forex": Lots x
  Contract_Size / Leverage, in the base currency) and profit ((close - open) x Contract_Size x Lots,
  in the quote currency, converted at the current rate): USDJPY in a USD account.
"""

from __future__ import annotations

import string
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from addin.fill import fill_journal
from addin.journal import columns as C
from addin.journal import stats
from addin.journal.settings import Settings
from addin.journal.workbook import build_journal
from addin.risk import symbols
from addin.risk.caps import CRYPTO_CODES, CURRENCIES
from addin.statements import read_statement
from addin.statements.model import SourceRef, Trade
from conftest import shared_statement

ROOT = Path(__file__).resolve().parents[1]
MT4 = "mt4_statement_html/jsacap_Tradeslide_Statement.htm"
BINANCE = "binance_usdm_futures_trades/Mike-Zelixon_Binance_Nov-Dec_2022.xlsx"
BINANCE_BOT = "binance_usdm_futures_trades/GabrielBuzik_Export_Trade_History.xlsx"
IBKR = "ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile01.xml"
TV = "tradingview_list_of_trades_csv/AlphaDogsResearch_TRIX_Signal_Strategy_BINANCE_ETHUSDT.P_2026-02-26.csv"


def trades_rows(journal: Path) -> list[dict]:
    ws = openpyxl.load_workbook(journal, data_only=True)["Trades"]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:] if r[0] is not None]


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "addin", "fill", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


# --- 1. Leverage with its source, on real statements ----------------------------------------------

@pytest.mark.statements
def test_mt4_with_leverage_1_30_and_esma_margins_gold_and_minor_pairs_at_the_cap(tmp_path):
    journal = tmp_path / "j.xlsx"
    run = cli(shared_statement(MT4), "--journal", journal, "--leverage", "1:30", "--regulator", "ESMA",
              "--no-progress")
    assert run.returncode == 0, run.stderr
    rows = trades_rows(journal)
    by = {}
    for r in rows:
        by.setdefault(r["Symbol"].lower(), []).append(r)
    for sym, cap, src in (("xauusd", 20, "regulator's cap"), ("audusd", 20, "regulator's cap"),
                          ("eurusd", 30, "AccountLeverage"), ("usdjpy", 30, "AccountLeverage")):
        for r in by[sym]:
            assert r["Leverage"] is None  # the account's leverage is not the trade's own
            assert (r["Leverage cap"], r["Leverage used"], r["Leverage source"]) == (cap, cap, src), (sym, r)
            assert r["Over cap"] is (r["Effective leverage"] > cap), (sym, r)
    # Margin of a gold trade at the cap: notional / 20 (1 lot = 100 oz).
    g = by["xauusd"][0]
    assert g["Margin"] == pytest.approx(abs(g["Quantity"]) * 100 * g["Entry"] / 20)
    # Changing Settings' leverage changes the figures (LibreOffice recalculates below).


@pytest.mark.statements
def test_binance_futures_without_leverage_never_read_over_cap(tmp_path):
    journal = tmp_path / "b.xlsx"
    fill_journal([shared_statement(BINANCE), shared_statement(BINANCE_BOT)], journal, progress=False)
    rows = trades_rows(journal)
    assert len(rows) >= 30
    assert all(r["Leverage"] is None for r in rows)  # the export gives none
    assert {r["Leverage source"] for r in rows} <= {"assumed: regulator's cap", "assumed: AccountLeverage",
                                                    "assumed: AccountLeverage: symbol not in Instruments"}
    assert True not in [r["Over cap"] for r in rows]
    assert Counter(r["Over cap"] for r in rows)["unknown"] >= 30
    share = openpyxl.load_workbook(journal, data_only=True)["Stats"]
    values = [c.value for row in share.iter_rows() for c in row]
    assert "Over cap unknown" in values


@pytest.mark.statements
def test_ibkr_stock_is_held_outright_at_leverage_1_and_never_over_cap(tmp_path):
    journal = tmp_path / "i.xlsx"
    fill_journal([shared_statement(IBKR)], journal, progress=False)
    stocks = [r for r in trades_rows(journal) if r["Class"] == "STOCK"]
    assert stocks
    for r in stocks:
        assert (r["Leverage used"], r["Leverage source"], r["Over cap"]) == (1, C.SRC_CASH, False), r
        assert r["Margin"] == pytest.approx(r["Notional"])


def _row(**kw) -> dict:
    """A Trades row as the twins see it: every column empty but those given."""
    r = {c.name: None for c in C.COLUMNS}
    r.update(kw)
    return r


def _env(**kw) -> C.Env:
    return C.Env(settings=Settings(**kw.pop("settings", {})), instruments={}, cash_upto=lambda k, t: 0.0, **kw)


def test_over_cap_uses_notional_over_equity_when_it_exceeds_the_cap():
    # 1.78 lots EURUSD at 1.0865 on 397 of equity: 193,397 / 397 = 487x, over ESMA's 30 whatever the
    # leverage: at 30:1 the margin (6,447) exceeds the equity, so the broker did not margin it at 30:1.
    env = _env(leverage_assumed=True, start_assumed=False)
    r = _row(Entry=1.0865, Class="FX_MAJOR", Equity=397.0, **{"Leverage cap": 30.0, "Leverage used": 30.0,
             "Leverage source": C.ASSUMED + C.SRC_ACCOUNT, "Effective leverage": 1.78 * 100_000 * 1.0865 / 397})
    assert r["Effective leverage"] == pytest.approx(487.1, abs=0.1)
    assert C._over_cap(r, None, env) is True
    # The same trade on an equity rebuilt from an assumed starting balance: nothing known.
    r2 = dict(r, Equity=None)
    assert C._over_cap(r2, None, _env(leverage_assumed=True, start_assumed=True)) == C.UNKNOWN
    # Stated leverage 1:500 on a small position: over the cap by its leverage.
    r3 = _row(Entry=1.0865, Class="FX_MAJOR", Equity=10_000.0, Leverage=500.0,
              **{"Leverage cap": 30.0, "Leverage used": 500.0, "Leverage source": C.SRC_TRADE, "Effective leverage": 2.0})
    assert C._over_cap(r3, None, env) is True


def test_stats_share_counts_only_known_rows_and_says_how_many_are_unknown():
    cols = {"Net P/L home": [10.0, -5.0, 3.0, 1.0], "R multiple": [None] * 4, "Effective leverage": [None] * 4,
            "Over cap": [True, False, C.UNKNOWN, C.UNKNOWN], "Stop beyond stop-out": [""] * 4}
    got = stats.group_stats(range(4), cols)
    assert (got["over_cap"], got["oc_k"], got["oc_u"]) == (0.5, 2.0, 2.0)


# --- 2. One symbol classifier ---------------------------------------------------------------------

SUFFIXES = ("", ".m", "m", "i", "I", "-ECN", "#", "c", ".raw", "_SB", "pro", ".pro", "PRO", "_i", "+", ".a")
PREFIXES = ("", "#", "FX:", "OANDA:")
FX = sorted(CURRENCIES & {"USD", "EUR", "JPY", "GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "PLN", "ZAR"})


@hsettings(max_examples=400, deadline=None)
@given(st.sampled_from(FX), st.sampled_from(FX), st.sampled_from(SUFFIXES), st.sampled_from(PREFIXES),
       st.sampled_from(("", "/")), st.booleans())
def test_every_broker_spelling_of_a_pair_is_that_pair(base, quote, suffix, prefix, sep, lower):
    if base == quote:
        return
    core = base + sep + quote
    symbol = prefix + (core.lower() if lower else core) + suffix
    if lower and suffix.isalpha() and suffix.islower():
        # An all lower-case symbol: its suffix reads like any other letter. "audusdc" is AUD/USDC
        # (a crypto code wins), the one spelling the cent account's suffix cannot take.
        if (quote + suffix).upper() in CRYPTO_CODES:
            return
        symbol = prefix + core.lower() + suffix.upper()
    got = symbols.parse(symbol)
    assert (got.name, got.kind, got.base, got.quote) == (base + quote, "FX", base, quote), symbol


CRYPTO = sorted(CRYPTO_CODES)


@hsettings(max_examples=400, deadline=None)
@given(st.sampled_from(CRYPTO), st.sampled_from(CRYPTO + sorted(CURRENCIES)), st.booleans(),
       st.sampled_from(("", "/", "-")), st.text(alphabet=string.ascii_letters + "._-#", max_size=4))
def test_a_symbol_with_a_crypto_leg_is_never_a_currency_pair(coin, other, coin_first, sep, suffix):
    symbol = (coin + sep + other if coin_first else other + sep + coin) + suffix
    got = symbols.parse(symbol)
    assert got.kind not in ("FX", "METAL"), (symbol, got)
    assert symbols.currency_legs(symbol) is None


@given(st.text(max_size=20))
def test_the_classifier_takes_any_text(text):
    got = symbols.parse(text)
    assert got.kind in (None, "FX", "METAL", "CRYPTO")


def test_the_trades_instruments_and_the_account_sheet_agree_on_eurgbpi():
    from addin.journal import account, instruments
    assert instruments.lookup("eurgbpi").symbol == "EURGBP"
    assert account.legs("eurgbpi") == ("EUR", "GBP")
    assert symbols.parse("EURUSDT").kind == "CRYPTO" and symbols.parse("USDCUSDT").kind == "CRYPTO"
    assert symbols.parse("BTCUSD").kind == "CRYPTO"


def test_the_instruments_table_the_fill_reads_is_the_traders_to_extend():
    from addin.journal.instruments import Instrument, lookup
    mine = [Instrument(symbol="GER40CASH", asset_class="INDEX_MAJOR", contract_size=1, pip_size=1,
                       quote_currency="EUR")]
    assert lookup("GER40CASH", mine).symbol == "GER40CASH"


# --- 3. Base-currency pairs in the per-row formulas -----------------------------------------------

SRC = SourceRef(file="hand.csv", row=1)


def _usdjpy(side="long", leverage=100.0, equity=1_000.0):
    return Trade(broker="B", account="1", trade_id=f"uj-{side}", symbol="USDJPY", side=side, quantity=1.0,
                 entry=150.0, open_time=datetime(2024, 3, 1, 9), equity=equity, leverage=leverage,
                 contract_size=100_000, fx_to_account=1 / 150.0, asset_class="FX_MAJOR", source=SRC)


def test_usdjpy_in_a_usd_account_by_hand_with_metatraders_forex_formulas(tmp_path):
    """1 lot USDJPY at 150.000, 1:100, equity $1,000, stop-out 50%.

    Margin (MT5 Forex): 1 x 100,000 / 100 = $1,000, whatever the price. Stop-out when equity + P/L
    = 50% x 1,000 = $500: the long loses $500 when (150 - P) x 100,000 / P = 500, P = 150 / 1.005 =
    149.2537; the short when (P - 150) x 100,000 / P = 500, P = 150 / 0.995 = 150.7538. The quote-kind
    formula with the entry's FX (1/150) held fixed gives 149.2462 for the long: 0.0075 (0.75 pip) off.
    Wipe-out (all-in, margin lost): long 150 / 101 = 1.4851 = 148.51 pips, short 150 / 99 = 151.52 pips.
    """
    path = tmp_path / "uj.xlsx"
    build_journal(path, [_usdjpy("long"), _usdjpy("short")], settings=Settings(account_currency="USD"))
    long_, short = trades_rows(path)
    assert long_["Margin"] == pytest.approx(1_000.0) and short["Margin"] == pytest.approx(1_000.0)
    assert long_["Stop-out price"] == pytest.approx(150 / 1.005, abs=5e-5)
    assert round(long_["Stop-out price"], 4) == 149.2537
    assert round(short["Stop-out price"], 4) == 150.7538
    assert round(long_["Wipe-out pips"], 2) == 148.51 and round(short["Wipe-out pips"], 2) == 151.52


def test_a_eur_account_keeps_usdjpy_in_the_quote_kind(tmp_path):
    path = tmp_path / "eur.xlsx"
    build_journal(path, [_usdjpy("long")], settings=Settings(account_currency="EUR"))
    [r] = trades_rows(path)
    assert r["Margin"] == pytest.approx(r["Notional"] / 100)


def test_libreoffice_recalculates_the_leverage_and_base_kind_columns_to_the_cached_values(tmp_path):
    from tools.render_docs import convert, soffice
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    path = tmp_path / "mix.xlsx"
    trades = [_usdjpy("long"), _usdjpy("short"), _usdjpy("long", leverage=None, equity=None),
              Trade(broker="B", account="1", trade_id="s1", symbol="AAPL", side="long", quantity=10, entry=180.0,
                    open_time=datetime(2024, 3, 2), asset_class="STOCK", contract_size=1, fx_to_account=1,
                    source=SRC),
              Trade(broker="B", account="1", trade_id="x1", symbol="XAUUSD", side="long", quantity=1, entry=2000.0,
                    open_time=datetime(2024, 3, 3), source=SRC),
              Trade(broker="B", account="1", trade_id="e1", symbol="EURUSD", side="long", quantity=0.1, entry=1.08,
                    open_time=datetime(2024, 3, 4), leverage=500.0, equity=10_000.0, source=SRC)]
    build_journal(path, trades)
    out = convert(path, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo", recalc=True)
    ours = trades_rows(path)
    theirs = trades_rows(out)
    changed = ("Leverage used", "Leverage source", "Margin", "Wipe-out pips", "Stop-out price", "Over cap")
    for a, b in zip(ours, theirs):
        for col in changed:
            x, y = a[col], b[col]
            if isinstance(x, float) and isinstance(y, (int, float)):
                assert y == pytest.approx(x, rel=1e-9), (a["Trade ID"], col, x, y)
            else:
                assert (x or "") == (y or ""), (a["Trade ID"], col, x, y)
    assert [r["Leverage source"] for r in ours] == [C.SRC_TRADE, C.SRC_TRADE, C.ASSUMED + C.SRC_ACCOUNT,
                                                    C.SRC_CASH, C.ASSUMED + C.SRC_CAP, C.SRC_TRADE]
    assert [r["Over cap"] for r in ours][3:] == [False, C.UNKNOWN, True]  # 1:500 over ESMA's 30:1


# --- 4. TradingView: --symbol ---------------------------------------------------------------------

@pytest.mark.statements
def test_tradingview_symbol_option_and_the_warning_when_the_file_name_gives_it(tmp_path):
    path = shared_statement(TV)
    assert {t.symbol for t in read_statement(path, symbol="BINANCE:ETHUSDT.P").trades} == {"BINANCE:ETHUSDT.P"}
    named = cli(path, "--journal", tmp_path / "a.xlsx", "--no-progress")
    assert named.returncode == 0, named.stderr
    assert "WARNING: symbol 'ETHUSDT.P' taken from the file name" in named.stdout
    given_ = cli(path, "--journal", tmp_path / "b.xlsx", "--no-progress", "--symbol", "ETHUSDT")
    assert given_.returncode == 0 and "WARNING" not in given_.stdout
    assert {r["Symbol"] for r in trades_rows(tmp_path / "b.xlsx")} == {"ETHUSDT"}
    other = cli(shared_statement(MT4), "--journal", tmp_path / "c.xlsx", "--no-progress", "--symbol", "X")
    assert other.returncode != 0 and "--symbol applies to a TradingView list of trades only" in other.stderr
    assert not (tmp_path / "c.xlsx").exists()
