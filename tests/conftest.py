"""Shared test fixtures: where the real broker exports live, and skipping (loudly) without them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the developers' tools/ (sample trades, LibreOffice rendering) are not installed
# CI clones the project with ../shared/ beside it; LEVERAGE_SHARED overrides for other layouts.
SHARED = Path(os.environ.get("LEVERAGE_SHARED", ROOT.parent / "shared"))
STATEMENTS = SHARED / "statements"


def shared_statement(relative: str) -> Path:
    """Path of a real export under ../shared/statements/, or skip the test saying which is missing."""
    path = STATEMENTS / relative
    if not path.exists():
        pytest.skip(f"real broker export not available: {path} (../shared/statements/ is not beside the checkout)")
    return path


@pytest.fixture
def statements_dir() -> Path:
    if not STATEMENTS.is_dir():
        pytest.skip(f"real broker exports not available: {STATEMENTS} does not exist")
    return STATEMENTS


@pytest.fixture(scope="session", autouse=True)
def _libreoffice_session():
    """The LibreOffice jobs of a test process share one runner (tests/lo_uno.py: office()); it and
    the LibreOffice instances it started end with the session."""
    yield
    from lo_uno import close_office
    close_office()
