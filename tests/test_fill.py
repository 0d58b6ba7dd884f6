"""``python -m addin fill``: broker statements into a trade journal, checked the way a trader would.

What a trader expects of the command: the sample works out of the box; every trade of a real export
lands in the journal unaltered, with the gaps (contract size, FX rate, equity, leverage) filled and
every assumption written into Flags; re-importing adds nothing; overlapping exports merge; a bad file
or a journal open in Excel leaves the journal byte-for-byte as it was; statement text never becomes
a formula. The real exports live in ../shared/statements/ (tests skip, saying so, without them).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pty
import select
import subprocess
import sys
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import openpyxl
import pytest
from conftest import STATEMENTS, shared_statement
from openpyxl import load_workbook

from addin.cli import main as cli_main
from addin.fill import _named, fill_journal, sample_statement
from addin.fill.enrich import opening_balance
from addin.journal.instruments import lookup
from journal_reader import read_journal
from addin.journal.settings import Settings
from addin.statements import read_statement

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = Settings()

# The formats fill imports, by the folder of ../shared/statements/ that holds real exports of each.
IMPORTABLE_DIRS = (
    "mt4_statement_html",
    "mt5_report",
    "ibkr_flex_xml",
    "ibkr_activity_statement_csv",
    "tradingview_list_of_trades_csv",
    "tradovate_performance_csv",
)
def real_files() -> list[str]:
    """Every file of the importable folders, as paths relative to ../shared/statements/. A missing
    folder stays in the list as itself, so its test skips saying what is missing."""
    out = []
    for d in IMPORTABLE_DIRS:
        folder = STATEMENTS / d
        if folder.is_dir():
            out += [f"{d}/{p.name}" for p in sorted(folder.iterdir()) if p.is_file()]
        else:
            out.append(d)
    return out


REAL_FILES = real_files()


def file_params() -> list:
    """REAL_FILES as parameters named by file."""
    return [pytest.param(r, id=r.rsplit("/", 1)[-1][:48]) for r in REAL_FILES]


def cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command line, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "addin", "fill", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=120)


def cli_inprocess(*args) -> tuple[int, str, str]:
    """The same command line in this process (``python -m addin`` runs exactly ``addin.cli.main``),
    for the many-file parametrised checks where a fresh interpreter per case would be slow."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = cli_main(["fill", *map(str, args)])
    return rc, out.getvalue(), err.getvalue()


def folder_listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def net_closed(trades) -> float:
    return math.fsum(t.net_profit for t in trades if t.is_closed and t.net_profit is not None)


def has_flag(trade, text: str) -> bool:
    return any(text in f for f in trade.flags)


def file_block(summary: str, file: str) -> str:
    """The summary's block for one statement file (from its header line to the next blank line)."""
    lines = summary.splitlines()
    file = Path(str(file)).name  # the summary names the statement file, not its folder
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{file}  ["))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[start:end])


def summary_value(block: str, label: str) -> str:
    for line in block.splitlines():
        if line.strip().startswith(label + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label!r} line in:\n{block}")


# ---------------------------------------------------------------------------------------------
# The bundled sample
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """``fill --sample`` twice into the same new journal, run from a folder outside the project."""
    where = tmp_path_factory.mktemp("sample")
    journal = where / "SampleJournal.xlsx"
    first = cli("--sample", "--journal", journal, cwd=where)
    first_bytes = journal.read_bytes() if journal.exists() else b""
    first_contents = read_journal(journal) if journal.exists() else None
    second = cli("--sample", "--journal", journal, cwd=where)
    return where, journal, first, first_bytes, first_contents, second


def test_the_sample_command_creates_a_journal_holding_every_sample_trade(sample_runs):
    where, journal, first, _, contents, _ = sample_runs
    assert first.returncode == 0, first.stderr
    statement = read_statement(sample_statement())
    assert statement.trades, "the bundled sample has trades"
    assert f"created {journal}" in first.stdout
    assert f"({len(statement.trades)} trades in all)" in first.stdout
    block = file_block(first.stdout, statement.file)
    assert summary_value(block, "trades read") == str(len(statement.trades))
    assert summary_value(block, "added") == str(len(statement.trades))
    assert summary_value(block, "unchanged") == "0"
    assert summary_value(block, "rejected") == str(len(statement.rejected))
    assert {t.key for t in contents.trades} == {t.key for t in statement.trades}
    assert len(contents.trades) == len(statement.trades)


def test_the_sample_lives_in_the_installed_package():
    path = sample_statement()
    assert path.is_file()
    assert Path(path).resolve().is_relative_to((ROOT / "addin").resolve())


def test_re_running_the_sample_changes_nothing_and_says_so(sample_runs):
    where, journal, _, first_bytes, first_contents, second = sample_runs
    assert second.returncode == 0, second.stderr
    n = len(first_contents.trades)
    assert f"no changes: {journal} already holds everything in the statements ({n} trades)" in second.stdout
    block = file_block(second.stdout, str(sample_statement()))
    assert summary_value(block, "added") == "0"
    assert summary_value(block, "updated") == "0"
    assert summary_value(block, "unchanged") == str(n)
    assert journal.read_bytes() == first_bytes, "nothing to change: the journal is not rewritten"
    assert "previous version" not in second.stdout
    # nothing but the journal in the folder (no backup of an unchanged file, no temporary or lock files)
    assert sorted(p.name for p in where.iterdir()) == [journal.name]


def test_the_sample_journal_settings_come_from_the_statement(sample_runs):
    _, _, _, _, contents, _ = sample_runs
    s = read_statement(sample_statement())
    first_open = min(t.open_time for t in s.trades if t.open_time)
    deposits_before = math.fsum(e.amount for e in s.balance_events if e.time and e.time < first_open)
    assert contents.settings.account_currency == s.account_currency == "USD"
    assert contents.settings.account_leverage == s.leverage
    assert contents.settings.starting_balance == pytest.approx(deposits_before)
    assert deposits_before > 0


# ---------------------------------------------------------------------------------------------
# Every real export
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """relative path -> (statement as the reader reads it, journal path, journal read back); one
    fresh journal per real file, filled once for the whole module."""
    cache: dict[str, tuple] = {}
    where = tmp_path_factory.mktemp("real")

    def get(relative: str):
        if relative not in cache:
            path = shared_statement(relative)
            if path.is_dir():
                pytest.skip(f"{path} is a folder")
            statement = _named(read_statement(path))  # the journal's Source names the file, not its folder
            journal = where / (path.name + ".xlsx")
            fill_journal([path], journal, progress=False)
            cache[relative] = (statement, journal, read_journal(journal))
        return cache[relative]

    return get


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_every_trade_of_a_real_export_reaches_the_journal_unaltered(filled, relative):
    statement, _, contents = filled(relative)
    keys = [t.key for t in statement.trades]
    # no two trades of one statement share (broker, account, trade id): merging would drop one
    assert len(set(keys)) == len(keys), [k for k, n in Counter(keys).items() if n > 1][:5]
    assert len(contents.trades) == len(set(keys))
    by_key = {t.key: t for t in contents.trades}
    assert set(by_key) == set(keys)
    for t in statement.trades:
        j = by_key[t.key]
        for name in ("symbol", "side", "quantity", "entry", "exit", "stop", "target", "commission",
                     "swap", "taxes", "profit", "comment", "source"):
            assert getattr(j, name) == getattr(t, name), (t.trade_id, name)
        for name in ("open_time", "close_time"):
            a, b = getattr(j, name), getattr(t, name)
            assert (a is None) == (b is None), (t.trade_id, name)
            if a is not None:
                assert abs((a - b.replace(tzinfo=None)).total_seconds()) < 0.001, (t.trade_id, name, a, b)
        # what the statement states is kept, not replaced by a default
        for name in ("contract_size", "fx_to_account", "equity", "leverage", "asset_class",
                     "quote_currency", "account_currency"):
            if getattr(t, name) is not None:
                assert getattr(j, name) == getattr(t, name), (t.trade_id, name)
        assert set(t.flags) <= set(j.flags)


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_closed_trade_net_pnl_is_the_same_in_the_journal_as_in_the_statement(filled, relative):
    statement, journal, contents = filled(relative)
    assert net_closed(contents.trades) == pytest.approx(net_closed(statement.trades), abs=1e-6)
    # and what the trader sees: the Trades table's calculated Net P/L column (cached values)
    wb = load_workbook(journal, read_only=True, data_only=True)
    ws = wb["Trades"]
    header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]
    col = header.index("Net P/L")
    shown = [r[col] for r in ws.iter_rows(min_row=2, values_only=True)]
    wb.close()
    shown = [v for v in shown if isinstance(v, (int, float))]
    assert len(shown) == sum(1 for t in statement.trades if t.is_closed and t.net_profit is not None)
    assert math.fsum(shown) == pytest.approx(net_closed(statement.trades), abs=1e-6)


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_the_rejected_sheet_holds_exactly_the_statements_rejected_rows(filled, relative):
    statement, _, contents = filled(relative)
    want = [(r.source.file, r.source.row, r.source.section, r.reason) for r in statement.rejected]
    got = [(r.source.file, r.source.row, r.source.section, r.reason) for r in contents.rejected]
    assert got == want
    assert [r.raw for r in contents.rejected] == [r.raw for r in statement.rejected]


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_every_journal_trade_has_its_risk_inputs_and_its_assumptions_flagged(filled, relative):
    statement, _, contents = filled(relative)
    by_key = {t.key: t for t in statement.trades}
    for j in contents.trades:
        t = by_key[j.key]
        blanks = [n for n in ("contract_size", "fx_to_account", "equity") if getattr(j, n) is None]
        assert not blanks, (j.trade_id, blanks)
        # The trade's own leverage is what its statement states for it, never the account's.
        assert j.leverage == t.leverage, j.trade_id
        if t.contract_size is None and lookup(t.symbol, contents.instruments) is None:
            assert j.contract_size == 1.0 and has_flag(j, "not in Instruments"), (j.trade_id, j.flags)


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_a_new_journal_takes_its_settings_from_the_statement(filled, relative):
    statement, _, contents = filled(relative)
    s = contents.settings
    assert s.account_currency == (statement.account_currency or DEFAULTS.account_currency)
    assert s.account_leverage == (statement.leverage or DEFAULTS.account_leverage)
    assert s.starting_balance == pytest.approx(opening_balance(statement) or DEFAULTS.starting_balance)
    assert s.regulator == DEFAULTS.regulator


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_every_trades_money_is_in_the_journals_account_currency_or_flagged(filled, relative):
    _, _, contents = filled(relative)
    currency = contents.settings.account_currency
    odd = [(t.trade_id, t.account_currency, t.flags) for t in contents.trades
           if t.account_currency != currency and not has_flag(t, t.account_currency or "currency")]
    assert odd == [], f"journal in {currency}; trades in another currency, unflagged: {odd[:3]}"


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_equity_at_entry_is_rebuilt_from_deposits_and_realised_pnl_or_flagged(filled, relative):
    statement, _, contents = filled(relative)
    by_key = {t.key: t for t in statement.trades}
    # The rule (addin/fill/enrich.py): the balance is rebuilt from the statement's own cash when it
    # shows a deposit by its first trade; otherwise it starts from Settings, and every trade says so.
    opens = [t.open_time for t in statement.trades if t.open_time is not None]
    opening = [e for e in statement.balance_events if e.time is not None and opens and e.time <= min(opens)]
    rebuilt_from_statement = sum(e.amount for e in opening) > 0
    for j in contents.trades:
        t = by_key[j.key]
        if t.equity is not None or j.open_time is None:
            continue
        realised = math.fsum(o.net_profit for o in statement.trades if o.close_time is not None
                             and o.net_profit is not None and o.close_time < j.open_time)
        cash = math.fsum(e.amount for e in statement.balance_events if e.time is not None and e.time < j.open_time)
        if rebuilt_from_statement and cash + realised > 0:
            # the balance before the trade: deposits/withdrawals and realised P/L, no assumption
            assert j.equity == pytest.approx(cash + realised), (j.trade_id, j.open_time)
            assert not has_flag(j, "equity"), (j.trade_id, j.flags)
        elif not rebuilt_from_statement:
            assert j.equity == pytest.approx(contents.settings.starting_balance + cash + realised), j.trade_id
            assert "equity rebuilt from the assumed starting equity in Settings" in j.flags, j.flags
        else:  # the rebuilt balance is not positive: the Settings figure is used, and says so
            assert has_flag(j, "equity"), (j.trade_id, j.open_time, j.equity, j.flags)


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_re_importing_a_real_export_adds_nothing(filled, tmp_path, relative):
    statement, journal, contents = filled(relative)
    copy = tmp_path / "Journal.xlsx"
    copy.write_bytes(journal.read_bytes())
    report = fill_journal([STATEMENTS / relative], copy, progress=False)
    [f] = report.files
    assert (f.added, f.unchanged, f.updated) == (0, len(statement.trades), 0)
    assert not report.changed and report.backup is None, "nothing to change: nothing written, no backup"
    assert copy.read_bytes() == journal.read_bytes()
    again = read_journal(copy)
    assert again.trades == contents.trades
    assert again.rejected == contents.rejected, "rejected rows are listed once, not once per import"
    assert again.settings == contents.settings


def trades_sheet(journal) -> list[dict]:
    """The Trades rows as the file caches them (inputs and the calculated columns' values)."""
    ws = openpyxl.load_workbook(journal, data_only=True)["Trades"]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:] if r[0] is not None]


@pytest.mark.statements
def test_mt4_statement_without_leverage_says_its_leverage_is_assumed_and_over_cap_unknown(filled):
    statement, journal, contents = filled("mt4_statement_html/jsacap_Tradeslide_Statement.htm")
    assert statement.leverage is None  # the <!--LEVERAGE--> placeholder was left unfilled
    assert contents.settings.account_leverage == DEFAULTS.account_leverage  # the template's 1:30, nobody's
    rows = trades_sheet(journal)
    assert rows and all(r["Leverage"] is None for r in rows)
    sources = Counter(r["Leverage source"] for r in rows)
    assert all(src.startswith("assumed: ") for src in sources), sources
    # No Over cap TRUE from an assumed leverage; TRUE only where notional / equity alone exceeds
    # the cap, and the equity is the statement's balance (not an assumed starting balance).
    for r in rows:
        if r["Over cap"] is True:
            assert r["Effective leverage"] > r["Leverage cap"], r
        else:
            assert r["Over cap"] in ("unknown", None, False), r  # None: "" (no cap applies)


@pytest.mark.statements
def test_mt4_statement_with_leverage_sets_the_account_leverage_not_each_trades(filled):
    statement, journal, contents = filled("mt4_statement_html/reuniware_Tradeslide_demo_DetailedStatement.htm")
    assert statement.leverage == 200
    assert contents.settings.account_leverage == 200
    assert contents.settings.account_currency == "EUR"
    assert all(t.leverage is None for t in contents.trades)
    rows = trades_sheet(journal)
    # Stated 1:200; October 2017, before ESMA's caps (in force from 2018-08-01): no cap, 200 used.
    assert rows
    for r in rows:
        assert not r["Leverage source"].startswith("assumed"), r
        assert r["Leverage cap"].startswith(("no ESMA cap", "no class: symbol not in Instruments")), r
        assert r["Leverage used"] == 200, r
        assert r["Leverage source"] in ("AccountLeverage", "AccountLeverage: symbol not in Instruments"), r
        assert r["Over cap"] is None, r


@pytest.mark.statements
def test_a_symbol_unknown_to_instruments_is_flagged_not_guessed(filled):
    _, _, contents = filled("mt4_statement_html/jsacap_Tradeslide_Statement.htm")
    unknown = [t for t in contents.trades if lookup(t.symbol, contents.instruments) is None]
    assert [t.symbol for t in unknown] == ["ndx"]
    assert "symbol not in Instruments: contract size 1 assumed" in unknown[0].flags
    assert unknown[0].contract_size == 1.0


@pytest.mark.statements
def test_jpy_trades_in_a_usd_account_convert_at_the_rate_their_profit_implies(filled):
    statement, _, contents = filled("mt4_statement_html/jsacap_Tradeslide_Statement.htm")
    assert statement.account_currency == "USD"
    jpy = [t for t in contents.trades if t.symbol.upper().endswith("JPY") and t.is_closed]
    usdjpy = [t for t in jpy if t.symbol.upper() == "USDJPY"]
    crosses = [t for t in jpy if t.symbol.upper() != "USDJPY"]
    assert usdjpy and crosses, "the statement has USDJPY and a JPY cross"
    for t in jpy:
        assert t.fx_to_account != 1.0
        assert t.quote_currency == "JPY"
        assert not has_flag(t, "FX rate"), t.flags
        # the rate all the statement's JPY trades of its close day imply together (USDJPY: its own
        # price), labelled; within 1% of what the trade's own profit and price move imply
        move = (1 if t.side == "long" else -1) * (t.exit - t.entry) * t.quantity * t.contract_size
        assert t.fx_to_account == pytest.approx(t.profit / move, rel=1e-2)
        assert has_flag(t, "JPY->USD rate from"), t.flags
    for t in usdjpy:  # USDJPY: one yen is worth 1/price dollars at the close
        assert t.fx_to_account == pytest.approx(1 / t.exit, rel=2e-3)
    for t in crosses:  # GBPJPY: the yen's dollar value, 1/USDJPY (about 141..152 in late 2023)
        assert 140 < 1 / t.fx_to_account < 153, (t.symbol, t.close_time, 1 / t.fx_to_account)


@pytest.mark.statements
@pytest.mark.parametrize("relative", [
    "ibkr_activity_statement_csv/oittaa_data_multi_account.csv",
    "ibkr_activity_statement_csv/oittaa_data_option_assignment.csv",
    "ibkr_flex_xml/portfolio-performance_testIBFlexStatementFile02.xml",
])
def test_ibkr_options_expired_or_assigned_at_price_zero_are_closed_trades_in_the_journal(filled, relative):
    statement, journal, contents = filled(relative)
    assert statement.rejected == [] and contents.rejected == []
    zero = [t for t in contents.trades if t.exit == 0]
    assert zero and all(t.is_closed and t.asset_class == "OPTION" for t in zero)
    if relative.endswith("multi_account.csv"):
        # the CLOV calls expired worthless: the 355.31 USD premium kept is in the journal's Net P/L
        [clov] = zero
        assert clov.net_profit == pytest.approx(355.308974) and "expired worthless" in clov.comment
        wb = load_workbook(journal, read_only=True, data_only=True)
        rows = list(wb["Trades"].iter_rows(values_only=True))
        wb.close()
        row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == clov.trade_id)))
        assert row["Net P/L"] == pytest.approx(355.308974)
        # closed from the four sales' mean price 0.895 (the statement holds them): sized at entry
        assert row["Entry"] == pytest.approx(0.895) and row["Notional"] == pytest.approx(0.895 * 4 * 100)


@pytest.mark.statements
def test_the_cli_summary_accounts_for_every_row_of_every_real_export(tmp_path):
    paths = [shared_statement(r) for r in REAL_FILES]
    journal = tmp_path / "All.xlsx"
    run = cli(*paths, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    total = 0
    for p in paths:
        s = read_statement(p)
        block = file_block(run.stdout, s.file)
        assert f"[{s.format}]" in block.splitlines()[0]
        n = len({t.key for t in s.trades})
        total += n
        assert summary_value(block, "trades read") == str(len(s.trades))
        assert summary_value(block, "added") == str(n)
        assert summary_value(block, "unchanged") == str(len(s.trades) - n)
        kinds = Counter(r.kind for r in s.non_trades)
        line = summary_value(block, "non-trade rows")
        assert line.split()[0] == str(sum(kinds.values()))
        for kind, count in kinds.items():
            assert f"{kind} {count}" in line
        assert summary_value(block, "rejected") == str(len(s.rejected))
        for r in s.rejected[:10]:
            assert f"    {r.source}: {r.reason}" in block
    assert f"created {journal} ({total} trades in all)" in run.stdout
    contents = read_journal(journal)
    assert len(contents.trades) == total
    assert len(contents.rejected) == sum(len(read_statement(p).rejected) for p in paths)


# ---------------------------------------------------------------------------------------------
# Overlapping statements
# ---------------------------------------------------------------------------------------------

TRADOVATE = ("tradovate_performance_csv/arielSofer_Performance.csv",
             "tradovate_performance_csv/arielSofer_Performance_1.csv")


@pytest.mark.statements
def test_two_tradovate_exports_merge_the_same_in_one_command_or_two(tmp_path):
    a, b = (shared_statement(r) for r in TRADOVATE)
    distinct = {t.key for p in (a, b) for t in read_statement(p).trades}

    one = tmp_path / "one.xlsx"
    run = cli(a, b, "--journal", one, "--no-progress")
    assert run.returncode == 0, run.stderr
    assert f"({len(distinct)} trades in all)" in run.stdout

    two = tmp_path / "two.xlsx"
    assert cli(a, "--journal", two, "--no-progress").returncode == 0
    run = cli(b, "--journal", two, "--no-progress")
    assert run.returncode == 0, run.stderr
    assert f"updated {two} ({len(distinct)} trades in all)" in run.stdout

    j1, j2 = read_journal(one), read_journal(two)
    assert len(j1.trades) == len(distinct) == len({t.key for t in j1.trades})
    assert j1.trades == j2.trades
    assert j1.settings == j2.settings

    # both again, into the merged journal: nothing added, every trade already present
    run = cli(a, b, "--journal", one, "--no-progress")
    assert run.returncode == 0, run.stderr
    for p in (a, b):
        block = file_block(run.stdout, str(p))
        assert summary_value(block, "added") == "0"
        assert summary_value(block, "unchanged") == summary_value(block, "trades read")
    assert read_journal(one).trades == j1.trades


@pytest.mark.statements
def test_an_export_overlapping_two_others_adds_only_its_new_trades(tmp_path):
    a, b = (shared_statement(r) for r in TRADOVATE)
    with a.open(newline="", encoding="utf-8-sig") as fh:
        rows_a = list(csv.reader(fh))
    with b.open(newline="", encoding="utf-8-sig") as fh:
        rows_b = list(csv.reader(fh))
    assert rows_a[0] == rows_b[0]
    # a later export covering the end of the first period and the start of the second
    overlap = tmp_path / "Performance_overlap.csv"
    with overlap.open("w", newline="") as fh:
        csv.writer(fh).writerows([rows_a[0]] + rows_a[-10:] + rows_b[1:11])
    shared_keys = {t.key for t in read_statement(overlap).trades}
    assert len(shared_keys) == 20

    journal = tmp_path / "j.xlsx"
    assert cli(a, b, "--journal", journal, "--no-progress").returncode == 0
    before = read_journal(journal).trades
    run = cli(overlap, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, str(overlap))
    assert summary_value(block, "added") == "0"
    assert summary_value(block, "unchanged") == "20"
    assert read_journal(journal).trades == before

    fresh = tmp_path / "fresh.xlsx"
    run = cli(a, overlap, "--journal", fresh, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, str(overlap))
    assert summary_value(block, "added") == "10"
    assert summary_value(block, "unchanged") == "10"
    keys = {t.key for p in (a, overlap) for t in read_statement(p).trades}
    assert len(read_journal(fresh).trades) == len(keys) == len(read_statement(a).trades) + 10


def test_an_open_trade_closed_in_a_later_export_is_updated_not_duplicated(tmp_path):
    mapping = ROOT / "addin" / "statements" / "example_mapping.json"
    example = ROOT / "addin" / "samples" / "example_trades.csv"
    journal = tmp_path / "j.xlsx"
    run = cli(example, "--format", "csv", "--mapping", mapping, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, str(example))
    statement = read_statement(example, "csv", mapping)
    assert summary_value(block, "added") == str(len(statement.trades))
    assert summary_value(block, "rejected") == "1"
    assert "blank 1" in summary_value(block, "non-trade rows")
    [still_open] = [t for t in read_journal(journal).trades if not t.is_closed]
    assert still_open.trade_id == "50123547"
    n = len(read_journal(journal).trades)

    lines = example.read_text().splitlines()
    row = next(line for line in lines if line.startswith("50123547,"))
    later = tmp_path / "later.csv"
    closed = row.replace(",,,147.300,149.000,-3.50,0.00,,still open",
                         ",2025-03-17 10:00:00,148.850,147.300,149.000,-3.50,0.00,335.91,closed")
    assert closed != row
    later.write_text(lines[0] + "\n" + closed + "\n")
    run = cli(later, "--format", "csv", "--mapping", mapping, "--journal", journal, "--no-progress")
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, str(later))
    assert summary_value(block, "added") == "0"
    assert summary_value(block, "closed since last import") == "1"
    trades = read_journal(journal).trades
    assert len(trades) == n
    [t] = [t for t in trades if t.trade_id == "50123547"]
    assert (t.exit, t.profit) == (148.85, 335.91)
    assert t.fx_to_account == pytest.approx(1 / 148.85, rel=1e-3)  # USDJPY: implied by its profit


# ---------------------------------------------------------------------------------------------
# Bad input: one clear error, the journal untouched
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def existing_journal(tmp_path):
    """A journal made from the sample, alone in its own folder."""
    folder = tmp_path / "journal"
    folder.mkdir()
    journal = folder / "Journal.xlsx"
    fill_journal([sample_statement()], journal, progress=False)
    return journal


def assert_refused(run_rc: int, stdout: str, stderr: str, journal: Path, before: dict, named: str,
                   expect: str | None = None) -> None:
    assert run_rc != 0, f"the command succeeded:\n{stdout}"
    assert "Traceback" not in stderr
    assert stdout == "", "no summary after an error"
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if named in line and "nothing was written" not in line]
    assert len(errors) == 1, stderr
    if expect is not None:
        assert expect in errors[0], stderr
    assert f"{journal} is unchanged" in stderr
    assert folder_listing(journal.parent) == before, "journal bytes changed or files left behind"


@pytest.mark.statements
@pytest.mark.parametrize("relative", file_params())
def test_a_truncated_statement_is_refused_and_the_journal_is_untouched(existing_journal, tmp_path, relative):
    src = shared_statement(relative)
    data = src.read_bytes()
    cut = tmp_path / ("cut_" + src.name)
    cut.write_bytes(data[: len(data) * 4 // 10])
    before = folder_listing(existing_journal.parent)
    rc, out, err = cli_inprocess(cut, "--journal", existing_journal, "--no-progress")
    assert_refused(rc, out, err, existing_journal, before, named=cut.name)
    assert "expected" in err


@pytest.mark.statements
def test_a_truncated_statement_through_the_real_command(existing_journal, tmp_path):
    src = shared_statement("mt4_statement_html/jsacap_Tradeslide_Statement.htm")
    data = src.read_bytes()
    cut = tmp_path / "Statement_cut.htm"
    cut.write_bytes(data[: len(data) * 4 // 10])
    before = folder_listing(existing_journal.parent)
    run = cli(cut, "--journal", existing_journal)
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before, named=str(cut),
                   expect="truncated")
    assert "MetaTrader 4" in run.stderr


@pytest.mark.statements
def test_a_csv_given_as_mt4_html_is_refused(existing_journal):
    src = shared_statement(TRADOVATE[0])
    before = folder_listing(existing_journal.parent)
    run = cli(src, "--format", "mt4_html", "--journal", existing_journal)
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before, named=str(src),
                   expect="expected a MetaTrader 4 Statement")


def test_an_empty_file_is_refused(existing_journal, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    before = folder_listing(existing_journal.parent)
    run = cli(empty, "--journal", existing_journal)
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before, named=str(empty),
                   expect="empty")


def test_a_missing_file_is_refused(existing_journal, tmp_path):
    missing = tmp_path / "no_such_statement.htm"
    before = folder_listing(existing_journal.parent)
    run = cli(missing, "--journal", existing_journal)
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before, named=str(missing),
                   expect="cannot open")


def test_one_bad_file_among_good_ones_writes_nothing(existing_journal, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"   \n")
    before = folder_listing(existing_journal.parent)
    run = cli(sample_statement(), empty, "--journal", existing_journal)
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before, named=str(empty))


def test_a_bad_file_does_not_create_a_new_journal(tmp_path):
    missing = tmp_path / "no_such_statement.htm"
    journal = tmp_path / "New.xlsx"
    run = cli(missing, "--journal", journal)
    assert run.returncode != 0
    assert str(missing) in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_journal_open_in_excel_is_refused(existing_journal):
    lock = existing_journal.with_name("~$" + existing_journal.name)
    lock.write_bytes(b"\x0bExcel user")
    before = folder_listing(existing_journal.parent)
    run = cli("--sample", "--journal", existing_journal)
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before,
                   named=str(existing_journal), expect="open in Excel")
    assert lock.name in run.stderr


def test_a_new_journal_whose_lock_file_exists_is_not_created(tmp_path):
    journal = tmp_path / "New.xlsx"
    lock = tmp_path / "~$New.xlsx"
    lock.write_bytes(b"x")
    run = cli("--sample", "--journal", journal)
    assert run.returncode != 0
    assert "open in Excel" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [lock.name]


# ---------------------------------------------------------------------------------------------
# Statement text is never a formula
# ---------------------------------------------------------------------------------------------

PAYLOADS = ('=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(1)")


def test_statement_text_starting_like_a_formula_is_stored_as_text(tmp_path, monkeypatch):
    mapping = json.loads((ROOT / "addin" / "statements" / "example_mapping.json").read_text())
    mapping["broker"] = "@SUM(1)"
    mapping["account"] = '=HYPERLINK("http://x","y")'
    header = ["Ticket", "Instrument", "Direction", "Lots", "Open time", "Open price", "Close time",
              "Close price", "Stop loss", "Take profit", "Commission", "Swap", "Profit", "Comment"]
    rows = [header]
    for i, p in enumerate(PAYLOADS):
        rows.append([p, PAYLOADS[(i + 1) % 4], "Buy", "0.10", f"2025-03-0{i + 3} 09:00:00", "1.08000",
                     f"2025-03-0{i + 3} 10:00:00", "1.08100", "", "", "-0.70", "0", "10.00", PAYLOADS[(i + 2) % 4]])
    rows.append(['=1+1', "EURUSD", "Buy", "lots", "2025-03-09 09:00:00", "1.08", "", "", "", "", "", "", "", ""])
    monkeypatch.chdir(tmp_path)
    statement = Path("=trades.csv")  # even the file's name, shown in Source and Rejected, is text
    with statement.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    journal = tmp_path / "j.xlsx"

    run = cli(statement, "--format", "csv", "--mapping", "mapping.json", "--journal", journal,
              "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    block = file_block(run.stdout, str(statement))
    assert summary_value(block, "added") == "4"
    assert summary_value(block, "rejected") == "1"

    wb = load_workbook(journal)  # formulas as formulas: a formula cell would have data_type "f"
    ws = wb["Trades"]
    header_row = [c.value for c in ws[1]]
    col = {name: header_row.index(name) for name in ("Trade ID", "Broker", "Account", "Symbol", "Notes", "Source")}
    seen = Counter()
    for r in range(2, 6):
        row = ws[r]
        for name, j in col.items():
            cell = row[j]
            assert cell.data_type == "s", (name, cell.coordinate, cell.value, cell.data_type)
            assert isinstance(cell.value, str)
            seen[cell.value] += 1
    for p in PAYLOADS:
        assert seen[p] >= 2, (p, seen)  # once as a trade id, once as a symbol
    assert seen['=HYPERLINK("http://x","y")'] >= 4 + 1  # the account of every trade too
    rej = wb["Rejected"]
    rej_header = [c.value for c in rej[1]]
    for name in ("File", "Raw text"):
        cell = rej.cell(row=2, column=rej_header.index(name) + 1)
        assert cell.data_type == "s" and cell.value.startswith("="), (name, cell.value, cell.data_type)
    wb.close()

    contents = read_journal(journal)
    got = {t.trade_id: t for t in contents.trades}
    assert set(got) == set(PAYLOADS)
    for i, p in enumerate(PAYLOADS):
        t = got[p]
        assert t.symbol == PAYLOADS[(i + 1) % 4]
        assert t.comment == PAYLOADS[(i + 2) % 4]
        assert (t.broker, t.account) == ("@SUM(1)", '=HYPERLINK("http://x","y")')
        assert t.source.file == "=trades.csv"
        assert has_flag(t, "not in Instruments")
    [r] = contents.rejected
    assert r.source.file == "=trades.csv" and r.raw.startswith("=1+1")

    # the journal re-read and re-imported: still text, nothing added
    run = cli(statement, "--format", "csv", "--mapping", "mapping.json", "--journal", journal,
              "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert summary_value(file_block(run.stdout, str(statement)), "unchanged") == "4"
    assert read_journal(journal).trades == contents.trades


# ---------------------------------------------------------------------------------------------
# Options for what a statement lacks
# ---------------------------------------------------------------------------------------------

@pytest.mark.statements
def test_leverage_regulator_and_equity_options_reach_settings_and_trades(tmp_path):
    src = shared_statement(TRADOVATE[0])  # no leverage, no deposits in a Tradovate export
    statement = read_statement(src)
    assert statement.leverage is None and not statement.balance_events
    journal = tmp_path / "j.xlsx"
    run = cli(src, "--journal", journal, "--leverage", "1:100", "--regulator", "FCA", "--equity", "25000",
              "--no-progress")
    assert run.returncode == 0, run.stderr
    contents = read_journal(journal)
    s = contents.settings
    assert (s.account_leverage, s.regulator, s.starting_balance) == (100, "FCA", 25000)
    first = min(contents.trades, key=lambda t: t.open_time)
    assert first.equity == 25000
    closed_before = {t.key: t for t in contents.trades}
    for t in contents.trades:
        assert t.leverage is None  # --leverage is the account's (Settings), not each trade's own
        assert not has_flag(t, "leverage"), t.flags
        assert not has_flag(t, "equity"), t.flags  # the trader gave it: not an assumption
        # equity at entry: 25000 plus the net P/L of every trade closed before this one opened
        expect = 25000 + math.fsum(o.net_profit for o in closed_before.values()
                                   if o.close_time is not None and o.close_time < t.open_time)
        assert t.equity == pytest.approx(expect), t.trade_id


def test_a_bad_leverage_option_is_refused_before_anything_is_written(existing_journal):
    before = folder_listing(existing_journal.parent)
    run = cli("--sample", "--journal", existing_journal, "--leverage", "1:0")
    assert_refused(run.returncode, run.stdout, run.stderr, existing_journal, before, named="--leverage")


# ---------------------------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------------------------

def run_with_terminal_stderr(*args, cwd: Path) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal (where the bar would show); its stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "addin", "fill", *map(str, args)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    rc = proc.wait(timeout=60)
    os.close(master)
    return rc, b"".join(chunks).decode(errors="replace")


def test_no_progress_prints_no_bar_even_on_a_terminal(tmp_path):
    rc, err = run_with_terminal_stderr("--sample", "--journal", tmp_path / "a.xlsx", "--no-progress", cwd=tmp_path)
    assert rc == 0
    assert err.strip() == ""
    # the check can see a bar: without the option, on a terminal, there is one
    rc, err = run_with_terminal_stderr("--sample", "--journal", tmp_path / "b.xlsx", cwd=tmp_path)
    assert rc == 0
    n = len(read_statement(sample_statement()).trades)
    assert "completing trades" in err and f"{n}/{n}" in err


def test_no_progress_in_the_function_writes_nothing_to_stderr(tmp_path, capsys):
    fill_journal([sample_statement()], tmp_path / "j.xlsx", progress=False)
    assert capsys.readouterr().err == ""
    fill_journal([sample_statement()], tmp_path / "k.xlsx", progress=True)
    assert "completing trades" in capsys.readouterr().err
