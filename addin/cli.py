"""python -m addin (also the leverage-addin command): the add-in's command line.

Sub-commands live beside the code they drive; this module only parses arguments and reports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def _formats() -> list[tuple[str, str]]:
    """(--format name, description) of every statement reader."""
    from .statements import readers
    return [(r.FORMAT, r.DESCRIPTION) for r in readers()]


FILL_EPILOG = """\
statement formats (--format; detected from the file when left out):
{formats}

--mapping: a JSON file that says which CSV column holds which trade field, for a broker export the
add-in does not know. Example (addin/statements/example_mapping.json is a complete one):
  {{"broker": "My Broker", "account": "12345", "date_format": "%Y-%m-%d %H:%M:%S",
   "columns": {{"trade_id": "Ticket", "symbol": "Instrument", "side": "Direction", "quantity": "Lots",
               "entry": "Open price", "exit": "Close price", "open_time": "Open time",
               "close_time": "Close time", "profit": "Profit"}},
   "sides": {{"long": ["buy"], "short": ["sell"]}}}}
  python -m addin fill trades.csv --format csv --mapping my_mapping.json --journal Journal.xlsx

Your edits are safe: a fill changes only what the statement says about the trades it holds (times,
prices, size, costs, profit, Source, Flags), appends new trades, and leaves every other cell, column,
sheet, chart and setting of the journal as you left it. Stop and Target you typed are never replaced.
The previous version is kept as <journal>.bak1 (the last five are kept).

exit codes: 0 written, every statement total matched; 1 written, but a statement's totals do not match
its rows (the last line names the rejected rows that explain it); 2 refused, nothing written (one line
says why); 70 unexpected error, a bug in the add-in (report the message).

examples:
  python -m addin fill --sample --journal SampleJournal.xlsx
  python -m addin fill Statement.htm --journal Journal.xlsx
  python -m addin fill Statement.htm --journal Journal.xlsx --leverage 1:100 --regulator FCA --equity "25 000"
  python -m addin fill Statement.htm EURUSD_M1.csv --journal Journal.xlsx   (MAE, MFE, Lowest margin level)
  python -m addin fill Statement.htm --prices bars.csv --prices-symbol bars.csv=GBPUSD --journal Journal.xlsx
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m addin", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fill = sub.add_parser(
        "fill", help="read broker statements into a trade journal, every risk figure computed",
        description="Read broker statements and merge their trades into a trade journal (.xlsx): new "
                    "trades appended, changed ones updated, everything you typed kept.",
        epilog=FILL_EPILOG.format(formats="\n".join(f"  {k:<14} {v}" for k, v in _formats())),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    fill.add_argument("statements", nargs="*", type=Path, metavar="STATEMENT",
                      help="exported statement files (see the formats below)")
    fill.add_argument("--journal", type=Path, required=True, metavar="FILE.xlsx",
                      help="the journal: created from the template if missing, merged into if present")
    fill.add_argument("--sample", action="store_true", help="fill from the bundled sample statement")
    fill.add_argument("--format", dest="fmt", metavar="FORMAT", choices=[k for k, _ in _formats()],
                      help="statement format, one of: " + ", ".join(k for k, _ in _formats())
                      + " (default: detected from the file; csv needs --mapping)")
    fill.add_argument("--mapping", type=Path, metavar="FILE.json",
                      help="JSON column mapping for --format csv (example below)")
    fill.add_argument("--leverage", metavar="L",
                      help='account leverage for trades whose statement lacks it: 30, "1:30" or "30:1"')
    fill.add_argument("--regulator", metavar="NAME",
                      help="regime for the leverage caps: ESMA, FCA, ASIC, NFA, JFSA, REGT, or NONE (offshore broker or "
                           "professional client: no retail leverage cap, the account leverage as it is)")
    fill.add_argument("--equity", metavar="AMOUNT",
                      help='account balance before the first trade, e.g. 25000 or "25 000" (replaces the '
                           "statement's opening deposits)")
    fill.add_argument("--stop-out-level", metavar="RATE",
                      help='margin level at which the broker closes positions, e.g. 50%% or 0.5')
    fill.add_argument("--restore-deleted", action="store_true",
                      help="add back trades you deleted from the journal (normally a deleted trade stays deleted)")
    fill.add_argument("--prices", type=Path, action="append", default=[], metavar="BARS.csv",
                      help="a price-bar file (MetaTrader 5/4 export, TradingView chart export, Binance klines) "
                           "for the MAE, MFE and Lowest margin level columns; repeatable. A bar file among the "
                           "STATEMENT files is recognised by its content as well")
    fill.add_argument("--prices-symbol", action="append", default=[], metavar="[FILE=]SYMBOL",
                      help="the symbol of a bar file whose name does not say it (EURUSD_M1.csv, "
                           "BTCUSDT-1m-2024-01.csv and \"BINANCE_BTCUSDT, 60.csv\" do); FILE=SYMBOL names the "
                           "file, a bare SYMBOL applies to every bar file whose name says none; repeatable")
    fill.add_argument("--prices-tz", action="append", default=[], metavar="[FILE=]ZONE",
                      help="the time zone of bar times the file does not state (MetaTrader bars are in the "
                           "broker's server time, as its statements: leave it out to take both on one clock); "
                           "for UTC bars (Binance, TradingView) the zone of the statement's times, into which "
                           "the bars are converted. E.g. UTC+2 or Europe/Athens; repeatable")
    fill.add_argument("--symbol", metavar="SYMBOL",
                      help="the instrument of a TradingView list of trades (its file holds none; "
                           "default: the symbol in the file's name, with a warning)")
    fill.add_argument("--no-progress", action="store_true", help="no progress bar")

    tpl = sub.add_parser("template", help="write an empty trade journal to a file you name",
                         description="Write an empty trade journal (no trades, default settings and "
                                     "instruments) to FILE.xlsx. An existing file is never overwritten.",
                         epilog="example:\n  python -m addin template MyJournal.xlsx",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    tpl.add_argument("out", type=Path, metavar="FILE.xlsx", help="where to write the journal")

    plan = sub.add_parser("plan", help="record the Planner's plan into the journal's Plans table",
                          description="Record the plan on the journal's Planner sheet (its inputs as last saved, "
                                      "its figures computed) as a new row of the Plans table, each figure a value. "
                                      "A later fill matches it to the trade it became (see the Plans sheet).",
                          epilog="example:\n  python -m addin plan --journal MyJournal.xlsx",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    plan.add_argument("--journal", type=Path, required=True, metavar="FILE.xlsx", help="the journal (saved, closed)")

    sub.add_parser("functions", help="print the Excel function reference (Markdown) from the functions' metadata",
                   description="Print the reference of every Excel function the add-in provides, as Markdown.")

    lite = sub.add_parser("lite", help="write main.py and requirements.txt for xlwings Lite",
                          description="Write the two files to paste into the xlwings Lite pane in Excel.")
    lite.add_argument("--out", type=Path, default=Path("lite"), metavar="FOLDER",
                      help="folder for main.py and requirements.txt (default: ./lite)")

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

    setup = sub.add_parser("setup", help="configure classic xlwings for this machine (run by the install/ scripts)",
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
        if args.command == "plan":
            from .plans import run_plan
            return run_plan(args)
        if args.command == "template":
            return _template(args.out)
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
    except Exception as exc:  # a bug: the traceback to report, then one plain last line
        import traceback
        traceback.print_exc()
        print(f"python -m addin {args.command}: unexpected error ({type(exc).__name__}: {exc}). This is a bug in "
              f"the add-in, not in your files: please report it with the lines above. "
              + (_FILL_STATE if args.command == "fill" else ""), file=sys.stderr)
        return EXIT_BUG
    return 2


#: Exit code of an unexpected error (a bug), distinct from 1 (a fill whose statement totals do not
#: match) and 2 (a refusal: nothing written). 70 is EX_SOFTWARE of BSD's sysexits.h.
EXIT_BUG = 70
_FILL_STATE = ("The journal is never half-written: it is as it was, or fully updated with the previous "
               "version kept as <journal>.bak1.")


def _template(out: Path) -> int:
    from .fill.backups import replace_with
    from .journal.workbook import build_journal

    if out.suffix.lower() != ".xlsx":
        print(f"template: {out} must end in .xlsx", file=sys.stderr)
        return 2
    if out.exists():
        print(f"template: {out} exists; not overwritten (choose another name)", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"template: the folder {out.parent} does not exist", file=sys.stderr)
        return 2
    try:
        replace_with(out, lambda tmp: build_journal(tmp, []))
    except OSError as exc:
        print(f"template: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0
