"""Atomic file writing, so an interrupted run never leaves a half-written result behind.

Tables (and, on request, text files) get a sidecar manifest (hmixal.manifest) that their consumers check, so a
file cut or edited after its writer finished is refused rather than taken as an updated input.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from hmixal.manifest import describe, manifest_path, text_rows


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; give the result the permissions an ordinary open() would.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _write_manifest(path: str | Path, data: bytes, rows: int, columns: list[str] | None) -> None:
    """Write the sidecar manifest of the file just written to ``path``."""
    with atomic_path(manifest_path(path)) as tmp:
        tmp.write_text(describe(path, data, rows, columns).to_json(), encoding="utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path, float_format: str = "%.10g") -> None:
    """Write a table atomically with a fixed float format (equal inputs, byte-identical files) and its manifest."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
        data = tmp.read_bytes()
    # The manifest follows the table: if the job dies in between, the old manifest (or none) no longer matches
    # the new bytes and consumers refuse the table until the rule has rerun, which rewrites both.
    _write_manifest(path, data, len(frame), [str(c) for c in frame.columns])


def write_text(text: str, path: str | Path, manifest: bool = False) -> None:
    """Write text atomically; with ``manifest``, also its sidecar manifest (lines, size, sha256)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        data = tmp.read_bytes()
    # Opt-in: most text files (VASP inputs, run records, model metadata) have consumers that do not check one.
    if manifest:
        _write_manifest(path, data, text_rows(text), None)
