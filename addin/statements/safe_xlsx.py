"""Opening an untrusted .xlsx without trusting it: the zip's sizes, member count and ratios are
checked from its directory before anything is decompressed,
every member is then read once with its CRC checked (a file cut short or damaged fails here,
naming the file), and XML declaring a DTD or entities (entity-expansion bombs; an XLSX never needs
one), in UTF-8 or UTF-16, is refused before openpyxl parses it.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from pathlib import Path

from .model import StatementError
from .safety import check_zip

def check_xlsx(path: Path, expected: str) -> None:
    """Raise StatementError (naming the file and ``expected``) unless ``path`` is a sane XLSX zip."""
    file = str(path)
    check_zip(path, expected)  # sizes, member count and ratios, from the zip's directory
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise StatementError(file, f"not a readable .xlsx ({exc}); expected {expected}") from None
    with zf:
        infos = zf.infolist()
        if not any(i.filename.startswith("xl/worksheets/") for i in infos):
            raise StatementError(file, f"a zip without worksheets, not an .xlsx; expected {expected}")
        for info in infos:
            try:
                data = zf.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise StatementError(file, f"part {info.filename!r} is damaged or cut short ({exc}); "
                                           f"expected {expected}") from None
            plain = data.replace(b"\x00", b"") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data
            if info.filename.endswith((".xml", ".rels")) and (b"<!DOCTYPE" in plain or b"<!ENTITY" in plain):
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
