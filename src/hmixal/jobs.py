"""Start-up of a rule script: log to the rule's log file and cap every thread pool at the rule's threads.

Import this before numpy/LightGBM so that BLAS and OpenMP read the caps when they load.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def cap_threads(threads: int) -> None:
    """Set the BLAS/OpenMP thread caps for this process and its children."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(max(1, int(threads)))


def start_job(smk: Any, name: str) -> logging.Logger:
    """Send stderr and logging to ``smk.log[0]``, cap threads at ``smk.threads``; return the job's logger."""
    cap_threads(getattr(smk, "threads", 1))
    if smk.log:
        sys.stderr = open(smk.log[0], "w", buffering=1)  # noqa: SIM115 - the job's log stays open until exit
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    return logging.getLogger(name)
