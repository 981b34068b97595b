"""Snakemake script: copy the final model, its calibration and its card into the package (the shipped predictor)."""

from hmixal.jobs import start_job

log = start_job(snakemake, "ship_predictor")

import datetime  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

from hmixal.cards import check_default_config  # noqa: E402
from hmixal.resources import write_shipped_predictor  # noqa: E402

card = json.loads(Path(snakemake.input.card).read_text(encoding="utf-8"))
# The package ships the model of the default config and the embedded data only, never a run with overrides.
check_default_config(card, snakemake.params.default_config)
# The date a predictor was shipped is a fact about this step, not about the model (the card's other fields are).
today = datetime.date.today().isoformat()
target = write_shipped_predictor(Path(snakemake.input.card).parent, card, snakemake.output.predictor, today)
log.info("shipped the predictor of %s to %s (%s)", snakemake.input.model, target, today)
