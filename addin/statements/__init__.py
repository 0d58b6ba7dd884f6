"""Statement readers: one module per export format, all producing :class:`model.Statement`.

Each reader module defines ``FORMAT`` (a short name used by ``--format``), ``DESCRIPTION``,
``sniff(path, head) -> bool`` (is this file mine? ``head`` is the first 64 KiB, raw bytes) and
``read(path) -> Statement``. A reader raises :class:`model.StatementError` for a file it cannot read
as a whole, and puts each bad row into ``Statement.rejected`` with its reason.

Conventions every reader follows (new readers too):

* **Row ledger** (:mod:`.ledger`): ``Ledger.see(section, row)`` for every source row walked over,
  and ``return settle(statement, ledger, checks=[...])``, which checks that each row ended as
  exactly one trade / non-trade / rejected and stores ``Statement.ledger``.
* **Totals** the format prints are compared with the rows read: ``check_total(...)`` in
  ``settle(checks=...)`` (``Statement.checks`` / ``Statement.mismatches``). A statement that
  states a trade count and lists fewer rows (read or rejected) is refused: rows are missing.
* **CSV** through :mod:`.csv_records` (``read_csv_records`` / ``split_records`` and
  ``field_count_problem``): a damaged or cut record is rejected with its line, the rest still read.
* **Numbers and dates** through :mod:`.parsing`: ``detect_decimal`` once per file, then
  ``parse_number(text, decimal)``; ``choose_date_formats`` when day/month order could differ.
* **Input** through :mod:`.safety`: ``read_limited`` (size limit), ``check_zip`` before opening
  an .xlsx; XML only through ``defusedxml``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from .model import Statement, StatementError
from .safety import Limits, check_size, use_limits

# Order matters only for sniffing: the most specific formats first, the generic CSV last.
READER_MODULES = (
    "mt4_html",
    "mt5_report",
    "ibkr_flex",
    "ibkr_activity",
    "tradingview",
    "tradovate",
    "binance_usdm",
    "bybit_trades",
    "bybit_closed_pnl",
    "generic_csv",
)


def readers() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in READER_MODULES]


def formats() -> list[str]:
    return [r.FORMAT for r in readers()]


def detect(path: Path) -> ModuleType:
    """The reader whose ``sniff`` recognises the file; StatementError listing the formats otherwise."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise StatementError(str(path), f"cannot open: {exc.strerror or exc}") from None
    if not head.strip():
        raise StatementError(str(path), "the file is empty")
    for reader in readers():
        if reader.FORMAT != "csv" and reader.sniff(path, head):
            return reader
    raise StatementError(
        str(path),
        "not a recognised statement; expected one of: "
        + "; ".join(f"{r.FORMAT} ({r.DESCRIPTION})" for r in readers() if r.FORMAT != "csv")
        + ". For any other CSV pass --format csv --mapping MAPPING.json",
    )


def read_statement(path: Path, fmt: str | None = None, mapping: Path | None = None,
                   limits: Limits | None = None, symbol: str | None = None) -> Statement:
    """Read one statement file, detecting its format unless ``fmt`` names it.

    ``limits`` (:class:`safety.Limits`) raises or lowers the input size and zip limits for this
    read; without it they come from the environment (``LEVERAGE_MAX_FILE_MB``...) or the defaults.
    ``symbol``: the traded instrument of a TradingView list of trades, whose file holds none (any
    other format names its symbols itself and refuses it).
    """
    with use_limits(limits):
        st = _read_statement(Path(path), fmt, mapping, symbol)
    return st


def _read_statement(path: Path, fmt: str | None, mapping: Path | None, symbol: str | None = None) -> Statement:
    check_size(path)
    if mapping is not None and fmt in (None, "csv"):
        from . import generic_csv

        return generic_csv.read(path, mapping=mapping)
    if fmt is None:
        reader = detect(path)
    else:
        by_name = {r.FORMAT: r for r in readers()}
        if fmt not in by_name:
            raise StatementError(str(path), f"unknown format {fmt!r}; known: {', '.join(by_name)}")
        reader = by_name[fmt]
    if symbol is not None:
        if reader.FORMAT != "tradingview":
            raise StatementError(str(path), f"--symbol applies to a TradingView list of trades only; this file is "
                                            f"{reader.FORMAT} ({reader.DESCRIPTION}), whose rows name their symbols")
        return reader.read(path, symbol=symbol)
    return reader.read(path)
