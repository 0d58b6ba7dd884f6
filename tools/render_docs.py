"""Render one sheet of a workbook to PNG the way a user sees it: LibreOffice -> PDF -> pdftoppm.

A developer's tool, not part of the installed package: it makes the pictures in ``docs/`` and the
tests use its :func:`convert` to open journals in LibreOffice.

LibreOffice prints every visible sheet, each within its print area and page setup (the Dashboard
sets a print area and fit-to-one-page). To get one sheet, a copy of the package is made with every
other sheet hidden (by editing ``xl/workbook.xml`` in the zip: re-saving through openpyxl would drop
the cached values), then LibreOffice converts it to PDF with a fresh profile directory (concurrent
``soffice`` processes must not share one) and ``pdftoppm`` rasterises the first page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout


def soffice() -> str | None:
    """Path of the LibreOffice binary, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


# LibreOffice's "Recalculation on file load" for Excel 2007+ files: 0 always, 1 never, 2 prompt
# (the default, which headless treats as never: it shows the cached values).
_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""


def convert(src: Path, fmt: str, outdir: Path, timeout: float = 180, recalc: bool = False) -> Path:
    """``soffice --headless --convert-to fmt`` with a throw-away profile; the converted file's path.
    ``recalc``: LibreOffice recalculates every formula on loading (as if it had no cached values)."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    if recalc:
        (profile / "user").mkdir()
        (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU.format(mode=0), encoding="utf-8")
    try:
        subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(outdir), str(src)],
                       check=True, capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = outdir / (src.stem + "." + fmt.split(":")[0])
    if not out.exists():
        raise RuntimeError(f"LibreOffice did not write {out}")
    return out


def only_sheet(xlsx: Path, sheet_name: str, dest: Path) -> Path:
    """Copy ``xlsx`` to ``dest`` with every sheet but ``sheet_name`` hidden and that one active."""
    with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/workbook.xml":
                xml = data.decode("utf-8")
                names = re.findall(r'<sheet [^>]*name="([^"]*)"', xml)
                if sheet_name not in names:
                    raise KeyError(f"no sheet {sheet_name!r} in {xlsx} (sheets: {', '.join(names)})")

                def state(m: re.Match) -> str:
                    tag = re.sub(r'\s+state="[^"]*"', "", m.group(0))
                    want = "visible" if m.group(1) == sheet_name else "hidden"
                    return tag.replace("<sheet ", f'<sheet state="{want}" ', 1)
                xml = re.sub(r'<sheet [^>]*name="([^"]*)"[^>]*/>', state, xml)
                keep = names.index(sheet_name)
                # LibreOffice prints a hidden sheet's print area: drop the other sheets' print areas.
                xml = re.sub(r'<definedName name="_xlnm\.Print_(?:Area|Titles)" localSheetId="(\d+)"[^>]*>[^<]*</definedName>',
                             lambda m: m.group(0) if int(m.group(1)) == keep else "", xml)
                xml = re.sub(r'activeTab="\d+"', f'activeTab="{names.index(sheet_name)}"', xml)
                xml = re.sub(r'firstSheet="\d+"', f'firstSheet="{names.index(sheet_name)}"', xml)
                data = xml.encode("utf-8")
            out.writestr(info, data)
    return dest


def render_sheet_png(xlsx_path: str | Path, sheet_name: str, png_path: str | Path, dpi: int = 110) -> Path:
    """Render ``sheet_name`` of ``xlsx_path`` (its first printed page) to ``png_path``."""
    xlsx_path, png_path = Path(xlsx_path), Path(png_path)
    if shutil.which("pdftoppm") is None:
        raise RuntimeError("pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        tmpdir = Path(tmp)
        one = only_sheet(xlsx_path, sheet_name, tmpdir / "sheet.xlsx")
        pdf = convert(one, "pdf", tmpdir)
        stem = tmpdir / "page"
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                       check=True, capture_output=True, timeout=120)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stem.with_suffix(".png"), png_path)
    return png_path


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.render_docs [PNG [SHEET]]``: a sheet (default the Dashboard) of a journal
    filled from the bundled sample statement (as ``python -m addin fill --sample`` does: trades,
    deposits, the statement's opening balance), rendered to ``docs/dashboard.png`` (the picture in
    the README); ``docs/stats.png Stats`` and ``docs/account.png Account`` render the others shown."""
    import sys

    from addin.fill import fill_journal, sample_statement

    args = sys.argv[1:] if argv is None else argv
    png = Path(args[0]) if args else ROOT / "docs" / "dashboard.png"
    sheet = args[1] if len(args) > 1 else "Dashboard"
    with tempfile.TemporaryDirectory(prefix="journal-") as tmp:
        xlsx = Path(tmp) / "TradeJournal.xlsx"
        fill_journal([sample_statement()], xlsx, progress=False)
        render_sheet_png(xlsx, sheet, png)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
