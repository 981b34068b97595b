"""Settings objects from the config: one constructor for every settings class, unknown keys refused.

Defaults live in the library's settings classes, not in the schema: the library runs without the pipeline (the
API, the CLI, the benchmarks, an installed wheel without config/), and a class checks what a schema cannot (rules
across keys, bounds that depend on other keys). config/config.yaml writes those keys out for the user to edit;
tests/test_config_docs.py fails when one of its values differs from the class default, so the two cannot drift.
Config keys and field names are the same, from the YAML to the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, ClassVar, TypeVar

from hmixal.errors import reject_unknown_keys

T = TypeVar("T")
S = TypeVar("S", bound="FromMapping")


def field_names(cls: type) -> list[str]:
    """The keys a settings dataclass accepts: its field names."""
    if not is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a settings dataclass")
    return [f.name for f in fields(cls)]


def settings_from_mapping(cls: type[T], values: Mapping[str, Any] | None, section: str, **converted: Any) -> T:
    """``cls`` from a config mapping (None or empty: the defaults); an unknown key is an InputError naming ``section``.

    ``converted`` replaces values the caller has already turned into objects (nested settings, tuples).
    """
    values = dict(values or {})
    reject_unknown_keys(values, field_names(cls), section)
    return cls(**{**values, **converted})


class FromMapping:
    """Mixin of a settings dataclass: ``Cls.from_mapping(config_section)``, the one way the pipeline builds it.

    ``SECTION`` names the config section in error messages (e.g. ``model.inner``).
    """

    SECTION: ClassVar[str] = "settings"

    @classmethod
    def from_mapping(cls: type[S], values: Mapping[str, Any] | None) -> S:
        """Settings from a config mapping (None or empty: the defaults); an unknown key is an InputError."""
        return settings_from_mapping(cls, values, cls.SECTION)
