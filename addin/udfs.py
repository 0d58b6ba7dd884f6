"""The add-in's Excel functions: a thin layer over :mod:`addin.risk`.

Each function reads its cells (:mod:`addin.cells`), calls one function of :mod:`addin.risk` per
row and spills the results; no arithmetic happens here. ``_NAME = excel(risk.fn, num("arg"), ...)``
above each function says how its cells are read. Names, argument order and formulas follow
the contract in the README's function reference. ``UDF MODULES = addin.udfs`` loads them all.

Conventions: rates are fractions (2% is 0.02); ``leverage`` is a number or "1:30"; ``side`` is
long/buy, short/sell, 1 or -1; any argument may be a range, single cells broadcast against it, and
the result spills as a column. A bad row shows a message naming the argument, never a traceback.
Hints are deliberately absent: Optional/Union/Literal hints break classic xlwings UDFs.
"""

from __future__ import annotations

from . import risk
from .cells import (OUT_OF_RANGE, cells_read, date_arg, direction, excel, lev, message, num, number, numbers,
                    one_cell, optional_text, parse_symbol, side_arg, spill, table, true_false, words)
from .risk import NoPrice, RiskInputError, parse_side
from .udf_meta import arg, func

LEVERAGE_MARGIN = "Leverage and margin"
MOVES = "Adverse moves, margin call, stop-out, liquidation"
SIZING = "Sizing a trade to its risk"
DRAWDOWN = "Drawdown and ruin"
COSTS = "Costs of carrying the position"
LIMITS = "Limits and volatility"

# Argument docs shared by several functions (Excel shows them in the function wizard).
QUANTITY = "Position size in the unit contract_size multiplies: lots (with contract_size 100000) or units/shares/coins (1). Sign ignored."
PRICE = "Price in the instrument's quote currency."
LEV = 'Leverage as a number (30) or text "1:30", "30:1", "30x".'
CONTRACT = "Units per 1.0 of quantity: 100000 for an FX lot, 100 for gold, 1 for units. Default 1."
FX = "Quote-to-account currency rate: 1 when they are the same; 1/USDJPY for USDJPY in a USD account. Default 1."
SIDE = 'Direction: "long"/"buy" or "short"/"sell" (any case), or 1 / -1.'
ENTRY = "Entry price, quote currency."
STOP = "Stop-loss price, quote currency."
EQUITY = "Account equity (balance plus open P/L), account currency."
LOT_STEP = "Smallest size increment to round down to, e.g. 0.01 lots. 0 = no rounding (default)."
POINT_VALUE = "Account-currency profit of a 1.0 price move for 1.0 of quantity (contract_size x fx_rate; EURUSD lots in USD: 100000). Default 1."
COMMISSION = "Round-trip commission per 1.0 of quantity, account currency. Default 0."
OTHER_MARGIN = "Margin held by the account's other open positions, account currency. Default 0."
BASE = ("TRUE when the account currency is the pair's base (USDJPY in USD, EURUSD in EUR): margin = "
        "quantity x contract_size / leverage, constant; profit converted at 1/price (MetaTrader). Leave fx_rate at 1. "
        "Default FALSE.")


# Leverage and margin ------------------------------------------------------------------------------

_LEVERAGE = excel(risk.leverage, num("margin_rate"))


@func(LEVERAGE_MARGIN)
@arg("margin_rate", "Margin rate as a fraction of notional: 2% is 0.02.")
def LEVERAGE(margin_rate):
    """Leverage from a margin rate: 1 / margin_rate. A 2% margin rate is 50 (50:1)."""
    return _LEVERAGE(margin_rate)


_MARGIN_RATE = excel(risk.margin_rate, lev("leverage"))


@func(LEVERAGE_MARGIN)
@arg("leverage", LEV)
def MARGIN_RATE(leverage):
    """Margin rate from leverage: 1 / leverage. 50:1 is 0.02 (2%)."""
    return _MARGIN_RATE(leverage)


_NOTIONAL = excel(risk.notional, num("quantity"), num("price"), num("contract_size", 1), num("fx_rate", 1))


@func(LEVERAGE_MARGIN)
@arg("quantity", QUANTITY)
@arg("price", PRICE)
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
def NOTIONAL(quantity, price, contract_size=1.0, fx_rate=1.0):
    """Position value in account currency: abs(quantity) x contract_size x price x fx_rate."""
    return _NOTIONAL(quantity, price, contract_size, fx_rate)


_MARGIN_REQUIRED = excel(risk.margin_required,
                         num("quantity"),
                         num("price"),
                         lev("leverage"),
                         num("contract_size", 1),
                         num("fx_rate", 1),
                         true_false("account_is_base", False))


@func(LEVERAGE_MARGIN)
@arg("quantity", QUANTITY)
@arg("price", PRICE)
@arg("leverage", LEV)
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
@arg("account_is_base", BASE)
def MARGIN_REQUIRED(quantity, price, leverage, contract_size=1.0, fx_rate=1.0, account_is_base=False):
    """Margin (collateral) the position needs, account currency: notional / leverage; with
    account_is_base, quantity x contract_size / leverage (MetaTrader's Forex margin in the base currency)."""
    return _MARGIN_REQUIRED(quantity, price, leverage, contract_size, fx_rate, account_is_base)


_EFFECTIVE_LEVERAGE = excel(risk.effective_leverage, num("notional"), num("equity"))


@func(LEVERAGE_MARGIN)
@arg("notional", "Position value, account currency (see NOTIONAL).")
@arg("equity", EQUITY)
def EFFECTIVE_LEVERAGE(notional, equity):
    """Exposure per unit of own capital: notional / equity. $5,000 on $1,000 is 5x."""
    return _EFFECTIVE_LEVERAGE(notional, equity)


_MARGIN_LEVEL = excel(risk.margin_level, num("equity"), num("used_margin"))


@func(LEVERAGE_MARGIN)
@arg("equity", EQUITY)
@arg("used_margin", "Margin held by open positions, account currency.")
def MARGIN_LEVEL(equity, used_margin):
    """Margin level: equity / used_margin as a fraction (2.727 shows as 272.7%)."""
    return _MARGIN_LEVEL(equity, used_margin)


_FREE_MARGIN = excel(risk.free_margin, num("equity"), num("used_margin"))


@func(LEVERAGE_MARGIN)
@arg("equity", EQUITY)
@arg("used_margin", "Margin held by open positions, account currency.")
def FREE_MARGIN(equity, used_margin):
    """Margin still free for new positions: equity - used_margin."""
    return _FREE_MARGIN(equity, used_margin)


_RETURN_ON_MARGIN = excel(risk.return_on_margin, num("pnl"), num("margin"))


@func(LEVERAGE_MARGIN)
@arg("pnl", "Profit or loss of the trade, account currency.")
@arg("margin", "Margin that carried the trade, account currency.")
def RETURN_ON_MARGIN(pnl, margin):
    """Profit as a fraction of the margin behind it: pnl / margin. $100 on $220 is 45.5%."""
    return _RETURN_ON_MARGIN(pnl, margin)


_MAX_POSITION_SIZE = excel(risk.max_position_size,
                           num("free_margin"),
                           num("price"),
                           lev("leverage"),
                           num("contract_size", 1),
                           num("fx_rate", 1),
                           num("lot_step", 0),
                           true_false("account_is_base", False))


@func(LEVERAGE_MARGIN)
@arg("free_margin", "Free margin available, account currency.")
@arg("price", PRICE)
@arg("leverage", LEV)
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
@arg("lot_step", LOT_STEP)
@arg("account_is_base", BASE)
def MAX_POSITION_SIZE(free_margin, price, leverage, contract_size=1.0, fx_rate=1.0, lot_step=0.0,
                      account_is_base=False):
    """Largest quantity whose margin (as MARGIN_REQUIRED computes it) fits in free_margin, rounded down
    to lot_step."""
    return _MAX_POSITION_SIZE(free_margin, price, leverage, contract_size, fx_rate, lot_step, account_is_base)


# Adverse moves, margin call, stop-out, liquidation ------------------------------------------------

_PIP_VALUE = excel(risk.pip_value,
                   num("quantity"),
                   num("pip_size", 0.0001),
                   num("contract_size", 1),
                   num("fx_rate", 1))


@func(MOVES)
@arg("quantity", QUANTITY)
@arg("pip_size", "Price change of one pip: 0.0001 for most FX pairs, 0.01 for JPY pairs. Default 0.0001.")
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
def PIP_VALUE(quantity, pip_size=0.0001, contract_size=1.0, fx_rate=1.0):
    """Account-currency value of one pip: abs(quantity) x contract_size x pip_size x fx_rate."""
    return _PIP_VALUE(quantity, pip_size, contract_size, fx_rate)


_WIPEOUT_PIPS = excel(risk.wipeout_pips,
                      num("margin"),
                      num("quantity"),
                      num("pip_size", 0.0001),
                      num("contract_size", 1),
                      num("fx_rate", 1))


@func(MOVES)
@arg("margin", "Margin behind the position, account currency.")
@arg("quantity", QUANTITY)
@arg("pip_size", "Price change of one pip: 0.0001 for most FX pairs, 0.01 for JPY pairs. Default 0.0001.")
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
def WIPEOUT_PIPS(margin, quantity, pip_size=0.0001, contract_size=1.0, fx_rate=1.0):
    """Pips of adverse move that lose the whole margin: margin / pip value."""
    return _WIPEOUT_PIPS(margin, quantity, pip_size, contract_size, fx_rate)


_WIPEOUT_MOVE = excel(risk.wipeout_move, lev("leverage"), num("stop_out_level", 0), direction("side", 1),
                      true_false("account_is_base", False))


@func(MOVES)
@arg("leverage", LEV)
@arg("stop_out_level", "Margin level at which the broker closes positions, as a fraction (50% is 0.5). Default 0.")
@arg("side", 'Direction: "long" (default) or "short".')
@arg("account_is_base", BASE)
def WIPEOUT_MOVE(leverage, stop_out_level=0.0, side="long", account_is_base=False):
    """Adverse move, as a fraction of entry, that takes an all-in position to the stop-out level, by
    STOP_OUT_PRICE's margin model: long (1 - s) / (leverage - s), short (1 - s) / (leverage + s). At 50:1
    a 2% move wipes out the margin."""
    return _WIPEOUT_MOVE(leverage, stop_out_level, side, account_is_base)


_MARGIN_CALL_PRICE = excel(risk.margin_call_price,
                           direction("side"),
                           num("entry"),
                           num("quantity"),
                           num("equity"),
                           lev("leverage"),
                           num("level", 1),
                           num("contract_size", 1),
                           num("fx_rate", 1),
                           num("other_margin", 0),
                           true_false("account_is_base", False))


@func(MOVES)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("quantity", QUANTITY)
@arg("equity", "Account equity with the position just opened, account currency.")
@arg("leverage", LEV)
@arg("level", "Margin level that triggers the call, as a fraction (100% is 1). Default 1.")
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
@arg("other_margin", OTHER_MARGIN)
@arg("account_is_base", BASE)
def MARGIN_CALL_PRICE(side, entry, quantity, equity, leverage, level=1.0, contract_size=1.0, fx_rate=1.0,
                      other_margin=0.0, account_is_base=False):
    """Price at which equity / used margin falls to level, as MetaTrader computes both: margin revalued
    at the price (constant with account_is_base, profit at 1/price); closed form. A message when the
    level is never reached or already breached."""
    return _MARGIN_CALL_PRICE(side, entry, quantity, equity, leverage, level, contract_size, fx_rate, other_margin,
                              account_is_base)


_STOP_OUT_PRICE = excel(risk.stop_out_price,
                        direction("side"),
                        num("entry"),
                        num("quantity"),
                        num("equity"),
                        lev("leverage"),
                        num("level", 0.5),
                        num("contract_size", 1),
                        num("fx_rate", 1),
                        num("other_margin", 0),
                        true_false("account_is_base", False))


@func(MOVES)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("quantity", QUANTITY)
@arg("equity", "Account equity with the position just opened, account currency.")
@arg("leverage", LEV)
@arg("level", "Stop-out margin level as a fraction (50% is 0.5, the ESMA/FCA/ASIC retail close-out). Default 0.5.")
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
@arg("other_margin", OTHER_MARGIN)
@arg("account_is_base", BASE)
def STOP_OUT_PRICE(side, entry, quantity, equity, leverage, level=0.5, contract_size=1.0, fx_rate=1.0,
                   other_margin=0.0, account_is_base=False):
    """Price at which the broker stops the position out: MARGIN_CALL_PRICE at the stop-out level."""
    return _STOP_OUT_PRICE(side, entry, quantity, equity, leverage, level, contract_size, fx_rate, other_margin,
                           account_is_base)


_STOCK_MARGIN_CALL_PRICE = excel(risk.stock_margin_call_price,
                                 num("entry"),
                                 num("initial_margin"),
                                 num("maintenance_margin"),
                                 direction("side", 1))


@func(MOVES)
@arg("entry", "Purchase (or short sale) price per share.")
@arg("initial_margin", "Initial margin as a fraction: Regulation T is 0.5.")
@arg("maintenance_margin", "Maintenance margin as a fraction: FINRA minimum 0.25, houses often 0.3-0.4.")
@arg("side", 'Direction: "long" (default) or "short".')
def STOCK_MARGIN_CALL_PRICE(entry, initial_margin, maintenance_margin, side="long"):
    """Price at which a stock bought (or shorted) on margin meets the maintenance requirement.
    Long: entry x (1 - initial) / (1 - maintenance). A message when there is no loan (100% initial)
    or the initial margin is not above the maintenance margin."""
    return _STOCK_MARGIN_CALL_PRICE(entry, initial_margin, maintenance_margin, side)


_FUTURES_MARGIN_CALL_PRICE = excel(risk.futures_margin_call_price,
                                   direction("side"),
                                   num("entry"),
                                   num("equity"),
                                   num("maintenance_margin"),
                                   num("multiplier"),
                                   num("contracts", 1))


@func(MOVES)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("equity", "Account equity, account currency.")
@arg("maintenance_margin", "Maintenance margin per contract, account currency.")
@arg("multiplier", "Account-currency value of a 1.0 price move for one contract (E-mini S&P: 50).")
@arg("contracts", "Number of contracts. Default 1.")
def FUTURES_MARGIN_CALL_PRICE(side, entry, equity, maintenance_margin, multiplier, contracts=1.0):
    """Price at which account equity falls below maintenance_margin x contracts."""
    return _FUTURES_MARGIN_CALL_PRICE(side, entry, equity, maintenance_margin, multiplier, contracts)


_LIQUIDATION_PRICE = excel(risk.liquidation_price,
                           direction("side"),
                           num("entry"),
                           lev("leverage"),
                           num("maintenance_rate", 0.005),
                           true_false("inverse", False))


@func(MOVES)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("leverage", LEV)
@arg("maintenance_rate", "Maintenance margin rate as a fraction. Default 0.005 (0.5%).")
@arg("inverse", "TRUE for coin-margined (inverse) contracts, FALSE for USDT-margined (linear, default).")
def LIQUIDATION_PRICE(side, entry, leverage, maintenance_rate=0.005, inverse=False):
    """Isolated-margin liquidation price with no added margin. Linear long:
    entry x (1 - 1/leverage + mmr); short: entry x (1 + 1/leverage - mmr). A message when 1/leverage is
    not above the maintenance rate (liquidated at entry)."""
    return _LIQUIDATION_PRICE(side, entry, leverage, maintenance_rate, inverse)


@func(MOVES)
@arg("side", SIDE)
@arg("quantity", "Position size in coins (contracts of 1).")
@arg("entry", ENTRY)
@arg("wallet_balance", "Wallet balance backing the position, quote currency (USDT).")
@arg("tiers", "Tier table range: notional floor, notional cap, maintenance rate[, maintenance amount].")
@arg("other_maintenance", "Maintenance margin of the account's other positions (cross margin). Default 0.")
@arg("other_upnl", "Unrealised P/L of the account's other positions (cross margin). Default 0.")
def LIQUIDATION_PRICE_TIERED(side, quantity, entry, wallet_balance, tiers, other_maintenance=0.0,
                             other_upnl=0.0):
    """Liquidation price of a one-way USDT-margined futures position under an exchange tier table,
    the tier re-chosen at the liquidation notional. A message when the answer is beyond the last
    bracket, at or beyond entry, or at or below zero."""
    try:
        rows = table("tiers", tiers)
    except RiskInputError as exc:
        return str(exc)
    return spill(lambda s, q, ep, wb, om, ou: risk.liquidation_price_tiered(s, q, ep, wb, rows, om, ou)[0],
                 side_arg("side", side), number("quantity", quantity), number("entry", entry),
                 number("wallet_balance", wallet_balance), number("other_maintenance", other_maintenance, 0),
                 number("other_upnl", other_upnl, 0))


# Sizing a trade to its risk -----------------------------------------------------------------------

_RISK_AMOUNT = excel(risk.risk_amount, num("equity"), num("risk_pct"))


@func(SIZING)
@arg("equity", EQUITY)
@arg("risk_pct", "Fraction of equity to risk on the trade: 1% is 0.01.")
def RISK_AMOUNT(equity, risk_pct):
    """Money at risk on one trade: equity x risk_pct."""
    return _RISK_AMOUNT(equity, risk_pct)


_POSITION_SIZE = excel(risk.position_size,
                       num("risk_amount"),
                       num("entry"),
                       num("stop_price"),
                       num("point_value", 1),
                       num("lot_step", 0),
                       num("commission", 0),
                       num("min_size", 0),
                       num("max_size", 0))


@func(SIZING)
@arg("risk_amount", "Money you accept to lose if the stop is hit, account currency.")
@arg("entry", ENTRY)
@arg("stop_price", STOP)
@arg("point_value", POINT_VALUE)
@arg("lot_step", LOT_STEP)
@arg("commission", COMMISSION)
@arg("min_size", "Smallest size the broker accepts; below it the answer is 0. Default 0.")
@arg("max_size", "Largest size to allow; 0 = no cap (default).")
def POSITION_SIZE(risk_amount, entry, stop_price, point_value=1.0, lot_step=0.0, commission=0.0, min_size=0.0,
                  max_size=0.0):
    """Largest quantity whose loss at the stop, commission included, stays within risk_amount,
    rounded down to lot_step."""
    return _POSITION_SIZE(risk_amount, entry, stop_price, point_value, lot_step, commission, min_size, max_size)


_RISK_AT_STOP = excel(risk.risk_at_stop,
                      num("quantity"),
                      num("entry"),
                      num("stop_price"),
                      num("point_value", 1),
                      num("commission", 0))


@func(SIZING)
@arg("quantity", QUANTITY)
@arg("entry", ENTRY)
@arg("stop_price", STOP)
@arg("point_value", POINT_VALUE)
@arg("commission", COMMISSION)
def RISK_AT_STOP(quantity, entry, stop_price, point_value=1.0, commission=0.0):
    """Money lost if the stop is hit: abs(entry - stop_price) x abs(quantity) x point_value + commission x abs(quantity)."""
    return _RISK_AT_STOP(quantity, entry, stop_price, point_value, commission)


_R_MULTIPLE = excel(risk.r_multiple, direction("side"), num("entry"), num("stop_price"), num("exit_price"))


@func(SIZING)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("stop_price", STOP)
@arg("exit_price", "Exit price, quote currency.")
def R_MULTIPLE(side, entry, stop_price, exit_price):
    """Result in units of initial risk: side x (exit_price - entry) / abs(entry - stop_price). A message
    when the stop is on the profit side of entry (no initial risk)."""
    return _R_MULTIPLE(side, entry, stop_price, exit_price)


_REWARD_RISK = excel(risk.reward_risk, direction("side"), num("entry"), num("stop_price"), num("target"))


@func(SIZING)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("stop_price", STOP)
@arg("target", "Take-profit price, quote currency.")
def REWARD_RISK(side, entry, stop_price, target):
    """Planned reward per unit of risk: side x (target - entry) / abs(entry - stop_price). A message when
    the stop is on the profit side or the target on the losing side of entry."""
    return _REWARD_RISK(side, entry, stop_price, target)


_PROFIT_AT_PRICE = excel(risk.profit_at_price,
                         direction("side"),
                         num("entry"),
                         num("price"),
                         num("quantity"),
                         num("contract_size", 1),
                         num("fx_rate", 1),
                         num("commission", 0),
                         true_false("account_is_base", False))


@func(SIZING)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("price", "Price the position is closed at (a target, a stop), quote currency.")
@arg("quantity", QUANTITY)
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
@arg("commission", COMMISSION)
@arg("account_is_base", BASE)
def PROFIT_AT_PRICE(side, entry, price, quantity, contract_size=1.0, fx_rate=1.0, commission=0.0,
                    account_is_base=False):
    """Signed profit in account currency if the position closes at price: side x (price - entry) x
    abs(quantity) x contract_size x fx_rate - commission x abs(quantity) (at 1/price with account_is_base)."""
    return _PROFIT_AT_PRICE(side, entry, price, quantity, contract_size, fx_rate, commission, account_is_base)


# Drawdown and ruin --------------------------------------------------------------------------------

_RECOVERY_GAIN = excel(risk.recovery_gain, num("drawdown"))


@func(DRAWDOWN)
@arg("drawdown", "Fall from the peak as a fraction: 20% is 0.2.")
def RECOVERY_GAIN(drawdown):
    """Gain needed to get back to the peak: drawdown / (1 - drawdown). 50% down needs +100%."""
    return _RECOVERY_GAIN(drawdown)


_LOSSES_TO_DRAWDOWN = excel(risk.losses_to_drawdown, num("risk_per_trade"), num("drawdown"))


@func(DRAWDOWN)
@arg("risk_per_trade", "Fraction of current equity lost on each losing trade: 1% is 0.01.")
@arg("drawdown", "Drawdown to reach, as a fraction: 50% is 0.5.")
def LOSSES_TO_DRAWDOWN(risk_per_trade, drawdown):
    """Consecutive losses that reach the drawdown: ceil(ln(1 - drawdown) / ln(1 - risk_per_trade))."""
    return _LOSSES_TO_DRAWDOWN(risk_per_trade, drawdown)


_EQUITY_AFTER_LOSSES = excel(risk.equity_after_losses, num("equity"), num("risk_per_trade"), num("losses"))


@func(DRAWDOWN)
@arg("equity", EQUITY)
@arg("risk_per_trade", "Fraction of current equity lost on each losing trade: 1% is 0.01.")
@arg("losses", "Number of consecutive losing trades.")
def EQUITY_AFTER_LOSSES(equity, risk_per_trade, losses):
    """Equity after a run of losses: equity x (1 - risk_per_trade) ^ losses."""
    return _EQUITY_AFTER_LOSSES(equity, risk_per_trade, losses)


@func(DRAWDOWN)
@arg("equity_curve", "A column (or row) of equity values in time order; empty cells are skipped.")
def MAX_DRAWDOWN(equity_curve):
    """Largest peak-to-trough fall of an equity curve, as a fraction of the peak."""
    try:
        worst = risk.max_drawdown(numbers("equity_curve", equity_curve))
    except (RiskInputError, NoPrice) as exc:
        return str(exc)
    return worst if worst - worst == 0 else OUT_OF_RANGE


_RISK_OF_RUIN = excel(risk.risk_of_ruin, num("win_rate"), num("capital_units"), num("payoff_ratio", 1))


@func(DRAWDOWN)
@arg("win_rate", "Fraction of trades won: 55% is 0.55.")
@arg("capital_units", "Capital in units of the amount risked per trade.")
@arg("payoff_ratio", "Units won by a winning trade per unit lost by a losing one. Default 1 (even payoff).")
def RISK_OF_RUIN(win_rate, capital_units, payoff_ratio=1.0):
    """Probability of ever losing capital_units risk units: z ^ units, z the root in (0, 1) of
    p z^(b+1) - z + (1 - p) = 0; b = 1 gives ((1 - p) / p) ^ units; 1 when p x b <= 1 - p."""
    return _RISK_OF_RUIN(win_rate, capital_units, payoff_ratio)


# Costs of carrying the position -------------------------------------------------------------------

_FUNDING_COST = excel(risk.funding_cost,
                      direction("side"),
                      num("quantity"),
                      num("mark_price"),
                      num("funding_rate"),
                      num("periods", 1))


@func(COSTS)
@arg("side", SIDE)
@arg("quantity", "Position size in coins or contracts.")
@arg("mark_price", "Mark price at the funding time.")
@arg("funding_rate", "Funding rate per period as a fraction: 0.01% is 0.0001; may be negative.")
@arg("periods", "Number of funding periods. Default 1.")
def FUNDING_COST(side, quantity, mark_price, funding_rate, periods=1.0):
    """Perpetual funding paid (positive) or received (negative): side x abs(quantity) x mark_price x
    funding_rate x periods."""
    return _FUNDING_COST(side, quantity, mark_price, funding_rate, periods)


_MARGIN_INTEREST = excel(risk.margin_interest,
                         num("borrowed"),
                         num("annual_rate"),
                         num("days"),
                         num("day_count", 360))


@func(COSTS)
@arg("borrowed", "Amount borrowed on margin, account currency.")
@arg("annual_rate", "Annual interest rate as a fraction: 8% is 0.08.")
@arg("days", "Days the loan is held.")
@arg("day_count", "Day-count basis: 360 (default) or 365.")
def MARGIN_INTEREST(borrowed, annual_rate, days, day_count=360.0):
    """Interest on a margin loan: borrowed x annual_rate x days / day_count."""
    return _MARGIN_INTEREST(borrowed, annual_rate, days, day_count)


# Limits and volatility ----------------------------------------------------------------------------

_MAX_LEVERAGE = excel(risk.max_leverage, words("regime"), words("instrument"), date_arg("as_of"))


@func(LIMITS)
@arg("regime", "Regulator: ESMA, FCA, ASIC, NFA (US retail forex), JFSA (Japan), REGT (US securities) or NONE (offshore broker or professional client: no retail cap, the answer says so).")
@arg("instrument", 'Class (FX_MAJOR, FX_MINOR, GOLD, INDEX_MAJOR, INDEX_MINOR, COMMODITY, EQUITY, CRYPTO) or a symbol: "EURUSD", "EUR/USD", "EURUSD.m", "XAUUSD", "BTCUSD".')
@arg("as_of", "Date whose rules apply. Default: today.")
def MAX_LEVERAGE(regime, instrument, as_of=None):
    """The retail leverage cap of a regulator for an instrument, from dated rules with sources; an FX
    symbol is classified by that regulator's own major currencies (ASIC's include AUD)."""
    return _MAX_LEVERAGE(regime, instrument, as_of)


_SAFE_LEVERAGE = excel(risk.safe_leverage, num("atr_pct"), num("atr_multiple", 3), num("stop_out_level", 0.5),
                       num("maintenance_rate", 0))


@func(LIMITS)
@arg("atr_pct", "Average true range as a fraction of price: 0.6% is 0.006.")
@arg("atr_multiple", "How many ATRs of adverse move the position must survive before the stop-out. Default 3.")
@arg("stop_out_level", "Margin level at which the broker closes positions, as a fraction (50% is 0.5). Default 0.5.")
@arg("maintenance_rate", "For an exchange's isolated position: maintenance margin rate (0.5% is 0.005); when > 0 it replaces stop_out_level. Default 0.")
def SAFE_LEVERAGE(atr_pct, atr_multiple=3.0, stop_out_level=0.5, maintenance_rate=0.0):
    """Highest leverage at which an all-in position reaches the stop-out only after atr_multiple ATRs,
    long or short: (1 - s) / d - max(s, 1 - s) with d = atr_multiple x atr_pct, s = stop_out_level
    (1 / (d + maintenance_rate) on an exchange)."""
    return _SAFE_LEVERAGE(atr_pct, atr_multiple, stop_out_level, maintenance_rate)


# Statistics of a journal, the account as a whole, volatility --------------------------------------
# The functions over whole ranges read each range into one list (empty cells skipped by the risk
# function) and return one number, or a message naming the argument.

STATS = "Statistics of a journal"
ACCOUNT = "The account as a whole"

PNLS = "Profit or loss of each closed trade (a column of the journal), one currency; empty cells are skipped."
R_MULTIPLES = "Result of each closed trade in R (units of its initial risk); empty cells are skipped."
WIN_RATE_ARG = "Fraction of trades won: 55% is 0.55."
PAYOFF = "Average win / average loss (see PAYOFF_RATIO): 2 means wins are twice the size of losses."


def _over_ranges(compute) -> object:
    """The number ``compute()`` returns, or the message of why there is none (never a traceback)."""
    try:
        result = compute()
    except (ArithmeticError, ValueError) as exc:  # RiskInputError and NoPrice are ValueErrors
        return message(exc)
    return result if result - result == 0 else OUT_OF_RANGE


@func(STATS)
@arg("pnls", PNLS)
def WIN_RATE(pnls):
    """Share of trades won: wins / (wins + losses); a trade with pnl = 0 is neither."""
    return _over_ranges(lambda: risk.win_rate(numbers("pnls", pnls)))


@func(STATS)
@arg("pnls", PNLS)
def PROFIT_FACTOR(pnls):
    """Money won per unit lost: sum of winning pnls / abs(sum of losing pnls). Above 1 makes money."""
    return _over_ranges(lambda: risk.profit_factor(numbers("pnls", pnls)))


@func(STATS)
@arg("pnls", PNLS)
def PAYOFF_RATIO(pnls):
    """Average win against average loss: mean winning pnl / abs(mean losing pnl)."""
    return _over_ranges(lambda: risk.payoff_ratio(numbers("pnls", pnls)))


@func(STATS)
@arg("values", "R multiples (expectancy in R) or P/L in money (average result per trade); empty cells are skipped.")
def EXPECTANCY(values):
    """What a trade makes on average: the mean of the values (in R, or in money per trade)."""
    return _over_ranges(lambda: risk.expectancy(numbers("values", values)))


@func(STATS)
@arg("r_multiples", R_MULTIPLES)
def SQN(r_multiples):
    """Van Tharp's System Quality Number: sqrt(min(n, 100)) x mean(R) / stdev(R) (sample stdev)."""
    return _over_ranges(lambda: risk.sqn(numbers("r_multiples", r_multiples)))


_KELLY_FRACTION = excel(risk.kelly_fraction, num("win_rate"), num("payoff_ratio"))


@func(STATS)
@arg("win_rate", WIN_RATE_ARG)
@arg("payoff_ratio", PAYOFF)
def KELLY_FRACTION(win_rate, payoff_ratio):
    """Kelly's fraction of capital to risk per trade: win_rate - (1 - win_rate) / payoff_ratio; 0 or below: no edge."""
    return _KELLY_FRACTION(win_rate, payoff_ratio)




@func(ACCOUNT)
@arg("equity", "Account equity (balance plus open P/L), account currency: one cell.")
@arg("notionals", "Value of each open position, account currency (sign ignored); empty cells are skipped.")
@arg("margins", "Margin held by each open position, account currency; empty cells are skipped.")
@arg("stop_out_level", "Stop-out margin level as a fraction (50% is 0.5). Default 0.5.")
def PORTFOLIO_STOP_OUT_MOVE(equity, notionals, margins, stop_out_level=0.5):
    """Adverse move, as a fraction of price, that all open positions together may make before the
    stop-out: (equity - stop_out_level x sum of margins) / sum of abs(notionals)."""
    return _over_ranges(lambda: risk.portfolio_stop_out_move(
        one_cell("equity", equity, number), numbers("notionals", notionals), numbers("margins", margins),
        one_cell("stop_out_level", stop_out_level, number, 0.5)))


@func(ACCOUNT)
@arg("symbols", 'Symbol of each open position: "EURUSD", "EUR/USD", "XAUUSD", "US500" ...; empty rows are skipped.')
@arg("sides", SIDE + " One per position.")
@arg("notionals", "Value of each position, account currency (sign ignored).")
@arg("account_currency", 'Account currency, e.g. "USD": left out of the result. Default: none (every currency shown).')
def CURRENCY_EXPOSURE(symbols, sides, notionals, account_currency=None):
    """Spills currency and net exposure (account currency), largest first: a pair BASEQUOTE adds
    side x notional to BASE and -side x notional to QUOTE; other symbols count under their own name."""
    try:
        net = risk.currency_exposure(cells_read("symbols", symbols, parse_symbol),
                                     cells_read("sides", sides, parse_side),
                                     numbers("notionals", notionals),
                                     one_cell("account_currency", account_currency, optional_text))
    except (ArithmeticError, ValueError) as exc:  # RiskInputError and NoPrice are ValueErrors
        return message(exc)
    return [[name, amount if amount - amount == 0 else OUT_OF_RANGE] for name, amount in net]


@func(LIMITS)
@arg("highs", "High of each bar, oldest first; a bar with all three cells empty is skipped.")
@arg("lows", "Low of each bar, the same rows as highs.")
@arg("closes", "Close of each bar, the same rows as highs.")
@arg("period", "Bars in Wilder's average: a whole number. Default 14.")
def ATR(highs, lows, closes, period=14.0):
    """Wilder's average true range at the last bar: the first ATR is the mean of the first period
    true ranges, then ATR = (previous ATR x (period - 1) + TR) / period. Price units."""
    return _over_ranges(lambda: risk.atr(numbers("highs", highs), numbers("lows", lows),
                                         numbers("closes", closes), one_cell("period", period, number, 14)))


_ATR_STOP = excel(risk.atr_stop, direction("side"), num("entry"), num("atr"), num("multiple", 2))


@func(LIMITS)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("atr", "Average true range, price units (see ATR).")
@arg("multiple", "How many ATRs from entry to place the stop. Default 2.")
def ATR_STOP(side, entry, atr, multiple=2.0):
    """Volatility stop: entry - side x multiple x atr (a long's stop below entry, a short's above)."""
    return _ATR_STOP(side, entry, atr, multiple)


# How far a trade went: excursions over its bars ---------------------------------------------------
# MAE and MFE read one trade's bars (two ranges) into one number; LOWEST_MARGIN_LEVEL spills like the
# other margin functions.

EXCURSIONS = "How far a trade went: excursions over its bars"
LOWS = "Low of each bar the trade was open through, oldest first (open to close minute); a bar with both cells empty is skipped."
HIGHS = "High of each bar, the same rows as lows."


def _excursion(fn, side, entry, lows, highs):
    return _over_ranges(lambda: fn(one_cell("side", side, side_arg), one_cell("entry", entry, number),
                                   numbers("lows", lows), numbers("highs", highs)))


@func(EXCURSIONS)
@arg("side", SIDE + " One cell.")
@arg("entry", "Entry price, quote currency: one cell.")
@arg("lows", LOWS)
@arg("highs", HIGHS)
def MAE(side, entry, lows, highs):
    """Maximum adverse excursion: how far price went against the trade over its bars, a positive
    price distance. Long: entry - lowest low; short: highest high - entry; 0 if it never went against it."""
    return _excursion(risk.mae, side, entry, lows, highs)


@func(EXCURSIONS)
@arg("side", SIDE + " One cell.")
@arg("entry", "Entry price, quote currency: one cell.")
@arg("lows", LOWS)
@arg("highs", HIGHS)
def MFE(side, entry, lows, highs):
    """Maximum favourable excursion: how far price went in the trade's favour over its bars, a positive
    price distance. Long: highest high - entry; short: entry - lowest low; 0 if it never did."""
    return _excursion(risk.mfe, side, entry, lows, highs)


_LOWEST_MARGIN_LEVEL = excel(risk.lowest_margin_level,
                             direction("side"),
                             num("entry"),
                             num("adverse_price"),
                             num("quantity"),
                             num("equity"),
                             lev("leverage"),
                             num("contract_size", 1),
                             num("fx_rate", 1),
                             num("other_margin", 0),
                             true_false("account_is_base", False))


@func(EXCURSIONS)
@arg("side", SIDE)
@arg("entry", ENTRY)
@arg("adverse_price", "Worst price the trade saw: entry - MAE for a long, entry + MAE for a short.")
@arg("quantity", QUANTITY)
@arg("equity", "Account equity with the position just opened, account currency.")
@arg("leverage", LEV)
@arg("contract_size", CONTRACT)
@arg("fx_rate", FX)
@arg("other_margin", OTHER_MARGIN)
@arg("account_is_base", BASE)
def LOWEST_MARGIN_LEVEL(side, entry, adverse_price, quantity, equity, leverage, contract_size=1.0, fx_rate=1.0,
                        other_margin=0.0, account_is_base=False):
    """Margin level at the trade's worst price, as a fraction (2.65 shows as 265%): (equity + open P/L) /
    (margin + other_margin), by STOP_OUT_PRICE's margin model; at the stop-out price it is the stop-out level."""
    return _LOWEST_MARGIN_LEVEL(side, entry, adverse_price, quantity, equity, leverage, contract_size, fx_rate,
                                other_margin, account_is_base)
