"""Snakemake script: each split's first GP hyper-parameters, learnt once and shared by the GP approaches' jobs."""

from hmixal.jobs import start_job

log = start_job(snakemake, "al_gp_hyper")

import json  # noqa: E402

from hmixal.active_learning import load_benchmark, split_hypers  # noqa: E402
from hmixal.io import write_text  # noqa: E402

p = snakemake.params
data, splits, settings = load_benchmark(snakemake.input, p.run, p.design, snakemake.threads)
record = {}
for split in p.splits:
    hypers = split_hypers(data, splits, int(split), settings, ard=p.ard)
    record[str(int(split))] = {kind: hyper.to_dict() for kind, hyper in hypers.items()}
    for kind, h in hypers.items():
        log.info("split %d %s: GP noise %.3f, width %s, signal %.3f", split, kind, h.noise_std, h.width, h.signal_std)
write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", snakemake.output.hyper, manifest=True)
