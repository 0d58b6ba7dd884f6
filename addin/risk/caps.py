"""Retail leverage caps by regulator and instrument class: dated data with sources.

Each row of :data:`CAPS` is (regime, instrument class, max leverage or None when the product is
barred for retail clients, in force from (ISO date), source). A rule change is a new row with its
date; :func:`addin.risk.limits.max_leverage` picks the row in force on the day asked.

Instrument classes: FX_MAJOR, FX_MINOR, GOLD, INDEX_MAJOR, INDEX_MINOR, COMMODITY, EQUITY, CRYPTO.
A class a regime's rule does not cover has no row (the message says so).

:data:`NO_CAP_REGIME` (``NONE``) is the regime of a trader to whom no retail cap applies: an offshore
broker, or a professional client. It has no rows: under it every product is uncapped.
"""

from __future__ import annotations

INSTRUMENT_CLASSES = ("FX_MAJOR", "FX_MINOR", "GOLD", "INDEX_MAJOR", "INDEX_MINOR", "COMMODITY", "EQUITY", "CRYPTO")

_ESMA = "ESMA Decision (EU) 2018/796 (product intervention, ESMA35-43-1000), since carried into national measures"
_FCA = "FCA PS19/18 (CFD restrictions)"
_FCA_CRYPTO = "FCA PS20/10 (ban on cryptoasset derivatives for retail clients)"
_ASIC = "ASIC Corporations (Product Intervention Order—Contracts for Difference) Instrument 2020/986"
_NFA = "NFA Financial Requirements Section 12 (forex security deposits: 2% majors, 5% others)"
_JFSA = "Japan FSA Cabinet Office Ordinance on Financial Instruments Business (FX margin 4%)"
_JFSA_CRYPTO = "Japan FSA / JVCEA crypto-asset margin trading (2:1), Payment Services Act amendment 2020"
_REGT = "Federal Reserve Regulation T (50% initial margin, overnight)"

CAPS: tuple[tuple[str, str, float | None, str, str], ...] = (
    ("ESMA", "FX_MAJOR", 30, "2018-08-01", _ESMA),
    ("ESMA", "FX_MINOR", 20, "2018-08-01", _ESMA),
    ("ESMA", "GOLD", 20, "2018-08-01", _ESMA),
    ("ESMA", "INDEX_MAJOR", 20, "2018-08-01", _ESMA),
    ("ESMA", "INDEX_MINOR", 10, "2018-08-01", _ESMA),
    ("ESMA", "COMMODITY", 10, "2018-08-01", _ESMA),
    ("ESMA", "EQUITY", 5, "2018-08-01", _ESMA),
    ("ESMA", "CRYPTO", 2, "2018-08-01", _ESMA),
    ("FCA", "FX_MAJOR", 30, "2019-08-01", _FCA),
    ("FCA", "FX_MINOR", 20, "2019-08-01", _FCA),
    ("FCA", "GOLD", 20, "2019-08-01", _FCA),
    ("FCA", "INDEX_MAJOR", 20, "2019-08-01", _FCA),
    ("FCA", "INDEX_MINOR", 10, "2019-08-01", _FCA),
    ("FCA", "COMMODITY", 10, "2019-08-01", _FCA),
    ("FCA", "EQUITY", 5, "2019-08-01", _FCA),
    ("FCA", "CRYPTO", 2, "2019-08-01", _FCA),
    ("FCA", "CRYPTO", None, "2021-01-06", _FCA_CRYPTO),
    ("ASIC", "FX_MAJOR", 30, "2021-03-29", _ASIC),
    ("ASIC", "FX_MINOR", 20, "2021-03-29", _ASIC),
    ("ASIC", "GOLD", 20, "2021-03-29", _ASIC),
    ("ASIC", "INDEX_MAJOR", 20, "2021-03-29", _ASIC),
    ("ASIC", "INDEX_MINOR", 10, "2021-03-29", _ASIC),
    ("ASIC", "COMMODITY", 10, "2021-03-29", _ASIC),
    ("ASIC", "EQUITY", 5, "2021-03-29", _ASIC),
    ("ASIC", "CRYPTO", 2, "2021-03-29", _ASIC),
    ("NFA", "FX_MAJOR", 50, "2010-10-18", _NFA),
    ("NFA", "FX_MINOR", 20, "2010-10-18", _NFA),
    ("JFSA", "FX_MAJOR", 25, "2011-08-01", _JFSA),
    ("JFSA", "FX_MINOR", 25, "2011-08-01", _JFSA),
    ("JFSA", "CRYPTO", 2, "2020-05-01", _JFSA_CRYPTO),
    ("REGT", "EQUITY", 2, "1974-01-01", _REGT),
)

# The currencies whose pairs each regime counts as "major" (both legs must be in the set), from the
# regulator's own definition (MAJOR_SOURCES).
MAJOR_CURRENCIES: dict[str, frozenset[str]] = {
    "ESMA": frozenset({"USD", "EUR", "JPY", "GBP", "CAD", "CHF"}),
    "FCA": frozenset({"USD", "EUR", "JPY", "GBP", "CAD", "CHF"}),
    "ASIC": frozenset({"AUD", "USD", "EUR", "JPY", "GBP", "CAD", "CHF"}),
    "NFA": frozenset({"GBP", "CHF", "CAD", "JPY", "EUR", "AUD", "NZD", "SEK", "NOK", "DKK", "USD"}),
    "JFSA": frozenset(),  # one 4% rate for every pair
}

MAJOR_SOURCES: dict[str, str] = {
    "ESMA": "ESMA Decision (EU) 2018/796, Annex II: 30:1 for a currency pair composed of any two of the US "
            "dollar, euro, Japanese yen, pound sterling, Canadian dollar and Swiss franc",
    "FCA": "FCA PS19/18 and the FCA Handbook glossary 'major foreign exchange pair': any two of the US dollar, "
           "euro, Japanese yen, pound sterling, Canadian dollar and Swiss franc",
    "ASIC": "ASIC Corporations (Product Intervention Order—Contracts for Difference) Instrument 2020/986, s 4(1) "
            "'major currency pair': an exchange rate between any two of the Australian dollar, Canadian dollar, "
            "euro, Japanese yen, pound sterling, Swiss franc and United States dollar",
    "NFA": "NFA Financial Requirements Section 12 and its notice of 'major foreign currencies': GBP, CHF, CAD, "
           "JPY, EUR, AUD, NZD, SEK, NOK, DKK (against each other or USD: 2%)",
    "JFSA": "Japan FSA Cabinet Office Ordinance: one 4% rate for every currency pair (no major/minor split)",
}

# Crypto-asset codes (and stablecoins) as they appear in exchange and broker symbols: a symbol with
# one of these as a leg (BTCUSD, ETHEUR, EURUSDT) is CRYPTO, never a currency pair.
CRYPTO_CODES = frozenset("""
    BTC XBT ETH LTC XRP BCH ADA SOL DOT DOGE BNB TRX AVAX LINK MATIC XLM XMR EOS USDT USDC BUSD DAI TUSD
""".split())

# ISO 4217 codes that appear in retail FX symbols; a symbol is an FX pair when both legs are here.
CURRENCIES = frozenset("""
    USD EUR JPY GBP CHF CAD AUD NZD SEK NOK DKK PLN HUF CZK TRY ZAR MXN SGD HKD CNH CNY ILS RUB THB
    INR KRW TWD BRL CLP COP IDR MYR PHP SAR AED KWD QAR
""".split())

# Pairs quoted against a metal code are metals, not currency pairs.
METAL_CLASSES = {"XAU": "GOLD", "XAG": "COMMODITY", "XPT": "COMMODITY", "XPD": "COMMODITY"}

# The regime under which no retail leverage cap applies, and who it is for (the Settings note and the
# message of :func:`addin.risk.limits.max_leverage` say it).
NO_CAP_REGIME = "NONE"
NO_CAP_WHO = "offshore broker or professional client"

# Why a regime has no row for a class: the message a user sees.
NOT_COVERED: dict[str, str] = {
    "NFA": "the NFA rule covers retail forex only",
    "JFSA": "the JFSA caps cover retail FX and crypto-assets only",
    "REGT": "Regulation T covers securities (EQUITY) only",
}
