"""The rule jobs and their start-up.

A rule script is a shim, ``run_job(snakemake, "<stage>.<job>")``: :func:`start_job` logs to the rule's log file, caps
every thread pool at the rule's threads and makes an expected error (bad input, missing artifact) one line in the
log and on the console instead of a traceback; then the job function ``hmixal.jobs.<stage>.<job>`` runs. The stage
modules follow workflow/rules/*.smk (data, selection, model, active_learning, uncertainty, aimd, export, figures).

Import this before numpy/LightGBM so that BLAS and OpenMP read the caps when they load; :func:`run_job` imports the
stage module only after the caps are set.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, TextIO

from hmixal.errors import EXPECTED_ERRORS

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_started: dt.datetime | None = None  # when run_job began


class RuleJob(Protocol):
    """What a job function receives: Snakemake's ``snakemake`` object in a rule script, or the stand-in the tests
    build (tests/conftest.py: namespaces, ``log`` a list, no ``rule``).

    ``input``, ``output``, ``params`` and ``wildcards`` give their entries as attributes. Snakemake's object also
    has ``rule``, ``config``, ``resources`` and ``attempt``; a job that reads one the stand-in lacks uses ``getattr``.
    """

    input: Any
    output: Any
    params: Any
    wildcards: Any
    threads: int
    log: Sequence[str]


def cap_threads(threads: int) -> None:
    """Set the BLAS/OpenMP thread caps for this process and its children."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(max(1, int(threads)))


def job_label(smk: Any, name: str) -> str:
    """The job as the person knows it: the rule (else ``name``) and its wildcards, e.g. ``rfe_block[block=3]``."""
    label = str(getattr(smk, "rule", None) or name)
    wildcards = getattr(smk, "wildcards", None)
    items = wildcards.items() if hasattr(wildcards, "items") else vars(wildcards).items() if wildcards else ()
    shown = ",".join(f"{key}={value}" for key, value in items if not str(key).startswith("_"))
    return f"{label}[{shown}]" if shown else label


def error_hook(
    log: logging.Logger, label: str, console: TextIO, log_file: str | None
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """A ``sys.excepthook`` that reports an expected error as one line in the log and on ``console``.

    Any other error keeps its traceback in the log and gets a one-line pointer to it on ``console``.
    """
    previous = sys.__excepthook__  # the traceback, written to sys.stderr: the job's log

    def hook(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
        if not issubclass(kind, Exception):  # KeyboardInterrupt and the like: the default behaviour
            previous(kind, error, traceback)
            return
        if issubclass(kind, EXPECTED_ERRORS):
            log.error("%s", error)
            line = f"ERROR {label}: {error}"
        else:
            previous(kind, error, traceback)
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            where = f" (traceback in {log_file})" if log_file else ""
            line = f"ERROR {label}: {kind.__name__}: {first}{where}"
        if console is not sys.stderr:  # without a log file, the logging line above is already on the console
            print(line, file=console, flush=True)

    return hook


def start_job(smk: Any, name: str) -> logging.Logger:
    """Send stderr and logging to ``smk.log[0]``, cap threads at ``smk.threads``; return the job's logger.

    Installs :func:`error_hook`, so bad input or a missing artifact ends the job with one line in the log and
    on the console (``ERROR <rule>: <file>:<line>: <problem>``).
    """
    cap_threads(getattr(smk, "threads", 1))
    console = sys.stderr  # Snakemake's console for a local job; the batch job's output file on a cluster
    log_file = str(smk.log[0]) if smk.log else None
    if log_file:
        sys.stderr = open(log_file, "w", buffering=1)  # noqa: SIM115 - the job's log stays open until exit
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=LOG_FORMAT, force=True)
    log = logging.getLogger(name)
    sys.excepthook = error_hook(log, job_label(smk, name), console, log_file)
    return log


def job_started() -> dt.datetime:
    """When :func:`run_job` began (a batch job's walltime budget counts from here); now if none ran."""
    return _started or dt.datetime.now()


def run_job(smk: Any, target: str) -> None:
    """Run the job ``target``, ``"<stage>.<job>"``: :func:`start_job` first, then ``hmixal.jobs.<stage>.<job>(smk)``.

    The stage module is imported after the thread caps are set, so numpy and LightGBM load under them.
    """
    global _started
    _started = dt.datetime.now()
    stage, _, name = target.rpartition(".")
    start_job(smk, name)
    job: Callable[[Any], None] = getattr(importlib.import_module(f"hmixal.jobs.{stage}"), name)
    job(smk)
