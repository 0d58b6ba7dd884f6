"""The batch fill's pieces, checked the way a trader would check a journal row by hand."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from addin.fill.enrich import AccountDefaults, enrich, opening_balance
from addin.fill.plan import balance_before
from addin.fill.backups import backups, replace_with
from addin.fill.lock import FillLock, JournalBusy, check_not_open
from addin.statements.model import BalanceEvent, SourceRef, Statement, Trade

SRC = SourceRef(file="statement.htm", row=1)
INSTRUMENTS = {
    s: SimpleNamespace(symbol=s, asset_class="FX_MAJOR", contract_size=100_000, quote_currency=s[3:])
    for s in ("EURUSD", "USDJPY", "EURGBP")
}
DEFAULTS = AccountDefaults(currency="USD", leverage=30)


def trade(tid="1", symbol="EURUSD", side="long", qty=1.0, entry=1.1, exit=None, profit=None,
          opened=datetime(2024, 1, 2, 9), closed=None, **kw) -> Trade:
    return Trade(broker="MT4", account="42", trade_id=tid, symbol=symbol, side=side, quantity=qty,
                 entry=entry, exit=exit, profit=profit, open_time=opened, close_time=closed, source=SRC, **kw)


def test_eurusd_in_a_usd_account_converts_at_1_and_takes_100000_units_a_lot():
    [t] = enrich([trade()], DEFAULTS, INSTRUMENTS.get)
    assert (t.contract_size, t.fx_to_account, t.asset_class) == (100_000, 1.0, "FX_MAJOR")


def test_usdjpy_rate_is_implied_by_the_trades_own_profit():
    # 1 lot long 150.00 -> 151.00 made 100,000 JPY = $662.25 at 151.00
    closed = trade(symbol="USDJPY", entry=150.0, exit=151.0, profit=662.25, closed=datetime(2024, 1, 3))
    [t] = enrich([closed], DEFAULTS, INSTRUMENTS.get)
    assert 1 / t.fx_to_account == pytest.approx(151.0, rel=1e-4)
    assert not any("FX" in f for f in t.flags)


def test_open_usdjpy_trade_converts_at_one_over_its_price():
    [t] = enrich([trade(symbol="USDJPY", entry=150.0)], DEFAULTS, INSTRUMENTS.get)
    assert t.fx_to_account == pytest.approx(1 / 150.0)


def test_an_open_cross_without_a_rate_is_flagged_not_guessed_silently():
    [t] = enrich([trade(symbol="EURGBP", entry=0.85)], DEFAULTS, INSTRUMENTS.get)
    assert t.fx_to_account is None  # left empty: the journal says "no FX rate", never 1
    assert any("GBP->USD" in f for f in t.flags)


def test_unknown_symbol_is_flagged_with_what_was_assumed():
    [t] = enrich([trade(symbol="WIDGET", entry=12.0)], DEFAULTS, INSTRUMENTS.get)
    assert t.contract_size == 1.0
    assert any("not in Instruments" in f for f in t.flags)


def test_equity_at_entry_is_the_balance_before_the_trade_opened():
    # rows as the journal holds them: dates as serials; the first closed at 2.5 with 1,000 profit, -7 commission
    rows = [{"Open time": 2.0, "Close time": 2.5, "Profit": 1_000.0, "Commission": -7.0}, {"Open time": 3.0}]
    before = balance_before(rows, [(1.0, 5_000.0)], 2.0, 5_000.0)  # the deposit before CashFrom is in the start
    assert before(2.0) == 5_000
    assert before(3.0) == 5_000 + 1_000 - 7


def test_a_deposit_after_the_first_trades_counts_only_for_later_trades():
    rows = [{"Open time": 2.0, "Close time": 2.5, "Profit": 200.0}, {"Open time": 33.0}]
    before = balance_before(rows, [(32.0, 50.0)], 2.0, 10_000.0)
    assert before(2.0) == 10_000
    assert before(33.0) == 10_000 + 200 + 50


def test_movements_before_cash_from_are_part_of_the_starting_balance_not_added_again():
    before = balance_before([{"Open time": 2.0}], [(1.0, 10_000.0)], 2.0, 25_000.0)  # --equity 25000
    assert before(2.0) == 25_000


def test_a_trade_closing_at_the_moment_another_opens_is_not_yet_in_its_equity():
    before = balance_before([{"Close time": 2.0, "Profit": 100.0}], [], 1.0, 1_000.0)
    assert (before(2.0), before(2.0 + 1e-9)) == (1_000.0, 1_100.0)


def test_money_in_another_currency_than_the_journal_is_flagged_not_mixed_in_silently():
    sek = trade(symbol="HMB", entry=150.0, account_currency="SEK", contract_size=1.0)
    [t] = enrich([sek], DEFAULTS, INSTRUMENTS.get)
    assert any("amounts in SEK, the journal's currency is USD" in f for f in t.flags)


def test_a_trade_keeps_only_its_own_leverage_never_the_accounts():
    # A position's own leverage (Binance/Bybit) stays; a trade without one gets none: the account
    # leverage is Settings' AccountLeverage, which the Trades formulas cap by the regulator.
    [own] = enrich([trade(leverage=20)], DEFAULTS, INSTRUMENTS.get)
    [none] = enrich([trade()], DEFAULTS, INSTRUMENTS.get)
    assert own.leverage == 20 and none.leverage is None


def test_leverage_used_in_python_follows_the_trades_formula_rule():
    from addin.fill.enrich import leverage_used
    us30 = SimpleNamespace(symbol="US30", asset_class="INDEX_MAJOR", contract_size=1, margin_rate=None)
    t = trade(symbol="US30", entry=40_000.0, asset_class="INDEX_MAJOR")
    # ESMA Decision (EU) 2018/796: major indices 20:1, so a 1:30 account margins US30 at 20:1.
    assert leverage_used(t, us30, 30, "ESMA") == 20
    assert leverage_used(trade(asset_class="FX_MINOR", symbol="AUDUSD"), None, 30, "ESMA") == 20
    assert leverage_used(trade(leverage=500), None, 30, "ESMA") == 500  # its own, even above the cap
    rated = SimpleNamespace(symbol="US30", asset_class="INDEX_MAJOR", contract_size=1, margin_rate=0.1)
    assert leverage_used(t, rated, 30, "ESMA") == 10
    assert leverage_used(trade(symbol="AAPL", asset_class="STOCK"), None, 30, "ESMA") == 1


def test_the_opening_balance_counts_only_what_happened_before_the_first_trade():
    deposit = BalanceEvent(time=datetime(2024, 1, 1), amount=1_000, kind="deposit", source=SRC)
    later = BalanceEvent(time=datetime(2024, 1, 3), amount=500, kind="deposit", source=SRC)
    trade = Trade(broker="B", account="1", trade_id="1", symbol="EURUSD", side="long", quantity=1, entry=1.1,
                  open_time=datetime(2024, 1, 2), source=SRC)
    statement = Statement(file="s", format="test", broker="B", trades=[trade], balance_events=[deposit, later])
    assert opening_balance(statement) == 1_000


def test_a_failed_write_leaves_the_journal_untouched(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    journal.write_bytes(b"previous version")

    def broken(path):
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        replace_with(journal, broken)
    assert journal.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Journal.xlsx"]


def test_backups_rotate_newest_first_and_keep_five(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    journal.write_bytes(b"v0")
    for k in range(1, 8):
        backup = replace_with(journal, lambda p, k=k: p.write_bytes(f"v{k}".encode()))
        assert backup.read_bytes() == f"v{k - 1}".encode()
    assert journal.read_bytes() == b"v7"
    assert [p.read_bytes() for p in backups(journal)] == [b"v6", b"v5", b"v4", b"v3", b"v2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Journal.xlsx"] + [f"Journal.xlsx.bak{k}" for k in range(1, 6)]


def test_a_journal_open_in_excel_or_libreoffice_is_refused(tmp_path):
    journal = tmp_path / "Journal.xlsx"
    journal.write_bytes(b"v1")
    (tmp_path / "~$Journal.xlsx").write_bytes(b"owner")
    with pytest.raises(JournalBusy, match="open in Excel"):
        check_not_open(journal)
    (tmp_path / "~$Journal.xlsx").unlink()
    (tmp_path / ".~lock.Journal.xlsx#").write_text("owner")
    with pytest.raises(JournalBusy, match="open in LibreOffice"):
        check_not_open(journal)


def test_a_second_fill_is_refused_while_the_first_holds_the_lock_and_a_dead_ones_lock_is_taken(tmp_path):
    import os
    import socket

    journal = tmp_path / "Journal.xlsx"
    with FillLock(journal):
        with pytest.raises(JournalBusy, match="being filled by another run"):
            with FillLock(journal):
                pass
    assert not list(tmp_path.iterdir()), "the lock file is removed when the fill ends"
    # A lock left by a process that no longer runs (here: a pid far above any live one).
    (tmp_path / ".~fill.Journal.xlsx.lock").write_text(f"{2 ** 22 + 12345} {socket.gethostname()} x\n")
    with FillLock(journal) as lock:
        assert lock.path.read_text().split()[0] == str(os.getpid())
