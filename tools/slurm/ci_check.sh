#!/usr/bin/env bash
# The SLURM check on its own: bring up the single-node cluster, run the tests marked `slurm` against it (among them
# the quick pipeline through SLURM, whose results must equal a local run's), tear the cluster down whatever happens,
# and say how long each part took.
#
#   tools/slurm/ci_check.sh [pytest arguments]          (as root)
#
# HMIXAL_SLURM_BUDGET: seconds the tests may take (default 900); past that they are interrupted and the check fails.
# Everything local_slurm.sh reads (HMIXAL_SLURM_DIR, HMIXAL_SLURM_ACCOUNTING, …) is passed on.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

CLUSTER=tools/slurm/local_slurm.sh
PYTHON=.venv/bin/python
BUDGET=${HMIXAL_SLURM_BUDGET:-900}

# The same environment `python3 bootstrap.py test` uses (created or updated here if needed).
python3 -c 'import bootstrap; bootstrap.ensure_environment()' || {
    echo "ci_check.sh: error: could not set up .venv (bootstrap.py)" >&2
    exit 1
}

start=$SECONDS
bash "$CLUSTER" up || exit 1
trap 'bash "$CLUSTER" down' EXIT
bring_up=$((SECONDS - start))
eval "$(bash "$CLUSTER" env)"
export HMIXAL_SLURM_TESTS=1  # a cluster that stops answering fails the tests instead of skipping them

start=$SECONDS
# SIGINT lets pytest stop its snakemake subprocess; `down` then cancels whatever that left queued.
timeout -s INT -k 60 "$BUDGET" "$PYTHON" -m pytest tests/test_slurm.py -m slurm "$@"
status=$?
echo "ci_check.sh: bring-up ${bring_up} s, SLURM tests $((SECONDS - start)) s"
case "$status" in
    0) ;;
    124) echo "ci_check.sh: error: the SLURM tests took longer than ${BUDGET} s" >&2 ;;
    5) echo "ci_check.sh: error: no test marked slurm was collected" >&2 && status=1 ;;
    *) echo "ci_check.sh: error: the SLURM tests failed (pytest exit $status)" >&2 ;;
esac
exit "$status"
