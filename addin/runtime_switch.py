"""``python -m addin runtime {lite,classic} JOURNAL.xlsx``: rewrite a journal's add-in formulas for
the other Excel runtime, touching nothing else in the file.

The two runtimes store a call of an add-in function differently in an .xlsx (sheet XML ``<f>``):

- classic xlwings (VBA wrappers in the custom add-in ``leverage-addin.xlam``): a worksheet function
  of an add-in is written by name, ``EFFECTIVE_LEVERAGE(...)``, which is also what the journal
  builder (openpyxl) writes. Excel itself may save it as an external reference, ``[1]!NAME(...)``
  with an ``xl/externalLinks/`` part naming the add-in file; both are read here as classic.
- Office.js custom functions (xlwings Lite): Excel saves them with the prefix ``_xldudf_`` and the
  namespace joined by an underscore instead of a period: ``=NS.NAME(...)`` is stored as
  ``_xldudf_NS_NAME(...)``, ``=NAME(...)`` (xlwings Lite registers names without a namespace) as
  ``_xldudf_NAME(...)``. A plain ``NAME(...)`` written by another program is not bound to the
  custom function when the file opens (it calculates only once the formula is entered again).

So ``lite`` turns every call of one of the add-in's functions (names from :data:`REGISTRY`) into the
``_xldudf_`` form and ``classic`` turns it back into the plain name. Only formula text changes:
cell formulas, shared/array formulas, table column formulas, conditional-formatting and
data-validation formulas, defined names. String literals, quoted sheet names and bracketed
(structured / external) references inside a formula are left as they are; every other part of the
zip is copied unchanged, in the same order. The file is replaced atomically (or ``--out`` writes a
copy); a journal open in Excel (its ``~$`` lock file beside it) is refused.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

LITE_PREFIX = "_xldudf_"
RUNTIMES = ("lite", "classic")
# Elements whose text is a formula (any namespace prefix: x14 extensions use xm:f).
_FORMULA_ELEMENT = re.compile(
    r"(<(?P<tag>(?:[A-Za-z0-9]+:)?(?:f|formula|formula1|formula2|definedName|calculatedColumnFormula|totalsRowFormula))"
    r"(?:\s[^>]*)?(?<!/)>)(?P<body>[^<]*)(</(?P=tag)>)")
_PARTS = re.compile(r"^xl/(workbook\.xml|worksheets/[^/]+\.xml|tables/[^/]+\.xml)$")
_IDENT = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.\\]*")


class SwitchError(RuntimeError):
    """The journal cannot be rewritten; the message says why."""


def function_names() -> frozenset[str]:
    """The add-in's Excel function names (upper case), from the functions' own metadata."""
    from . import udfs  # noqa: F401 - registers the functions
    from .udf_meta import REGISTRY

    return frozenset(REGISTRY)


def _target_name(name: str, runtime: str, namespace: str) -> str:
    if runtime == "lite":
        return LITE_PREFIX + (f"{namespace.upper()}_" if namespace else "") + name
    return name


def _recognise(ident: str, names: frozenset[str], namespace: str) -> str | None:
    """The add-in function a called identifier means, in either runtime's stored form, or None."""
    upper = ident.upper()
    if upper.startswith(LITE_PREFIX.upper()):
        upper = upper[len(LITE_PREFIX):]
        if namespace and upper.startswith(namespace.upper() + "_") and upper[len(namespace) + 1:] in names:
            return upper[len(namespace) + 1:]
    return upper if upper in names else None


def rewrite_formula(text: str, runtime: str, names: frozenset[str], namespace: str = "") -> tuple[str, int]:
    """``text`` (a formula, without XML escaping) with every call of an add-in function in
    ``runtime``'s stored form; and how many calls changed."""
    out: list[str] = []
    changed = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":  # a string literal or a quoted sheet/book name: "" or '' escapes the quote
            j = i + 1
            while j < n:
                if text[j] == ch and j + 1 < n and text[j + 1] == ch:
                    j += 2
                    continue
                if text[j] == ch:
                    break
                j += 1
            out.append(text[i:j + 1])
            i = j + 1
            continue
        if ch == "[":  # a structured or external reference, nested brackets, ' escapes
            depth, j = 0, i
            while j < n:
                if text[j] == "'" and j + 1 < n:
                    j += 2
                    continue
                depth += {"[": 1, "]": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            group = text[i:j + 1]
            # "[1]!NAME(": how Excel may save a call of a function in an add-in workbook (classic)
            m = _IDENT.match(text, j + 2) if text[j + 1:j + 2] == "!" and group[1:-1].isdigit() else None
            if m and m.end() < n and text[m.end()] == "(" and _recognise(m.group(), names, namespace) \
                    and not m.group().upper().startswith(LITE_PREFIX.upper()):
                if runtime == "lite":
                    out.append(_target_name(_recognise(m.group(), names, namespace), runtime, namespace))
                    changed += 1
                else:
                    out.append(text[i:m.end()])
                i = m.end()
                continue
            out.append(group)
            i = j + 1
            continue
        m = _IDENT.match(text, i) if (ch.isalpha() or ch in "_\\") else None
        if m:
            ident = m.group()
            name = _recognise(ident, names, namespace) if m.end() < n and text[m.end()] == "(" else None
            if name is not None:
                new = _target_name(name, runtime, namespace)
                changed += new != ident
                out.append(new)
            else:
                out.append(ident)
            i = m.end()
            continue
        if ch.isdigit():  # a number or a cell reference's row: never a function name
            j = i
            while j < n and (text[j].isalnum() or text[j] in "._"):
                j += 1
            out.append(text[i:j])
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out), changed


def _unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def _escape(s: str, like: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "&quot;" in like:
        s = s.replace('"', "&quot;")
    if "&apos;" in like:
        s = s.replace("'", "&apos;")
    return s


def rewrite_part(xml: str, runtime: str, names: frozenset[str], namespace: str = "") -> tuple[str, int]:
    """One XML part with its formulas rewritten; and how many calls changed."""
    total = 0

    def one(m: re.Match) -> str:
        nonlocal total
        new, changed = rewrite_formula(_unescape(m["body"]), runtime, names, namespace)
        if not changed:
            return m.group(0)
        total += changed
        return m.group(1) + _escape(new, m["body"]) + m.group(4)

    return _FORMULA_ELEMENT.sub(one, xml), total


@dataclass
class SwitchReport:
    source: Path
    target: Path
    runtime: str
    changed: Counter = field(default_factory=Counter)  # part name -> calls rewritten

    @property
    def total(self) -> int:
        return sum(self.changed.values())


def switch_runtime(journal: Path | str, runtime: str, out: Path | str | None = None,
                   namespace: str = "") -> SwitchReport:
    """Rewrite ``journal``'s add-in formulas for ``runtime`` ("lite" or "classic"), in place or into ``out``."""
    journal = Path(journal)
    target = Path(out) if out is not None else journal
    if runtime not in RUNTIMES:
        raise SwitchError(f"runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    if namespace and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", namespace):
        raise SwitchError(f"--namespace must be letters and digits, starting with a letter (got {namespace!r})")
    if not journal.is_file():
        raise SwitchError(f"{journal}: no such file")
    for path in {journal, target}:
        if (path.parent / f"~${path.name}").exists():
            raise SwitchError(f"{path} is open in Excel (its lock file ~${path.name} is there): close it first")
    names = function_names()
    report = SwitchReport(journal, target, runtime)
    try:
        src = zipfile.ZipFile(journal)
    except zipfile.BadZipFile:
        raise SwitchError(f"{journal}: not an .xlsx workbook (not a zip file)") from None
    with src:
        if "xl/workbook.xml" not in src.namelist():
            raise SwitchError(f"{journal}: not an .xlsx workbook (no xl/workbook.xml)")
        parts: list[tuple[zipfile.ZipInfo, bytes]] = []
        for info in src.infolist():
            data = src.read(info)
            if _PARTS.match(info.filename):
                xml = data.decode("utf-8")
                new, changed = rewrite_part(xml, runtime, names, namespace)
                if changed:
                    report.changed[info.filename] = changed
                    data = new.encode("utf-8")
            parts.append((info, data))
    if target == journal and not report.changed:
        return report  # nothing to do: the file is not touched at all
    tmp = target.with_name(f".{target.name}.runtime-switch.tmp")
    try:
        with zipfile.ZipFile(tmp, "w") as dst:
            for info, data in parts:
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type, zi.external_attr, zi.comment = info.compress_type, info.external_attr, info.comment
                zi.create_system = info.create_system
                dst.writestr(zi, data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return report


def main(args) -> int:
    """The ``runtime`` sub-command (arguments parsed by :mod:`addin.cli`)."""
    try:
        report = switch_runtime(args.journal, args.runtime, args.out, args.namespace or "")
    except (SwitchError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    form = {"lite": f"{LITE_PREFIX}{(args.namespace.upper() + '_') if args.namespace else ''}NAME(...)",
            "classic": "NAME(...)"}[args.runtime]
    if not report.total:
        print(f"{report.source}: no formula needed rewriting: its add-in calls are already in the {args.runtime} form")
        if report.target != report.source:
            print(f"wrote {report.target}")
        return 0
    print(f"{report.target}: {report.total} add-in calls rewritten to the {args.runtime} form {form}:")
    for part, count in sorted(report.changed.items()):
        print(f"  {part}: {count}")
    return 0
