"""Which currency pairs each regulator calls major, from the regulator's own text, and how symbols are
classified.

Sources (also in addin/risk/caps.py, MAJOR_SOURCES):
- ESMA Decision (EU) 2018/796, Annex II: 30:1 for a pair of any two of the US dollar, euro, Japanese
  yen, pound sterling, Canadian dollar and Swiss franc; 20:1 for other pairs.
- FCA PS19/18 (COBS 22.5, glossary "major foreign exchange pair"): the same six currencies.
- ASIC Corporations (Product Intervention Order—Contracts for Difference) Instrument 2020/986, s 4(1),
  "major currency pair": any two of the Australian dollar, Canadian dollar, euro, Japanese yen, pound
  sterling, Swiss franc and United States dollar (30:1); minor pairs 20:1.
  https://www.legislation.gov.au/F2020L01338 (in force from 2021-03-29).
- NFA Financial Requirements Section 12: 2% security deposit (50:1) for pairs of the major currencies
  GBP, CHF, CAD, JPY, EUR, AUD, NZD, SEK, NOK, DKK and USD; 5% (20:1) otherwise.
- Japan FSA: one 4% (25:1) rate for every pair.
"""

from __future__ import annotations

from datetime import date
from itertools import combinations

import pytest

from addin import risk
from addin.risk.caps import MAJOR_CURRENCIES, MAJOR_SOURCES
from addin.udfs import MAX_LEVERAGE

DAY = date(2026, 1, 15)
G7 = ["USD", "EUR", "JPY", "GBP", "CAD", "CHF"]

MAJORS = {
    "ESMA": set(G7),
    "FCA": set(G7),
    "ASIC": set(G7) | {"AUD"},
    "NFA": {"GBP", "CHF", "CAD", "JPY", "EUR", "AUD", "NZD", "SEK", "NOK", "DKK", "USD"},
}


@pytest.mark.parametrize("regime", ["ESMA", "FCA", "ASIC", "NFA"])
def test_the_majors_of_each_regime_are_the_regulators_list(regime):
    assert MAJOR_CURRENCIES[regime] == MAJORS[regime]
    assert regime in MAJOR_SOURCES
    major_cap, minor_cap = (50, 20) if regime == "NFA" else (30, 20)
    for base, quote in combinations(sorted(MAJORS[regime]), 2):
        assert risk.max_leverage(regime, base + quote, DAY) == major_cap, base + quote
        assert risk.max_leverage(regime, quote + base, DAY) == major_cap, quote + base
    for outsider in ("NZD", "TRY", "MXN", "PLN", "ZAR", "SGD"):
        if outsider not in MAJORS[regime]:
            assert risk.max_leverage(regime, f"USD{outsider}", DAY) == minor_cap, outsider


def test_asic_majors_include_the_australian_dollar():
    for pair in ("AUDUSD", "EURAUD", "AUDJPY", "GBPAUD", "AUDCAD", "AUDCHF"):
        assert MAX_LEVERAGE("ASIC", pair, DAY) == 30, pair
    assert MAX_LEVERAGE("ASIC", "NZDUSD", DAY) == 20
    assert MAX_LEVERAGE("ASIC", "AUDNZD", DAY) == 20
    assert MAX_LEVERAGE("ESMA", "AUDUSD", DAY) == 20  # not an ESMA major


def test_jfsa_has_one_rate_for_every_pair():
    for pair in ("EURUSD", "USDTRY", "AUDNZD", "USDZAR"):
        assert MAX_LEVERAGE("JFSA", pair, DAY) == 25


@pytest.mark.parametrize("symbol", ["EURUSD", "EUR/USD", "eurusd", "EUR-USD", "EUR USD", "EURUSD.m", "EURUSDm",
                                    "EURUSD.pro", "EURUSD_i", "EURUSD#", "EURUSD+", "eurusd.m", " EURUSD "])
def test_broker_spellings_of_eurusd_are_eurusd(symbol):
    assert risk.classify("ESMA", symbol) == "FX_MAJOR"
    assert MAX_LEVERAGE("ESMA", symbol, DAY) == 30


@pytest.mark.parametrize("symbol, cls", [("EURUSDT", "CRYPTO"), ("BTCUSD", "CRYPTO"), ("BTC/USD", "CRYPTO"),
                                         ("ETHEUR", "CRYPTO"), ("XBTUSD", "CRYPTO"), ("BTCUSDT", "CRYPTO"),
                                         ("XAUUSD", "GOLD"), ("XAUUSD.m", "GOLD"), ("XAGUSD", "COMMODITY")])
def test_symbols_that_are_not_currency_pairs(symbol, cls):
    assert risk.classify("ESMA", symbol) == cls
    assert risk.classify("ASIC", symbol) == cls


@pytest.mark.parametrize("symbol", ["US500", "EURXYZ", "ABC", "BITCOIN", "EURUSD2", "EUR", "EURUSDJPY", "USDUSD",
                                    "GER40", "AAPL"])
def test_unknown_symbols_give_a_message(symbol):
    with pytest.raises(risk.RiskInputError, match="symbol we can classify"):
        risk.classify("ESMA", symbol)
    got = MAX_LEVERAGE("ESMA", symbol, DAY)
    assert isinstance(got, str) and "instrument" in got and repr(symbol) in got
