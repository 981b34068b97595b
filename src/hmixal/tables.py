"""Rendering result tables for people and programs: csv, aligned text, or JSON records."""

from __future__ import annotations

import json

import pandas as pd

FORMATS = ("table", "csv", "json")


def render(frame: pd.DataFrame, fmt: str, float_digits: int = 4) -> str:
    """Render a table as 'csv', 'table' (aligned columns) or 'json' (a list of records)."""
    if fmt == "csv":
        return frame.to_csv(index=False, float_format=f"%.{float_digits}f", lineterminator="\n")
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", double_precision=float_digits))
        return json.dumps(records, indent=2) + "\n"
    if fmt == "table":
        return frame.to_string(index=False, float_format=lambda v: f"{v:.{float_digits}f}") + "\n"
    raise ValueError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
