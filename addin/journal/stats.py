"""The Stats sheet: what the closed trades say, in native formulas over the Trades table.

Layout (one function, :func:`build_stats`, writes it):

* an overview card: closed trades, net P/L, win rate, profit factor, payoff ratio, expectancy in
  money and in R, SQN, max drawdown, average and largest leverage used, the share of trades over
  the regulator's cap and the share whose stop lay beyond the stop-out price, each with a sentence
  saying what it means (:data:`EXPLAINED`, also the README's text);
* three native charts: the equity curve (cumulative net P/L per trade), P/L by month (one series
  per year) and the distribution of R multiples;
* the same statistics broken down by Setup, Tags, Symbol, Side and the weekday the trade was
  opened; a monthly P/L grid (years x months, by close time); the R-multiple histogram's bins;
* "How close the trades came" (:func:`_excursions`): the MAE R of winners and of losers per bin,
  the exit efficiency, the share whose lowest margin level came within 1.5x of StopOutLevel, the
  five closest calls, from the excursion columns a fill given price bars writes.

Cost model: no add-in call at all. Every cell is COUNTIFS/SUMIFS/SUMPRODUCT over the table's
columns (Excel 2016 and LibreOffice 7: no LET, FILTER or dynamic arrays); the largest leverage is
a classic array formula ``{=MAX(IF(...))}`` (MAXIFS is Excel 2019+). A statistic of a group is
computed over its closed trades: rows whose ``Net P/L`` is a number; the R statistics over those
with a numeric ``R multiple``.

Breakdown keys (the symbols, setups, tags seen) are values the build writes, one row each, with
the formulas of that row reading the key from column A: a trader who adds a symbol in Excel
inserts a row in the section, copies the formulas from the row above and types the new key (the
section's "(not listed above)" row counts the closed trades no key row covers, so a missing key
shows). A fill lays the sheet out again (:mod:`addin.fill.summary`) with the keys of the closed
trades and, after them, the key rows it finds in a section (typed there, or of trades since
deleted); likewise the monthly grid's years. Tags are matched as whole comma-separated words, case-insensitively (``breakout, news``
has the tags ``breakout`` and ``news``).

Python twins: :func:`compute_stats` evaluates every formula of the sheet column-wise with the
journal's statistics functions in :mod:`addin.risk.stats` (never through the Excel layer) and the
builder writes those values as the cells' cached values; ``tests/test_journal_stats.py`` holds the
two equal through LibreOffice's recalculation and against an independent computation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from ..risk import stats as rs
from ..risk.errors import RiskInputError
from . import columns as C
from .accounts import home_note
from .layout import (RED, BOX, HEAD_FILL, HEAD_FONT, LABEL_FONT, NOTE_FONT, SECTION_FONT, TITLE_FONT, VALUE_FONT, Sheet,
                     excel_serial)

SHEET = TITLE = C.schema.STATS_SHEET


def build(book) -> StatsResult:
    """The Stats sheet of the journal ``book`` (:class:`layout.Book`): over the Trades columns, the
    open and close times as date serials."""
    times = {k: [excel_serial(v) if hasattr(v, "year") else v if _num(v) else None for v in book.cols[k]]
             for k in ("Open time", "Close time")}
    return build_stats(book.wb, book.cols, times, book.cache, keys=book.inputs.get("keys"),
                       years=book.inputs.get("years"), stop_out_level=book.settings.stop_out_level,
                       mixed=home_note(book.cols, book.settings.account_currency, book.inputs.get("home")))
T = C.TABLE
# Money in the home currency (Net P/L home: the trade's Net P/L at its account's rate to home), so
# accounts in several currencies are never added 1:1; a trade without a rate is no closed trade here.
NET = "Net P/L home"
P, R, EL = f"{T}[{NET}]", f"{T}[R multiple]", f"{T}[Effective leverage]"
OC, SB = f"{T}[Over cap]", f"{T}[Stop beyond stop-out]"

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
R_EDGES = tuple(x / 2 for x in range(-6, 11))  # -3R .. +5R in half-R steps, open-ended at both ends
R_EPS = "1E-9"  # a bin's edges move down by this much: 1.9999999999998R (2R after float rounding) counts as 2R

# Messages a statistic shows instead of a number (the same in the formula and in its twin).
NO_LOSS = "no losing trades"
NO_WIN = "no winning trades"
NO_DECIDED = "no wins or losses"
NO_R = "no R multiples"
FEW_R = "needs 2 or more R multiples"
SAME_R = "R multiples all equal"
NOT_LISTED = "(not listed above)"

# (key, heading, number format): the breakdown table's columns after the key column A.
STAT_COLUMNS = (
    ("n", "Trades", "0"), ("wins", "Wins", "0"), ("losses", "Losses", "0"), ("net", "Net P/L", C.MONEY),
    ("win_rate", "Win rate", "0.0%"), ("pf", "Profit factor", "0.00"), ("payoff", "Payoff ratio", "0.00"),
    ("exp", "Expectancy", C.MONEY), ("exp_r", "Expectancy (R)", "0.00"), ("sqn", "SQN", "0.00"),
    ("lev_avg", "Avg leverage", C.LEV), ("lev_max", "Max leverage", C.LEV),
    ("over_cap", "Over cap", "0.0%"), ("beyond", "Stop beyond stop-out", "0.0%"),
)
# Hidden helper columns after the table (P onwards): each sum or count a row's statistics need is
# computed once there and read by the visible cells (an R count appears in four statistics).
HELPER_COLUMNS = (
    ("gw", "Gross win", C.MONEY), ("gl", "Gross loss", C.MONEY), ("nr", "R count", "0"), ("sr", "Sum R", "0.00"),
    ("sr2", "Sum R squared", "0.00"), ("nl", "Leverage count", "0"), ("sl", "Sum leverage", "0.00"),
    ("oc_k", "Cap known", "0"), ("oc_t", "Over cap", "0"), ("sb_k", "Stop-out known", "0"),
    ("sb_t", "Stop beyond", "0"), ("oc_u", "Cap unknown", "0"),
)
COL = {k: get_column_letter(j + 2) for j, (k, _, _) in enumerate(STAT_COLUMNS + HELPER_COLUMNS)}
FORMATS = {k: fmt for k, _, fmt in STAT_COLUMNS + HELPER_COLUMNS}

# The overview card: (label, stat key or "dd", format, what it tells a trader).
EXPLAINED: tuple[tuple[str, str, str, str], ...] = (
    ("Closed trades", "n", "0", "trades with a result (a net P/L in the home currency); every figure below counts these"),
    ("Net P/L", "net", C.MONEY, "what the closed trades made, after commission, swap and taxes"),
    ("Win rate", "win_rate", "0.0%", "winning trades out of those that won or lost (a trade at exactly 0 is neither)"),
    ("Profit factor", "pf", "0.00", "money won for every 1 lost; above 1 the trading makes money"),
    ("Payoff ratio", "payoff", "0.00", "the average win divided by the average loss"),
    ("Expectancy per trade", "exp", C.MONEY, "what one trade made on average, in money"),
    ("Expectancy in R", "exp_r", "0.00",
     "what one trade made on average in units of its initial risk (entry to stop): 0.3 = 30% of the risk"),
    ("SQN", "sqn", "0.00", "Van Tharp's system quality: sqrt(trades, at most 100) x average R / spread of the Rs; "
                            "below 1.6 hard to trade, above 3 excellent"),
    ("Max drawdown", "dd", "0.00%", "the deepest fall of the balance from its previous high, trading results only"),
    ("Average leverage used", "lev_avg", C.LEV, "position value / equity when the trade was opened, on average"),
    ("Largest leverage used", "lev_max", C.LEV, "the highest position value / equity of any closed trade"),
    ("Over the regulator's cap", "over_cap", "0.0%",
     "share of the trades with a known leverage whose leverage (or position value / equity) was above the "
     "retail cap of the Regulator setting"),
    ("Over cap unknown", "oc_u", "0",
     "trades whose leverage nobody stated (AccountLeverage still the template's default): not in the share above"),
    ("Stop beyond the stop-out", "beyond", "0.0%",
     "share of trades whose stop lay past the stop-out price: the broker would close them before the stop"),
)


# Masks: a breakdown row selects its trades with one of these (a SUMPRODUCT factor per row).

def _eq_mask(column: str) -> Callable[[str], str]:
    return lambda key_ref: f"({T}[{column}]={key_ref})"


def _tag_mask(key_ref: str) -> str:
    return (f'ISNUMBER(SEARCH(","&SUBSTITUTE({key_ref}," ","")&",",'
            f'","&SUBSTITUTE({T}[Tags]," ","")&","))')


def _weekday_mask(day: int) -> str:
    """The weekday rows' SUMPRODUCT factor. An Open time typed as text the spreadsheet could not
    read as a date ("31/02/2025 10:00", "yesterday") selects no weekday: WEEKDAY reads 0 in its
    place, so that row is skipped instead of turning the whole block into #VALUE!. IF over a range
    computes element by element only in an array formula in Excel 2019 and earlier, so the weekday
    rows' cells are classic array formulas (:func:`stat_formulas`)."""
    o = f"{T}[Open time]"
    return f"ISNUMBER({o})*(WEEKDAY(IF(ISNUMBER({o}),{o},0),2)={day})"


NUM = '">="&-9.99E+307'  # a criterion only numbers meet (built from a number, so it reads the same in every locale)


def stat_formulas(mask: str, row: int, crit: str | None = None) -> dict[str, object]:
    """The formulas of one statistics row (columns B..O) for the trades selected by ``mask`` (a
    SUMPRODUCT factor; "" = all closed trades); ``row`` is the sheet row (the win rate and others
    read its Trades/Wins/Losses cells). Where the selection is also ``crit`` (",range,criterion"
    pairs for COUNTIFS/SUMIFS; "" for all trades) the counts and sums use those functions, faster
    in every engine than array arithmetic; SUMPRODUCT remains for the sum of squared R (SQN), for
    tags and weekdays, and the largest leverage is a classic array formula (``("array", text)``)."""
    # Every SUMPRODUCT argument is a product or a range: Excel counts a bare TRUE/FALSE array as 0s
    # (LibreOffice does not), so the all-trades mask is 1*ISNUMBER(...).
    m = f"{mask}*ISNUMBER({P})" if mask else f"1*ISNUMBER({P})"
    mr = f"{m}*ISNUMBER({R})"
    ml = f"{m}*ISNUMBER({EL})"
    n, w, lo = (f"${COL[k]}{row}" for k in ("n", "wins", "losses"))
    if crit is None:
        count, wins, losses = f"SUMPRODUCT({m})", f"SUMPRODUCT({m}*({P}>0))", f"SUMPRODUCT({m}*({P}<0))"
        net = f"SUMPRODUCT({m},{P})"
        gross_win, gross_loss = f"SUMPRODUCT({m}*({P}>0),{P})", f"-SUMPRODUCT({m}*({P}<0),{P})"
        nr, sr = f"SUMPRODUCT({mr})", f"SUMPRODUCT({mr},{R})"
        nl, sl = f"SUMPRODUCT({ml})", f"SUMPRODUCT({ml},{EL})"
        # TRUE/FALSE where known, "" where not: NOT(ISTEXT()) counts the known (LibreOffice stores
        # TRUE as 1, so ISLOGICAL would not see it in an array).
        known = {c: f"SUMPRODUCT({m}*NOT(ISTEXT({c})))" for c in (OC, SB)}
        true = {c: f"SUMPRODUCT({m}*({c}=TRUE))" for c in (OC, SB)}
        unknown = f'SUMPRODUCT({m}*({OC}="{C.UNKNOWN}"))'
    else:
        count, wins, losses = f"COUNTIFS({P},{NUM}{crit})", f'COUNTIFS({P},">"&0{crit})', f'COUNTIFS({P},"<"&0{crit})'
        net = f"SUMIFS({P},{P},{NUM}{crit})"
        gross_win, gross_loss = f'SUMIFS({P},{P},">"&0{crit})', f'-SUMIFS({P},{P},"<"&0{crit})'
        nr, sr = f"COUNTIFS({P},{NUM},{R},{NUM}{crit})", f"SUMIFS({R},{P},{NUM},{R},{NUM}{crit})"
        nl, sl = f"COUNTIFS({P},{NUM},{EL},{NUM}{crit})", f"SUMIFS({EL},{P},{NUM},{EL},{NUM}{crit})"
        true = {c: f"COUNTIFS({c},TRUE,{P},{NUM}{crit})" for c in (OC, SB)}
        known = {c: f"{true[c]}+COUNTIFS({c},FALSE,{P},{NUM}{crit})" for c in (OC, SB)}
        unknown = f'COUNTIFS({OC},"{C.UNKNOWN}",{P},{NUM}{crit})'
    h = {k: f"${COL[k]}{row}" for k, *_ in HELPER_COLUMNS}
    var = f"({h['sr2']}-{h['sr']}*{h['sr']}/{h['nr']})"
    out = {
        "n": count,
        "wins": wins,
        "losses": losses,
        "net": net,
        "win_rate": f'IF({n}=0,"",IF({w}+{lo}=0,"{NO_DECIDED}",{w}/({w}+{lo})))',
        "pf": f'IF({n}=0,"",IF({lo}=0,"{NO_LOSS}",{h["gw"]}/{h["gl"]}))',
        "payoff": f'IF({n}=0,"",IF({lo}=0,"{NO_LOSS}",IF({w}=0,"{NO_WIN}",({h["gw"]}/{w})/({h["gl"]}/{lo}))))',
        "exp": f'IF({n}=0,"",${COL["net"]}{row}/{n})',
        "exp_r": f'IF({n}=0,"",IF({h["nr"]}=0,"{NO_R}",{h["sr"]}/{h["nr"]}))',
        "sqn": f'IF({n}=0,"",IF({h["nr"]}<2,"{FEW_R}",IF({var}<=1E-12*{h["sr2"]},"{SAME_R}",'
               f'SQRT(MIN({h["nr"]},100))*({h["sr"]}/{h["nr"]})/SQRT({var}/({h["nr"]}-1)))))',
        "lev_avg": f'IF({h["nl"]}=0,"",{h["sl"]}/{h["nl"]})',
        "lev_max": ("array", f'IF({h["nl"]}=0,"",MAX(IF({ml},{EL})))'),
        "over_cap": f'IF({h["oc_k"]}=0,"",{h["oc_t"]}/{h["oc_k"]})',
        "beyond": f'IF({h["sb_k"]}=0,"",{h["sb_t"]}/{h["sb_k"]})',
        "gw": gross_win, "gl": gross_loss,
        "nr": nr, "sr": sr, "sr2": f"SUMPRODUCT({mr},{R},{R})", "nl": nl, "sl": sl,
        "oc_k": known[OC], "oc_t": true[OC], "sb_k": known[SB], "sb_t": true[SB], "oc_u": unknown,
    }
    if "IF(" in mask:  # a mask with IF over a range (the weekdays): array formulas, see _weekday_mask
        out = {k: ("array", f) if isinstance(f, str) and mask in f else f for k, f in out.items()}
    return out


# Python twins -------------------------------------------------------------------------------------

def _num(v: object) -> bool:
    return type(v) in (float, int)


def group_stats(rows: Sequence[int], cols: dict[str, list]) -> dict[str, object]:
    """The row of statistics the formulas compute for the trades at ``rows`` (0-based Trades rows),
    through :mod:`addin.risk.stats`."""
    net_col = cols[NET]
    closed = [i for i in rows if _num(net_col[i])]
    pnl = [net_col[i] for i in closed]
    rm = [cols["R multiple"][i] for i in closed if _num(cols["R multiple"][i])]
    lev = [cols["Effective leverage"][i] for i in closed if _num(cols["Effective leverage"][i])]
    n = len(pnl)
    wins = sum(1 for v in pnl if v > 0)
    losses = sum(1 for v in pnl if v < 0)
    out: dict[str, object] = {"n": float(n), "wins": float(wins), "losses": float(losses), "net": float(sum(pnl))}
    blank = n == 0
    out["win_rate"] = "" if blank else NO_DECIDED if wins + losses == 0 else rs.win_rate(pnl)
    out["pf"] = "" if blank else NO_LOSS if not losses else rs.profit_factor(pnl)
    out["payoff"] = "" if blank else NO_LOSS if not losses else NO_WIN if not wins else rs.payoff_ratio(pnl)
    out["exp"] = "" if blank else rs.expectancy(pnl)
    out["exp_r"] = "" if blank else NO_R if not rm else rs.expectancy(rm)
    if blank:
        out["sqn"] = ""
    elif len(rm) < 2:
        out["sqn"] = FEW_R
    else:
        s, s2 = sum(rm), sum(v * v for v in rm)
        try:
            out["sqn"] = SAME_R if s2 - s * s / len(rm) <= 1e-12 * s2 else rs.sqn(rm)
        except RiskInputError:
            out["sqn"] = SAME_R
    out["lev_avg"] = rs.expectancy(lev) if lev else ""
    out["lev_max"] = max(lev) if lev else ""
    for key, col, h in (("over_cap", "Over cap", "oc"), ("beyond", "Stop beyond stop-out", "sb")):
        flags = [cols[col][i] for i in closed if isinstance(cols[col][i], bool)]
        out[key] = sum(flags) / len(flags) if flags else ""
        out[f"{h}_k"], out[f"{h}_t"] = float(len(flags)), float(sum(flags))
    out["oc_u"] = float(sum(1 for i in closed if cols["Over cap"][i] == C.UNKNOWN))
    # the hidden helper cells: the sums and counts, in row order as the engine adds them
    out["gw"] = float(sum(v for v in pnl if v > 0))
    out["gl"] = float(-sum(v for v in pnl if v < 0))
    out["nr"], out["sr"], out["sr2"] = float(len(rm)), float(sum(rm)), float(sum(v * v for v in rm))
    out["nl"], out["sl"] = float(len(lev)), float(sum(lev))
    return out


def _key(v: object) -> str | None:
    """A breakdown key as the sheet compares it (Excel's "=" ignores case)."""
    if v is None or v == "":
        return None
    return str(v)


def distinct_keys(values: Sequence[object], closed: Sequence[bool]) -> list[str]:
    """The distinct keys of closed trades, case-insensitively, the most frequent first (then by name)."""
    count: dict[str, int] = {}
    shown: dict[str, str] = {}
    for v, c in zip(values, closed):
        k = _key(v)
        if k is None or not c:
            continue
        u = k.upper()
        shown.setdefault(u, k)
        count[u] = count.get(u, 0) + 1
    return [shown[u] for u in sorted(count, key=lambda u: (-count[u], u))]


def tag_list(cell: object) -> list[str]:
    """The tags of a Tags cell: comma-separated words, spaces ignored (as the formula compares them)."""
    if not isinstance(cell, str):
        return [] if cell is None or cell == "" else [str(cell)]
    return [t for t in (p.replace(" ", "") for p in cell.split(",")) if t]


def has_tag(cell: object, tag: str) -> bool:
    """SEARCH(","&tag&",", ","&cell&",") with spaces removed: a whole tag, any case."""
    if cell is None or cell == "":
        return False
    text = "," + str(cell).replace(" ", "") + ","
    return ("," + tag.replace(" ", "") + ",").upper() in text.upper()


def weekday(serial: float) -> int:
    """WEEKDAY(serial, 2): Monday 1 .. Sunday 7 (date serials after 1900-02-28)."""
    return (math.floor(serial) - 2) % 7 + 1


def month_start(year: int, month: int) -> float:
    """DATE(year, month, 1) as a serial (month 13 rolls into the next year, as DATE does)."""
    from datetime import date
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return float((date(year, month, 1) - C.schema.EPOCH).days)


@dataclass
class Section:
    title: str
    keys: list[str]
    mask: Callable[[str], str]          # key cell reference -> SUMPRODUCT factor
    groups: dict[str, list[int]]         # key -> the Trades rows (0-based) its mask selects: the twin
    not_listed: bool = True              # a "(not listed above)" row (single-valued keys only)
    criteria: Callable[[str], str] | None = None  # key cell -> ",range,criterion" for COUNTIFS/SUMIFS
    literal_keys: dict[str, str] = field(default_factory=dict)  # key -> mask, for fixed keys (weekday)


@dataclass
class StatsResult:
    """What the build (and the tests) need back: the cached values by cell and the sheet's layout."""
    values: dict[str, object]
    rows: dict[str, int]         # "All" and "<section>:<key>" -> sheet row of that statistics row
    card: dict[str, str]         # card label -> cell
    month_rows: dict[int, int]   # year -> grid row
    hist_rows: list[int]
    excursion: "ExcursionLayout | None" = None


def _groups(keys: Sequence[str], row_keys: Sequence[Sequence[str]]) -> dict[str, list[int]]:
    """key -> rows whose keys (compared case-insensitively) include it, in row order: one pass."""
    at = {k.upper(): k for k in keys}
    out: dict[str, list[int]] = {k: [] for k in keys}
    for i, ks in enumerate(row_keys):
        for k in dict.fromkeys(x.upper() for x in ks):
            if k in at:
                out[at[k]].append(i)
    return out


def with_typed(keys: list[str], typed: Sequence[str] | None) -> list[str]:
    """The section's keys seen in the trades, then the key rows found on the sheet that are not
    among them (typed by the trader, or of trades since deleted), in their order; case-insensitive."""
    seen = {k.upper() for k in keys}
    out = list(keys)
    for k in typed or ():
        if k and k.upper() not in seen:
            seen.add(k.upper())
            out.append(k)
    return out


def sections(cols: dict[str, list], times: dict[str, list], typed: dict[str, list[str]] | None = None) -> list[Section]:
    """The breakdown sections; ``typed`` {section title: key rows found on the sheet} adds the keys
    the trades do not hold (:func:`with_typed`)."""
    n = len(cols[NET])
    closed = [_num(v) for v in cols[NET]]
    typed = typed or {}

    def single(column: str, mask: Callable[[str], str], title: str) -> Section:
        values = cols.get(column, [None] * n)
        keys = with_typed(distinct_keys(values, closed), typed.get(title))
        return Section(title, keys, mask, _groups(keys, [[k] if (k := _key(v)) is not None else [] for v in values]),
                       criteria=lambda ref: f',{T}[{column}],"="&{ref}')

    # Accounts compared as text on both sides (an account number is text in one cell, a number in
    # another): a SUMPRODUCT mask, no COUNTIFS criterion ("=2100104808" finds no text in LibreOffice).
    acct_values = [C.text_of(v) or None for v in cols.get("Account", [None] * n)]
    acct_keys = with_typed(distinct_keys(acct_values, closed), typed.get("By account"))
    by_account = Section("By account", acct_keys, lambda ref: f'({T}[Account]&""={ref}&"")',
                         _groups(acct_keys, [[k] if (k := _key(v)) is not None else [] for v in acct_values]))
    tags_col = cols.get("Tags", [None] * n)
    row_tags = [tag_list(cell) for cell in tags_col]
    tag_keys = distinct_keys([t for ts in row_tags for t in ts], [c for ts, c in zip(row_tags, closed) for _ in ts])
    tag_keys = with_typed(tag_keys, typed.get("By tag"))
    opens = times["Open time"]
    days = [[WEEKDAYS[weekday(t) - 1]] if _num(t) else [] for t in opens]
    return [
        single("Symbol", _eq_mask("Symbol"), "By symbol"),
        single("Side", _eq_mask("Side"), "By side"),
        by_account,
        Section("By weekday opened", list(WEEKDAYS), lambda ref: "", _groups(WEEKDAYS, days), not_listed=False,
                literal_keys={d: _weekday_mask(j + 1) for j, d in enumerate(WEEKDAYS)}),
        single("Setup", _eq_mask("Setup"), "By setup"),
        Section("By tag", tag_keys, _tag_mask, _groups(tag_keys, row_tags), not_listed=False),
    ]


# The sheet ----------------------------------------------------------------------------------------

CARD_TOP = 4
CHART_TOP = CARD_TOP + len(EXPLAINED) + 2
CHART_ROWS = 18
_EMU_PX = 9525
KEY_WIDTH = 26
STAT_WIDTH = 11.5


def _span(col0: int, row0: int, col1: int, row1: int) -> TwoCellAnchor:
    return TwoCellAnchor(_from=AnchorMarker(col=col0, colOff=0, row=row0, rowOff=0),
                         to=AnchorMarker(col=col1, colOff=0, row=row1, rowOff=0))


def build_stats(wb, cols: dict[str, list], times: dict[str, list], cache: dict,
                keys: dict[str, list[str]] | None = None, years: Sequence[int] | None = None,
                stop_out_level: float = 0.5, mixed: str | None = None) -> StatsResult:
    """Write the Stats sheet into ``wb`` (after the Trades sheet exists). ``cols`` are the Trades
    columns as :func:`columns.compute` leaves them (plus "Setup" and "Tags"), ``times`` the open and
    close times as date serials; ``cache`` the build's {sheet title: {cell: cached value}}.
    ``keys`` {section title: key rows} and ``years`` (monthly grid rows) found on the sheet are
    kept beside those of the trades (a fill passes what the trader typed there). ``stop_out_level``
    is the StopOutLevel setting (the closeness share's cached value; its formula reads the name);
    ``mixed`` the words for a journal of several account currencies (:func:`accounts.home_note`),
    said under the title instead of the usual note."""
    s = Sheet(wb[SHEET], cache)
    ws = s.ws
    n = len(cols[NET])
    values: dict[str, object] = {}
    rows: dict[str, int] = {}
    right = Alignment(horizontal="right")

    def put(coord: str, f, v, fmt: str | None, **style):
        if isinstance(f, tuple):  # ("array", formula): a classic array formula
            ws[coord] = ArrayFormula(coord, "=" + f[1])
            s.cache[coord] = v
            cell = ws[coord]
            if fmt:
                cell.number_format = fmt
            for k, val in style.items():
                setattr(cell, {"font": "font", "border": "border", "align": "alignment"}[k], val)
        else:
            s.formula(coord, f, v, fmt=fmt, **style)
        values[coord] = v

    s.text("A1", "Statistics of the closed trades", font=TITLE_FONT)
    if mixed:
        s.text("A2", mixed, font=RED[1])
    else:
        s.text("A2", "Every figure is a native formula over the Trades table: edit a trade and it updates. "
                     "Setup and Tags come from the Trades columns of those names.", font=NOTE_FONT)

    # The statistics table: header, the all-trades row, then one section per breakdown.
    top = CHART_TOP + CHART_ROWS + 1
    s.text(f"A{top}", "Breakdown", font=SECTION_FONT)
    head = top + 1
    s.text(f"A{head}", "Trades", font=HEAD_FONT, fill=HEAD_FILL)
    for k, label, _ in STAT_COLUMNS + HELPER_COLUMNS:
        s.text(f"{COL[k]}{head}", label, font=HEAD_FONT, fill=HEAD_FILL,
               align=Alignment(wrap_text=True, horizontal="center", vertical="center"))
    ws.row_dimensions[head].height = 30

    def stat_row(r: int, label: str, mask: str, twin_rows: Sequence[int], bold: bool = False,
                 crit: str | None = None):
        s.text(f"A{r}", label, font=VALUE_FONT if bold else LABEL_FONT, border=BOX)
        got = group_stats(twin_rows, cols)
        for k, f in stat_formulas(mask, r, crit).items():
            put(f"{COL[k]}{r}", f, got[k], FORMATS[k],
                border=BOX, align=right)

    every = list(range(n))
    r = head + 1
    stat_row(r, "All closed trades", "", every, bold=True, crit="")
    rows["All"] = r
    for sec in sections(cols, times, keys):
        r += 2
        s.text(f"A{r}", sec.title, font=SECTION_FONT)
        first = r + 1
        for key in sec.keys:
            r += 1
            if sec.literal_keys:
                mask = sec.literal_keys[key]
            else:
                mask = sec.mask(f"$A{r}")
            stat_row(r, key, mask, sec.groups[key], crit=sec.criteria(f"$A{r}") if sec.criteria else None)
            rows[f"{sec.title}:{key}"] = r
        if not sec.keys:
            r += 1
            s.text(f"A{r}", "(none yet: fill the Trades column)", font=NOTE_FONT)
        if sec.not_listed:
            r += 1
            last = r - 1
            s.text(f"A{r}", NOT_LISTED, font=NOTE_FONT, border=BOX)
            all_n = f"${COL['n']}${rows['All']}"
            listed = float(sum(1 for k in sec.keys for i in sec.groups[k] if _num(cols[NET][i])))
            put(f"{COL['n']}{r}", f"{all_n}-SUM({COL['n']}{first}:{COL['n']}{last})" if sec.keys else all_n,
                values[all_n.replace("$", "")] - listed, "0", border=BOX, align=right)
            rows[f"{sec.title}:{NOT_LISTED}"] = r
    breakdown_end = r

    # The overview card reads the all-trades row.
    s.text(f"A{CARD_TOP - 1}", "Overview", font=SECTION_FONT)
    card: dict[str, str] = {}
    all_row = rows["All"]
    drawdown = [v for v in cols["Drawdown"] if _num(v)]
    for j, (label, key, fmt, note) in enumerate(EXPLAINED):
        cr = CARD_TOP + j
        s.text(f"A{cr}", label, font=LABEL_FONT, border=BOX)
        if key == "dd":
            f, v = f"MAX({T}[Drawdown])", (max(drawdown) if drawdown else 0.0)
        else:
            ref = f"{COL[key]}{all_row}"
            f, v = f'IF({ref}="","",{ref})', values[ref]
        put(f"B{cr}", f, v, fmt, font=VALUE_FONT, border=BOX, align=right)
        s.text(f"C{cr}", note, font=NOTE_FONT)
        card[label] = f"B{cr}"

    # Monthly P/L: years x months, by close time.
    r = breakdown_end + 2
    s.text(f"A{r}", "Net P/L by month closed", font=SECTION_FONT)
    grid_head = r + 1
    s.text(f"A{grid_head}", "Year", font=HEAD_FONT, fill=HEAD_FILL)
    for mth, name in enumerate(MONTHS):
        s.text(f"{get_column_letter(mth + 2)}{grid_head}", name, font=HEAD_FONT, fill=HEAD_FILL, align=right)
    s.text(f"N{grid_head}", "Year", font=HEAD_FONT, fill=HEAD_FILL, align=right)
    closes = times["Close time"]
    net = cols[NET]
    years = sorted({_year(t) for t, v in zip(closes, net) if _num(t) and _num(v)} | set(years or ()))
    buckets: dict[tuple[int, int], list[float]] = {}
    for t, v in zip(closes, net):
        if _num(t) and _num(v):
            d = _date(t)
            buckets.setdefault((d.year, d.month), []).append(v)
    month_rows: dict[int, int] = {}
    for y in years or []:
        r = grid_head + 1 + len(month_rows)
        s.value(f"A{r}", y, fmt="0", font=VALUE_FONT)
        month_rows[y] = r
        for mth in range(1, 13):
            v = float(sum(buckets.get((y, mth), [])))  # [DATE(y,m,1), DATE(y,m+1,1)): the month of the day
            put(f"{get_column_letter(mth + 1)}{r}",
                f'SUMIFS({P},{T}[Close time],">="&DATE($A{r},{mth},1),{T}[Close time],"<"&DATE($A{r},{mth + 1},1))',
                v, C.MONEY, align=right)
        put(f"N{r}", f"SUM(B{r}:M{r})", sum(values[f"{get_column_letter(m + 1)}{r}"] for m in range(1, 13)),
            C.MONEY, font=VALUE_FONT, align=right)
    grid_end = grid_head + max(len(month_rows), 1)
    if not month_rows:
        s.text(f"A{grid_end}", "(no closed trades yet)", font=NOTE_FONT)
    s.text(f"A{grid_end + 1}", "A new year: copy the last row down and type the year in column A.", font=NOTE_FONT)

    # R-multiple histogram bins.
    r = grid_end + 3
    s.text(f"A{r}", "R multiples, closed trades", font=SECTION_FONT)
    s.text(f"A{r + 1}", "Bin", font=HEAD_FONT, fill=HEAD_FILL)
    s.text(f"B{r + 1}", "From", font=HEAD_FONT, fill=HEAD_FILL, align=right)
    s.text(f"C{r + 1}", "Below", font=HEAD_FONT, fill=HEAD_FILL, align=right)
    s.text(f"D{r + 1}", "Trades", font=HEAD_FONT, fill=HEAD_FILL, align=right)
    rvals = [v for v, p in zip(cols["R multiple"], net) if _num(v) and _num(p)]
    edges = [None, *R_EDGES, None]
    hist_rows = []
    for b in range(len(edges) - 1):
        lo, hi = edges[b], edges[b + 1]
        hr = r + 2 + b
        label = f"below {hi:g}R" if lo is None else f"{lo:g}R or more" if hi is None else f"{lo:g} to {hi:g}R"
        s.text(f"A{hr}", label, font=LABEL_FONT)
        crit = [P, NUM]  # closed trades only: a numeric Net P/L (text never meets it)
        if lo is not None:
            s.value(f"B{hr}", lo, fmt="0.0")
            crit += [R, f'">="&(B{hr}-{R_EPS})']
        if hi is not None:
            s.value(f"C{hr}", hi, fmt="0.0")
            crit += [R, f'"<"&(C{hr}-{R_EPS})']
        count = float(sum(1 for v in rvals if (lo is None or v >= lo - 1e-9) and (hi is None or v < hi - 1e-9)))
        if lo is None and hi is None:  # pragma: no cover - the edges are never both open
            continue
        f = f"COUNTIFS({','.join(crit)})"  # numeric criteria on R skip its text cells
        put(f"D{hr}", f, count, "0", align=right)
        hist_rows.append(hr)
    hist_end = hist_rows[-1]
    excursion = _excursions(s, put, cols, hist_end + 2, stop_out_level)
    hist_end = excursion.end

    _charts(wb, ws, n, grid_head, month_rows, hist_rows)

    ws.column_dimensions["A"].width = KEY_WIDTH
    for j in range(len(STAT_COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(j + 2)].width = STAT_WIDTH
    for k, *_ in HELPER_COLUMNS:
        ws.column_dimensions[COL[k]].hidden = True
    ws.column_dimensions["B"].width = 13
    ws.sheet_view.showGridLines = False
    ws.freeze_panes = "B1"
    ws.print_area = f"A1:{get_column_letter(len(STAT_COLUMNS) + 1)}{hist_end}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    return StatsResult(values=values, rows=rows, card=card, month_rows=month_rows, hist_rows=hist_rows,
                       excursion=excursion)


# How close the trades came: MAE R per bin, exit efficiency, margin level near the stop-out -------

MAER, MFE_, LML = f"{T}[MAE R]", f"{T}[MFE]", f"{T}[Lowest margin level]"
EX_, EN_, DIR_ = f"{T}[Exit]", f"{T}[Entry]", f"{T}[Direction]"
MAE_R_EDGES = (0.0, 0.25, 0.5, 0.75, 1.0)  # the last bin is open-ended: 1R or more went past the stop
NEAR_FACTOR = 1.5  # "came within 1.5x of the stop-out": a lowest margin level <= 1.5 x StopOutLevel
CLOSEST = 5        # closest calls listed
NO_MFE = "no closed trade with an MFE above 0"
NO_LEVEL = "no closed trade with a margin level"
EXCURSION_TITLE = "How close the trades came"

# (label, key, format, what it tells a trader): the figures under the MAE R table (README's text too).
EXCURSION_EXPLAINED: tuple[tuple[str, str, str, str], ...] = (
    ("Trades with an MFE", "n_mfe", "0", "closed trades whose MFE is a number above 0: the exit efficiency's trades"),
    ("Exit efficiency", "eff", "0.0%",
     "realised move (Exit - Entry) x direction / MFE, on average: 100% = every exit at the best price seen"),
    ("Trades with a margin level", "n_lml", "0", "closed trades whose Lowest margin level is a number"),
    ("Came within 1.5x of the stop-out", "near", "0.0%",
     "share of those whose lowest margin level fell to 1.5 x StopOutLevel or below: close to a forced close"),
)


@dataclass
class ExcursionLayout:
    """Where the section's cells are: the MAE R table's rows, the figures' cells, the closest calls' rows."""
    bins: list[int]                  # rows of the MAE R table (D winners, E losers)
    figures: dict[str, str]          # EXCURSION_EXPLAINED key -> cell
    closest: list[int]               # rows of the closest calls (A id, B symbol, C level, D Trades row)
    end: int


def excursion_figures(cols: dict[str, list], stop_out_level: float) -> dict[str, object]:
    """The twin of the section: {"bins": [(winners, losers)], "n_mfe", "eff", "n_lml", "near",
    "closest": [(trade id, symbol, level, Trades row 1-based)]}, over the closed trades (a numeric
    Net P/L); a cell holding words instead of a number is skipped, as COUNTIFS/ISNUMBER skip it."""
    net = cols[NET]
    n = len(net)
    closed = [i for i in range(n) if _num(net[i])]
    mae_r = cols.get("MAE R", [None] * n)
    edges = [*MAE_R_EDGES, None]
    bins = []
    for lo, hi in zip(edges, edges[1:]):
        def inside(v) -> bool:
            return _num(v) and v >= lo - 1e-9 and (hi is None or v < hi - 1e-9)
        bins.append((float(sum(1 for i in closed if net[i] > 0 and inside(mae_r[i]))),
                     float(sum(1 for i in closed if net[i] < 0 and inside(mae_r[i])))))
    mfe = cols.get("MFE", [None] * n)
    moves = [(cols["Exit"][i] - cols["Entry"][i]) * cols["Direction"][i] / mfe[i] for i in closed
             if _num(mfe[i]) and mfe[i] > 0 and all(_num(cols[c][i]) for c in ("Exit", "Entry", "Direction"))]
    lml = cols.get("Lowest margin level", [None] * n)
    measured = [i for i in closed if _num(lml[i])]
    near = sum(1 for i in measured if lml[i] <= NEAR_FACTOR * stop_out_level)
    ranked = sorted(measured, key=lambda i: (lml[i], i))[:CLOSEST]

    def shown(col: str, i: int) -> object:
        v = cols.get(col, [None] * n)[i]
        return "" if v is None or v == "" else v

    return {
        "bins": bins,
        "n_mfe": float(len(moves)), "eff": sum(moves) / len(moves) if moves else NO_MFE,
        "n_lml": float(len(measured)), "near": near / len(measured) if measured else NO_LEVEL,
        "closest": [(shown("Trade ID", i), shown("Symbol", i), lml[i], float(i + 1)) for i in ranked],
    }


def _excursions(s: Sheet, put, cols: dict[str, list], top: int, stop_out_level: float) -> ExcursionLayout:
    """Write the section from row ``top``: the MAE R table of winners and losers, the exit
    efficiency and the margin-level share, the closest calls. Native formulas only: COUNTIFS with
    criteria built from cells (``">="&B5``, never a number inside a string, which Excel and
    LibreOffice read in the user's locale), SUMPRODUCT, and classic array formulas
    ``{=SUM(IF(...))}`` and ``{=SMALL(IF(...),k)}`` (Excel 2016, LibreOffice 7: no AGGREGATE,
    FILTER or dynamic arrays)."""
    got = excursion_figures(cols, stop_out_level)
    right = Alignment(horizontal="right")
    s.text(f"A{top}", EXCURSION_TITLE, font=SECTION_FONT)
    s.text(f"A{top + 1}", "From the MAE, MFE and Lowest margin level columns (a fill given price bars writes them), "
                          "closed trades only; a cell holding words instead of a number is skipped.", font=NOTE_FONT)
    head = top + 2
    for col, label in zip("ABCDE", ("MAE R, closed trades", "From", "Below", "Winners", "Losers")):
        s.text(f"{col}{head}", label, font=HEAD_FONT, fill=HEAD_FILL, align=None if col == "A" else right)
    edges = [*MAE_R_EDGES, None]
    bins = []
    for b, (lo, hi) in enumerate(zip(edges, edges[1:])):
        r = head + 1 + b
        s.text(f"A{r}", f"{lo:g}R or more" if hi is None else f"{lo:g} to {hi:g}R", font=LABEL_FONT)
        s.value(f"B{r}", lo, fmt="0.00")
        crit = f'{MAER},">="&(B{r}-{R_EPS})'
        if hi is not None:
            s.value(f"C{r}", hi, fmt="0.00")
            crit += f',{MAER},"<"&(C{r}-{R_EPS})'
        put(f"D{r}", f'COUNTIFS({P},">"&0,{crit})', got["bins"][b][0], "0", align=right)
        put(f"E{r}", f'COUNTIFS({P},"<"&0,{crit})', got["bins"][b][1], "0", align=right)
        bins.append(r)
    r = bins[-1] + 1
    s.text(f"A{r}", "How far each trade went against it before it closed, in R (1R = the stop's distance): "
                    "winners that seldom pass 0.5R say the stop could sit closer, for less risk per trade.",
           font=NOTE_FONT)

    r += 2
    figures: dict[str, str] = {}
    mask = f"ISNUMBER({P})*ISNUMBER({EX_})*ISNUMBER({EN_})*ISNUMBER({DIR_})*ISNUMBER({MFE_})"
    for j, (label, key, fmt, note) in enumerate(EXCURSION_EXPLAINED):
        cr = r + j
        figures[key] = f"B{cr}"
    n_mfe, n_lml = figures["n_mfe"], figures["n_lml"]
    formulas = {
        # (MFE>0) is TRUE for a word (text sorts above numbers); ISNUMBER(MFE) zeroes it.
        "n_mfe": f"SUMPRODUCT({mask}*({MFE_}>0))",
        "eff": ("array", f'IF({n_mfe}=0,"{NO_MFE}",SUM(IF({mask}*({MFE_}>0),({EX_}-{EN_})*{DIR_}/{MFE_},0))/{n_mfe})'),
        "n_lml": f"COUNTIFS({P},{NUM},{LML},{NUM})",
        "near": f'IF({n_lml}=0,"{NO_LEVEL}",SUMPRODUCT(ISNUMBER({P})*ISNUMBER({LML})*({LML}<={NEAR_FACTOR}*StopOutLevel))'
                f"/{n_lml})",
    }
    for j, (label, key, fmt, note) in enumerate(EXCURSION_EXPLAINED):
        cr = r + j
        s.text(f"A{cr}", label, font=LABEL_FONT, border=BOX)
        put(f"B{cr}", formulas[key], got[key], fmt, font=VALUE_FONT, border=BOX, align=right)
        s.text(f"C{cr}", note, font=NOTE_FONT)

    r += len(EXCURSION_EXPLAINED) + 1
    s.text(f"A{r}", "Closest calls: the lowest margin levels", font=LABEL_FONT)
    head = r + 1
    for col, label in zip("ABCD", ("Trade ID", "Symbol", "Level", "Trades row")):
        s.text(f"{col}{head}", label, font=HEAD_FONT, fill=HEAD_FILL, align=None if col == "A" else right)
    first = head + 1
    closest = []
    rank = f"ISNUMBER({P})*ISNUMBER({LML})"
    for k in range(1, CLOSEST + 1):
        cr = head + k
        row = got["closest"][k - 1] if k <= len(got["closest"]) else ("", "", "", "")
        put(f"C{cr}", ("array", f'IF({n_lml}<{k},"",SMALL(IF({rank},{LML}),{k}))'), row[2], C.PCT, align=right)
        # the j-th row holding this level, j = how often it appears in the list so far (ties in row order)
        put(f"D{cr}", ("array", f'IF(C{cr}="","",SMALL(IF({rank}*({LML}=C{cr}),ROW({LML})-MIN(ROW({LML}))+1),'
                                f"COUNTIF(C${first}:C{cr},C{cr})))"), row[3], "0", align=right)
        for col, name, v in (("A", "Trade ID", row[0]), ("B", "Symbol", row[1])):
            src = f"INDEX({T}[{name}],D{cr})"
            put(f"{col}{cr}", f'IF(ISNUMBER(D{cr}),IF({src}="","",{src}),"")', v, None,
                align=None if col == "A" else right)
        closest.append(cr)
    s.text(f"A{closest[-1] + 1}", "The closed trades whose margin level came nearest the StopOutLevel setting "
                                  "(where the broker closes positions), lowest first.", font=NOTE_FONT)
    return ExcursionLayout(bins=bins, figures=figures, closest=closest, end=closest[-1] + 1)


def _date(serial: float):
    from datetime import timedelta
    return C.schema.EPOCH + timedelta(days=math.floor(serial))


def _year(serial: float) -> int:
    return _date(serial).year


def _charts(wb, ws, n: int, grid_head: int, month_rows: dict[int, int], hist_rows: list[int]) -> None:
    """Equity curve, P/L by month (a series per year), R-multiple histogram: side by side."""
    trades = wb[T]
    last = max(n, 1) + 1
    third = (len(STAT_COLUMNS) + 1) // 3  # columns per chart
    top = CHART_TOP - 1

    eq = LineChart()
    eq.title = "Equity curve: cumulative net P/L"
    j = C.INDEX["Cumulative P/L"] + 1
    eq.add_data(Reference(trades, min_col=j, min_row=1, max_row=last), titles_from_data=True)
    eq.series[0].smooth = False
    eq.series[0].graphicalProperties.line.width = 19050
    eq.x_axis.title = "trade"
    eq.x_axis.tickLblSkip = max(1, n // 8)  # about eight trade numbers along the axis
    eq.x_axis.tickMarkSkip = max(1, n // 8)
    eq.y_axis.number_format = "#,##0"

    monthly = BarChart()
    monthly.title = "Net P/L by month closed"
    for y, r in (month_rows or {"": grid_head + 1}).items():
        monthly.add_data(Reference(ws, min_col=2, max_col=13, min_row=r), from_rows=True, titles_from_data=False)
        monthly.series[-1].tx = SeriesLabel(v=str(y))
    monthly.set_categories(Reference(ws, min_col=2, max_col=13, min_row=grid_head))
    monthly.y_axis.number_format = "#,##0"
    monthly.gapWidth = 40

    hist = BarChart()
    hist.title = "R multiples: trades per bin"
    hist.add_data(Reference(ws, min_col=4, min_row=hist_rows[0], max_row=hist_rows[-1]), titles_from_data=False)
    hist.set_categories(Reference(ws, min_col=1, min_row=hist_rows[0], max_row=hist_rows[-1]))
    hist.gapWidth = 10
    hist.legend = None
    eq.legend = None

    for k, ch in enumerate((eq, monthly, hist)):
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        ws.add_chart(ch, _span(k * third, top, (k + 1) * third, top + CHART_ROWS))
