"""Limits and volatility: what a regulator allows, and what the market's noise allows."""

from __future__ import annotations

import math
import re
from datetime import date

from .caps import CAPS, CURRENCIES, INSTRUMENT_CLASSES, MAJOR_CURRENCIES, METAL_CLASSES, NOT_COVERED
from .errors import RiskInputError, must

REGIMES = tuple(dict.fromkeys(row[0] for row in CAPS))
_SEPARATORS = re.compile(r"[/\-_. ]")


def classify(regime: str, instrument: str) -> str:
    """The regime's instrument class for ``instrument``: a class name as given, or an FX symbol
    ("EURUSD", "EUR/USD", "eurusd.m") classified by the regime's own major currencies; metals
    quoted against a currency (XAUUSD) are GOLD or COMMODITY.

    >>> classify("ESMA", "EUR/USD"), classify("ESMA", "AUDUSD"), classify("NFA", "AUDUSD"), classify("FCA", "XAUUSD")
    ('FX_MAJOR', 'FX_MINOR', 'FX_MAJOR', 'GOLD')
    """
    upper = instrument.strip().upper()
    if upper in INSTRUMENT_CLASSES:
        return upper
    letters = _SEPARATORS.sub("", upper)
    base, quote = letters[:3], letters[3:6]
    if base in METAL_CLASSES and quote in CURRENCIES:
        return METAL_CLASSES[base]
    if base in CURRENCIES and quote in CURRENCIES and base != quote:
        if regime == "JFSA":
            return "FX_MAJOR"
        majors = MAJOR_CURRENCIES.get(regime, frozenset())
        return "FX_MAJOR" if base in majors and quote in majors else "FX_MINOR"
    raise RiskInputError(
        f"instrument must be one of {', '.join(INSTRUMENT_CLASSES)} or an FX symbol like EURUSD (got {instrument!r})")


def max_leverage(regime: str, instrument: str, as_of: date | None = None) -> float:
    """The retail leverage cap of ``regime`` for ``instrument`` in force on ``as_of`` (default today).

    Regimes: ESMA, FCA, ASIC, NFA (US retail forex), JFSA (Japan), REGT (US securities, overnight).
    The caps are the dated rows of :mod:`addin.risk.caps`. Raises RiskInputError when the regime
    bars the product for retail clients or does not cover it.

    >>> max_leverage("ESMA", "EURUSD"), max_leverage("ESMA", "EURAUD"), max_leverage("NFA", "EUR/AUD")
    (30.0, 20.0, 50.0)
    """
    key = regime.strip().upper().replace(" ", "").replace("-", "")
    if key not in REGIMES:
        raise RiskInputError(f"regime must be one of {', '.join(REGIMES)} (got {regime!r})")
    cls = classify(key, instrument)
    day = (as_of or date.today()).isoformat()
    in_force = [row for row in CAPS if row[0] == key and row[1] == cls and row[3] <= day]
    if not in_force:
        why = NOT_COVERED.get(key, f"{key} sets no cap for {cls}")
        if any(row[0] == key and row[1] == cls for row in CAPS):
            why = f"{key}'s cap for {cls} starts later than {day}"
        raise RiskInputError(f"no {key} cap for {instrument!r} ({cls}): {why}")
    _, _, cap, since, source = max(in_force, key=lambda row: row[3])
    if cap is None:
        raise RiskInputError(f"{key} bars {cls} for retail clients since {since} ({source})")
    return float(cap)


def safe_leverage(atr_pct: float, atr_multiple: float = 3.0) -> float:
    """Highest leverage at which an adverse move of ``atr_multiple`` average true ranges does not
    wipe out the margin: ``1 / (atr_multiple × atr_pct)``. ``atr_pct`` is ATR / price.

    A 0.6% daily ATR with room for 3 ATRs allows about 55:1:

    >>> round(safe_leverage(0.006), 1)
    55.6
    """
    if not 0 < atr_pct < math.inf:
        raise must("atr_pct", "> 0 (0.6% is 0.006)", atr_pct)
    if not 0 < atr_multiple < math.inf:
        raise must("atr_multiple", "> 0", atr_multiple)
    return 1.0 / (atr_multiple * atr_pct)
