"""The journal as it prints: a journal filled from real broker statements, exported to PDF by
LibreOffice (headless), read back word by word with ``pdftotext -bbox`` (poppler-utils).

* No number format shows a bare trailing dot in Excel ("30.", "100,000."): no format has optional
  decimals only (``0.##``); LibreOffice's rendering has no number ending in a dot either.
* No cell prints ### and no label is cut by the cell to its right: every label of every sheet, and
  every message of a calculated column, is found whole in its sheet's pages.
* Page layout: Dashboard and Planner on one page each; Trades at a legible size (every word's box at
  least 7 points high) with the header row and the id columns on every page; every page names its
  sheet in its header (which is how the test tells the sheets' pages apart).
* Booleans print as TRUE/FALSE, never 1/0.
* The page setup and the widths survive a later fill.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest

from addin.fill import fill_journal
from addin.journal import columns as C
from addin.journal import schema
from addin.journal.workbook import PRINT, TRADES_SCALE
from conftest import STATEMENTS
from tools.render_docs import convert, soffice

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not on PATH: apt-get install libreoffice-calc"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"),
]

REAL = ("mt4_statement_html", "mt5_report", "ibkr_activity_statement_csv", "ibkr_flex_xml",
        "binance_usdm_futures_trades")
MIN_HEIGHT = 7.0  # points: the box of every word on the Trades pages


def _statements() -> list[Path]:
    paths = [p for d in REAL if (STATEMENTS / d).is_dir() for p in sorted((STATEMENTS / d).iterdir())]
    if len(paths) < 10:
        pytest.skip("real broker exports not available")
    return paths


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("print") / "journal.xlsx"
    fill_journal(_statements(), path, progress=False)
    return path


def _words(pdf: Path) -> list[dict]:
    """Per page: {"sheet": the page header's sheet name, "words": [(x0, y0, x1, y1, text)], "text"}."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for body in re.findall(r"<page [^>]*>(.*?)</page>", out, re.S):
        words = [(float(a), float(b), float(c), float(d), html.unescape(t)) for a, b, c, d, t in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', body)]
        if not words:
            continue
        head = min(words, key=lambda w: (round(w[1]), w[0]))
        pages.append({"sheet": head[4], "words": [w for w in words if w is not head]})
    return pages


def _layout_text(pdf: Path) -> list[str]:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")


@pytest.fixture(scope="module")
def printed(filled, tmp_path_factory):
    pdf = convert(filled, "pdf", tmp_path_factory.mktemp("pdf"), timeout=600)
    pages = _words(pdf)
    texts = _layout_text(pdf)
    by_sheet: dict[str, list[int]] = defaultdict(list)
    for k, p in enumerate(pages):
        by_sheet[p["sheet"]].append(k)
    flat = {s: " ".join(re.sub(r"\s+", " ", texts[k]) for k in ks) for s, ks in by_sheet.items()}
    return pages, by_sheet, flat


def _formats(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/styles.xml").decode("utf-8")
    return [html.unescape(f) for f in re.findall(r'<numFmt [^>]*formatCode="([^"]*)"', xml)]


def _bare_dot(fmt: str) -> bool:
    """A format whose decimals are all optional: Excel shows a whole number with a trailing dot."""
    code = re.sub(r'"[^"]*"', "", fmt)
    return bool(re.search(r"\.#", code))


def test_no_number_format_can_end_in_a_bare_dot(filled):
    formats = _formats(filled)
    assert len(formats) >= 8
    assert [f for f in formats if _bare_dot(f)] == []
    assert _bare_dot("0.##") and _bare_dot('#,##0.####"x"') and not _bare_dot("#,##0.00##") and not _bare_dot('"1:"General')
    for col in C.COLUMNS:
        assert not _bare_dot(col.number_format), col.name


def test_libreoffice_prints_no_number_with_a_trailing_dot(printed):
    _, _, flat = printed
    # (Stats is left out: its R-multiple chart wraps the bin names "0.5R" at the dot; its cells'
    # formats are among those scanned above.)
    for sheet in ("Trades", "Dashboard", "Account", "Planner", "Instruments", "Caps", "Cash"):
        bad = re.findall(r"(?<![\w.,])\d[\d,]*\.(?=\s)", flat[sheet])
        assert not bad, (sheet, bad[:10])


def test_no_cell_prints_hashes(printed):
    pages, by_sheet, _ = printed
    hashes = [(p["sheet"], w[4]) for p in pages for w in p["words"] if "###" in w[4]]
    assert not hashes, hashes[:20]
    assert set(PRINT) <= set(by_sheet), sorted(by_sheet)


def _labels(path: Path) -> dict[str, list[str]]:
    """Per sheet: the text cells (labels, notes, and the text of formula cells) that the cell to
    their right would cut if the column were too narrow."""
    wb = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    out: dict[str, list[str]] = {}
    for title in PRINT:
        if title == "Trades":
            continue
        ws, wv = wb[title], cached[title]
        merged = {c for rng in ws.merged_cells.ranges for c in rng.cells}
        got = []
        for row in ws.iter_rows():
            for cell in row:
                v = wv[cell.coordinate].value
                if not isinstance(v, str) or not v.strip() or (cell.row, cell.column) in merged:
                    continue
                if cell.alignment is not None and cell.alignment.wrap_text:
                    continue
                right = ws.cell(row=cell.row, column=cell.column + 1).value
                if right in (None, ""):
                    continue
                got.append(re.sub(r"\s+", " ", v.strip()))
        out[title] = got
    return out


def test_no_label_is_cut(filled, printed):
    _, _, flat = printed
    labels = _labels(filled)
    assert sum(map(len, labels.values())) > 100
    cut = [(title, text) for title, texts in labels.items() for text in texts
           if text not in flat[title] and len(text) <= 40]
    assert not cut, cut[:20]
    # the labels that used to be cut
    for title, text in (("Dashboard", "Gain needed to recover MaxDrawdown"), ("Dashboard", "Losses in a row to MaxDrawdown"),
                        ("Stats", "Came within 1.5x of the stop-out")):
        assert text in labels[title] and text in flat[title], text


def test_the_trades_messages_print_whole(filled, printed):
    _, _, flat = printed
    ws = openpyxl.load_workbook(filled, data_only=True, read_only=True)["Trades"]
    calc = {C.INDEX[c.name] for c in C.CALCS}
    messages = {v for row in ws.iter_rows(min_row=2, values_only=True) for j, v in enumerate(row)
                if j in calc and isinstance(v, str) and v}
    assert len(messages) >= 5 and any(m.startswith("no ESMA cap for") for m in messages)
    missing = [m for m in messages if m not in flat["Trades"]]
    assert not missing, missing


def test_page_counts_and_legible_trades(filled, printed):
    pages, by_sheet, _ = printed
    assert len(by_sheet["Dashboard"]) == 1
    assert len(by_sheet["Planner"]) == 1
    trades = by_sheet["Trades"]
    assert len(trades) > 10  # 1,000+ trades over the width of every column
    small = [(k, w[4], round(w[3] - w[1], 2)) for k in trades for w in pages[k]["words"] if w[3] - w[1] < MIN_HEIGHT]
    assert not small, small[:10]
    first_id = str(next(openpyxl.load_workbook(filled, read_only=True)["Trades"].iter_rows(
        min_row=2, max_row=2, values_only=True))[0])
    for k in trades:  # the header row and the id columns on every page
        words = [w[4] for w in pages[k]["words"]]
        assert "Trade" in words and "ID" in words and "No." in words, k
    assert sum(first_id in [w[4] for w in pages[k]["words"]] for k in trades) >= 2  # its row across pages


def test_booleans_print_as_words(filled, printed):
    pages, by_sheet, flat = printed
    ws = openpyxl.load_workbook(filled, data_only=True, read_only=True)["Trades"]
    flags = [v for row in ws.iter_rows(min_row=2, values_only=True) for v in row if isinstance(v, bool)]
    words = [w[4] for k in by_sheet["Trades"] for w in pages[k]["words"] if w[4] in ("TRUE", "FALSE")]
    assert len(flags) > 100 and len(words) == len(flags)
    assert re.search(r"Account is base currency (TRUE|FALSE)", flat["Planner"]), "the Planner's boolean"


def _setup(path: Path) -> dict[str, tuple]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for title in PRINT:
        ws = wb[title]
        ps = ws.page_setup
        widths = {k: d.width for k, d in ws.column_dimensions.items()}
        out[title] = ((ps.orientation, ps.paperSize, ps.fitToWidth, ps.fitToHeight, ps.scale, ps.pageOrder,
                       ws.sheet_properties.pageSetUpPr.fitToPage, ws.print_title_rows, ws.print_title_cols,
                       ws.page_margins.left, ws.page_margins.top, ws.oddHeader.left.text,
                       ws.oddFooter.right.text), widths)
    return out


def test_the_page_setup_is_as_documented_and_survives_a_fill(filled, tmp_path):
    before = _setup(filled)
    for title, (orientation, wide, tall, titles) in PRINT.items():
        setup = before[title][0]
        assert setup[0] == orientation and setup[11] == "&A", title
        if wide is None:
            assert setup[4] == TRADES_SCALE and setup[6] is False and setup[5] == "overThenDown"
        else:
            assert setup[6] is True and (setup[2], setup[3]) == (wide, tall), title
    assert before["Trades"][0][7:9] == ("$1:$1", "$A:$B")
    again = tmp_path / "again.xlsx"
    shutil.copy(filled, again)
    fill_journal([STATEMENTS / "tradovate_performance_csv" / "arielSofer_Performance.csv"], again, progress=False)
    after = _setup(again)
    for title in PRINT:
        assert after[title][0] == before[title][0], title
        narrower = {k: (w, after[title][1].get(k)) for k, w in before[title][1].items()
                    if w and (after[title][1].get(k) or 0) < w}
        assert not narrower, (title, narrower)


def test_the_drawdown_axis_shows_decimals(filled):
    with zipfile.ZipFile(filled) as zf:
        charts = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/charts/chart")]
    drawdown = [c for c in charts if "Drawdown of trading P/L only" in c]
    assert drawdown and 'formatCode="0.0%"' in drawdown[0]
