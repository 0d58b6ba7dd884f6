"""One symbol classifier: what a broker's symbol is (a currency pair, a metal, a crypto-asset, or
something else) and its name without the broker's decorations.

Brokers decorate one instrument many ways: a suffix after a mark (``EURUSD.m``, ``EURUSD-ECN``,
``EURUSD_SB``, ``EURUSD.raw``, ``EURUSD#``), a suffix glued on (``EURUSDi``, ``EURUSDpro``, the cent
account's ``EURUSDc``, or upper case ``EURGBPI`` as a lower-cased ``eurgbpi`` reads), a prefix
(``#US30``, TradingView's ``FX:EURUSD``), separators inside (``EUR/USD``, ``EUR_USD``, ``BTC-USD``).
:func:`parse` undoes them all and classifies the result; every other part of the add-in (the fill's
Instruments look-up, the Account sheet's currency legs, the caps' classes, the functions) asks it.

Rules, in order (``codes`` are the ISO currencies, metals and crypto-assets of :mod:`.caps`):

1. the exchange prefix (``FX:``, ``CME_MINI:``), TradingView's continuous-future mark (``1!``) and
   leading ``#`` go; a ``/``, space, ``_``, ``-`` or ``.`` between two codes is a separator
   (``EUR_USD``, ``BTC-USD``), after anything else it starts the broker's suffix (``US30.cash``);
2. lower-case letters glued after an upper-case pair are the broker's suffix (``EURUSDm``, the
   cent account's ``EURUSDc``: not EUR/USDC);
3. a symbol with a crypto-asset leg whose letters are exactly two codes (``BTCUSD``, ``EURUSDT``,
   ``USDCUSDT``, and so an all lower-case ``eurusdc``) is CRYPTO, never a currency pair;
4. two different currency codes (``EURUSD``) are FX, a metal against a currency (``XAUUSD``) METAL,
   also with one of :data:`GLUED_SUFFIXES` glued on (``EURGBPI``, ``EURUSDPRO``);
5. anything else is itself (``US30``, ``AAPL``) with kind None.

>>> [parse(s).name for s in ("eurgbpi", "EURUSD.m", "EURUSD-ECN", "#EURUSD", "EURUSDc", "EUR/USD", "GBPJPY_SB")]
['EURGBP', 'EURUSD', 'EURUSD', 'EURUSD', 'EURUSD', 'EURUSD', 'GBPJPY']
>>> [(parse(s).name, parse(s).kind) for s in ("EURUSDT", "BTC-USD", "USDCUSDT", "XAUUSD.raw", "US30.cash")]
[('EURUSDT', 'CRYPTO'), ('BTCUSD', 'CRYPTO'), ('USDCUSDT', 'CRYPTO'), ('XAUUSD', 'METAL'), ('US30', None)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .caps import CRYPTO_CODES, CURRENCIES, METAL_CLASSES

METALS = frozenset(METAL_CLASSES)
CODES = CURRENCIES | METALS | CRYPTO_CODES
# Suffixes brokers glue to a symbol without a mark, upper case (as a lower-cased symbol reads).
GLUED_SUFFIXES = ("MICRO", "MINI", "CASH", "PRO", "RAW", "ECN", "STD", "VIP", "SB", "I", "M", "C")
MARKS = "._-+#!"  # a character that starts a broker's suffix (or separates two codes)
_PREFIX = re.compile(r"^[A-Za-z0-9_]+:")   # TradingView's exchange prefix: "FX:", "CME_MINI:"
_CONTINUOUS = re.compile(r"\d!$")           # TradingView's continuous futures: "MNQ1!"
_FIRST_MARK = re.compile(r"[._\-+#!]")


@dataclass(frozen=True)
class Symbol:
    """A symbol classified: ``name`` without the broker's decorations (upper case), ``kind`` FX,
    METAL, CRYPTO or None, ``base``/``quote`` the legs of a pair ("" otherwise), ``suffix`` what was
    taken off the end (as written)."""
    name: str
    kind: str | None
    base: str = ""
    quote: str = ""
    suffix: str = ""


def _split_codes(letters: str) -> list[tuple[str, str]]:
    """Every way ``letters`` (upper case) is exactly two known codes."""
    return [(letters[:i], letters[i:]) for i in range(3, len(letters) - 2)
            if letters[:i] in CODES and letters[i:] in CODES]


def _pair(letters: str) -> Symbol | None:
    """``letters`` as FX/METAL/CRYPTO when it is exactly two codes, else None."""
    for base, quote in _split_codes(letters):
        if base in CRYPTO_CODES or quote in CRYPTO_CODES:
            if base != quote:
                return Symbol(base + quote, "CRYPTO", base, quote)
    if len(letters) == 6:
        base, quote = letters[:3], letters[3:]
        if base in METALS and quote in CURRENCIES:
            return Symbol(letters, "METAL", base, quote)
        if base in CURRENCIES and quote in CURRENCIES and base != quote:
            return Symbol(letters, "FX", base, quote)
    return None


def parse(symbol: object) -> Symbol:
    """The symbol classified (see the module docstring for the rules)."""
    raw = _CONTINUOUS.sub("", _PREFIX.sub("", str(symbol or "").strip())).lstrip("#").replace(" ", "")
    head, suffix = raw, ""
    m = _FIRST_MARK.search(raw)
    while m is not None:
        left, right = head[:m.start()], head[m.end():]
        lead = re.match(r"[A-Za-z]+", right)
        joined = None
        if left.upper().replace("/", "") in CODES and lead is not None:
            for k in range(len(lead.group()), 2, -1):  # EUR_USD.m: the code after the separator
                if lead.group()[:k].upper() in CODES:
                    joined = left + right
                    break
        if joined is None:
            head, suffix = left, head[m.start():] + suffix
            break
        head = joined
        m = _FIRST_MARK.search(head, len(left))
    letters = head.replace("/", "")
    upper = letters.upper()
    if not upper:
        return Symbol("", None, suffix=suffix)
    # A glued suffix in lower case after an upper-case pair (EURUSDm, the cent account's EURUSDc:
    # not EUR/USDC) is the broker's.
    glued = re.fullmatch(r"([A-Z]{6})([a-z]+)", letters)
    if glued:
        got = _pair(glued.group(1))
        if got is not None and got.kind != "CRYPTO":
            return Symbol(got.name, got.kind, got.base, got.quote, glued.group(2) + suffix)
    got = _pair(upper)
    if got is not None:
        return Symbol(got.name, got.kind, got.base, got.quote, suffix)
    for s in GLUED_SUFFIXES:
        if len(upper) == 6 + len(s) and upper.endswith(s):
            got = _pair(upper[:6])
            if got is not None and got.kind != "CRYPTO":
                return Symbol(got.name, got.kind, got.base, got.quote, letters[6:] + suffix)
    return Symbol(upper, None, suffix=suffix)


def currency_legs(symbol: object) -> tuple[str, str] | None:
    """(base, quote) of a currency or metal pair (FX or METAL), None for anything else.

    >>> currency_legs("eurgbpi"), currency_legs("XAUUSD.m"), currency_legs("EURUSDT"), currency_legs("US500")
    (('EUR', 'GBP'), ('XAU', 'USD'), None, None)
    """
    s = parse(symbol)
    return (s.base, s.quote) if s.kind in ("FX", "METAL") else None


def name(symbol: object) -> str:
    """The symbol without the broker's decorations, upper case.

    >>> name("eurgbpi"), name("#US30"), name("FX:EURUSD"), name("US30.cash")
    ('EURGBP', 'US30', 'EURUSD', 'US30')
    """
    return parse(symbol).name


def account_is_base(symbol: object, account_currency: str) -> bool:
    """True when ``symbol`` is a currency pair whose base currency is the account currency (USDJPY
    in a USD account): MetaTrader's Forex margin is then in the account currency and constant, the
    profit converted at the current price (:mod:`addin.risk.margin_models`, base kind).

    >>> account_is_base("USDJPY.m", "USD"), account_is_base("EURUSD", "USD"), account_is_base("XAUUSD", "XAU")
    (True, False, False)
    """
    s = parse(symbol)
    return s.kind == "FX" and s.base == str(account_currency or "").strip().upper()
