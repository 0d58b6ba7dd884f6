"""Per-symbol contract data the journal needs: asset class, contract size, pip size, quote currency.

:data:`DEFAULT_INSTRUMENTS` seeds the journal's Instruments sheet (a user edits it there);
:func:`lookup` finds the instrument for a symbol as a broker writes it: ``EURUSD.m``, ``EURUSDpro``,
``EUR/USD``, ``eurusd``, TradingView's ``CME_MINI:MNQZ2024`` or ``MNQ1!``, a futures contract with its
month code (``MNQZ4``, ``MGCG26`` -> ``MNQ``, ``MGC``) and a few common aliases (``GOLD``, ``DJ30``).

Asset classes are those of ``MAX_LEVERAGE`` (FX_MAJOR, FX_MINOR, GOLD, INDEX_MAJOR, INDEX_MINOR,
COMMODITY, EQUITY, CRYPTO) plus FUTURE for exchange-traded futures, whose margin the exchange sets
(no retail leverage cap applies), and STOCK / SPOT for what is held outright (an exchange-traded
share, a spot crypto-asset: leverage 1, no cap). EQUITY is a share CFD. FX pairs are classified here by the ESMA list of majors; the
journal's formulas pass an FX pair's symbol to ``MAX_LEVERAGE`` so each regulator classifies it by
its own list. For futures, ``contract_size`` is the multiplier (account-currency value of a 1.0
price move per contract) and ``pip_size`` the tick size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ..risk import symbols
from . import schema

ASSET_CLASSES = ("FX_MAJOR", "FX_MINOR", "GOLD", "INDEX_MAJOR", "INDEX_MINOR", "COMMODITY", "EQUITY",
                 "CRYPTO", "FUTURE", "STOCK", "SPOT")


class Instrument(BaseModel):
    """One row of the Instruments sheet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    asset_class: str
    contract_size: float = Field(gt=0)
    pip_size: float = Field(gt=0)
    quote_currency: str
    margin_rate: float | None = Field(default=None, gt=0, le=1)
    description: str = ""


def _fx(pairs: str, cls: str) -> list[Instrument]:
    return [Instrument(symbol=p, asset_class=cls, contract_size=100_000,
                       pip_size=0.01 if p.endswith("JPY") else 0.0001, quote_currency=p[3:])
            for p in pairs.split()]


_ESMA_MAJORS = ("EURUSD GBPUSD USDJPY USDCHF USDCAD EURGBP EURJPY EURCHF EURCAD GBPJPY GBPCHF GBPCAD "
                "CADJPY CHFJPY CADCHF")
_MINORS = ("AUDUSD NZDUSD AUDJPY NZDJPY AUDCAD AUDCHF AUDNZD NZDCAD NZDCHF EURAUD EURNZD GBPAUD GBPNZD "
           "USDSEK USDNOK USDDKK USDMXN USDZAR USDTRY USDSGD USDHKD USDPLN USDHUF USDCZK USDCNH "
           "EURSEK EURNOK EURPLN EURHUF EURTRY EURSGD EURZAR GBPSGD SGDJPY ZARJPY")


def _row(symbol: str, cls: str, contract: float, pip: float, quote: str, description: str = "") -> Instrument:
    return Instrument(symbol=symbol, asset_class=cls, contract_size=contract, pip_size=pip,
                      quote_currency=quote, description=description)


DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = tuple(
    _fx(_ESMA_MAJORS, "FX_MAJOR") + _fx(_MINORS, "FX_MINOR") + [
        # Metals and energy CFDs: contract per lot.
        _row("XAUUSD", "GOLD", 100, 0.01, "USD", "gold, 100 oz per lot"),
        _row("XAUEUR", "GOLD", 100, 0.01, "EUR", "gold in euro, 100 oz per lot"),
        _row("XAGUSD", "COMMODITY", 5000, 0.001, "USD", "silver, 5000 oz per lot"),
        _row("XPTUSD", "COMMODITY", 100, 0.01, "USD", "platinum, 100 oz per lot"),
        _row("USOIL", "COMMODITY", 1000, 0.01, "USD", "WTI crude CFD, 1000 bbl per lot"),
        _row("UKOIL", "COMMODITY", 1000, 0.01, "USD", "Brent crude CFD, 1000 bbl per lot"),
        # Index CFDs: 1 unit of quote currency per point per lot.
        _row("US30", "INDEX_MAJOR", 1, 1, "USD", "Dow Jones 30 CFD"),
        _row("US500", "INDEX_MAJOR", 1, 0.1, "USD", "S&P 500 CFD"),
        _row("SPX500", "INDEX_MAJOR", 1, 0.1, "USD", "S&P 500 CFD"),
        _row("NAS100", "INDEX_MAJOR", 1, 1, "USD", "Nasdaq 100 CFD"),
        _row("USTEC", "INDEX_MAJOR", 1, 1, "USD", "Nasdaq 100 CFD"),
        _row("US2000", "INDEX_MINOR", 1, 0.1, "USD", "Russell 2000 CFD"),
        _row("GER40", "INDEX_MAJOR", 1, 1, "EUR", "DAX 40 CFD"),
        _row("DE40", "INDEX_MAJOR", 1, 1, "EUR", "DAX 40 CFD"),
        _row("FRA40", "INDEX_MAJOR", 1, 1, "EUR", "CAC 40 CFD"),
        _row("EU50", "INDEX_MAJOR", 1, 1, "EUR", "Euro Stoxx 50 CFD"),
        _row("UK100", "INDEX_MAJOR", 1, 1, "GBP", "FTSE 100 CFD"),
        _row("JP225", "INDEX_MAJOR", 1, 1, "JPY", "Nikkei 225 CFD"),
        _row("AUS200", "INDEX_MAJOR", 1, 1, "AUD", "ASX 200 CFD"),
        _row("HK50", "INDEX_MINOR", 1, 1, "HKD", "Hang Seng CFD"),
        # Crypto CFDs: 1 coin per lot.
        _row("BTCUSD", "CRYPTO", 1, 1, "USD", "Bitcoin CFD"),
        _row("ETHUSD", "CRYPTO", 1, 0.01, "USD", "Ether CFD"),
        _row("LTCUSD", "CRYPTO", 1, 0.01, "USD", "Litecoin CFD"),
        _row("XRPUSD", "CRYPTO", 1, 0.0001, "USD", "XRP CFD"),
        # Futures: contract_size is the multiplier, pip_size the tick.
        _row("ES", "FUTURE", 50, 0.25, "USD", "E-mini S&P 500 (CME)"),
        _row("MES", "FUTURE", 5, 0.25, "USD", "Micro E-mini S&P 500 (CME)"),
        _row("NQ", "FUTURE", 20, 0.25, "USD", "E-mini Nasdaq-100 (CME)"),
        _row("MNQ", "FUTURE", 2, 0.25, "USD", "Micro E-mini Nasdaq-100 (CME)"),
        _row("YM", "FUTURE", 5, 1, "USD", "E-mini Dow (CBOT)"),
        _row("MYM", "FUTURE", 0.5, 1, "USD", "Micro E-mini Dow (CBOT)"),
        _row("RTY", "FUTURE", 50, 0.1, "USD", "E-mini Russell 2000 (CME)"),
        _row("M2K", "FUTURE", 5, 0.1, "USD", "Micro E-mini Russell 2000 (CME)"),
        _row("GC", "FUTURE", 100, 0.1, "USD", "Gold (COMEX), 100 oz"),
        _row("MGC", "FUTURE", 10, 0.1, "USD", "Micro Gold (COMEX), 10 oz"),
        _row("SI", "FUTURE", 5000, 0.005, "USD", "Silver (COMEX), 5000 oz"),
        _row("CL", "FUTURE", 1000, 0.01, "USD", "Crude oil WTI (NYMEX), 1000 bbl"),
        _row("MCL", "FUTURE", 100, 0.01, "USD", "Micro WTI crude (NYMEX), 100 bbl"),
        _row("NG", "FUTURE", 10_000, 0.001, "USD", "Natural gas (NYMEX), 10000 MMBtu"),
        _row("6E", "FUTURE", 125_000, 0.00005, "USD", "Euro FX (CME)"),
    ])

# Other names brokers use for the same instrument.
ALIASES: dict[str, str] = {
    "GOLD": "XAUUSD", "SILVER": "XAGUSD", "WTI": "USOIL", "XTIUSD": "USOIL", "BRENT": "UKOIL",
    "XBRUSD": "UKOIL", "DJ30": "US30", "WS30": "US30", "DJI30": "US30", "USA30": "US30",
    "SP500": "US500", "SPX": "US500", "USA500": "US500", "US100": "NAS100", "NDX100": "NAS100",
    "USTECH": "USTEC", "DAX40": "GER40", "GER30": "GER40", "DE30": "DE40", "DAX": "GER40",
    "FTSE100": "UK100", "NIKKEI225": "JP225", "JPN225": "JP225", "XBTUSD": "BTCUSD",
    "BTCUSDT": "BTCUSD", "ETHUSDT": "ETHUSD",
}

_PREFIX = re.compile(r"^[A-Z0-9_]+:")          # TradingView exchange prefix "CME_MINI:"
_CONTINUOUS = re.compile(r"\d!$")               # TradingView continuous futures "MNQ1!"
_SEPARATORS = re.compile(r"[/\\\-_ ]")
_FUTURE = re.compile(r"^([A-Z0-9]{1,4}?)([FGHJKMNQUVXZ])(\d{1,4})$")
_SUFFIX = re.compile(r"^[A-Z0-9#!+$]{1,6}$")     # broker suffixes: PRO, M, ECN, MICRO, #, +, .M


def _table(instruments: Iterable[Instrument] | None) -> dict[str, Instrument]:
    return {i.symbol.upper(): i for i in (DEFAULT_INSTRUMENTS if instruments is None else instruments)}


def lookup(symbol: str, instruments: Iterable[Instrument] | None = None) -> Instrument | None:
    """The instrument for a symbol as a broker writes it, or None when nothing fits.

    ``instruments`` is the table to search (default :data:`DEFAULT_INSTRUMENTS`).

    >>> [lookup(s).symbol for s in ("EURUSD.m", "EURUSDpro", "EUR/USD", "MNQZ4", "CME_MINI:MNQZ2024", "GOLD", "eurgbpi")]
    ['EURUSD', 'EURUSD', 'EURUSD', 'MNQ', 'MNQ', 'XAUUSD', 'EURGBP']
    """
    table = _table(instruments)
    s = (symbol or "").strip().upper()
    if not s:
        return None
    if s in table:
        return table[s]
    s = _PREFIX.sub("", s)
    s = _CONTINUOUS.sub("", s)
    base = s.partition(".")[0]
    # The one classifier's name first (addin.risk.symbols: eurgbpi, EURUSD-ECN, #US30, EURUSD_SB).
    candidates = [symbols.name(symbol), _SEPARATORS.sub("", s).replace(".", ""), _SEPARATORS.sub("", base)]
    for c in candidates:
        if c in table:
            return table[c]
        if c in ALIASES and ALIASES[c] in table:
            return table[ALIASES[c]]
    key = candidates[-1]
    # A futures contract with its month code and year: MNQZ4, MNQZ24, ESH2025.
    m = _FUTURE.match(key)
    if m:
        for split in range(1, len(key)):
            root, rest = key[:split], key[split:]
            if root in table and table[root].asset_class == "FUTURE" and re.fullmatch(r"[FGHJKMNQUVXZ]\d{1,4}", rest):
                return table[root]
    # A broker suffix glued on: EURUSDPRO, EURUSDM, US30CASH. Longest symbol first.
    names = sorted((n for n, i in table.items() if i.asset_class != "FUTURE"), key=len, reverse=True)
    names += sorted((a for a in ALIASES if ALIASES[a] in table), key=len, reverse=True)
    for name in names:
        if len(name) >= 4 and key.startswith(name) and _SUFFIX.match(key[len(name):]):
            return table[ALIASES.get(name, name)] if name not in table else table[name]
    return None


# The Instruments sheet ----------------------------------------------------------------------------

TITLE = schema.INSTRUMENTS_SHEET
# (header, Instrument field, width, number format)
INSTRUMENT_COLUMNS = tuple((f.header, f.attr, f.width, f.number_format) for f in schema.INSTRUMENTS.columns)


def build(book) -> None:
    """The Instruments table: one row per instrument, the contract data the Trades formulas look up."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    from .layout import HEAD_FILL, HEAD_FONT, fit_width

    s = book.sheet(TITLE)
    ws = s.ws
    for j, (head, _, width, _) in enumerate(INSTRUMENT_COLUMNS):
        x = get_column_letter(j + 1)
        s.text(f"{x}1", head, font=HEAD_FONT, fill=HEAD_FILL)
        ws.column_dimensions[x].width = width
    for i, inst in enumerate(book.instruments):
        for j, (_, field, _, fmt) in enumerate(INSTRUMENT_COLUMNS):
            coord = f"{get_column_letter(j + 1)}{i + 2}"
            v = getattr(inst, field)
            if isinstance(v, str):
                s.text(coord, v)
            else:
                s.value(coord, v, fmt=fmt)
    ref = f"A1:{get_column_letter(len(INSTRUMENT_COLUMNS))}{max(len(book.instruments), 1) + 1}"
    ws.add_table(Table(displayName=schema.INSTRUMENTS_TABLE, ref=ref,
                       tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=True)))
    ws.freeze_panes = "A2"
    fit_width(ws, "portrait")
