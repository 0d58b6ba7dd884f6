"""FX to account from the whole statement: one rate per quote currency and day, fitted to the profits
of the day's closed trades by size, checked by hand, on real statements and against random trades
made from a known rate; and never a rate of 1 that does not say it was assumed."""

from __future__ import annotations

import doctest
import io
import math
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.fill import fill_journal, print_report
from addin.fill.enrich import AccountDefaults, enrich
from addin.fill.fx_rates import Conversion, StatementRates, journal_rate, summary
from addin.journal.instruments import lookup
from addin.risk import NoPrice, RiskInputError, conversion
from addin.risk.conversion import fit_fx_rate
from addin.statements import read_statement
from addin.statements.model import SourceRef, Trade

SRC = SourceRef(file="statement.htm", row=1)
INSTRUMENTS = {
    s: SimpleNamespace(symbol=s, asset_class="FX_MAJOR" if "GBP" not in s[:3] else "FX_MINOR",
                       contract_size=100_000, quote_currency=s[3:])
    for s in ("EURUSD", "USDJPY", "EURGBP", "GBPJPY")
}
USD = AccountDefaults(currency="USD", leverage=30)
STATEMENTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "statements"
POPOV = STATEMENTS / "mt5_report" / "PopovMP_MetaQuotesDemo_ReportHistory-70358000.html"
JSACAP = STATEMENTS / "mt4_statement_html" / "jsacap_Tradeslide_Statement.htm"
REAL = [POPOV, JSACAP, STATEMENTS / "mt4_statement_html" / "reuniware_Tradeslide_demo_DetailedStatement.htm",
        STATEMENTS / "mt5_report" / "Wizard-hash2_ReportHistory.xlsx"]
needs_statements = pytest.mark.skipif(not STATEMENTS.is_dir(), reason="../shared/statements/ (real exports) not here")

_ids = iter(range(1, 10**9))


def trade(symbol="EURGBP", side="long", qty=1.0, entry=0.85, exit=None, profit=None,
          opened=datetime(2024, 1, 3, 9), closed=None, **kw) -> Trade:
    return Trade(broker="MT4", account="42", trade_id=str(next(_ids)), symbol=symbol, side=side, quantity=qty,
                 entry=entry, exit=exit, profit=profit, open_time=opened, close_time=closed, source=SRC, **kw)


def move(t: Trade) -> float:
    return (1 if t.side == "long" else -1) * (t.exit - t.entry) * abs(t.quantity) * t.contract_size


def labels(t: Trade) -> list[str]:
    return [f for f in t.flags if "->" in f]


def test_docstring_examples():
    result = doctest.testmod(conversion, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --- by hand: three EURGBP trades in a USD account ----------------------------------------------------
# 1 lot long 0.8500 -> 0.8520 (200 GBP) made $254.00: 1.27 a pound; 0.5 lot long 0.8600 -> 0.8610
# (50 GBP) made $63.00: 1.26; 0.1 lot short 0.8430 -> 0.8400 (30 GBP) made $38.40: 1.28.
# Their plain mean is 1.27; by size: (254×200 + 63×50 + 38.4×30) / (200² + 50² + 30²) = 55102 / 43400
# = 1.269631, the big trade weighing most. Scatter: residuals 0.0737, -0.4816, 0.3111 dollars,
# standard error √(3/2 × Σ e²d²) / Σd² = 0.000839 (0.066%); cent rounding alone could move it only
# 0.005 × 280 / 43400 = 0.0000323.
DAY = datetime(2024, 1, 3)
THREE = [
    trade(qty=1.0, entry=0.8500, exit=0.8520, profit=254.00, closed=DAY.replace(hour=10)),
    trade(qty=0.5, entry=0.8600, exit=0.8610, profit=63.00, closed=DAY.replace(hour=12)),
    trade(side="short", qty=0.1, entry=0.8430, exit=0.8400, profit=38.40, closed=DAY.replace(hour=15)),
]


def test_three_eurgbp_trades_weighted_by_size_by_hand():
    fit = fit_fx_rate([254.0, 63.0, 38.4], [200.0, 50.0, 30.0])
    assert fit.rate == pytest.approx(55102 / 43400) == pytest.approx(1.269631, abs=1e-6)
    assert fit.std_error == pytest.approx(0.000839, abs=1e-6)
    assert fit.rounding_bound == pytest.approx(0.005 * 280 / 43400)
    assert fit.uncertainty == fit.std_error and (fit.used, fit.dropped) == (3, ())


def test_an_open_eurgbp_trade_that_day_takes_the_weighted_rate_with_its_source():
    opened = trade(entry=0.8450, opened=DAY.replace(hour=16))
    *closed, t = enrich(THREE + [opened], USD, INSTRUMENTS.get)
    assert t.fx_to_account == pytest.approx(1.269631, abs=1e-6)
    assert labels(t) == ["GBP->USD rate from the statement's 3 trades closed 2024-01-03 (±0.066%)"]
    # Each of the three is large enough that its own profit gives its rate to ±0.017% or better, finer
    # than the day's ±0.066%: it keeps its own, within 1% of the day's, and its profit is reproduced.
    for c, want in zip(closed, (1.27, 1.26, 1.28)):
        assert c.fx_to_account == pytest.approx(want, rel=1e-9)
        assert abs(c.fx_to_account / 1.269631 - 1) < 0.01
        assert labels(c)[0].startswith("GBP->USD rate from this trade's own profit")
        assert c.fx_to_account * move(c) == pytest.approx(c.profit, abs=0.005)


def test_a_small_trade_takes_its_days_rate_not_its_cent_rounded_own():
    # 0.01 lot up 30 pips is 3 GBP; at 1.2696 that is $3.81. On its own: 3.81 / 3 = 1.27 ± 0.0017.
    small = trade(qty=0.01, entry=0.8500, exit=0.8530, profit=3.81, closed=DAY.replace(hour=17))
    out = enrich(THREE + [small], USD, INSTRUMENTS.get)
    fit = fit_fx_rate([254.0, 63.0, 38.4, 3.81], [200.0, 50.0, 30.0, 3.0])
    assert out[-1].fx_to_account == pytest.approx(fit.rate, rel=1e-12)
    assert labels(out[-1]) == ["GBP->USD rate from the statement's 4 trades closed 2024-01-03 (±0.062%)"]
    assert out[-1].fx_to_account * 3.0 == pytest.approx(3.81, abs=0.005)


def test_a_day_without_trades_takes_the_nearest_days_rate_and_says_so():
    later = trade(entry=0.8450, opened=datetime(2024, 1, 5, 9))
    [*_, t] = enrich(THREE + [later], USD, INSTRUMENTS.get)
    assert t.fx_to_account == pytest.approx(1.269631, abs=1e-6)
    assert labels(t) == ["GBP->USD rate from the statement's 3 trades closed 2024-01-03, the nearest day "
                         "(none on 2024-01-05; ±0.066%)"]


def test_of_two_days_as_near_the_earlier_is_taken():
    jan2 = trade(qty=1.0, entry=0.85, exit=0.852, profit=250.00, closed=datetime(2024, 1, 2, 10))
    jan4 = trade(qty=1.0, entry=0.85, exit=0.852, profit=260.00, closed=datetime(2024, 1, 4, 10))
    between = trade(entry=0.85, opened=datetime(2024, 1, 3, 12))
    [*_, t] = enrich([jan2, jan4, between], USD, INSTRUMENTS.get)
    assert t.fx_to_account == pytest.approx(1.25)
    assert "closed 2024-01-02, the nearest day (none on 2024-01-03" in labels(t)[0]


def test_a_profit_the_others_contradict_is_left_out_of_the_fit_and_flagged():
    # 1 lot up 20 pips booked $400.00 (2.00 a pound): no rounding or intraday move explains it
    wrong = trade(qty=1.0, entry=0.8500, exit=0.8520, profit=400.00, closed=DAY.replace(hour=11))
    opened = trade(entry=0.8450, opened=DAY.replace(hour=16))
    out = enrich(THREE + [wrong, opened], USD, INSTRUMENTS.get)
    assert out[-1].fx_to_account == pytest.approx(1.269631, abs=1e-6)  # as without it
    assert out[3].fx_to_account == pytest.approx(1.269631, abs=1e-6)
    assert "this trade's profit implies GBP->USD 2, +57.5% off its day's 1.26963: check its profit" in out[3].flags
    assert summary(out) == ["GBP->USD: 3 from their own profit (large trades), 2 from their day's trades, "
                            "1 with a profit its day's rate does not explain (flagged)"]


def test_usdjpy_takes_its_own_price_and_gbpjpy_the_jpy_trades_of_its_day():
    # USDJPY 1 lot 150.00 -> 151.00 made $662.25 (100,000 yen at 151.00); GBPJPY 0.1 lot 190.00 -> 190.50
    # made 5,000 yen = $33.11 (1/151.0 to the cent): the day's JPY fit, weighted, says 1/151.0.
    uj = trade(symbol="USDJPY", entry=150.0, exit=151.0, profit=662.25, closed=DAY.replace(hour=10))
    gj = trade(symbol="GBPJPY", qty=0.1, entry=190.0, exit=190.5, profit=33.11, closed=DAY.replace(hour=11))
    gj_open = trade(symbol="GBPJPY", qty=0.1, entry=190.2, opened=DAY.replace(hour=12))
    a, b, c = enrich([uj, gj, gj_open], USD, INSTRUMENTS.get)
    assert a.fx_to_account == pytest.approx(1 / 151.0) and labels(a) == ["JPY->USD rate from the pair's own price"]
    assert 1 / b.fx_to_account == pytest.approx(151.0, rel=1e-4)
    assert 1 / c.fx_to_account == pytest.approx(151.0, rel=1e-4)
    assert labels(c)[0].startswith("JPY->USD rate from the statement's 2 trades closed 2024-01-03")


def test_no_trade_implying_a_rate_means_unknown_and_the_journal_cell_is_left_empty_flagged():
    opened = trade(entry=0.8450)
    rates = StatementRates([(opened, "USD", "GBP", 100_000)])
    conv = rates.rate_for(opened, "USD", "GBP", "EUR", 100_000)
    assert conv == Conversion(None, ("no FX rate for GBP->USD: figures in the account currency are not computed",))
    [t] = enrich([opened], USD, INSTRUMENTS.get)
    assert t.fx_to_account is None
    assert labels(t) == ["no FX rate for GBP->USD: FX to account left empty, so its figures in the account "
                         'currency say "no FX rate": type the rate']
    assert journal_rate(Conversion(1.3, ("x",))) == (1.3, ("x",))


def test_a_rate_the_statement_states_is_kept_without_a_label():
    [t] = enrich([trade(entry=0.845, fx_to_account=1.2712)], USD, INSTRUMENTS.get)
    assert t.fx_to_account == 1.2712 and labels(t) == []


def test_the_summary_says_where_each_currencys_rate_came_from():
    out = enrich(THREE + [trade(entry=0.845), trade(symbol="EURUSD", entry=1.1),
                          trade(symbol="GBPJPY", entry=190.0)], USD, INSTRUMENTS.get)
    assert summary(out) == ["GBP->USD: 3 from their own profit (large trades), 1 from their day's trades",
                            "JPY->USD: 1 with no rate (left empty, flagged)",
                            "USD (the account currency): 1 at rate 1"]


@pytest.mark.parametrize("profits, moves, message", [
    ([1.0], [1.0, 2.0], "profits and move_values must be as long as each other (got 1 and 2)"),
    ([math.nan], [1.0], "profits[0] must be a finite number (got nan)"),
    ([1.0, 2.0], [1.0, math.inf], "move_values[1] must be a finite number (got inf)"),
    (["12"], [1.0], "profits[0] must be a finite number (got '12')"),
])
def test_bad_input_is_named(profits, moves, message):
    with pytest.raises(RiskInputError) as err:
        fit_fx_rate(profits, moves)
    assert str(err.value) == message


def test_no_move_or_contradicting_profits_give_no_rate():
    with pytest.raises(NoPrice, match="no trade's price moved"):
        fit_fx_rate([1.0, 0.0], [0.0, 0.0])
    with pytest.raises(NoPrice, match="contradict"):
        fit_fx_rate([-5.0, -4.0], [10.0, 8.0])


# --- random trades made from a known rate ------------------------------------------------------------

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.floats(0.004, 250.0), sizes=st.lists(
    st.tuples(st.sampled_from([-1, 1]), st.floats(0.0, 1.0)), min_size=1, max_size=40))
def test_the_fit_of_cent_rounded_trades_is_within_its_stated_uncertainty(rate, sizes):
    # Each trade's value in the account currency spans one cent (just above the smallest that rounds
    # to a nonzero profit) to $100,000, spread log-uniformly; its profit is rounded to the cent.
    moves = [s * 0.006 * (1e5 / 0.006) ** u / rate for s, u in sizes]
    profits = [round(rate * d, 2) for d in moves]
    fit = fit_fx_rate(profits, moves)
    slack = 1e-9 * rate
    assert abs(fit.rate - rate) <= fit.rounding_bound + slack
    assert abs(fit.rate - rate) <= fit.uncertainty + slack
    assert fit.used + len(fit.dropped) == len(moves)


# --- never 1 without saying so ------------------------------------------------------------------------

SYMBOLS = ["EURUSD", "USDJPY", "EURGBP", "GBPJPY", "WIDGET"]
PRICE = {"EURUSD": 1.1, "USDJPY": 150.0, "EURGBP": 0.85, "GBPJPY": 190.0, "WIDGET": 12.0}


@st.composite
def statements(draw):
    out = []
    for _ in range(draw(st.integers(1, 25))):
        symbol = draw(st.sampled_from(SYMBOLS))
        entry = PRICE[symbol] * draw(st.floats(0.95, 1.05))
        opened = datetime(2024, 1, 1) + timedelta(hours=draw(st.integers(0, 24 * 10)))
        closed = draw(st.booleans())
        kw = {}
        if closed:
            kw = dict(exit=entry * draw(st.floats(0.98, 1.02)), closed=opened + timedelta(hours=draw(st.integers(0, 72))),
                      profit=round(draw(st.floats(-5000, 5000)), 2))
        out.append(trade(symbol=symbol, side=draw(st.sampled_from(["long", "short"])),
                         qty=draw(st.sampled_from([0.01, 0.1, 1.0, 3.5])), entry=entry, opened=opened, **kw))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements())
def test_no_trade_gets_rate_1_without_a_flag_saying_it_was_assumed(trades):
    for t in enrich(trades, USD, INSTRUMENTS.get):
        if t.quote_currency == "USD":
            assert t.fx_to_account == 1.0
            continue
        said = [f for f in t.flags if "rate from" in f or "no FX rate" in f]
        assert len(said) == 1, t.flags
        if t.fx_to_account is None or said[0].startswith("no FX rate"):
            assert "left empty" in said[0] and t.fx_to_account is None, t.flags
        else:
            assert t.fx_to_account > 0


# --- real statements ----------------------------------------------------------------------------------

def filled(path: Path):
    s = read_statement(path)
    out = enrich(s.trades, AccountDefaults(s.account_currency, 100), lookup, s.account_currency)
    return s, out


@needs_statements
def test_an_mt5_eur_account_trading_usdjpy_gets_one_rate_a_day_not_one_a_trade():
    # 404 closed USDJPY trades of 0.01 to 0.1 lot in a EUR account over two days: on its own, each
    # one's cent-rounded profit implies JPY->EUR between 0.005 and 0.010 (a third more than 3% off
    # their median). The statement-wide fit gives one rate a day, about 1/156 (EURJPY in June 2023).
    s, out = filled(POPOV)
    assert s.account_currency == "EUR"
    jpy = [(t, u) for t, u in zip(s.trades, out) if u.quote_currency == "JPY"]
    closed = [(t, u) for t, u in jpy if u.exit is not None and move(u) != 0]
    own = [t.profit / move(u) for t, u in closed]
    mid = median(own)
    assert sum(abs(r / mid - 1) > 0.03 for r in own) > len(own) / 4
    rates = StatementRates((u, "EUR", u.quote_currency, u.contract_size) for u in out)
    days = rates.fits[("JPY", "EUR")]
    assert sorted(map(str, days)) == ["2023-06-23", "2023-06-26"]
    for fit in days.values():
        assert 150 < 1 / fit.rate < 160 and fit.uncertainty / fit.rate < 0.01
    for t, u in closed:
        day = days[u.close_time.date()]
        assert abs(u.fx_to_account / day.rate - 1) < 0.01, (u.trade_id, u.fx_to_account, day.rate)
    opened = [u for _, u in jpy if u.exit is None]
    assert len(opened) == 31
    for u in opened:
        assert 150 < 1 / u.fx_to_account < 160
        assert labels(u)[0].startswith("JPY->EUR rate from the statement's") and "trades closed 2023-06-2" in labels(u)[0]


@needs_statements
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_statements_every_foreign_trade_labelled_and_profits_reproduced(path):
    s, out = filled(path)
    foreign = [u for u in out if u.quote_currency != u.account_currency]
    assert foreign
    for u in foreign:
        assert u.fx_to_account != 1.0 and len([f for f in u.flags if "rate from" in f]) == 1, (u.symbol, u.flags)
    closed = [u for u in foreign if u.exit is not None and u.profit is not None and u.quote_currency]
    # every closed trade's rate within 1% of its day's statement-wide fit (or of the fit's own
    # uncertainty, twice, where one tiny trade is all a day has: EURSEK at its own price against it)
    rates = StatementRates((u, u.account_currency, u.quote_currency, u.contract_size) for u in out)
    for u in closed:
        _, fit = rates.day_rate(u.quote_currency, u.account_currency, u.close_time.date())
        assert abs(u.fx_to_account / fit.rate - 1) < max(0.01, 2 * fit.uncertainty / fit.rate), (u.symbol, u.flags)
    off = [abs(u.fx_to_account * move(u) - u.profit) for u in closed]
    within = sum(e <= 0.005 + 1e-9 for e in off)
    # the statement's profit, recomputed from the rate, to the cent's rounding for nearly all trades,
    # and never more than 1.5 cents off (a small trade at its day's rate, which moved during the day)
    assert within >= 0.9 * len(closed), (within, len(closed))
    assert max(off) < 0.015, max(off)


@needs_statements
def test_the_fill_summary_lists_the_currencies_and_their_sources(tmp_path):
    report = fill_journal([JSACAP], tmp_path / "Journal.xlsx", progress=False)
    buf = io.StringIO()
    print_report(report, buf)
    lines = [line.strip() for line in buf.getvalue().splitlines() if line.strip().startswith("FX to account:")]
    assert lines == [
        "FX to account:        CAD->USD: 15 from the pair's own price, 9 from their day's trades, "
        "4 from their own profit (large trades)",
        "FX to account:        JPY->USD: 12 from the pair's own price, 9 from their day's trades, "
        "5 from their own profit (large trades)",
        "FX to account:        USD (the account currency): 70 at rate 1",
        "FX to account:        unknown quote currency: 1 from its own profit",
    ]
