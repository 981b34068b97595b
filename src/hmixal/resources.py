"""Files hmixal ships inside the package (importlib.resources): the element table and the trained predictor.

They are found the same way in a checkout (an editable install) and in an installed wheel, so `hmixal predict`
answers from any directory. Both are written by rules of the pipeline (docs/model.md, "The shipped predictor").
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hmixal.errors import MissingArtifactError

PACKAGE_DATA = "data"
ELEMENT_TABLE = "elements.csv"
SHIPPED_PREDICTOR = "predictor"


def package_data_dir() -> Path:
    """The folder of hmixal's package data, as a path on the file system."""
    root = importlib.resources.files("hmixal") / PACKAGE_DATA
    if not isinstance(root, Path):  # a zip import: LightGBM and the CSV readers need real files
        raise MissingArtifactError(
            f"hmixal's package data ({root}) is not on the file system; install hmixal with pip instead of "
            "importing it from a zip archive"
        )
    return root


def element_table_path() -> Path:
    """The element table the package ships (22 properties of 70 elements, with provenance)."""
    return package_data_dir() / ELEMENT_TABLE


def shipped_predictor_dir() -> Path:
    """The trained predictor the package ships: ``final_after/``, ``calibration.json`` and ``model_card.json``."""
    return package_data_dir() / SHIPPED_PREDICTOR


def write_shipped_predictor(
    model_folder: str | Path, card: Mapping[str, Any], destination: str | Path, shipped_on: str
) -> Path:
    """Copy a model folder's final model and calibration, with its card stamped ``shipped_on``, to ``destination``.

    The folder is assembled beside ``destination`` and swapped in whole, so an interrupted copy leaves the
    previous predictor (or none), never a mixture.
    """
    from hmixal.layout import CALIBRATION_FILE, FINAL_MODEL_DIR, MODEL_CARD_FILE

    source, target = Path(model_folder), Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    retired = target.with_name(f".{target.name}.old")
    try:
        # Snakemake's bookkeeping files are not part of the model.
        ignore = shutil.ignore_patterns(".snakemake*")
        shutil.copytree(source / FINAL_MODEL_DIR, staging / FINAL_MODEL_DIR, ignore=ignore)
        shutil.copy2(source / CALIBRATION_FILE, staging / CALIBRATION_FILE)
        text = json.dumps({**card, "shipped_on": shipped_on}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (staging / MODEL_CARD_FILE).write_text(text, encoding="utf-8")
        shutil.rmtree(retired, ignore_errors=True)
        if target.exists():
            target.rename(retired)
        try:
            staging.rename(target)
        except OSError:
            if retired.exists():  # put the previous predictor back
                retired.rename(target)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return target
