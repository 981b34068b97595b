"""Shared fixtures: paths to the repository, its embedded data, and the public reference data beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("HMIXAL_REFDATA", REPO.parent / "shared" / "refdata"))


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def refdata_dir() -> Path:
    """``../shared/refdata``; tests that need it are skipped when it is absent."""
    if not REFDATA.is_dir():
        pytest.skip(f"reference data not found at {REFDATA}")
    return REFDATA
