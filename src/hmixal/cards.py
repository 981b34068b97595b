"""The model card of a trained predictor: what it was trained on, with which settings, how accurate it is, and the
digests that tie it to the pipeline run that built it.

A card is written by the pipeline beside every final model (``results/model/model_card.json``, rule
``model_card``) and travels with the predictor the package ships (rule ``ship_predictor``). Its ``artifacts``
section holds the sha256 of the dataset, the element table, every LightGBM member, the calibration and each
outer fold's out-of-fold predictions, so a rebuild from the committed data can be compared with it file by file
(tests/test_shipped_predictor.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal import __version__

FORMAT = "hmixal-model-card/1"
# The config sections that decide what the final model and its calibration are (the rest: other stages).
CONFIG_SECTIONS: tuple[str, ...] = ("seed", "sources", "calphad", "dataset", "model")
# Keys of those sections that only say where things are on the machine that ran it.
_MACHINE_KEYS = frozenset({"refdata_dir"})
INTENDED_USE = (
    "Enthalpy of mixing (kJ per mole of atoms) of binary metallic liquids near their liquidus, for screening and "
    "as a starting point for Calphad assessments; multicomponent liquids by geometric extrapolation from the "
    "binaries (no ternary terms). Not a function of temperature. Every answer carries a calibrated 68 % / 95 % "
    "interval and its data coverage; 'extrapolation' marks binaries unlike any training binary, where the "
    "interval may understate the error."
)


def sha256_of(path: str | Path) -> str:
    """The sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def card_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The sections of a pipeline config that decide the final model, without machine-specific paths."""
    picked: dict[str, Any] = {}
    for key in CONFIG_SECTIONS:
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k not in _MACHINE_KEYS}
        picked[key] = json.loads(json.dumps(value))  # plain JSON types, as the card stores them
    return picked


def check_default_config(card: Mapping[str, Any], default_config: str | Path) -> None:
    """Raise an InputError naming the sections in which the card's settings differ from the default config file."""
    from hmixal.config import read_config_file
    from hmixal.errors import InputError

    default = card_config(read_config_file(default_config))
    differing = sorted(k for k in set(default) | set(card["config"]) if default.get(k) != card["config"].get(k))
    if differing:
        raise InputError(
            default_config,
            None,
            f"the model was trained with settings that differ from this file in {', '.join(differing)}; the package "
            "ships only the default config's model (run without --configfile/--config overrides)",
        )


def _dataset_summary(dataset: pd.DataFrame) -> dict[str, Any]:
    """Rows, binaries, elements and rows per source type of a dataset table."""
    binaries = dataset["A"] + "-" + dataset["B"]
    return {
        "n_rows": len(dataset),
        "n_binaries": int(binaries.nunique()),
        "n_elements": len(set(dataset["A"]) | set(dataset["B"])),
        "rows_per_source_type": {str(k): int(v) for k, v in dataset["source_type"].value_counts().sort_index().items()},
    }


def _cv_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The nested CV's headline numbers: model vs Miedema, the headline ratio, and the intervals' coverage."""
    overall = metrics["overall"]
    headline = metrics["headline"]["overall"]
    coverage = [
        {k: row[k] for k in ("coverage_class", "expected", "observed", "n_points", "n_binaries")}
        for row in metrics["calibration"]["cross_fitted_coverage"]
    ]
    return {
        "settings": metrics.get("settings", {}),
        "n_points": overall["model"]["n"],
        "n_binaries": overall["n_binaries"],
        "rmse_kJ_per_mol": {"model": overall["model"]["rmse"], "miedema": overall["miedema"]["rmse"]},
        "mae_kJ_per_mol": {"model": overall["model"]["mae"], "miedema": overall["miedema"]["mae"]},
        "rmse_ratio_per_point": headline["per_point"],
        "rmse_ratio_per_binary": headline["per_binary"],
        "interval_coverage": coverage,
    }


def build_model_card(
    *,
    dataset_path: str | Path,
    model_dir: str | Path,
    calibration_path: str | Path,
    metrics_path: str | Path,
    fold_predictions: Sequence[str | Path],
    element_holdout_path: str | Path,
    element_table_path: str | Path,
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """The model card of a final model and its calibration, from the files the pipeline wrote."""
    from hmixal.dataset import read_table
    from hmixal.layout import TRAINING_DATA_FILE

    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    members = sorted(model_dir.glob("member_*.txt"))
    dataset = read_table(dataset_path)
    training = read_table(model_dir / TRAINING_DATA_FILE)
    metrics = json.loads(Path(metrics_path).read_text(encoding="utf-8"))
    calibration = json.loads(Path(calibration_path).read_text(encoding="utf-8"))
    return {
        "format": FORMAT,
        "hmixal_version": __version__,
        "intended_use": INTENDED_USE,
        "dataset": {"file": Path(dataset_path).name, **_dataset_summary(dataset)},
        "training": {
            **_dataset_summary(training),
            "excluded_source_types": list(meta.get("info", {}).get("excluded_sources", [])),
        },
        "model": {
            "target": "ΔH_mix(data) − ΔH_mix(Miedema), kJ/mol; prediction = Miedema + weighted ensemble correction",
            "features": list(meta["features"]),
            "n_members": int(meta["n_members"]),
            "params": meta["params"],
            "group_weights": meta["weights"],
            "inner_cv_rmse_kJ_per_mol": meta.get("info", {}).get("inner_cv_rmse"),
        },
        "calibration": {
            "method": calibration.get("method", "split-conformal per coverage class"),
            "tau_kJ_per_mol": calibration.get("tau_kJ_per_mol"),
            "levels": calibration.get("levels"),
        },
        "cross_validation": _cv_summary(metrics),
        "config": card_config(config),
        "artifacts": {
            "dataset": sha256_of(dataset_path),
            "element_table": sha256_of(element_table_path),
            "members": {p.name: sha256_of(p) for p in members},
            "meta": sha256_of(model_dir / "meta.json"),
            "training_data": sha256_of(model_dir / TRAINING_DATA_FILE),
            "calibration": sha256_of(calibration_path),
            "element_holdout": sha256_of(element_holdout_path),
            "fold_predictions": {_fold_key(p): sha256_of(p) for p in fold_predictions},
        },
    }


def _fold_key(path: str | Path) -> str:
    """``after/fold_3`` for ``…/cv/after/fold_3/predictions.csv``."""
    path = Path(path)
    return f"{path.parent.parent.name}/{path.parent.name}"


def card_rows(card: Mapping[str, Any]) -> pd.DataFrame:
    """The card as a two-column table for the terminal: what, value."""
    cv = card["cross_validation"]
    coverage = ", ".join(
        f"{row['coverage_class']} {row['expected']:.0%}: {row['observed']:.1%}" for row in cv["interval_coverage"]
    )
    ratio = cv["rmse_ratio_per_binary"]
    rows = [
        ("hmixal version", card["hmixal_version"]),
        ("shipped on", card.get("shipped_on", "not shipped (a pipeline run's model)")),
        (
            "dataset",
            f"{card['dataset']['n_rows']} points, {card['dataset']['n_binaries']} binaries, "
            f"{card['dataset']['n_elements']} elements; sha256 {card['artifacts']['dataset'][:12]}",
        ),
        ("training rows per source", json.dumps(card["training"]["rows_per_source_type"])),
        ("features", f"{len(card['model']['features'])} (listed with --format json)"),
        ("ensemble", f"{card['model']['n_members']} LightGBM members"),
        (
            "nested CV RMSE (kJ/mol)",
            f"model {cv['rmse_kJ_per_mol']['model']:.2f}, Miedema {cv['rmse_kJ_per_mol']['miedema']:.2f} "
            f"({cv['n_points']} points, {cv['n_binaries']} binaries)",
        ),
        (
            "RMSE ratio model/Miedema per binary",
            f"{ratio['ratio']:.3f} (95 % interval {ratio['interval'][0]:.3f}–{ratio['interval'][1]:.3f})",
        ),
        ("interval coverage (nominal: observed)", coverage),
        ("seed", str(card["config"].get("seed", ""))),
    ]
    frame = pd.DataFrame(rows, columns=["what", "value"])
    # Padded so the aligned text table reads left to right (pandas right-aligns text columns).
    return frame.apply(lambda column: column.str.ljust(column.str.len().max()))
