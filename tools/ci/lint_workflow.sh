#!/usr/bin/env bash
# Workflow lint and format check, as the Snakemake workflow catalog runs them:
#   snakemake --lint with the default config and with the test config (.test/config/config.yaml), and
#   snakefmt --check on the Snakefiles and rule files (line length and other settings: [tool.snakefmt] in
#   pyproject.toml, which snakefmt reads itself).
# Uses .venv/bin/ tools when present, else those on PATH. Exits non-zero when any check reports a finding, after
# running all of them; each failure is named on stderr with its output. Usage: bash tools/ci/lint_workflow.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

tool() {
  if [ -x ".venv/bin/$1" ]; then echo ".venv/bin/$1"; else command -v "$1" || echo "$1"; fi
}
SNAKEMAKE=$(tool snakemake)
SNAKEFMT=$(tool snakefmt)
failed=()

check() {  # check NAME COMMAND...: run it, keep its output, report it only when it fails
  local name=$1 output status
  shift
  output=$("$@" 2>&1)
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "ok: $name"
  else
    echo "FAILED ($status): $name" >&2
    echo "$output" | sed 's/^/    /' >&2
    failed+=("$name")
  fi
}

# --lint parses the workflow (config validation included) and runs no job, so it is safe beside a running pipeline.
check "snakemake --lint (config/config.yaml)" "$SNAKEMAKE" --lint
check "snakemake --lint (+ .test/config/config.yaml)" "$SNAKEMAKE" --lint --configfile .test/config/config.yaml
check "snakefmt --check (Snakefile, workflow/)" "$SNAKEFMT" --check Snakefile workflow
if [[ " ${failed[*]-} " == *"snakefmt"* ]]; then  # --check only counts files: show what would change
  "$SNAKEFMT" --compact-diff Snakefile workflow 2>/dev/null | sed 's/^/    /' >&2
fi

if [ "${#failed[@]}" -gt 0 ]; then
  echo "workflow lint: ${#failed[@]} check(s) failed: $(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
echo "workflow lint: all checks passed"
