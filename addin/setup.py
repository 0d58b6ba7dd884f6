"""``python -m addin setup ...``: the Python side of install/windows.ps1 and install/unix.sh.

Desktop Excel on Windows runs the functions through classic xlwings: a VBA wrapper per function
calls Python over COM. The wrappers live in a custom add-in, ``leverage-addin.xlam``, built from
xlwings' own template ``xlwings/quickstart_addin.xlam`` - exactly what ``xlwings quickstart NAME
--addin`` copies - so they are available in every workbook and the trade journal stays a plain .xlsx.

The template is white-label: its VBA says ``PROJECT_NAME = "myaddin"``, its VBA project is called
``MyAddin`` and its conf sheet ``_myaddin.conf``, whatever the file is called, so two add-ins built
from it on one PC would share one config folder. xlwings' custom add-in docs say to rename all three;
this add-in carries the product's name, :data:`PRODUCT` (``leverage-addin``), everywhere:

- the file ``leverage-addin.xlam`` (no ribbon: the template without one is used, so no "MyAddin" tab);
- its conf sheet ``leverage-addin.conf`` (renamed by :func:`build_addin`, in the zip);
- ``PROJECT_NAME = "leverage-addin"`` in its ``xlwings`` VBA module and the VBA project name
  ``LeverageAddin`` (set by :func:`name_vba_project` through Excel in ``import-functions``, the step
  that has Excel open with VBA project access anyway; the rest of xlwings' VBA is left as it is);
- so the add-in reads its settings from, first match wins: the sheet ``leverage-addin.conf`` of the
  active workbook, then of the add-in; ``leverage-addin.conf`` beside the active workbook; the user
  file ``%USERPROFILE%\\.leverage-addin\\leverage-addin.conf`` (macOS:
  ``~/Library/Containers/com.microsoft.Excel/Data/leverage-addin.conf``); each a list of
  ``"KEY","value"`` lines, keys case-insensitive. (xlwings' own add-in reads ``~/.xlwings/xlwings.conf``
  instead; a custom add-in does not.) :func:`build_addin` writes only ``UDF Modules`` into the add-in's
  conf sheet (the same on every PC) and :func:`write_conf` puts this PC's ``INTERPRETER_WIN`` into the
  user file.

Sub-commands: see ``python -m addin setup --help`` (each step's ``--help`` explains its options).
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
PRODUCT = "leverage-addin"  # this add-in's name: .xlam, conf sheet, config folder and file, PROJECT_NAME
VBA_PROJECT_NAME = "LeverageAddin"  # VBA project names are identifiers: no hyphen
ADDIN_NAME = f"{PRODUCT}.xlam"
LEGACY_ADDIN_NAMES = ("leverage.xlam",)  # what earlier versions installed into XLSTART
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


def user_conf_path(project: str = PRODUCT, platform: str | None = None, home: Path | None = None) -> Path:
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
    """Copy xlwings' custom add-in template to ``out`` with its conf sheet enabled, named
    ``leverage-addin.conf`` and holding
    ``settings`` (default: ``UDF Modules = addin.udfs``) and nothing else, so that per-user
    settings (the interpreter) come from the user config file. The VBA project is copied byte for
    byte: it is xlwings' own, matching the installed xlwings version and its DLL (its PROJECT_NAME is
    set by :func:`name_vba_project` when the functions are imported)."""
    settings = {"UDF Modules": UDF_MODULES} if settings is None else dict(settings)
    template = Path(template) if template is not None else template_path()
    out = Path(out)
    sheet_old, sheet_new = f"_{TEMPLATE_PROJECT}.conf", f"{PRODUCT}.conf"
    with zipfile.ZipFile(template) as src:
        names = src.namelist()
        workbook = src.read("xl/workbook.xml").decode("utf-8")
        if f'name="{sheet_old}"' not in workbook:
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
        for legacy in LEGACY_ADDIN_NAMES:  # the same functions under an old name would clash
            if legacy != target.name and (xlstart / legacy).exists():
                (xlstart / legacy).unlink()
                print(f"removed the add-in's earlier version {xlstart / legacy}")
    except PermissionError as exc:
        raise SetupError(f"cannot write {target}: close Excel and run the installer again ({exc})") from None
    return target


_PROJECT_NAME_LINE = re.compile(r'^(\s*Public Const PROJECT_NAME As String = )"[^"]*"(.*)$')


def name_vba_project(vbproject, project: str = PRODUCT, vba_name: str = VBA_PROJECT_NAME) -> int:
    """Give the add-in's VBA project the product's name, as xlwings' custom add-in docs describe:
    ``PROJECT_NAME`` in the ``xlwings`` module (its settings: ``<project>.conf``) and the project's
    name. ``vbproject`` is Excel's ``Workbook.VBProject`` (COM). Returns the line changed; only that
    line is touched. Idempotent."""
    components = vbproject.VBComponents
    for index in range(1, components.Count + 1):
        module = components.Item(index).CodeModule
        count = module.CountOfLines
        if not count:
            continue
        for number, line in enumerate(str(module.Lines(1, count)).splitlines(), start=1):
            m = _PROJECT_NAME_LINE.match(line)
            if m:
                module.ReplaceLine(number, f'{m[1]}"{project}"{m[2]}')
                vbproject.Name = vba_name
                return number
    raise SetupError("the add-in's VBA has no 'Public Const PROJECT_NAME' line: this xlwings template is not "
                     "supported (rebuild the add-in with `python -m addin setup build-addin`)")


def import_functions(addin: Path, module: str = UDF_MODULES) -> None:  # pragma: no cover - needs Excel
    """Name the add-in's VBA project (:func:`name_vba_project`), write the VBA wrappers of ``module``
    into it with xlwings' own ``import_udfs`` (the ribbon's "Import Functions"), then save it.
    Windows with desktop Excel only."""
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
        name_vba_project(book.api.VBProject)
        udfs.import_udfs(module, book.api)
        book.save()
        book.close()
    finally:
        app.quit()


# --- command line ----------------------------------------------------------------------------------

SETUP_STEPS = f"""\
install/windows.ps1 runs these steps in this order (each can be run alone; all print what they do and
exit 1 or 3 with a message saying what to do when they fail):

  1. config            this PC's settings into the add-in's user config file
                       ({str(user_conf_path(platform="win32", home=Path("%USERPROFILE%"))).replace("/", chr(92))})
  2. build-addin       {ADDIN_NAME} from xlwings' own custom add-in template, its conf sheet named
                       {PRODUCT}.conf and holding "UDF Modules" = {UDF_MODULES}
  3. import-functions  Excel opens it hidden: the VBA project takes the name {VBA_PROJECT_NAME} and
                       PROJECT_NAME "{PRODUCT}", then xlwings' import_udfs writes one VBA wrapper per
                       function (Windows, desktop Excel, "Trust access to the VBA project object model")
  4. install-addin     copy it into Excel's XLSTART folder, so every workbook has the functions

paths prints where each of these goes on this PC.
"""


def _win(path_of) -> str:
    """A default path as Windows shows it, for help texts (argparse needs % doubled)."""
    return str(path_of(platform="win32", home=Path("%USERPROFILE%"))).replace("/", "\\").replace("%", "%%")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m addin setup", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Set up desktop Excel for the add-in (classic xlwings, the {ADDIN_NAME} add-in).",
        epilog=SETUP_STEPS)
    sub = p.add_subparsers(dest="step", required=True, metavar="STEP")
    sub.add_parser("paths", help="print where things go on this platform: user config, add-in, XLSTART, python",
                   description="Print the user config file the add-in reads, where the built add-in is kept, "
                               "Excel's XLSTART folder and this Python: nothing is changed.")
    cfg = sub.add_parser("config", help='step 1: merge settings into the add-in\'s user config ("KEY","value" lines)',
                         description="Merge settings into the add-in's user config file: INTERPRETER_WIN "
                                     "(INTERPRETER_MAC on a Mac) and UDF MODULES always, plus any KEY=VALUE given. "
                                     "A key already in the file (any case) gets the new value in place; other "
                                     "lines are kept.")
    cfg.add_argument("--file", type=Path,
                     help=f"config file to write (default: {_win(user_conf_path)} "
                          "on Windows, the same name in Excel's container on a Mac)")
    cfg.add_argument("--interpreter",
                     help="python.exe of the environment the add-in runs (default: the Python running this command)")
    cfg.add_argument("--udf-modules", default=UDF_MODULES,
                     help=f"Python module(s) holding the functions, ';'-separated (default: {UDF_MODULES})")
    cfg.add_argument("extra", nargs="*", metavar="KEY=VALUE",
                     help='more settings, e.g. "PYTHONPATH=C:\\work" (keys as in xlwings\' config)')
    build = sub.add_parser("build-addin", help=f"step 2: build {ADDIN_NAME} from xlwings' custom add-in template",
                           description=f"Copy xlwings' quickstart add-in template (the installed xlwings version, "
                                       f"its VBA byte for byte) to {ADDIN_NAME}, with its conf sheet enabled, named "
                                       f"{PRODUCT}.conf and holding only UDF Modules.")
    build.add_argument("--out", type=Path, default=None,
                       help=f"where to write the add-in (default: {_win(default_addin_path)})")
    imp = sub.add_parser("import-functions",
                         help="step 3: name the VBA project and write the function wrappers into the add-in (Windows, Excel)",
                         description=f"Open the add-in in a hidden Excel, set its VBA project name ({VBA_PROJECT_NAME}) "
                                     f"and PROJECT_NAME (\"{PRODUCT}\"), write one VBA wrapper per function of "
                                     f"{UDF_MODULES} with xlwings' own import_udfs, save. Needs desktop Excel on "
                                     "Windows and, once, 'Trust access to the VBA project object model' (exit code 3 "
                                     "and the clicks to make when it is off). Close Excel first.")
    imp.add_argument("--addin", type=Path, default=None, help="the add-in to import into (default: the one build-addin wrote)")
    inst = sub.add_parser("install-addin", help="step 4: copy the add-in into Excel's XLSTART folder",
                          description="Copy the add-in into Excel's XLSTART folder (as 'xlwings addin install -f' "
                                      "does), so Excel opens it at start-up and every workbook has the functions; "
                                      f"an earlier version installed as {', '.join(LEGACY_ADDIN_NAMES)} is removed "
                                      "(the same functions twice would clash). Close Excel first.")
    inst.add_argument("--addin", type=Path, default=None, help="the add-in to install (default: the one build-addin wrote)")
    inst.add_argument("--xlstart", type=Path, default=None, help="the start-up folder (default: this user's XLSTART)")
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
