#!/usr/bin/env bash
# The fresh-machine check: build the wheel, install it into a new virtual environment outside the checkout, and
# answer from a directory that is not the checkout (the shipped predictor, no results/, no data/): a binary, a
# multicomponent alloy, and the README's Python API example. Exits non-zero on the first failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILDER="$ROOT/.venv/bin/python"
[ -x "$BUILDER" ] || BUILDER="$PYTHON"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hmixal-fresh.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "fresh-install check: building the wheel"
"$BUILDER" -m build --wheel --outdir "$WORK/dist" "$ROOT" > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
WHEEL="$(ls "$WORK"/dist/hmixal-*.whl)"
echo "fresh-install check: $(basename "$WHEEL") is $(du -k "$WHEEL" | cut -f1) KiB"

echo "fresh-install check: installing it into a new virtual environment (core dependencies only)"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --disable-pip-version-check -q -c "$ROOT/envs/constraints.txt" "$WHEEL" \
  > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; exit 1; }

mkdir "$WORK/elsewhere"
cd "$WORK/elsewhere"
echo "fresh-install check: hmixal predict Al-Ni --x 0.5 (from $PWD)"
"$WORK/venv/bin/hmixal" predict Al-Ni --x 0.5
echo "fresh-install check: hmixal predict AlCoCrFeNi"
"$WORK/venv/bin/hmixal" predict AlCoCrFeNi
echo "fresh-install check: the README's Python API example"
# The example is the python block after the marker line in README.md: what the README shows is what runs here.
"$WORK/venv/bin/python" - "$ROOT/README.md" > "$WORK/example.py" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
start = lines.index("<!-- api-example: run by tools/ci/fresh_install_check.sh -->")
begin = next(i for i in range(start, len(lines)) if lines[i].startswith("```python"))
end = next(i for i in range(begin + 1, len(lines)) if lines[i].startswith("```"))
print("\n".join(lines[begin + 1 : end]))
PY
"$WORK/venv/bin/python" "$WORK/example.py"
echo "fresh-install check: passed"
