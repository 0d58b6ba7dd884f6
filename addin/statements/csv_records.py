"""CSV records for the statement readers, with damage kept to the record it hit.

:func:`split_records` turns a text into :class:`CsvRecord` objects, each with its 1-based first
line. It never lets one bad record swallow or stop the rest:

* a quote opened on a line and never closed (a cut download, a stray ``"``) would make Python's
  ``csv`` module read every following line into one field; here a record spanning several lines
  that does not fit (``fits``: e.g. the header's field count) becomes a problem record for its
  first line only, and reading resumes on the next line;
* the last line without a line end is marked ``complete = False``.

:func:`read_csv_records` refuses a file whose LAST record is cut (fewer fields than the header, or
ending inside a quoted field): a file cut short has lost everything after the cut, so importing the
rest with exit 0 would be a silently shorter import. The message names the line. Damage anywhere
else is one record's problem: a reader rejects a record whose :func:`field_count_problem` is not
None (the reason names the line) and reads on, so every line ends in the ledger as trade, non-trade
or rejected.

:func:`detect_delimiter` picks ``,`` ``;`` or tab from the header line, for formats whose exports
follow the system's list separator (``;`` in decimal-comma locales).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

from .model import StatementError
from .safety import check_trade_records, current_limits, read_limited

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")


class CsvRecord:
    """One CSV record: its 1-based first line in the file, its fields, whether its last line had a
    line end (``complete``) and, for a record that could not be split cleanly, the ``problem``."""

    __slots__ = ("line", "fields", "complete", "problem", "delimiter")

    def __init__(self, line: int, fields: list[str], complete: bool = True, problem: str | None = None):
        self.line = line
        self.fields = fields
        self.complete = complete
        self.problem = problem
        self.delimiter = ","

    @property
    def is_blank(self) -> bool:
        return self.problem is None and not any(f.strip() for f in self.fields)

    def raw(self, delimiter: str = ",") -> str:
        return delimiter.join(self.fields)[:500]


class _Lines:
    """The file's physical lines, read by csv.reader one at a time; ``pos`` can be moved back."""

    __slots__ = ("lines", "pos")

    def __init__(self, lines: list[str]):
        self.lines, self.pos = lines, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def split_records(text: str, delimiter: str = ",",
                  fits: Callable[[list[str]], bool] | None = None) -> list[CsvRecord]:
    """All records of ``text`` (see the module docstring). ``fits(fields)`` says whether a record
    that spans several lines is plausible; without it such a record is accepted only when every
    field but the quoted ones is on its first line (i.e. it closes its quote)."""
    lines = _LINE.findall(text)
    src = _Lines(lines)
    reader = csv.reader(src, delimiter=delimiter)
    records: list[CsvRecord] = []
    while src.pos < len(lines):
        start = src.pos
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a NUL byte, or a field larger than the csv field limit
            records.append(CsvRecord(start + 1, [lines[start].rstrip("\r\n")],
                                     problem=f"not valid CSV ({exc})"))
            src.pos = start + 1
            reader = csv.reader(src, delimiter=delimiter)
            continue
        end = src.pos
        last_line = lines[end - 1]
        complete = last_line.endswith(("\n", "\r"))
        at_eof = end == len(lines)
        unterminated = at_eof and _open_quote("".join(lines[start:end]), delimiter)
        if end - start > 1 and (unterminated or (fits is not None and not fits(fields))):
            first = lines[start].rstrip("\r\n")
            records.append(CsvRecord(start + 1, [first], problem=(
                "a quote opened on this line is never closed (is the file cut short?)" if unterminated else
                f"a quote opened on this line runs on to line {end}, which does not fit the columns")))
            src.pos = start + 1
            reader = csv.reader(src, delimiter=delimiter)
            continue
        if unterminated:
            records.append(CsvRecord(start + 1, fields, complete=False,
                                     problem="the file ends inside a quoted field of this line (cut short?)"))
            continue
        records.append(CsvRecord(start + 1, fields, complete=complete))
    return records


def _open_quote(raw: str, delimiter: str) -> bool:
    """Whether a record's text ends inside a quoted field (csv's own rules, strict mode)."""
    try:
        for _ in csv.reader([raw], delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def field_count_problem(record: CsvRecord, header: CsvRecord) -> str | None:
    """Why a record cannot be read against the header (its split problem, a cut last line, a field
    count that does not fit), or None."""
    if record.problem:
        return record.problem
    n, m = len(record.fields), len(header.fields)
    if n < m:
        if not record.complete:
            return (f"the file ends in the middle of this line (no line end; {n} of the header's {m} "
                    "fields): is it cut short?")
        return f"the line has {n} of the header's {m} fields (is the file cut short?)"
    if n > m and any(f.strip() for f in record.fields[m:]):
        return f"the line has {n} fields but the header has {m}"
    return None


def decode_text(file: str, data: bytes, encoding: str, expected: str) -> str:
    """``data`` as text; StatementError for binary data or the wrong encoding. A character cut at
    the very end (a truncated UTF-8 sequence) drops only that character: the record it belonged to
    is then short of fields or has no line end, and is rejected."""
    if b"\x00" in data[:65536]:
        raise StatementError(file, f"this is a binary file (or UTF-16 text), not {expected}")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason in ("unexpected end of data",):
            return data[:exc.start].decode(encoding)
        raise StatementError(file, f"not {encoding} text (bad byte at offset {exc.start}); expected {expected}") from None
    except LookupError:
        raise StatementError(file, f"unknown text encoding {encoding!r}") from None


def _iter_lines(text: str):
    """The lines of ``text`` with their line ends, one at a time (``splitlines`` or ``io.StringIO``
    would hold a copy of a 200 MB text)."""
    start, end = 0, len(text)
    while start < end:
        nl = text.find("\n", start)
        if nl < 0:
            yield text[start:]
            return
        yield text[start:nl + 1]
        start = nl + 1


def read_csv_records(path: Path, *, delimiter: str = ",", encoding: str = "utf-8-sig",
                     expected: str = "a CSV file",
                     records_per_trade: int | None = None) -> tuple[CsvRecord, list[CsvRecord], list[CsvRecord]]:
    """Read ``path`` as CSV: (header record, blank records before the header, records after it).
    ``delimiter="auto"``: the one the header line uses (:func:`detect_delimiter`), stored on the
    header record as ``header.delimiter``.

    Raises StatementError (naming the file and ``expected``) for a file that cannot be opened, is
    too large (:mod:`safety`), empty, binary, not in ``encoding``, has no usable header, or whose
    last record is cut (the file was cut short: naming that line). Any other damaged record is
    returned with its ``problem`` (the reader rejects it and reads on). ``records_per_trade``: the
    format's records per trade; then a file whose lines alone could hold more trades than
    ``Limits.max_trades`` has its non-blank records counted and is refused when they are more
    (:func:`safety.check_trade_records`), before the reader parses any.
    """
    file = str(path)
    data = read_limited(Path(path))
    if not data.strip():
        raise StatementError(file, f"the file is empty; expected {expected}")
    text = decode_text(file, data, encoding, expected)
    del data
    if delimiter == "auto":
        first = next((ln for ln in _iter_lines(text.lstrip("\ufeff")) if ln.strip()), "").rstrip("\r\n")
        delimiter = detect_delimiter(first)
    budget = current_limits().max_trades
    if records_per_trade and budget is not None and text.count("\n") + 1 > budget * records_per_trade:
        # Lines are an upper bound on records: only a file that might not fit is counted, by the
        # stdlib's csv.reader over the lines one at a time (no record kept), before anything is
        # split or parsed.
        try:
            rows = csv.reader(_iter_lines(text.lstrip("\ufeff")), delimiter=delimiter)
            data_records = sum(1 for fields in rows if any(f.strip() for f in fields)) - 1  # less the header
        except csv.Error:  # a damaged record: left to the record-by-record reading below
            data_records = 0
        check_trade_records(file, data_records, records_per_trade)
    header_len: list[int] = []
    records = split_records(text, delimiter,
                            fits=lambda fields: bool(header_len) and len(fields) == header_len[0])
    # the header is the first non-blank record; records are split before it is known, so a
    # multi-line record is checked against it afterwards (fits() says no until then)
    leading: list[CsvRecord] = []
    while records and records[0].is_blank:
        leading.append(records.pop(0))
    if not records:
        raise StatementError(file, f"the file has no header row; expected {expected}")
    header = records.pop(0)
    if header.problem:
        raise StatementError(file, f"line {header.line}, the header: {header.problem}; expected {expected}")
    header.fields = [h.strip() for h in header.fields]
    header.delimiter = delimiter
    _refuse_a_cut_end(file, header, records, expected)
    if any(r.problem and "runs on to line" in r.problem for r in records):
        # resplit now that the header's field count is known: a quoted multi-line field that fits is fine
        header_len.append(len(header.fields))
        again = split_records(text, delimiter, fits=lambda fields: len(fields) == header_len[0])
        while again and again[0].line <= header.line:
            again.pop(0)
        records = again
    return header, leading, records


def _refuse_a_cut_end(file: str, header: CsvRecord, records: list[CsvRecord], expected: str) -> None:
    """A last record cut in the middle (fewer fields than the header, or inside a quoted field) is
    a file cut short -- a partial download or copy: everything after the cut is missing, so the
    file is refused as a whole, naming that line, rather than imported in part with exit 0. The
    same damage on any other line is that line's problem alone (rejected, the rest read)."""
    last = next((r for r in reversed(records) if not r.is_blank), None)
    if last is None:
        return
    cut = last.problem if last.problem and "cut short" in last.problem else None
    if cut is None and not last.problem and len(last.fields) < len(header.fields):
        cut = (f"the file ends in the middle of this line ({len(last.fields)} of the header's "
               f"{len(header.fields)} fields): it looks cut short")
    if cut:
        raise StatementError(file, f"line {last.line}, the last line: {cut}; nothing imported (a partial "
                                   f"download or copy? export the file again); expected {expected}")


def detect_delimiter(line: str) -> str:
    """``,`` ``;`` or tab: the one that splits the header line into the most fields (``,`` on a tie)."""
    best, best_n = ",", 1
    for d in (",", ";", "\t"):
        try:
            n = len(next(csv.reader([line], delimiter=d)))
        except (csv.Error, StopIteration):
            continue
        if n > best_n:
            best, best_n = d, n
    return best


def head_first_line(head: bytes) -> str:
    """The first non-blank line of a file's first bytes, decoded leniently (BOM dropped)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if b"\x00" in head[:4096]:
        return ""
    text = head.decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def head_columns(head: bytes) -> list[str]:
    """The header cells of a CSV file's first line, split by its own delimiter ([] when it does not parse)."""
    line = head_first_line(head)
    if not line:
        return []
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=detect_delimiter(line)))]
    except (csv.Error, StopIteration):
        return []


__all__ = ["CsvRecord", "split_records", "field_count_problem", "read_csv_records", "decode_text",
           "detect_delimiter", "head_first_line", "head_columns"]
