"""The key-metrics page of the Snakemake report (metrics.html): the out-of-fold metrics of the model, of Miedema's
model alone and before/after AIMD, as HTML tables."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal.errors import InputError
from hmixal.io import write_text


def _metric_rows(block: Mapping[str, Any], label: str, models: Sequence[str]) -> list[dict[str, Any]]:
    """Rows (subset, predictor, n, RMSE, MAE) of one metrics block such as ``{"model": {...}, "miedema": {...}}``."""
    rows = []
    for model in models:
        if model in block:
            m = block[model]
            rows.append(
                {"subset": label, "predictor": model, "n": m["n"], "RMSE (kJ/mol)": m["rmse"], "MAE (kJ/mol)": m["mae"]}
            )
    return rows


def metrics_html(metrics: Mapping[str, Any] | str | Path, path: str | Path) -> pd.DataFrame:
    """Write the key out-of-fold metrics (overall, per Miedema group, per source, AIMD) as an HTML page."""
    name = "<metrics>"
    if not isinstance(metrics, Mapping):
        name = str(metrics)
        try:
            metrics = json.loads(Path(metrics).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(name, None, f"cannot read metrics: {exc}") from exc
    missing = [k for k in ("overall", "per_miedema_group", "per_source_type", "aimd") if k not in metrics]
    if missing:
        raise InputError(name, None, f"metrics lack section(s): {', '.join(missing)}")
    try:
        sections = {
            "Out-of-fold, all data": _metric_rows(metrics["overall"], "all", ("model", "miedema")),
            "Per Miedema group": [
                r for g, b in metrics["per_miedema_group"].items() for r in _metric_rows(b, g, ("model", "miedema"))
            ],
            "Per source type": [
                r for s, b in metrics["per_source_type"].items() for r in _metric_rows(b, s, ("model", "miedema"))
            ],
            "AIMD points: reference model (before) vs final (after)": [
                r for e, b in metrics["aimd"].items() for r in _metric_rows(b, e, ("before", "after", "miedema"))
            ],
        }
    except (KeyError, TypeError) as exc:
        raise InputError(name, None, f"metrics entry without n/rmse/mae: {exc}") from exc
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>hmixal key metrics</title>",
             "<style>body{font-family:sans-serif;font-size:15px;margin:1.5em}table{border-collapse:collapse;"
             "margin-bottom:1.5em}th,td{border:1px solid #bbb;padding:4px 10px;text-align:right}"
             "td:first-child,td:nth-child(2){text-align:left}th{background:#eee}</style></head><body>",
             "<h1>Key metrics (out-of-fold, grouped by binary)</h1>",
             "<p>RMSE and MAE in kJ/mol of the nested grouped cross-validation; “miedema” is Miedema's model "
             "alone, “model” Miedema + LightGBM correction; for AIMD points “before” is the reference model "
             "trained without any AIMD data.</p>"]  # fmt: skip
    frames = []
    for title, rows in sections.items():
        frame = pd.DataFrame(rows)
        frames.append(frame.assign(section=title))
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(frame.to_html(index=False, float_format=lambda v: f"{v:.2f}", border=0))
    settings = metrics.get("settings")
    if settings is not None:
        parts.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(settings, indent=1, sort_keys=True)) + "</pre>")
    parts.append("</body></html>\n")
    write_text("\n".join(parts), path)
    return pd.concat(frames, ignore_index=True)
