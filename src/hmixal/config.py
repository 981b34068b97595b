"""The pipeline's config checked as one line per problem: schema problems named by key, impossible sizes refused
before any work, config files read with the file and line of a YAML syntax error."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from hmixal.errors import ConfigError, InputError


def merge_config(base: dict, update: dict) -> None:
    """Update ``base`` with ``update`` recursively, as Snakemake merges config files."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = value


def read_config_file(path: str | Path) -> dict:
    """One config file as a mapping; a YAML syntax error is an InputError naming the file, line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, None, f"cannot read it ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is None:
            raise InputError(path, None, f"YAML syntax: {problem}") from None
        raise InputError(path, mark.line + 1, f"YAML syntax: {problem} (column {mark.column + 1})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, None, "a config file holds keys at top level (a YAML mapping)")
    return data


def config_key(path: Iterable[Any]) -> str:
    """A dotted config key from a path of keys and list indices: ``model.inner.n_folds``, ``x_grid[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in sorted(names))


def schema_problem(error: Any) -> str:
    """One line for a ``jsonschema.ValidationError``: the key, its value and what the schema expects."""
    key = config_key(error.absolute_path)
    where = f"in {key}" if key else "at top level"
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(value, Mapping):
        known = set(error.schema.get("properties", {}))
        unknown = [str(k) for k in value if k not in known]
        noun = "key" if len(unknown) == 1 else "keys"
        hint = f" (known: {', '.join(sorted(known))})" if known else ""
        return f"unknown {noun} {_quoted(unknown)} {where}{hint}"
    if kind == "required" and isinstance(value, Mapping):
        missing = [str(k) for k in expected if k not in value]
        return f"missing key {_quoted(missing)} {where}"
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    name = key or "the config"
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"{name} = {shown} must be of type {' or '.join(map(str, types))}"
    if kind == "enum":
        return f"{name} = {shown} must be one of {', '.join(map(str, expected))}"
    bounds = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "greater than",
        "exclusiveMaximum": "less than",
        "minItems": "a list of at least",
    }
    if kind in bounds:
        unit = " item(s)" if kind == "minItems" else ""
        return f"{name} = {shown} must be {bounds[kind]} {expected}{unit}"
    return f"{name}: {error.message}"


def validate_config(config: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Check ``config`` against a JSON schema; raise a ConfigError with one line per problem (in key order)."""
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        problems = list(dict.fromkeys(schema_problem(e) for e in errors))
        raise ConfigError(problems)


def _divides_one(step: float) -> bool:
    from hmixal.systems import composition_grid  # the grid the rules build; imported here: systems imports errors

    try:
        composition_grid(step)
    except ValueError:
        return False
    return True


def _unknown_systems(plan: Mapping[str, Any]) -> list[str]:
    """Problems with the plan's excluded elements and systems: unknown symbols, or a system not written A-B."""
    from hmixal.elements import ELEMENTS  # imported here, as in _divides_one

    known = set(ELEMENTS)
    problems = []
    unknown = [str(e) for e in plan.get("exclude") or () if e not in known]
    if unknown:
        problems.append(f"uncertainty.plan.exclude: unknown element(s) {_quoted(unknown)} (symbols such as 'C', 'U')")
    for system in plan.get("exclude_systems") or ():
        parts = str(system).split("-")
        if len(parts) != 2 or not all(p in known for p in parts) or parts[0] == parts[1]:
            problems.append(
                f"uncertainty.plan.exclude_systems: {str(system)!r} is not a binary of two known elements written "
                "A-B (e.g. 'Li-U')"
            )
    return problems


def check_config_limits(
    config: Mapping[str, Any], candidate_features: Sequence[str], n_binaries: int | None = None
) -> None:
    """Refuse sizes the pipeline cannot reach, before any work; raise a ConfigError with one line per problem.

    ``candidate_features`` are the feature names the RFE starts from (hmixal.features.feature_names());
    ``n_binaries`` bounds the binaries the dataset can hold (the input tables' distinct pairs), when known.
    """
    problems: list[str] = []
    n_candidates = len(candidate_features)
    known = set(candidate_features)

    def at_most(key: str, value: Any, limit: int, what: str) -> None:
        if isinstance(value, int) and value > limit:
            problems.append(f"{key} = {value} exceeds {limit}, {what}")

    selection = config.get("selection", {})
    floor = selection.get("min_features")
    for name in ("min_features", "n_features_al", "n_features_final"):
        at_most(f"selection.{name}", selection.get(name), n_candidates, "the number of candidate features")
        value = selection.get(name)
        if name != "min_features" and isinstance(value, int) and isinstance(floor, int) and value < floor:
            problems.append(
                f"selection.{name} = {value} is below selection.min_features = {floor}, where elimination stops"
            )
    model = config.get("model", {})
    inner = model.get("inner", {})
    for name in ("rfe_min_features", "rfe_n_features"):
        at_most(f"model.inner.{name}", inner.get(name), n_candidates, "the number of candidate features")
    outer, folds = model.get("outer_folds"), inner.get("n_folds")
    if n_binaries is not None and isinstance(outer, int) and isinstance(folds, int):
        at_most("model.outer_folds", outer, n_binaries, "the number of binaries in the input tables")
        if 2 <= outer <= n_binaries:
            training = n_binaries - math.ceil(n_binaries / outer)
            at_most("model.inner.n_folds", folds, training, "the binaries in the smallest outer training set")
    uncertainty = config.get("uncertainty", {})
    plan = uncertainty.get("plan", {})
    steps = (
        ("model.grid_step", model.get("grid_step")),
        ("uncertainty.step", uncertainty.get("step")),
        ("uncertainty.plan.objective_step", plan.get("objective_step")),
    )
    for key, step in steps:
        if isinstance(step, int | float) and step > 0 and not _divides_one(float(step)):
            problems.append(f"{key} = {step} must divide 1 into at least two intervals (e.g. 0.01, 0.05, 0.1)")
    k_min, k_max = uncertainty.get("k_min"), uncertainty.get("k_max")
    if isinstance(k_min, int) and isinstance(k_max, int) and k_min > k_max:
        problems.append(f"uncertainty.k_min = {k_min} exceeds uncertainty.k_max = {k_max}")
    learning = config.get("active_learning", {})
    train, test = learning.get("train_fraction"), learning.get("test_fraction")
    if isinstance(train, int | float) and isinstance(test, int | float) and train + test >= 1:
        problems.append(
            f"active_learning.train_fraction + test_fraction = {train + test:g} leaves no pool; keep the sum below 1"
        )
    problems += _unknown_systems(plan)
    al_features = learning.get("features")
    lists = (
        ("active_learning.features", al_features if isinstance(al_features, list) else None),
        ("uncertainty.features", uncertainty.get("features")),
        ("uncertainty.miedema_groups.features", uncertainty.get("miedema_groups", {}).get("features")),
        ("active_learning.eval_features", learning.get("eval_features")),
    )
    for key, names in lists:
        unknown = [str(n) for n in names or () if n not in known]
        if unknown:
            problems.append(
                f"{key}: unknown feature(s) {_quoted(unknown)}; names read like 'Column_mean', 'Density_avgdev'"
            )
    if problems:
        raise ConfigError(problems)
