"""hmixal: enthalpy of mixing of liquid alloys — Miedema baseline, machine learning, active learning, AIMD.

The Python API (hmixal.api): ``hmixal.predict``, ``hmixal.miedema``, ``hmixal.training_data``, ``hmixal.model_card``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "miedema", "model_card", "predict", "training_data"]
_API = ("miedema", "model_card", "predict", "training_data")


def __getattr__(name: str) -> Any:
    """The API functions, imported on first use: ``import hmixal.jobs`` must not load numpy before a rule script
    caps its thread pools (hmixal.jobs.start_job), and the API brings numpy and pandas."""
    if name in _API:
        from hmixal import api

        return getattr(api, name)
    raise AttributeError(f"module 'hmixal' has no attribute {name!r}")
