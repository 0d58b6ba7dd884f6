"""The arithmetic of leverage and margin: pure functions, standard library only, no Excel, no I/O.

Every function states its formula, units and a worked example in its docstring. Arguments are
plain numbers (``side`` is +1/−1); :mod:`addin.risk.inputs` reads "1:30" and "buy" into those.
A function raises :class:`RiskInputError` naming the argument and the rule it breaks, or
:class:`NoPrice` when the price level asked for does not exist.
"""

from .conversion import implied_fx_rate, pair_fx_rate
from .costs import funding_cost, margin_interest
from .drawdown import equity_after_losses, losses_to_drawdown, max_drawdown, recovery_gain
from .errors import NoPrice, RiskInputError
from .excursion import Excursion, ExcursionTrade, RangeExtremes, excursion_r, excursions, lowest_margin_level, mae, mfe
from .inputs import parse_leverage, parse_side
from .leverage import (
    effective_leverage,
    free_margin,
    leverage,
    margin_level,
    margin_rate,
    margin_required,
    max_position_size,
    notional,
    return_on_margin,
    round_down,
)
from .limits import classify, max_leverage, safe_leverage
from .margin_models import open_profit, position_margin, price_at_margin_level
from .moves import (
    futures_margin_call_price,
    liquidation_price,
    liquidation_price_tiered,
    maintenance_amounts,
    margin_call_price,
    pip_value,
    stock_margin_call_price,
    stop_out_price,
    wipeout_move,
    wipeout_pips,
)
from .portfolio import currency_exposure, currency_legs, portfolio_stop_out_move
from .sizing import position_size, profit_at_price, r_multiple, reward_risk, risk_amount, risk_at_stop
from .stats import expectancy, kelly_fraction, payoff_ratio, profit_factor, risk_of_ruin, sqn, win_rate
from .volatility import atr, atr_stop, true_ranges

__all__ = [name for name in dir() if not name.startswith("_")]
