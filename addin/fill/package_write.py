"""Writing the edited package: the Trades sheet streamed, replaced parts, the calculation chain and
`fullCalcOnLoad`, a new sheet registered."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..journal import columns as C
from .xlsx_edit import (CT_SHEET, REL_SHEET, Package, split_ref)


class _Buffered:
    """Text written in ~1 MB pieces to a binary stream."""

    def __init__(self, raw):
        self.raw, self.parts, self.size = raw, [], 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.raw.write("".join(self.parts).encode("utf-8"))
            self.parts, self.size = [], 0


def _extend(ref: str, old_last: int, new_last: int) -> str:
    a, _, b = ref.partition(":")
    if not b:
        return ref
    m = re.match(r'^(\$?[A-Z]+\$?)(\d+)$', b)
    if m and int(m.group(2)) == old_last:
        return f"{a}:{m.group(1)}{new_last}"
    return ref


def _extend_tail(tail: str, r0: int, old_last: int, new_last: int, c0: int, c1: int) -> str:
    """Conditional formats and validations over the table's rows grow with it."""
    if new_last == old_last:
        return tail

    def sq(m: re.Match) -> str:
        parts = []
        for p in m.group(2).split():
            a, _, b = p.partition(":")
            try:
                ca, ra = split_ref(a)
                cb, rb = split_ref(b) if b else (ca, ra)
            except ValueError:
                parts.append(p)
                continue
            if b and rb == old_last and ra <= r0 + 1 and c0 <= ca and cb <= c1:
                parts.append(_extend(p, old_last, new_last))
            elif not b and ra == old_last == r0 + 1 and c0 <= ca <= c1:  # a one-row table's single cell
                parts.append(f"{p}:{p.rstrip('0123456789')}{new_last}")
            else:
                parts.append(p)
        return m.group(1) + " ".join(parts) + m.group(3)
    return re.sub(r'(\bsqref=")([^"]*)(")', sq, tail)


def fit_dimension(xml: bytes) -> bytes:
    """A (small) sheet's ``<dimension>`` grown to its last row, for the readers that trust it
    (openpyxl's read-only mode, pandas) after rows were appended to the sheet."""
    m = re.search(rb'(<(?:\w+:)?dimension ref=")([^"]*)(")', xml[:2000])
    rows = re.findall(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"', xml)
    if m is None or not rows:
        return xml
    last = max(int(r) for r in rows)
    a, _, b = m.group(2).decode().partition(":")
    end = re.match(r"^([A-Z]+)(\d+)$", b or a)
    if end is None or int(end.group(2)) >= last:
        return xml
    ref = f"{a}:{end.group(1)}{last}"
    return xml[:m.start(2)] + ref.encode() + xml[m.end(2):]


def _full_calc(wb_xml: str) -> str:
    m = re.search(r'<((?:\w+:)?)calcPr\b([^>]*?)(/?)>', wb_xml)
    if m is None:
        return wb_xml.replace("</workbook>", '<calcPr fullCalcOnLoad="1"/></workbook>')
    attrs = re.sub(r'\s*fullCalcOnLoad="[^"]*"', "", m.group(2))
    return wb_xml[:m.start()] + f'<{m.group(1)}calcPr{attrs} fullCalcOnLoad="1"{m.group(3)}>' + wb_xml[m.end():]


def _drop_calc_chain(pkg: Package, replaced: dict[str, bytes]) -> set[str]:
    """Excel's calculation chain lists formula cells; with new ones it is dropped (Excel rebuilds it
    silently, as after any writer that does not keep it)."""
    if "xl/calcChain.xml" not in pkg.names:
        return set()
    rels = replaced.get("xl/_rels/workbook.xml.rels", pkg.zf.read("xl/_rels/workbook.xml.rels")).decode("utf-8")
    replaced["xl/_rels/workbook.xml.rels"] = re.sub(r'<Relationship\b[^>]*calcChain[^>]*/>', "", rels).encode("utf-8")
    ct = replaced.get("[Content_Types].xml", pkg.zf.read("[Content_Types].xml")).decode("utf-8")
    replaced["[Content_Types].xml"] = re.sub(r'<Override\b[^>]*calcChain[^>]*/>', "", ct).encode("utf-8")
    return {"xl/calcChain.xml"}


def _write_zip(pkg: Package, out_path: Path, replaced: dict[str, bytes], drop: set[str], trades_part: str,
               write_trades: Callable, new_sheet: tuple[str, bytes] | None) -> None:
    if new_sheet is not None:
        name, data = new_sheet
        replaced[name] = data
        rels = replaced.get("xl/_rels/workbook.xml.rels", pkg.zf.read("xl/_rels/workbook.xml.rels")).decode("utf-8")
        ids = {int(x) for x in re.findall(r'Id="rId(\d+)"', rels)}
        rid = f"rId{max(ids, default=0) + 1}"
        target = name[len("xl/"):]
        rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>'
                                                "</Relationships>")
        replaced["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
        ct = replaced.get("[Content_Types].xml", pkg.zf.read("[Content_Types].xml")).decode("utf-8")
        ct = ct.replace("</Types>", f'<Override PartName="/{name}" ContentType="{CT_SHEET}"/></Types>')
        replaced["[Content_Types].xml"] = ct.encode("utf-8")
        wb = replaced["xl/workbook.xml"].decode("utf-8")
        sheet_ids = [int(x) for x in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bsheetId="(\d+)"', wb)]
        m = re.search(r'</((?:\w+:)?)sheets>', wb)
        p = m.group(1)
        wb = (wb[:m.start()] + f'<{p}sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
              f'name="{C.LEDGER_SHEET}" sheetId="{max(sheet_ids, default=0) + 1}" state="hidden" r:id="{rid}"/>'
              + wb[m.start():])
        replaced["xl/workbook.xml"] = wb.encode("utf-8")
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        written = set()
        for info in pkg.zf.infolist():
            if info.filename in drop:
                continue
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = info.compress_type
            zi.external_attr = info.external_attr
            written.add(info.filename)
            if info.filename == trades_part:
                zi.compress_type = zipfile.ZIP_DEFLATED
                with out.open(zi, "w", force_zip64=True) as fh:
                    write_trades(fh)
                continue
            data = replaced.get(info.filename)
            if data is None:
                data = pkg.zf.read(info.filename)
            out.writestr(zi, data)
        for name, data in replaced.items():
            if name not in written:
                zi = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(zi, data)
