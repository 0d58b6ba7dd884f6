"""``python -m addin setup ...``: the Python side of install/windows.ps1 and install/unix.sh.

Desktop Excel on Windows runs the functions through classic xlwings: a VBA wrapper per function
calls Python over COM. The wrappers live in a custom add-in (``leverage.xlam``) built from xlwings'
own template ``xlwings/quickstart_addin.xlam`` - exactly what ``xlwings quickstart NAME --addin``
copies - so they are available in every workbook and the trade journal stays a plain .xlsx.

How xlwings' custom add-in template finds its settings (its VBA, ``xlwings_custom_addin.bas``):
``PROJECT_NAME = "myaddin"`` is compiled into the template and is the same whatever the file is
called, so the add-in reads, first match wins:

1. a sheet ``myaddin.conf`` in the active workbook, then in the add-in itself (the template ships
   it disabled as ``_myaddin.conf``; a key present there with an empty value hides the layers below),
2. ``myaddin.conf`` beside the active workbook,
3. the user file ``%USERPROFILE%\\.myaddin\\myaddin.conf`` (macOS: ``~/Library/Containers/com.microsoft.Excel/Data/myaddin.conf``),

each a list of ``"KEY","value"`` lines, keys case-insensitive. (xlwings' own add-in reads
``~/.xlwings/xlwings.conf`` instead; the custom add-in does not.) So :func:`build_addin` writes only
``UDF Modules`` into the add-in's conf sheet (the same on every PC) and :func:`write_conf` puts this
PC's ``INTERPRETER_WIN`` into the user file.

Sub-commands (all print what they do and exit non-zero with a message on failure):

- ``paths``: where things go on this platform.
- ``config [--file F] [--interpreter EXE] [--udf-modules M] [KEY=VALUE ...]``: merge settings into the user file.
- ``build-addin --out F.xlam``: the custom add-in from xlwings' template, conf sheet filled in.
- ``import-functions --addin F.xlam`` (Windows, Excel installed): write the VBA wrappers into the
  add-in with xlwings' own ``import_udfs`` (needs "Trust access to the VBA project object model").
- ``install-addin --addin F.xlam [--xlstart DIR]``: copy it into Excel's XLSTART folder.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

TEMPLATE_PROJECT = "myaddin"  # PROJECT_NAME compiled into xlwings' custom add-in template
ADDIN_NAME = "leverage.xlam"
UDF_MODULES = "addin.udfs"
TRUST_HELP = (
    "Excel refused to let Python write the function wrappers into the add-in: "
    '"Trust access to the VBA project object model" is off. Turn it on once: Excel > File > Options > '
    "Trust Center > Trust Center Settings... > Macro Settings > tick 'Trust access to the VBA project "
    "object model' > OK, close Excel, then run the installer again (you may turn it off afterwards: "
    "it is needed only while the functions are imported)."
)


class SetupError(RuntimeError):
    """A set-up step failed; the message says what to do."""


# --- paths ------------------------------------------------------------------------------------------

def template_path() -> Path:
    """xlwings' custom add-in template (the file ``xlwings quickstart NAME --addin`` copies)."""
    import xlwings

    path = Path(xlwings.__file__).parent / "quickstart_addin.xlam"
    if not path.exists():
        raise SetupError(f"xlwings' add-in template is missing: {path} (reinstall xlwings)")
    return path


def user_conf_path(project: str = TEMPLATE_PROJECT, platform: str | None = None, home: Path | None = None) -> Path:
    """The user config file the custom add-in reads (GetConfigFilePath in its VBA)."""
    platform = platform or sys.platform
    home = Path(home) if home is not None else Path.home()
    if platform.startswith("darwin"):
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / f"{project}.conf"
    return home / f".{project}" / f"{project}.conf"


def xlstart_dir(platform: str | None = None, env: dict | None = None, home: Path | None = None) -> Path:
    """Excel's per-user start-up folder: workbooks and add-ins there open with Excel."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = Path(home) if home is not None else Path.home()
    if platform.startswith("win"):
        appdata = env.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    if platform.startswith("darwin"):
        return home / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content" / "Startup" / "Excel"
    raise SetupError("desktop Excel add-ins exist only on Windows and macOS")


def default_addin_path(platform: str | None = None, home: Path | None = None) -> Path:
    """Where the installer keeps the built add-in before installing it (beside the user config)."""
    return user_conf_path(platform=platform, home=home).parent / ADDIN_NAME


# --- "KEY","value" config files ------------------------------------------------------------------------

_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"\s*$')


def read_conf(path: Path) -> dict[str, str]:
    """The settings of an xlwings config file (``"KEY","value"`` lines), keys as written."""
    out: dict[str, str] = {}
    if Path(path).exists():
        for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
            m = _LINE.match(line)
            if m:
                out[m[1]] = m[2]
    return out


def write_conf(path: Path, settings: dict[str, str]) -> bool:
    """Merge ``settings`` into the config file: a key already there (any case) gets the new value in
    place, new keys are appended, other lines are kept. Returns whether the file changed."""
    path = Path(path)
    for key, value in settings.items():
        for s in (key, value):
            if '"' in s or "\n" in s or "\r" in s:
                raise SetupError(f"config entries cannot contain quotes or line breaks: {s!r}")
    old = path.read_text(encoding="utf-8-sig").splitlines() if path.exists() else []
    pending = {k.upper(): (k.upper(), v) for k, v in settings.items()}
    lines: list[str] = []
    for line in old:
        m = _LINE.match(line)
        if m and m[1].upper() in pending:
            key, value = pending.pop(m[1].upper())
            lines.append(f'"{key}","{value}"')
        elif m and m[1].upper() in {k.upper() for k in settings}:
            continue  # a second line for a key just set: xlwings would read only the first
        elif line.strip():
            lines.append(line)
    lines += [f'"{k}","{v}"' for k, v in pending.values()]
    text = "\n".join(lines) + "\n"
    if path.exists() and path.read_text(encoding="utf-8-sig") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


# --- the custom add-in ------------------------------------------------------------------------------

def _conf_sheet_xml(template_xml: str, settings: dict[str, str]) -> tuple[str, list[str]]:
    strings: list[str] = []
    rows = []
    for r, (key, value) in enumerate(settings.items(), start=1):
        cells = []
        for col, text in (("A", key), ("B", value)):
            strings.append(text)
            cells.append(f'<c r="{col}{r}" s="1" t="s"><v>{len(strings) - 1}</v></c>')
        rows.append(f'<row r="{r}" spans="1:2">{"".join(cells)}</row>')
    xml = re.sub(r"<sheetData>.*</sheetData>|<sheetData\s*/>", f"<sheetData>{''.join(rows)}</sheetData>",
                 template_xml, count=1, flags=re.S)
    xml = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:B{max(1, len(settings))}" />', xml, count=1)
    return xml, strings


def _shared_strings_xml(strings: list[str]) -> str:
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')


def build_addin(out: Path, settings: dict[str, str] | None = None, template: Path | None = None) -> Path:
    """Copy xlwings' custom add-in template to ``out`` with its conf sheet enabled and holding
    ``settings`` (default: ``UDF Modules = addin.udfs``) and nothing else, so that per-user
    settings (the interpreter) come from the user config file. The VBA project is copied byte for
    byte: it is xlwings' own, matching the installed xlwings version and its DLL."""
    settings = {"UDF Modules": UDF_MODULES} if settings is None else dict(settings)
    template = Path(template) if template is not None else template_path()
    out = Path(out)
    sheet_old, sheet_new = f"_{TEMPLATE_PROJECT}.conf", f"{TEMPLATE_PROJECT}.conf"
    with zipfile.ZipFile(template) as src:
        names = src.namelist()
        workbook = src.read("xl/workbook.xml").decode("utf-8")
        if f'name="{sheet_old}"' not in workbook and f'name="{sheet_new}"' not in workbook:
            raise SetupError(f"{template.name}: no '{sheet_old}' sheet; this xlwings template is not supported")
        workbook = workbook.replace(f'name="{sheet_old}"', f'name="{sheet_new}"')
        sheet_xml, strings = _conf_sheet_xml(src.read("xl/worksheets/sheet1.xml").decode("utf-8"), settings)
        replaced = {
            "xl/workbook.xml": workbook.encode("utf-8"),
            "xl/worksheets/sheet1.xml": sheet_xml.encode("utf-8"),
            "xl/sharedStrings.xml": _shared_strings_xml(strings).encode("utf-8"),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            for name in names:
                info = src.getinfo(name)
                data = replaced.get(name, src.read(name))
                zi = zipfile.ZipInfo(name, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(zi, data)
    os.replace(tmp, out)
    return out


def addin_settings(path: Path) -> tuple[str, dict[str, str]]:
    """(conf sheet name, its settings) of an add-in file: what the VBA will read."""
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode("utf-8")
        sheet = re.search(r'<sheet name="([^"]+)"', workbook)[1]
        sst = re.findall(r"<t[^>]*>(.*?)</t>", z.read("xl/sharedStrings.xml").decode("utf-8"), flags=re.S)
        xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    cells = {ref: sst[int(v)] for ref, v in re.findall(r'<c r="([A-Z]+\d+)"[^>]*t="s"[^>]*><v>(\d+)</v></c>', xml)}
    settings = {}
    row = 1
    while f"A{row}" in cells:
        settings[cells[f"A{row}"]] = cells.get(f"B{row}", "")
        row += 1
    return sheet, settings


def install_addin(addin: Path, xlstart: Path | None = None) -> Path:
    """Copy the add-in into Excel's XLSTART folder (as ``xlwings addin install -f`` does)."""
    xlstart = Path(xlstart) if xlstart is not None else xlstart_dir()
    xlstart.mkdir(parents=True, exist_ok=True)
    target = xlstart / Path(addin).name
    try:
        shutil.copyfile(addin, target)
    except PermissionError as exc:
        raise SetupError(f"cannot write {target}: close Excel and run the installer again ({exc})") from None
    return target


def import_functions(addin: Path, module: str = UDF_MODULES) -> None:  # pragma: no cover - needs Excel
    """Write the VBA wrappers of ``module`` into the add-in with xlwings' own ``import_udfs``
    (the ribbon's "Import Functions"), then save it. Windows with desktop Excel only."""
    if not sys.platform.startswith("win"):
        raise SetupError("importing functions into the add-in needs desktop Excel on Windows")
    import pywintypes
    import xlwings as xw
    from xlwings import udfs

    app = xw.App(visible=False, add_book=False)
    try:
        app.display_alerts = False
        book = app.books.open(str(Path(addin).resolve()))
        try:
            book.api.VBProject.VBComponents.Count
        except pywintypes.com_error:
            raise SetupError(TRUST_HELP) from None
        udfs.import_udfs(module, book.api)
        book.save()
        book.close()
    finally:
        app.quit()


# --- command line ----------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m addin setup", description="configure Excel for the add-in")
    sub = p.add_subparsers(dest="step", required=True)
    sub.add_parser("paths", help="print where things go on this platform")
    cfg = sub.add_parser("config", help='merge settings into the add-in\'s user config ("KEY","value" lines)')
    cfg.add_argument("--file", type=Path, help="config file (default: the custom add-in's user config)")
    cfg.add_argument("--interpreter", help="python.exe of the add-in's environment (default: this one)")
    cfg.add_argument("--udf-modules", default=UDF_MODULES)
    cfg.add_argument("extra", nargs="*", metavar="KEY=VALUE")
    build = sub.add_parser("build-addin", help="build the custom add-in from xlwings' template")
    build.add_argument("--out", type=Path, default=None)
    imp = sub.add_parser("import-functions", help="write the VBA wrappers into the add-in (Windows, Excel)")
    imp.add_argument("--addin", type=Path, default=None)
    inst = sub.add_parser("install-addin", help="copy the add-in into Excel's XLSTART folder")
    inst.add_argument("--addin", type=Path, default=None)
    inst.add_argument("--xlstart", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.step == "paths":
            print(f"user config: {user_conf_path()}")
            print(f"add-in:      {default_addin_path()}")
            try:
                print(f"XLSTART:     {xlstart_dir()}")
            except SetupError as exc:
                print(f"XLSTART:     none ({exc})")
            print(f"python:      {sys.executable}")
            return 0
        if args.step == "config":
            path = args.file or user_conf_path()
            key = "INTERPRETER_MAC" if sys.platform.startswith("darwin") else "INTERPRETER_WIN"
            settings = {key: args.interpreter or sys.executable, "UDF MODULES": args.udf_modules}
            for item in args.extra:
                if "=" not in item:
                    raise SetupError(f"expected KEY=VALUE, got {item!r}")
                k, v = item.split("=", 1)
                settings[k.strip()] = v.strip()
            changed = write_conf(path, settings)
            print(f"{'updated' if changed else 'unchanged'}: {path}")
            for k, v in read_conf(path).items():
                print(f'  "{k}","{v}"')
            return 0
        if args.step == "build-addin":
            out = build_addin(args.out or default_addin_path())
            sheet, settings = addin_settings(out)
            print(f"built {out} from xlwings' template (conf sheet '{sheet}': {settings})")
            return 0
        if args.step == "import-functions":
            addin = args.addin or default_addin_path()
            print(f"importing the functions of {UDF_MODULES} into {addin} (Excel opens hidden)...")
            import_functions(addin)
            print(f"imported: {addin}")
            return 0
        if args.step == "install-addin":
            target = install_addin(args.addin or default_addin_path(), args.xlstart)
            print(f"installed {target}: Excel loads it at start-up")
            return 0
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (OSError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2
