"""Limits that keep a hostile or broken statement from exhausting the machine.

* **Input size**: a statement file larger than :attr:`Limits.max_file_mb` (default 256 MB) is
  refused before it is read. The largest real export we know, an MT5 report of 100,000 trades,
  is far below it.
* **Zip containers** (.xlsx): checked from the zip's directory before anything is extracted:
  at most :attr:`Limits.max_members` members, at most :attr:`Limits.max_unzipped_mb` uncompressed
  in all, and no member expanding more than :attr:`Limits.max_ratio` times (a zip bomb expands
  thousands of times; spreadsheet XML 5-30 times).
* **Trades**: :attr:`Limits.max_trades` (set by the fill from the journal's free rows): a CSV
  statement with more trade records is refused after its records are counted, before any is parsed.
* **XML** is parsed by the readers through ``defusedxml`` (no DTD, no entities, in any encoding).

Each limit can be raised for one run with an environment variable, named in the error message:
``LEVERAGE_MAX_FILE_MB``, ``LEVERAGE_MAX_UNZIPPED_MB``, ``LEVERAGE_MAX_ZIP_RATIO``,
``LEVERAGE_MAX_ZIP_MEMBERS``; or by passing :class:`Limits` to :func:`read_limited` /
:func:`check_zip` (``read_statement(..., limits=Limits(max_file_mb=1024))``).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .model import StatementError

MB = 1024 * 1024


def _env(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise StatementError(name, f"the environment variable {name}={value!r} is not a number") from None
    if number <= 0:
        raise StatementError(name, f"the environment variable {name}={value!r} must be positive")
    return number


@dataclass(frozen=True)
class Limits:
    max_file_mb: float = 256
    max_unzipped_mb: float = 512
    max_ratio: float = 250
    max_members: int = 10_000
    #: Trades the destination can take, or None for no limit. The fill sets it to the rows left below
    #: the journal's Trades header (Excel's 1,048,576-row worksheet): a CSV reader counts its trade
    #: records (:func:`check_trade_records`) before it builds a single trade.
    max_trades: int | None = None

    @classmethod
    def from_env(cls) -> "Limits":
        d = cls()
        return cls(
            max_file_mb=_env("LEVERAGE_MAX_FILE_MB", d.max_file_mb),
            max_unzipped_mb=_env("LEVERAGE_MAX_UNZIPPED_MB", d.max_unzipped_mb),
            max_ratio=_env("LEVERAGE_MAX_ZIP_RATIO", d.max_ratio),
            max_members=int(_env("LEVERAGE_MAX_ZIP_MEMBERS", d.max_members)),
        )


_current: Limits | None = None


def current_limits() -> Limits:
    """The limits in force: those set by :func:`use_limits`, else from the environment."""
    return _current if _current is not None else Limits.from_env()


class use_limits:
    """Context manager: read statements under ``limits`` (``read_statement(limits=...)`` uses it)."""

    def __init__(self, limits: Limits | None):
        self.limits = limits

    def __enter__(self):
        global _current
        self.previous, _current = _current, (self.limits if self.limits is not None else _current)
        return self.limits

    def __exit__(self, *exc):
        global _current
        _current = self.previous
        return False


def check_size(path: Path, limits: Limits | None = None) -> int:
    """The file's size in bytes; StatementError when it cannot be opened or exceeds the limit."""
    limits = limits or current_limits()
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise StatementError(str(path), f"cannot open: {exc.strerror or exc}") from None
    if size > limits.max_file_mb * MB:
        raise StatementError(
            str(path), f"the file is {size / MB:,.0f} MB, more than the {limits.max_file_mb:,.0f} MB a statement "
                       f"may have; if it really is a statement, raise the limit for this run with "
                       f"LEVERAGE_MAX_FILE_MB={int(size / MB) + 1}")
    return size


def check_trade_records(file: str, records: int, per_trade: int = 1, limits: Limits | None = None) -> None:
    """StatementError when ``records`` trade records (``per_trade`` of them per trade, e.g. two in a
    TradingView list: entry and exit) are more trades than :attr:`Limits.max_trades`. Called with
    the records counted before any is parsed, so a file that could never fit costs no Trade objects."""
    limits = limits or current_limits()
    if limits.max_trades is None:
        return
    trades = -(-records // per_trade)
    if trades > limits.max_trades:
        per = f" ({records:,} records, {per_trade} per trade)" if per_trade > 1 else ""
        raise StatementError(
            file, f"{trades:,} trades{per} cannot fit in the journal: sheet 'Trades', table Trades takes at most "
                  f"{limits.max_trades:,} trades below its header, an Excel worksheet ending at row 1,048,576; "
                  "split the statement by date and fill each part into its own journal")


def read_limited(path: Path, limits: Limits | None = None) -> bytes:
    """The file's bytes, after :func:`check_size`."""
    check_size(path, limits)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise StatementError(str(path), f"cannot open: {exc.strerror or exc}") from None
    except MemoryError:
        raise StatementError(str(path), "not enough memory to read the file") from None


def check_zip(path: Path, what: str, limits: Limits | None = None) -> None:
    """Refuse a zip container (.xlsx) that would expand beyond the limits, before extracting it."""
    limits = limits or current_limits()
    file = str(path)
    check_size(path, limits)
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise StatementError(file, f"not a readable zip/xlsx container ({exc}): damaged or cut short? "
                                   f"expected {what}") from None
    if len(members) > limits.max_members:
        raise StatementError(file, f"the workbook holds {len(members):,} files, more than {limits.max_members:,} "
                                   f"(raise with LEVERAGE_MAX_ZIP_MEMBERS); expected {what}")
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_mb * MB:
        raise StatementError(file, f"the workbook expands to {total / MB:,.0f} MB, more than "
                                   f"{limits.max_unzipped_mb:,.0f} MB (a zip bomb? raise with "
                                   f"LEVERAGE_MAX_UNZIPPED_MB); expected {what}")
    for m in members:
        if m.file_size > MB and m.file_size > limits.max_ratio * max(m.compress_size, 1):
            raise StatementError(file, f"the workbook member {m.filename} expands {m.file_size / max(m.compress_size, 1):,.0f} "
                                       f"times ({m.compress_size:,} to {m.file_size:,} bytes), more than "
                                       f"{limits.max_ratio:g} (a zip bomb? raise with LEVERAGE_MAX_ZIP_RATIO); "
                                       f"expected {what}")


__all__ = ["Limits", "check_size", "read_limited", "check_zip", "current_limits", "use_limits"]
