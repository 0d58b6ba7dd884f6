"""``python -m addin`` (also the ``leverage-addin`` script): the add-in's command line.

Sub-commands live beside the code they drive; this module only parses arguments and reports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_JOURNAL = Path("workbooks") / "TradeJournal.xlsx"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m addin", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    fill = sub.add_parser("fill", help="read broker statements into a trade journal, every risk figure computed")
    fill.add_argument("statements", nargs="*", type=Path, metavar="STATEMENT",
                      help="exported statement files (MetaTrader 4/5, Interactive Brokers, TradingView, Tradovate, CSV)")
    fill.add_argument("--journal", type=Path, required=True, help="the journal .xlsx: created from the template if missing, merged into if present")
    fill.add_argument("--sample", action="store_true", help="fill from the bundled sample statement")
    fill.add_argument("--format", dest="fmt", help="statement format (default: detected); 'csv' needs --mapping")
    fill.add_argument("--mapping", type=Path, help="JSON column mapping for a generic CSV (see docs)")
    fill.add_argument("--leverage", help='account leverage when the statement lacks it, e.g. 30 or "1:30"')
    fill.add_argument("--regulator", help="regime for leverage caps: ESMA, FCA, ASIC, NFA, JFSA, REGT")
    fill.add_argument("--equity", type=float, help="account equity before the first trade (replaces the statement's opening deposits)")
    fill.add_argument("--no-progress", action="store_true", help="no progress bar")

    tpl = sub.add_parser("template", help="build the empty template journal")
    tpl.add_argument("--out", type=Path, default=DEFAULT_JOURNAL)

    sub.add_parser("functions", help="print the Excel function reference (Markdown) from the functions' metadata")

    lite = sub.add_parser("lite", help="write main.py and requirements.txt for xlwings Lite")
    lite.add_argument("--out", type=Path, default=Path("lite"))

    rt = sub.add_parser("runtime", help="rewrite a journal's add-in formulas for xlwings Lite or the classic add-in",
                        description="Rewrite every call of the add-in's functions in a journal (.xlsx) into the form "
                                    "the chosen Excel runtime stores: 'lite' = xlwings Lite / Office.js custom "
                                    "functions (_xldudf_NAME), 'classic' = the Windows add-in (plain NAME), the form "
                                    "the journal is built with. Nothing else in the workbook changes.")
    rt.add_argument("runtime", choices=("lite", "classic"), help="the runtime the journal will be opened with")
    rt.add_argument("journal", type=Path, help="the journal .xlsx (close it in Excel first)")
    rt.add_argument("--out", type=Path, help="write the result here instead of replacing the journal")
    rt.add_argument("--namespace", default="",
                    help="custom-functions namespace of the Office.js add-in, if it has one (xlwings Lite has none)")

    setup = sub.add_parser("setup", help="configure xlwings for this machine (used by install/ scripts)",
                           add_help=False)  # its --help is setup's own: every step and option
    setup.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["setup"]:  # all of it, --help too, is setup's (argparse's REMAINDER drops a leading option)
        from .setup import main as setup_main
        return setup_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "fill":
            from .fill import run_fill
            return run_fill(args)
        if args.command == "template":
            from .journal.template import write_template
            write_template(args.out)
            print(f"wrote {args.out}")
            return 0
        if args.command == "functions":
            from .reference import function_reference
            sys.stdout.write(function_reference())
            return 0
        if args.command == "lite":
            from .lite import write_lite
            for path in write_lite(args.out):
                print(f"wrote {path}")
            return 0
        if args.command == "runtime":
            from .runtime_switch import main as runtime_main
            return runtime_main(args)
        if args.command == "setup":
            from .setup import main as setup_main
            return setup_main(args.rest)
    except KeyboardInterrupt:
        return 130
    return 2
