"""Where hmixal writes: the results paths that the rules, the CLI and the library share, and the file names inside
a model folder. Paths are relative to the results folder; :func:`result` puts them under the default one.

A path used by the rules alone stays written in its rule (workflow/rules/*.smk), where a reader of the workflow
looks for it; a path that anything else reads or writes is named here once.
"""

from __future__ import annotations

RESULTS = "results"  # the pipeline's results folder, relative to the working directory

# A model folder (the pipeline's results/model, the shipped predictor): the final model trained with the AIMD
# rows, its interval calibration and, once described, its model card.
MODEL_DIR = "model"
FINAL_MODEL_DIR = "final_after"
CALIBRATION_FILE = "calibration.json"
MODEL_CARD_FILE = "model_card.json"
# Files a final model folder carries beside its LightGBM members: the rows it was trained on and the element
# table its features were computed from (so a prediction never mixes two element tables).
TRAINING_DATA_FILE = "training_data.csv"
ELEMENT_TABLE_FILE = "elements.csv"

# The next AIMD campaign, as the GP map plans it (hmixal plan reads it).
ACQUISITION_PLAN = "uncertainty/acquisition_plan.csv"

# AIMD: runs and per-binary rows per engine; runs made outside the pipeline (hmixal aimd import).
AIMD_DIR = "aimd"
AIMD_IMPORTED = f"{AIMD_DIR}/imported"


def aimd_runs(engine: str) -> str:
    """The folder of an engine's runs, one sub-folder per run id."""
    return f"{AIMD_DIR}/{engine}/runs"


def aimd_binaries(engine: str) -> str:
    """The folder of an engine's per-binary results rows."""
    return f"{AIMD_DIR}/{engine}/binaries"


def result(*parts: str) -> str:
    """A path under the default results folder, e.g. ``result(ACQUISITION_PLAN)``."""
    return "/".join((RESULTS, *parts))
