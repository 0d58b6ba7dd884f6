"""Limits and volatility: what a regulator allows, and what the market's noise allows."""

from __future__ import annotations

import math
from datetime import date

from .caps import CAPS, INSTRUMENT_CLASSES, MAJOR_CURRENCIES, METAL_CLASSES, NO_CAP_REGIME, NO_CAP_WHO, NOT_COVERED
from .errors import NoPrice, RiskInputError, must
from .symbols import parse

# The regimes of CAPS, then NONE: no retail cap applies (an offshore broker, a professional client).
REGIMES = tuple(dict.fromkeys(row[0] for row in CAPS)) + (NO_CAP_REGIME,)


def classify(regime: str, instrument: str) -> str:
    """The regime's instrument class for ``instrument``: a class name as given, or a symbol.

    The symbol is classified by :func:`addin.risk.symbols.parse` (broker suffixes and prefixes
    removed: "EURUSD.m", "EURUSDm", "eurgbpi", "EURUSD-ECN", "#EURUSD"); an FX pair is classified by the
    regime's own major currencies (:data:`addin.risk.caps.MAJOR_CURRENCIES`, sources in
    MAJOR_SOURCES). Metals quoted against a currency (XAUUSD) are GOLD or COMMODITY; a symbol with a
    crypto-asset leg (BTCUSD, ETH/EUR, EURUSDT) is CRYPTO. Anything else raises RiskInputError.

    >>> classify("ESMA", "EUR/USD"), classify("ESMA", "AUDUSD"), classify("ASIC", "AUDUSD"), classify("FCA", "XAUUSD")
    ('FX_MAJOR', 'FX_MINOR', 'FX_MAJOR', 'GOLD')
    >>> classify("ESMA", "EURUSDm"), classify("ESMA", "EURUSDT"), classify("ESMA", "BTCUSD")
    ('FX_MAJOR', 'CRYPTO', 'CRYPTO')
    """
    upper = instrument.strip().upper()
    if upper in INSTRUMENT_CLASSES:
        return upper
    sym = parse(instrument)  # the one classifier (addin.risk.symbols)
    if sym.kind == "METAL":
        return METAL_CLASSES[sym.base]
    if sym.kind == "FX":
        if regime == "JFSA":
            return "FX_MAJOR"
        majors = MAJOR_CURRENCIES.get(regime, frozenset())
        return "FX_MAJOR" if sym.base in majors and sym.quote in majors else "FX_MINOR"
    if sym.kind == "CRYPTO":
        return "CRYPTO"
    raise RiskInputError(
        f"instrument must be one of {', '.join(INSTRUMENT_CLASSES)} or a symbol we can classify, like EURUSD, "
        f"EUR/USD, EURUSD.m, XAUUSD or BTCUSD (got {instrument!r}): give its class instead")


def max_leverage(regime: str, instrument: str, as_of: date | None = None) -> float:
    """The retail leverage cap of ``regime`` for ``instrument`` in force on ``as_of`` (default today).

    Regimes: ESMA, FCA, ASIC, NFA (US retail forex), JFSA (Japan), REGT (US securities, overnight),
    and NONE (offshore broker or professional client: no retail leverage cap). The caps are the dated
    rows of :mod:`addin.risk.caps`. Raises RiskInputError when the regime bars the product for retail
    clients, does not cover it, or (NONE) caps nothing: there is no cap to return, as for a product
    a regime does not cover, and the message says why (never a made-up large number).

    >>> max_leverage("ESMA", "EURUSD"), max_leverage("ESMA", "EURAUD"), max_leverage("NFA", "EUR/AUD")
    (30.0, 20.0, 50.0)
    >>> try:
    ...     max_leverage("NONE", "EURUSD")
    ... except RiskInputError as no_cap:
    ...     print(no_cap)
    no retail leverage cap for 'EURUSD' under NONE (offshore broker or professional client)
    """
    key = regime.strip().upper().replace(" ", "").replace("-", "")
    if key not in REGIMES:
        raise RiskInputError(f"regime must be one of {', '.join(REGIMES)} (got {regime!r})")
    cls = classify(key, instrument)  # a symbol nobody can classify is refused under every regime
    if key == NO_CAP_REGIME:
        raise RiskInputError(f"no retail leverage cap for {instrument!r} under {key} ({NO_CAP_WHO})")
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


def safe_leverage(atr_pct: float, atr_multiple: float = 3.0, stop_out_level: float = 0.5,
                  maintenance_rate: float = 0.0) -> float:
    """Highest leverage at which an all-in position (equity = its margin at entry) reaches the
    stop-out only after an adverse move of at least ``atr_multiple`` average true ranges, long or
    short, whatever its margin model (:mod:`addin.risk.margin_models`). ``atr_pct`` is ATR / price.

    With d = atr_multiple × atr_pct and s = stop_out_level, the move to the stop-out of an all-in
    position at leverage L (:func:`addin.risk.moves.wipeout_move`) is (1 − s) / (L − s) long and
    (1 − s) / (L + s) short when the margin is revalued at the price (quote kind), (1 − s) / (L + 1 − s)
    long and (1 − s) / (L − 1 + s) short when it is constant (base kind). Each is at least d when

        L ≤ (1 − s) / d − max(s, 1 − s)

    and that bound is the answer: the nearest stop-out, of whichever side and kind, is exactly d away.
    With ``maintenance_rate`` m > 0 the position is an exchange's isolated linear one instead
    (:func:`addin.risk.moves.liquidation_price`, liquidated after a move of 1/L − m either way), the
    stop-out level does not apply, and the answer is ``1 / (d + m)``. NoPrice when no leverage
    survives the move.

    Worked example: a 0.6% daily ATR, room for 3 ATRs (d = 1.8%), stop-out at 50%:
    L = 0.5 / 0.018 − 0.5 = 27.28. Check: a short at 27.28:1 stops out after 0.5 / 27.78 = 1.80%, a
    long after 0.5 / 26.78 = 1.87%. (Ignoring the stop-out, 1 / 0.018 = 55.6:1 would stop out after
    about 0.9%, half the promised distance.)

    >>> round(safe_leverage(0.006), 2), round(safe_leverage(0.006, 3, 0), 2), round(safe_leverage(0.01, 3, 0.5, 0.005), 2)
    (27.28, 54.56, 28.57)
    """
    if not 0 < atr_pct < math.inf:
        raise must("atr_pct", "> 0 (0.6% is 0.006)", atr_pct)
    if not 0 < atr_multiple < math.inf:
        raise must("atr_multiple", "> 0", atr_multiple)
    if not 0 <= stop_out_level < 1:
        raise must("stop_out_level", ">= 0 and < 1 (50% is 0.5)", stop_out_level)
    if not 0 <= maintenance_rate < 1:
        raise must("maintenance_rate", ">= 0 and < 1 (0.5% is 0.005)", maintenance_rate)
    move = atr_multiple * atr_pct
    if maintenance_rate > 0:
        return 1.0 / (move + maintenance_rate)
    cushion = 1.0 - stop_out_level
    safe = cushion / move - max(stop_out_level, cushion)
    if not safe > 0:
        raise NoPrice(f"no safe leverage: a move of {move:.4g} (atr_multiple × atr_pct) reaches the stop-out "
                      f"at any leverage")
    return safe
