"""Opening an untrusted .xlsx without trusting it: the zip's sizes and ratios are checked before
anything is decompressed, every member is read once with its CRC checked (a file cut short or
damaged fails here, naming the file), and XML with a DTD (entity-expansion bombs; an XLSX never
needs one) is refused before openpyxl parses it.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from pathlib import Path

from .model import StatementError

MAX_MEMBER_BYTES = 256 * 1024 * 1024  # one uncompressed part (a 1M-row sheet is ~100-200 MB)
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for parts over 1 MiB (sheet XML compresses ~10x)
_RATIO_FLOOR = 1024 * 1024


def check_xlsx(path: Path, expected: str) -> None:
    """Raise StatementError (naming the file and ``expected``) unless ``path`` is a sane XLSX zip."""
    file = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise StatementError(file, f"not a readable .xlsx (the zip directory is missing: is the file cut short?); "
                                   f"expected {expected}") from None
    except OSError as exc:
        raise StatementError(file, f"cannot open: {exc.strerror or exc}") from None
    with zf:
        infos = zf.infolist()
        total = 0
        for info in infos:
            size, packed = info.file_size, max(info.compress_size, 1)
            total += size
            if size > MAX_MEMBER_BYTES:
                raise StatementError(file, f"part {info.filename!r} would unpack to {size:,} bytes (limit "
                                           f"{MAX_MEMBER_BYTES:,}): refused as a zip bomb; expected {expected}")
            if size > _RATIO_FLOOR and size / packed > MAX_RATIO:
                raise StatementError(file, f"part {info.filename!r} is compressed {size / packed:,.0f}:1 (limit "
                                           f"{MAX_RATIO}:1): refused as a zip bomb; expected {expected}")
        if total > MAX_TOTAL_BYTES:
            raise StatementError(file, f"the workbook would unpack to {total:,} bytes (limit {MAX_TOTAL_BYTES:,}): "
                                       f"refused; expected {expected}")
        if not any(i.filename.startswith("xl/worksheets/") for i in infos):
            raise StatementError(file, f"a zip without worksheets, not an .xlsx; expected {expected}")
        for info in infos:
            try:
                data = zf.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise StatementError(file, f"part {info.filename!r} is damaged or cut short ({exc}); "
                                           f"expected {expected}") from None
            if info.filename.endswith((".xml", ".rels")) and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
                raise StatementError(file, f"part {info.filename!r} declares a DTD/entities, which no Excel "
                                           f"file needs: refused; expected {expected}")


def xlsx_rows(path: Path, expected: str) -> list[tuple[int, list]]:
    """(1-based worksheet row, cell values) of the first worksheet, after :func:`check_xlsx`.
    Trailing empty cells are dropped; an empty row is an empty list."""
    import openpyxl

    check_xlsx(path, expected)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise StatementError(str(path), f"cannot open as an Excel workbook ({type(exc).__name__}: {exc}); "
                                        f"expected {expected}") from None
    try:
        rows = []
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some exporters write a wrong <dimension> (Binance: "A1"), which read-only mode trusts
        for n, row in enumerate(ws.iter_rows(values_only=True), 1):
            values = list(row)
            while values and (values[-1] is None or (isinstance(values[-1], str) and not values[-1].strip())):
                values.pop()
            rows.append((n, values))
        return rows
    finally:
        wb.close()
