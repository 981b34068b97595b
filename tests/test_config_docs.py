"""config/README.md documents every configuration key, and only keys that exist.

The keys are those of the shipped config files, of the config schema and of the AIMD settings classes that
validate the schema's open sections, so a key added to any of them without a line in the README fails here.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from helpers import REPO
from hmixal.active_learning import CommitteeOptions, GPOptions, RTALOptions
from hmixal.aimd.ase_engine import AseEngineSettings
from hmixal.aimd.checks import CheckSettings
from hmixal.aimd.mlip import MlipSettings
from hmixal.aimd.protocol import ProtocolSettings
from hmixal.aimd.vasp.inputs import MDSettings
from hmixal.aimd.vasp.run import RunnerSettings
from hmixal.aimd.volume import VolumeSettings
from hmixal.al_designs import ClusterOptions, ElementOptions
from hmixal.al_evaluator import EvaluatorSettings
from hmixal.calphad.table import derive_calphad_table
from hmixal.gp_map import HyperSettings
from hmixal.nested_cv import InnerSettings
from hmixal.rfe_study import RfeSettings

README = REPO / "config" / "README.md"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
CONFIG_FILES = (*sorted((REPO / "config").glob("*.yaml")), REPO / ".test" / "config" / "config.yaml")
# Sections the schema leaves open (`type: object`) and a settings class checks key by key (from_mapping). A
# field's value may itself be a mapping of data (e.g. potcar_overrides: element → POTCAR): its keys are no config
# keys, so documentation stops at the field.
SETTINGS_CLASSES: dict[str, type] = {
    "aimd.protocol": ProtocolSettings,
    "aimd.protocol.volume": VolumeSettings,
    "aimd.checks": CheckSettings,
    "aimd.ase": AseEngineSettings,
    "aimd.mlip": MlipSettings,
    "aimd.vasp.incar": MDSettings,
    "aimd.vasp.runner": RunnerSettings,
}
# Schema definitions shared by several sections, documented once in a README section of their own.
SHARED_DEFINITIONS = {"#/$defs/lgbm": "LightGBM parameters"}
WILDCARD = "*"  # a key of a mapping whose keys are free names (additionalProperties), e.g. search_space.<name>


def load_schema() -> dict[str, Any]:
    """The config schema."""
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


def leaf_paths(config: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of a config whose value is not a non-empty mapping (lists and empty mappings are leaves)."""
    for key, value in config.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from leaf_paths(value, path)
        else:
            yield path


def documented_form(path: tuple[str, ...], schema: dict[str, Any]) -> tuple[str, str] | None:
    """(README section, key as written there) for a config key path, or None when the schema has no such key.

    A key under a shared definition is written bare in that definition's section; every other key is written as its
    full dotted path in the "Keys" part, free names as ``*`` and settings-class fields without their values' keys.
    """
    node = schema
    written: list[str] = []
    for depth, key in enumerate(path):
        ref = node.get("$ref")
        if ref in SHARED_DEFINITIONS:
            return SHARED_DEFINITIONS[ref], key
        properties = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        if key in properties:
            node = properties[key]
        elif isinstance(extra, dict):
            key, node = WILDCARD, extra
        elif extra is False:
            return None
        else:
            node = {}  # an open section: its keys are checked below or by the code that reads them
        section = ".".join(written)
        if section in SETTINGS_CLASSES:
            if key not in {f.name for f in fields(SETTINGS_CLASSES[section])}:
                return None
            if depth + 1 < len(path) and ".".join((*written, key)) not in SETTINGS_CLASSES:
                return "Keys", ".".join((*written, key))
        written.append(key)
    return "Keys", ".".join(written)


def schema_paths(node: dict[str, Any], root: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Key paths of the schema's leaves and open sections (free names as ``*``; shared definitions' keys below
    each section that uses them)."""
    if node.get("$ref") in SHARED_DEFINITIONS:
        shared = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            shared = shared[part]
        for key in shared["properties"]:
            yield (*prefix, key)
        return
    properties = node.get("properties", {})
    extra = node.get("additionalProperties")
    if not properties and not isinstance(extra, dict):
        yield prefix
        return
    for key, child in properties.items():
        yield from schema_paths(child, root, (*prefix, key))
    if isinstance(extra, dict):
        yield from schema_paths(extra, root, (*prefix, WILDCARD))


def required_keys() -> set[tuple[str, str]]:
    """(README section, key) of every key of the config files, of the schema and of the settings classes."""
    schema = load_schema()
    paths: set[tuple[str, ...]] = set()
    for file in CONFIG_FILES:
        paths |= set(leaf_paths(yaml.safe_load(file.read_text(encoding="utf-8")) or {}))
    paths |= set(schema_paths(schema, schema))
    for section, cls in SETTINGS_CLASSES.items():
        paths |= {(*section.split("."), f.name) for f in fields(cls)}
    required = set()
    for path in paths:
        form = documented_form(path, schema)
        assert form is not None, f"{'.'.join(path)} is in a config file or the schema but not a valid key"
        required.add(form)
    return required


def readme_sections() -> dict[str, str]:
    """README text per level-2 heading; the shared definitions' level-3 sections apart from the rest of theirs."""
    sections: dict[str, str] = {}
    current = top = ""
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            top = current = line[3:].strip()
        elif line.startswith("### "):
            current = line[4:].strip() if line[4:].strip() in SHARED_DEFINITIONS.values() else top
        sections[current] = sections.get(current, "") + line + "\n"
    return sections


def table_keys(text: str) -> Iterator[str]:
    """The backquoted keys in the first cell of each table row (header and rule rows skipped)."""
    for line in text.splitlines():
        if line.startswith("| `"):
            yield from re.findall(r"`([^`]+)`", line.split(" | ")[0])


def test_every_config_key_is_documented():
    sections = readme_sections()
    assert {"Keys", *SHARED_DEFINITIONS.values()} <= set(sections), "config/README.md lost a section"
    documented = {(name, key) for name, text in sections.items() for key in table_keys(text)}

    def covered(name: str, key: str) -> bool:
        # An open section (e.g. aimd.vasp.resources) is documented by its own row or by rows for its keys.
        return (name, key) in documented or any(n == name and k.startswith(key + ".") for n, k in documented)

    missing = sorted(f"{key} ({name})" for name, key in required_keys() if not covered(name, key))
    assert not missing, "config/README.md does not document: " + ", ".join(missing)


def test_every_documented_key_exists():
    schema = load_schema()
    shared = {name: ref.rsplit("/", 1)[1] for ref, name in SHARED_DEFINITIONS.items()}
    unknown = []
    for name, text in readme_sections().items():
        if name not in ("Keys", *shared):
            continue  # the config files' own table, before the keys
        for key in table_keys(text):
            if name in shared:
                ok = key in schema["$defs"][shared[name]]["properties"]
            else:
                ok = documented_form(tuple(key.split(".")), schema) == ("Keys", key)
            if not ok:
                unknown.append(f"{key} ({name})")
    assert not unknown, "config/README.md documents keys that do not exist: " + ", ".join(unknown)


def test_settings_classes_read_their_sections_of_the_shipped_configs():
    # SETTINGS_CLASSES makes these sections' fields required keys: each class must really be its section's reader.
    for file in CONFIG_FILES:
        config = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for section, cls in SETTINGS_CLASSES.items():
            value: Any = config
            for key in section.split("."):
                value = value.get(key, {}) if isinstance(value, Mapping) else {}
            if section == "aimd.vasp.runner" and not value:
                continue  # the runner has a required key (vasp_cmd): only files that set the section are read
            cls.from_mapping(value)


def test_undocumented_and_unknown_keys_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The checks themselves: a README without one key's row, and with a row for a key that does not exist.
    text = README.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `uncertainty.plan.rank_by`"))
    broken = tmp_path / "README.md"
    broken.write_text(text.replace(row + "\n", "").replace(row, ""), encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "README", broken)
    with pytest.raises(AssertionError, match=r"(?m)does not document: uncertainty\.plan\.rank_by \(Keys\)$"):
        test_every_config_key_is_documented()
    broken.write_text(text.replace(row, row.replace("`uncertainty.plan.rank_by`", "`uncertainty.plan.rank`")), "utf-8")
    with pytest.raises(AssertionError, match=r"(?m)keys that do not exist: uncertainty\.plan\.rank \(Keys\)$"):
        test_every_documented_key_exists()
    broken.write_text(text.replace("`aimd.checks.q6_min_dot`", "`aimd.checks.q6_min_dots`"), "utf-8")
    with pytest.raises(AssertionError, match=r"aimd\.checks\.q6_min_dots \(Keys\)"):
        test_every_documented_key_exists()
    broken.write_text(text.replace("| `max_bin` |", "| `max_bins` |"), "utf-8")
    with pytest.raises(AssertionError, match=r"max_bins \(LightGBM parameters\)"):
        test_every_documented_key_exists()


# Config sections whose keys are fields of a library settings class: the class holds the defaults
# (hmixal.settings), the default config writes them out, and the two must agree.
DEFAULTS_IN_LIBRARY: dict[str, type] = {
    "selection": RfeSettings,
    "model.inner": InnerSettings,
    "uncertainty": HyperSettings,
    "active_learning.gp": GPOptions,
    "active_learning.rtal": RTALOptions,
    "active_learning.committee": CommitteeOptions,
    "active_learning.evaluator": EvaluatorSettings,
    "active_learning.cluster": ClusterOptions,
    "active_learning.element": ElementOptions,
    **SETTINGS_CLASSES,
}


def section(config: Mapping[str, Any], dotted: str) -> Mapping[str, Any]:
    """The config section at a dotted key (empty when absent)."""
    node: Any = config
    for key in dotted.split("."):
        node = node.get(key) or {} if isinstance(node, Mapping) else {}
    return node


def disagreements(written: Mapping[str, Any], settings: Any) -> dict[str, tuple[Any, Any]]:
    """Keys whose written value differs from the settings object's (nested settings compared key by key)."""
    out: dict[str, tuple[Any, Any]] = {}
    for key, value in written.items():
        default = getattr(settings, key)
        if is_dataclass(default) and isinstance(value, Mapping):
            out |= {f"{key}.{k}": v for k, v in disagreements(value, default).items()}
        elif (list(default) if isinstance(default, tuple) else default) != value:
            out[key] = (value, default)
    return out


@pytest.mark.parametrize("dotted", sorted(DEFAULTS_IN_LIBRARY))
def test_default_config_writes_out_the_library_defaults(dotted: str) -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    cls = DEFAULTS_IN_LIBRARY[dotted]
    known = {f.name for f in fields(cls)}
    written = {key: value for key, value in section(config, dotted).items() if key in known}
    # A field without a default (e.g. the VASP command) is the config's alone.
    required = {f.name: written.pop(f.name) for f in fields(cls) if f.default is f.default_factory is MISSING}
    differ = disagreements(written, cls(**required))
    assert not differ, f"config/config.yaml {dotted}: (written, library default) differ: {differ}"


def test_default_config_writes_out_the_calphad_derivation_defaults() -> None:
    """config calphad is passed whole to derive_calphad_table, whose keyword defaults are the library's."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    parameters = inspect.signature(derive_calphad_table).parameters
    written = config["calphad"]
    assert set(written) <= set(parameters), "a calphad key that derive_calphad_table does not take"
    differ = disagreements(written, SimpleNamespace(**{key: parameters[key].default for key in written}))
    assert not differ, f"config/config.yaml calphad: (written, library default) differ: {differ}"
