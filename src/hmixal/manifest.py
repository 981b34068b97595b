"""Manifests of the tables the pipeline writes: what a consumer checks before it trusts an intermediate file.

Every table written by :func:`hmixal.io.write_csv` gets a sidecar ``NAME.manifest.json`` (``dataset_final.csv``
→ ``dataset_final.csv.manifest.json``) holding its number of data rows, its columns, its size and the sha256
of its bytes. The pipeline's readers (:func:`read_verified_csv`, used by ``hmixal.dataset.read_table`` and the
Redlich–Kister reader) compare the file with it and stop with an :class:`~hmixal.errors.InputError` naming the
file when they differ, so a table cut or edited after its rule wrote it never passes as an updated input.
A table without a manifest is refused inside ``results/`` (the pipeline's output tree) and read unchecked
elsewhere, unless the caller says otherwise; docs/dataset.md ("Intermediate tables") has the rules.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal import __version__
from hmixal.errors import InputError

MANIFEST_SUFFIX = ".manifest.json"
# The pipeline writes every output under this folder of its working directory (Snakefile, workflow/rules).
PIPELINE_TREE = "results"
# Written into every manifest so that a later change of the fields can be told apart from a damaged file.
FORMAT = "hmixal-manifest/1"
WHAT_TO_DO = "delete it and rerun snakemake"


@dataclass(frozen=True)
class Manifest:
    """What the writer of a file recorded: data rows, columns (tables only), size in bytes and sha256."""

    file: str
    rows: int
    columns: tuple[str, ...] | None
    bytes: int
    sha256: str
    writer: str

    def to_json(self) -> str:
        """The manifest as the JSON text of its sidecar file."""
        record: dict[str, Any] = {"format": FORMAT, **asdict(self)}
        record["columns"] = None if self.columns is None else list(self.columns)
        return json.dumps(record, indent=1) + "\n"


def manifest_path(path: str | Path) -> Path:
    """The sidecar manifest of ``path``: the same name with ``.manifest.json`` appended."""
    path = Path(path)
    return path.with_name(path.name + MANIFEST_SUFFIX)


def describe(
    path: str | Path, data: bytes, rows: int, columns: Sequence[object] | None = None, writer: str = ""
) -> Manifest:
    """The manifest of ``data`` about to be (or just) written to ``path``."""
    return Manifest(
        file=Path(path).name,
        rows=int(rows),
        columns=None if columns is None else tuple(str(c) for c in columns),
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        # No time stamp or host: equal tables must give byte-identical manifests (reruns are compared byte-wise).
        writer=writer or f"hmixal {__version__}",
    )


def text_rows(text: str) -> int:
    """Lines of a text file (a last line without a newline counts)."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def count_csv_rows(data: bytes) -> int:
    """Data rows of CSV bytes (records after the header, blank lines skipped, as pandas counts them)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    records = sum(1 for record in reader if record)
    return max(records - 1, 0)


def load_manifest(path: str | Path) -> Manifest | None:
    """The manifest recorded for ``path``, or None when it has none; a damaged manifest is an InputError."""
    sidecar = manifest_path(path)
    if not sidecar.is_file():
        return None
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        if record.pop("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        columns = record.pop("columns")
        manifest = Manifest(columns=None if columns is None else tuple(columns), **record)
        if not isinstance(manifest.rows, int) or not isinstance(manifest.sha256, str):
            raise ValueError("rows must be an integer and sha256 a string")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        problem = f"not a valid manifest ({exc}); delete {Path(path).name} and its manifest and rerun snakemake"
        raise InputError(sidecar, None, problem) from exc
    return manifest


def in_pipeline_tree(path: str | Path) -> bool:
    """Whether ``path`` lies inside a ``results/`` folder, the pipeline's output tree."""
    return PIPELINE_TREE in Path(path).resolve().parent.parts


def manifest_required(path: str | Path, required: bool | None) -> bool:
    """Whether a missing manifest is an error: as asked, or by default for a table inside ``results/``."""
    # Every table a rule writes under results/ has a manifest, so one without is not the rule's own output
    # (an older version's, a copy, a hand edit); elsewhere (your own files, tests) it is allowed unchecked.
    return in_pipeline_tree(path) if required is None else required


def _missing_manifest(path: Path) -> InputError:
    """The error for a pipeline table that has no manifest."""
    return InputError(
        path,
        None,
        f"has no manifest ({manifest_path(path).name}), so nothing says how many rows its writer wrote: it was not "
        "written by this pipeline's rules (or by a version before manifests), or the manifest was deleted; "
        f"{WHAT_TO_DO}. Tables of your own enter through sources.user_tables (docs/dataset.md)",
    )


def _mismatch(path: Path, data: bytes, manifest: Manifest) -> InputError:
    """The error for a file whose bytes differ from its manifest, saying how (rows, columns, cut mid-line)."""
    is_table = manifest.columns is not None  # text files are recorded without columns
    rows = count_csv_rows(data) if is_table else text_rows(data.decode("utf-8", errors="replace"))
    unit = "data rows" if is_table else "lines"
    # to_csv ends every line (and the pipeline's text files end theirs), so no final newline means a cut line.
    cut_mid_line = bool(data) and not data.endswith(b"\n")
    if cut_mid_line:
        what = f"has {rows} {unit}, the last one cut mid-line, where its writer recorded {manifest.rows}"
    elif rows != manifest.rows:
        what = f"has {rows} {unit} but its writer recorded {manifest.rows}"
    else:
        what = f"has the {rows} {unit} its writer recorded but different content"
    what += " (content hash differs)"
    if is_table and data:
        header = next(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline="")), [])
        if tuple(header) != manifest.columns:
            what += f"; its columns are not the recorded {', '.join(manifest.columns)}"
    change = "cut or edited" if rows < manifest.rows or cut_mid_line else "edited or replaced"
    return InputError(path, None, f"{what}: the file was {change} after the rule wrote it; {WHAT_TO_DO}")


def read_verified_bytes(path: str | Path, required: bool | None = None) -> tuple[bytes, Manifest | None]:
    """The bytes of ``path`` checked against its manifest; a missing one is an error if :func:`manifest_required`."""
    path = Path(path)
    # One read serves both the check and the parse, so the bytes checked are the bytes used.
    data = path.read_bytes()
    manifest = load_manifest(path)
    if manifest is None:
        if manifest_required(path, required):
            raise _missing_manifest(path)
        return data, None
    if len(data) != manifest.bytes or hashlib.sha256(data).hexdigest() != manifest.sha256:
        raise _mismatch(path, data, manifest)
    return data, manifest


def verify_file(path: str | Path, required: bool | None = None) -> Manifest | None:
    """Check ``path`` against its manifest: the one-line guard for a reader that parses the file itself."""
    return read_verified_bytes(path, required=required)[1]


def read_verified_csv(path: str | Path, required: bool | None = None, **read_csv_options: Any) -> pd.DataFrame:
    """Read a CSV table with pandas after checking it against its manifest; options go to ``pandas.read_csv``."""
    data, manifest = read_verified_bytes(path, required=required)
    try:
        frame = pd.read_csv(io.BytesIO(data), **read_csv_options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"not a readable CSV table: {exc}") from exc
    if manifest is not None and len(frame) != manifest.rows:
        # The bytes are the recorded ones, so the parse differs from the writer's frame: a reader/writer mismatch
        # (e.g. options that skip rows), not a damaged file.
        raise InputError(
            path, None, f"read as {len(frame)} rows but its writer recorded {manifest.rows}: check the reader's options"
        )
    return frame


def read_verified_text(path: str | Path, required: bool | None = None) -> str:
    """Read a text file (JSON, feature list, …) after checking it against its manifest."""
    data, _ = read_verified_bytes(path, required=required)
    return data.decode("utf-8")
